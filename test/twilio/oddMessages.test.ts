import { randomBytes } from 'node:crypto';
import { warmUpDateRecognizer } from '../../src/nlu/dates';
import { FakeTwilio } from '../support/fakeTwilio';
import { twimlResponse } from '../../src/channels/twilio/webhook';
import { parseTwiml, startTwilioServer, type Form, type Sender, type TwilioTestServer } from '../support/twilioServer';

/**
 * Messages that are not a typed answer: a photo, a voice note, a document, a location pin, an
 * essay, nothing at all. Each gets a 200 and a localized answer, and the question stays asked.
 */

/** Media URLs point at the fake Twilio: a download attempt would show in its recorded requests. */
const mediaHost = new FakeTwilio();
let server: TwilioTestServer;
let phoneSeq = 0;
const newUser = () => server.whatsapp(`+2126400${String(++phoneSeq).padStart(5, '0')}`);

beforeAll(async () => {
  warmUpDateRecognizer();
  await mediaHost.start();
  server = await startTwilioServer();
}, 30000);
afterAll(async () => {
  await server.close();
  await mediaHost.stop();
});

const NOT_TEXT = "Je ne peux lire que du texte. Écrivez votre réponse, s'il vous plaît.";
const ASK_CNIE_NUMBER = 'Écrivez le numéro de votre CNIE';

/** A WhatsApp media message as Twilio posts it: an MM… SID, NumMedia and the media's URL and type. */
function media(contentType: string, caption = ''): Form {
  const sid = `MM${randomBytes(16).toString('hex')}`;
  return {
    MessageSid: sid,
    SmsMessageSid: sid,
    Body: caption,
    NumMedia: '1',
    MediaUrl0: `${mediaHost.url}/2010-04-01/Accounts/AC${'0'.repeat(32)}/Messages/${sid}/Media/ME${'1'.repeat(32)}`,
    MediaContentType0: contentType,
    MessageType: contentType.split('/')[0]!,
  };
}

/** Bonjour, CNIE: the document number question is waiting. */
async function atDocumentNumber(user: Sender): Promise<void> {
  await user.say('Bonjour');
  expect((await user.say('1')).text).toContain(ASK_CNIE_NUMBER);
}

describe('media without text', () => {
  it.each([
    ['a photo', 'image/jpeg'],
    ['a voice note', 'audio/ogg'],
    ['a document', 'application/pdf'],
    ['a video', 'video/mp4'],
  ])('%s (%s) → "please type", and the same question is still pending', async (_name, contentType) => {
    const user = newUser();
    await atDocumentNumber(user);
    const reply = await server.post(user.form('', media(contentType)));
    expect(reply.status).toBe(200);
    expect(reply.text).toContain(NOT_TEXT);
    expect(reply.text).not.toContain("Date d'expiration");

    expect((await user.say('AB123456')).text).toContain("Date d'expiration de la pièce ?");
    // The media was never downloaded.
    expect(mediaHost.requests).toEqual([]);
  });

  it('a photo with a caption: the caption is the answer', async () => {
    const user = newUser();
    await atDocumentNumber(user);
    const reply = await server.post(user.form('', media('image/jpeg', 'AB123456')));
    expect(reply.text).toContain("Date d'expiration de la pièce ?");
  });

  it('"please type" comes in the conversation’s language', async () => {
    const user = newUser();
    await user.say('السلام عليكم');
    await user.say('1');
    const reply = await server.post(user.form('', media('image/jpeg')));
    expect(reply.status).toBe(200);
    expect(reply.text).toContain('أستطيع قراءة النص فقط. اكتب جوابك من فضلك.');
  });
});

describe('text of odd sizes', () => {
  it('a 5,000-character body → 200 and "too long", and the question is still pending', async () => {
    const user = newUser();
    await atDocumentNumber(user);
    const reply = await user.say('AB123456 '.repeat(556).slice(0, 5000));
    expect(reply.status).toBe(200);
    expect(reply.text).toContain('Ce message est trop long. Écrivez seulement la réponse à la question.');
    expect((await user.say('AB123456')).text).toContain("Date d'expiration");
  });

  it('control characters in an answer are typing noise: ignored, and the TwiML stays valid XML', async () => {
    const user = newUser();
    await atDocumentNumber(user);
    const reply = await user.say('AB\u0001123\u0007456\u001b');
    expect(reply.status).toBe(200);
    expect(reply.text).toContain("Date d'expiration de la pièce ?");
  });

  it('an empty body → 200 and a localized answer naming what is expected', async () => {
    const user = newUser();
    await atDocumentNumber(user);
    const reply = await user.say('');
    expect(reply.status).toBe(200);
    expect(reply.text).toContain('Écrivez le numéro de votre pièce, lettres puis chiffres, par exemple : BE123456');
  });

  it('an empty body without the Body field at all → 200 too', async () => {
    const user = newUser();
    await atDocumentNumber(user);
    const { Body: _none, ...form } = user.form('');
    const reply = await server.post(form);
    expect(reply.status).toBe(200);
    expect(reply.text).toContain('Écrivez le numéro de votre pièce');
  });
});

describe('a shared location (WhatsApp pin)', () => {
  /** A pin near Rabat's centre, as WhatsApp sends it: no Body, the coordinates and a label. */
  const pin = (user: Sender): Form =>
    user.form('', { Latitude: '34.0', Longitude: '-6.85', Address: 'Avenue Mohammed V, Rabat', Label: 'Rabat', MessageType: 'location' });

  it('at the city step of outcome C → the nearest offices, each with its distance, nearest first', async () => {
    const user = newUser();
    for (const text of ['Bonjour', '1', 'ZZ999999', '15/08/2030', '15/03/1985', '1', '1', 'passer']) await user.say(text);
    expect((await user.say('oui')).text).toContain('Quelle est votre activité ?');
    expect((await user.say('5')).text).toContain('Dans quelle ville êtes-vous ?');

    const reply = await server.post(pin(user));
    expect(reply.status).toBe(200);
    expect(reply.text).toContain('Où aller :');
    const officeLines = reply.text.split('\n').filter((line) => line.startsWith('• '));
    expect(officeLines).toHaveLength(3);
    const km = officeLines.map((line) => Number(/\(à (\d+) km\)/.exec(line)?.[1]));
    expect(km.every((d) => Number.isFinite(d))).toBe(true);
    expect([...km].sort((a, b) => a - b)).toEqual(km);
    expect(officeLines[0]).toContain('Agence CNSS Rabat (exemple)');
    expect(officeLines[0]).toContain('(à 2 km)');
    expect(reply.text).toContain('Voulez-vous que Tasjil vous prévienne ici');
    expect((await user.say('non')).text).toContain("C'est terminé");
  });

  it('at another step → "please type", and the question is still pending', async () => {
    const user = newUser();
    await atDocumentNumber(user);
    const reply = await server.post(pin(user));
    expect(reply.status).toBe(200);
    expect(reply.text).toContain(NOT_TEXT);
    expect((await user.say('AB123456')).text).toContain("Date d'expiration");
  });
});

describe('TwiML', () => {
  it('drops what XML cannot carry (controls, a lone surrogate) instead of failing the answer', () => {
    const xml = twimlResponse(['Bonjour\u0001 !', 'a\ud800b \ud83d\ude00', 'x\tline\nnext']);
    expect(parseTwiml(xml)).toEqual(['Bonjour !', 'ab \ud83d\ude00', 'x\tline\nnext']);
  });
});
