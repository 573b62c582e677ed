import { warmUpDateRecognizer } from '../../src/nlu/dates';
import { FakeTwilio } from '../support/fakeTwilio';
import { OUR_WHATSAPP, STATUS_URL, eventually, startTwilioServer, type TwilioTestServer } from '../support/twilioServer';

/**
 * WhatsApp quick-reply buttons through Content API templates. A question with 2 (or 3) short
 * choices goes by REST with ContentSid/ContentVariables (a template cannot travel in TwiML), the
 * whole turn with it, in order, and the webhook answers an empty TwiML. A tap comes back as
 * ButtonPayload, the choice number.
 */

const QUICK_REPLY_2 = `HX${'2'.repeat(32)}`;
const QUICK_REPLY_3 = `HX${'3'.repeat(32)}`;
const EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>';

const fake = new FakeTwilio();
let server: TwilioTestServer;

beforeAll(async () => {
  warmUpDateRecognizer();
  await fake.start();
  server = await startTwilioServer({ fake, env: { TWILIO_QUICK_REPLY_2_SID: QUICK_REPLY_2, TWILIO_QUICK_REPLY_3_SID: QUICK_REPLY_3 } });
}, 30000);
afterAll(async () => {
  await server.close();
  await fake.stop();
});
beforeEach(() => fake.reset());

/** The Messages requests to one WhatsApp user, once `count` of them arrived. */
const sentTo = (phone: string, count: number) =>
  eventually(() => {
    const sent = fake.requestsTo('Messages.json').filter((r) => r.form.To === `whatsapp:${phone}`);
    return sent.length >= count && sent;
  });

describe('a 2-choice question with short labels (document type, in Arabic)', () => {
  it('goes by REST as the quick-reply template, after the welcome, and the TwiML is empty', async () => {
    const user = server.whatsapp('+212670000001');
    const reply = await user.say('السلام عليكم');
    expect(reply.status).toBe(200);
    expect(reply.raw).toBe(EMPTY_TWIML);

    const [welcome, question] = await sentTo(user.phone, 2);
    expect(welcome!.form).toMatchObject({ From: OUR_WHATSAPP, To: `whatsapp:${user.phone}`, StatusCallback: STATUS_URL });
    expect(welcome!.form.Body).toContain('أنا تسجيل');
    expect(welcome!.form.ContentSid).toBeUndefined();

    expect(question!.form).toMatchObject({ From: OUR_WHATSAPP, To: `whatsapp:${user.phone}`, ContentSid: QUICK_REPLY_2, StatusCallback: STATUS_URL });
    expect(question!.form.Body).toBeUndefined();
    expect(JSON.parse(String(question!.form.ContentVariables))).toEqual({
      '1': 'ما هي وثيقة التعريف التي عندك؟ أجب برقم الاختيار:',
      '2': 'البطاقة الوطنية',
      '3': 'بطاقة الإقامة',
    });
    expect(fake.requestsTo('Messages.json')).toHaveLength(2);

    // The user taps the second button: Twilio posts its payload "2" and its title as the body.
    fake.reset();
    const tapped = await user.say('بطاقة الإقامة', { ButtonPayload: '2', ButtonText: 'بطاقة الإقامة', MessageType: 'button' });
    expect(tapped.status).toBe(200);
    expect(tapped.text).toContain('اكتب رقم بطاقة الإقامة، مثلا E1234567.');
    // A question without buttons travels in TwiML again.
    expect(fake.requestsTo('Messages.json')).toEqual([]);
  });

  it('a typed number still answers it', async () => {
    const user = server.whatsapp('+212670000002');
    await user.say('السلام عليكم');
    await sentTo(user.phone, 2);
    expect((await user.say('1')).text).toContain('اكتب رقم البطاقة الوطنية');
  });
});

describe('labels too long for a button', () => {
  it('the French document types (over 20 characters) stay numbered text in TwiML', async () => {
    const user = server.whatsapp('+212670000003');
    const reply = await user.say('Bonjour');
    expect(reply.text).toContain("1. CNIE (carte d'identité)");
    expect(reply.text).toContain('2. Carte de séjour (étrangers)');
    expect(fake.requestsTo('Messages.json')).toEqual([]);
  });
});

describe('a 3-choice question (the operator, in French)', () => {
  it('uses the 3-button template, and a tap on the third answers it', async () => {
    const user = server.whatsapp('+212670000004');
    for (const text of ['Bonjour', '1', 'AB123456', '30/06/2031']) await user.say(text);
    expect(fake.requestsTo('Messages.json')).toEqual([]);

    const reply = await user.say('14/03/1985');
    expect(reply.text).toContain('Recevoir les SMS sur ce numéro');
    const accepted = await user.say('1');
    expect(accepted.raw).toBe(EMPTY_TWIML);
    const [question] = await sentTo(user.phone, 1);
    expect(question!.form.ContentSid).toBe(QUICK_REPLY_3);
    expect(JSON.parse(String(question!.form.ContentVariables))).toEqual({
      '1': 'Votre opérateur téléphonique ? Répondez par le numéro :',
      '2': 'Maroc Telecom',
      '3': 'Orange',
      '4': 'inwi',
    });

    await user.say('inwi', { ButtonPayload: '3', ButtonText: 'inwi', MessageType: 'button' });
    const summary = await user.say('passer');
    expect(summary.text).toContain('6. Opérateur : inwi');
  });
});
