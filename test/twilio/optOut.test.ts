import { warmUpDateRecognizer } from '../../src/nlu/dates';
import { messageSid, startTwilioServer, statusForm, type Sender, type TwilioTestServer } from '../support/twilioServer';

/**
 * STOP / ARRET / توقف opt the number out: one confirmation, its data erased, then silence (an
 * empty TwiML) until START / ابدأ, which starts a fresh conversation. Twilio's error 21610 on a
 * delivery report (the number replied STOP to our SMS sender) opts it out as well.
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
    ['STOP', 'whatsapp', 'Bonjour', CONFIRMATION_FR],
    ['ARRET', 'whatsapp', 'Bonjour', CONFIRMATION_FR],
    ['Arrêt', 'sms', 'Bonjour', CONFIRMATION_FR],
    ['stop', 'sms', 'Bonjour', CONFIRMATION_FR],
    ['توقف', 'whatsapp', 'السلام عليكم', CONFIRMATION_AR],
    ['توقف', 'sms', 'السلام عليكم', CONFIRMATION_AR],
  ] as const)('"%s" on %s: one confirmation, data erased, then silence until START', async (word, channel, opener, confirmation) => {
    const phone = nextPhone();
    const user = channel === 'whatsapp' ? server.whatsapp(phone) : server.sms(phone);
    await midConversation(user, opener);
    expect(await storedState(channel, phone)).toBeDefined();

    const stop = await user.say(word);
    expect(stop.status).toBe(200);
    expect(stop.messages).toEqual([confirmation]);
    expect(await storedState(channel, phone)).toBeUndefined();

    for (const text of ['30/06/2031', 'Bonjour', 'aide', word]) {
      const ignored = await user.say(text);
      expect({ text, status: ignored.status, raw: ignored.raw }).toEqual({ text, status: 200, raw: EMPTY_TWIML });
    }
    // Nothing was even recorded: the conversation did not start again behind the silence.
    expect(await storedState(channel, phone)).toBeUndefined();

    const start = await user.say(opener === 'Bonjour' ? 'START' : 'ابدأ');
    expect(start.status).toBe(200);
    expect(start.text).toContain(opener === 'Bonjour' ? 'je suis Tasjil' : 'أنا تسجيل');
    expect(start.text).not.toMatch(/Reprenons|نكمل من حيث توقفت/);
    // A fresh conversation: the first question again, then the document number question.
    const next = await user.say('1');
    expect(next.text).toContain(opener === 'Bonjour' ? 'numéro de votre CNIE' : 'اكتب رقم البطاقة الوطنية');
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
    expect((await user.say('30/06/2031')).raw).toBe(EMPTY_TWIML);

    const start = await user.say('START');
    expect(start.text).toContain('je suis Tasjil');
  });

  it('another error code opts nobody out', async () => {
    const phone = nextPhone();
    const user = server.whatsapp(phone);
    await midConversation(user, 'Bonjour');
    expect((await server.status(statusForm(messageSid(), 'undelivered', { ErrorCode: '30003', To: `whatsapp:${phone}` }))).status).toBe(204);
    expect((await user.say('30/06/2031')).text).toContain('Votre date de naissance ?');
  });
});
