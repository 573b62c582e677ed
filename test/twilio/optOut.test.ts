import { warmUpDateRecognizer } from '../../src/nlu/dates';
import { messageSid, startTwilioServer, statusForm, type Sender, type TwilioTestServer } from '../support/twilioServer';

/**
 * STOP / ARRET / توقف opt the number out: one confirmation, its data erased. By SMS, then silence
 * (an empty TwiML) until START / ابدأ, which starts a fresh conversation. On WhatsApp, where we can
 * only answer, any message but another STOP opens a fresh conversation whose welcome says how to
 * stop again. Twilio's error 21610 on a delivery report (the number replied STOP to our sender)
 * opts it out as well.
 */

const EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>';
const CONFIRMATION_FR = 'Vous ne recevrez plus de messages de Tasjil et vos données sont effacées. Écrivez START pour revenir.';
const CONFIRMATION_AR = 'لن تتوصل بعد الآن برسائل من تسجيل، ومسحنا معلوماتك. اكتب ابدأ للرجوع.';

let server: TwilioTestServer;
let phoneSeq = 0;
const nextPhone = () => `+2126500${String(++phoneSeq).padStart(5, '0')}`;

beforeAll(async () => {
  warmUpDateRecognizer();
  server = await startTwilioServer();
}, 30000);
afterAll(() => server.close());

/** The conversation's stored state, if any (ConversationState's key). */
async function storedState(channel: 'whatsapp' | 'sms', phone: string): Promise<unknown> {
  const key = `${channel}/conversations/${phone}/`;
  return (await server.app.storage.read([key]))[key];
}

/** Two answers given: document type and number; the expiry date question is waiting. */
async function midConversation(user: Sender, opener: string): Promise<void> {
  for (const text of [opener, '1', 'AB123456']) expect((await user.say(text)).status).toBe(200);
}

describe('an opt-out word', () => {
  it.each([
    ['Arrêt', 'Bonjour', CONFIRMATION_FR],
    ['stop', 'Bonjour', CONFIRMATION_FR],
    ['توقف', 'السلام عليكم', CONFIRMATION_AR],
  ] as const)('"%s" by SMS: one confirmation, data erased, then silence until START', async (word, opener, confirmation) => {
    const phone = nextPhone();
    const user = server.sms(phone);
    await midConversation(user, opener);
    expect(await storedState('sms', phone)).toBeDefined();

    const stop = await user.say(word);
    expect(stop.status).toBe(200);
    expect(stop.messages).toEqual([confirmation]);
    expect(await storedState('sms', phone)).toBeUndefined();

    for (const text of ['30/06/2031', 'Bonjour', 'aide', word]) {
      const ignored = await user.say(text);
      expect({ text, status: ignored.status, raw: ignored.raw }).toEqual({ text, status: 200, raw: EMPTY_TWIML });
    }
    // Nothing was even recorded: the conversation did not start again behind the silence.
    expect(await storedState('sms', phone)).toBeUndefined();

    const start = await user.say(opener === 'Bonjour' ? 'START' : 'ابدأ');
    expect(start.status).toBe(200);
    expect(start.text).toContain(opener === 'Bonjour' ? 'je suis Tasjil' : 'أنا تسجيل');
    expect(start.text).not.toMatch(/Reprenons|نكمل من حيث توقفت/);
    // SMS users just typed START: no extra line about STOP on a paid channel.
    expect(start.text).not.toMatch(/écrivez STOP|اكتب توقف/);
    // A fresh conversation: the first question again, then the document number question.
    const next = await user.say('1');
    expect(next.text).toContain(opener === 'Bonjour' ? 'numéro de votre CNIE' : 'اكتب رقم البطاقة الوطنية');
  });

  it.each([
    ['STOP', 'Bonjour', CONFIRMATION_FR],
    ['ARRET', 'Bonjour', CONFIRMATION_FR],
    ['توقف', 'السلام عليكم', CONFIRMATION_AR],
  ] as const)('"%s" on WhatsApp: one confirmation, data erased; the next message (not a STOP) reopens the conversation and says how to stop again', async (word, opener, confirmation) => {
    const phone = nextPhone();
    const user = server.whatsapp(phone);
    await midConversation(user, opener);

    const stop = await user.say(word);
    expect(stop.messages).toEqual([confirmation]);
    expect(await storedState('whatsapp', phone)).toBeUndefined();
    // A STOP said again is not a wish to talk: silence, and nothing recorded.
    expect((await user.say(word)).raw).toBe(EMPTY_TWIML);
    expect(await storedState('whatsapp', phone)).toBeUndefined();

    // They wrote first: WhatsApp lets us answer, and they want an answer.
    const back = await user.say(opener === 'Bonjour' ? 'Bonjour, vous êtes là ?' : 'السلام، واش كاين شي حد؟');
    expect(back.status).toBe(200);
    expect(back.text).toContain(opener === 'Bonjour' ? 'je suis Tasjil' : 'أنا تسجيل');
    expect(back.text).toContain(opener === 'Bonjour' ? 'Pour ne plus recevoir de messages, écrivez STOP.' : 'لإيقاف الرسائل، اكتب توقف.');
    expect(back.text).not.toMatch(/Reprenons|نكمل من حيث توقفت|30 juin/);
    expect(await storedState('whatsapp', phone)).toBeDefined();
    // Opted back in for good: the next message is an ordinary turn, and STOP works again.
    expect((await user.say('1')).text).toContain(opener === 'Bonjour' ? 'numéro de votre CNIE' : 'اكتب رقم البطاقة الوطنية');
    expect((await user.say(word)).messages).toEqual([confirmation]);
  });

  it('erases the number’s conversation on the other channel too', async () => {
    const phone = nextPhone();
    await midConversation(server.sms(phone), 'Bonjour');
    await midConversation(server.whatsapp(phone), 'Bonjour');

    expect((await server.whatsapp(phone).say('STOP')).messages).toEqual([CONFIRMATION_FR]);
    expect(await storedState('whatsapp', phone)).toBeUndefined();
    expect(await storedState('sms', phone)).toBeUndefined();
    // The number is out on both channels.
    expect((await server.sms(phone).say('30/06/2031')).raw).toBe(EMPTY_TWIML);
  });

  it('a sentence that merely contains STOP is not an opt-out', async () => {
    const user = server.whatsapp(nextPhone());
    await midConversation(user, 'Bonjour');
    const reply = await user.say('stop ou encore ?');
    expect(reply.messages).not.toEqual([CONFIRMATION_FR]);
    expect(reply.text).not.toBe('');
  });
});

describe('a delivery report with error 21610', () => {
  it('opts the number out and erases its conversation', async () => {
    const phone = nextPhone();
    const user = server.whatsapp(phone);
    await midConversation(user, 'Bonjour');

    const report = await server.status(statusForm(messageSid(), 'failed', { ErrorCode: '21610', To: `whatsapp:${phone}`, From: 'whatsapp:+14155238886' }));
    expect(report.status).toBe(204);
    expect(await storedState('whatsapp', phone)).toBeUndefined();
    // On WhatsApp, writing again is opting back in: a fresh conversation, not the old one.
    const back = await user.say('Bonjour');
    expect(back.text).toContain('je suis Tasjil');
    expect(back.text).toContain('écrivez STOP');
  });

  it('keeps an SMS number out until it writes START', async () => {
    const phone = nextPhone();
    const user = server.sms(phone);
    await midConversation(user, 'Bonjour');
    expect((await server.status(statusForm(messageSid(), 'failed', { ErrorCode: '21610', To: phone, From: '+15005550006' }))).status).toBe(204);
    expect(await storedState('sms', phone)).toBeUndefined();
    expect((await user.say('30/06/2031')).raw).toBe(EMPTY_TWIML);
    expect((await user.say('START')).text).toContain('je suis Tasjil');
  });

  it('another error code opts nobody out', async () => {
    const phone = nextPhone();
    const user = server.whatsapp(phone);
    await midConversation(user, 'Bonjour');
    expect((await server.status(statusForm(messageSid(), 'undelivered', { ErrorCode: '30003', To: `whatsapp:${phone}` }))).status).toBe(204);
    expect((await user.say('30/06/2031')).text).toContain('Votre date de naissance ?');
  });
});
