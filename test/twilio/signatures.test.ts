import { warmUpDateRecognizer } from '../../src/nlu/dates';
import {
  STATUS_URL,
  WEBHOOK_URL,
  encodeForm,
  messageSid,
  startTwilioServer,
  statusForm,
  type Form,
  type TwilioReply,
  type TwilioTestServer,
} from '../support/twilioServer';

/**
 * Security first: the signature is checked (403) before anything is parsed (400) or routed. Every
 * signature below is computed with the twilio library's getExpectedTwilioSignature, over the public
 * URL configured at Twilio (TWILIO_WEBHOOK_URL), while the test posts to 127.0.0.1: the proxy case.
 */

const MESSAGES = '/api/twilio/messages';

let phoneSeq = 0;
/** A new WhatsApp user for each case, so no case sees another's conversation. */
const nextPhone = () => `+2126100${String(++phoneSeq).padStart(5, '0')}`;

beforeAll(() => warmUpDateRecognizer(), 30000);

describe('X-Twilio-Signature on POST /api/twilio/messages', () => {
  let server: TwilioTestServer;
  beforeAll(async () => {
    server = await startTwilioServer();
  });
  afterAll(() => server.close());

  type Attempt = (server: TwilioTestServer, form: Form) => Promise<TwilioReply>;
  const cases: [string, number, Attempt][] = [
    ['signed as Twilio signs it', 200, (s, form) => s.post(form)],
    ['without the header', 403, (s, form) => s.post(form, { signature: 'none' })],
    ['signed with another auth token', 403, (s, form) => s.post(form, { signature: 'wrong-token' })],
    ['signed for the URL the request reached (127.0.0.1), not the public one', 403, (s, form) => s.post(form, { signature: 'other-url' })],
    ['signed for the other webhook (the status URL)', 403, (s, form) => s.post(form, { url: STATUS_URL })],
    ['signed for the public URL over http instead of https', 403, (s, form) => s.post(form, { url: WEBHOOK_URL.replace('https:', 'http:') })],
    ['with an empty header', 403, (s, form) => s.postRaw(MESSAGES, encodeForm(form), { 'x-twilio-signature': '' })],
    ['with a garbage header', 403, (s, form) => s.postRaw(MESSAGES, encodeForm(form), { 'x-twilio-signature': 'not base64 at all' })],
    [
      'with the Body changed after signing',
      403,
      (s, form) => s.postRaw(MESSAGES, encodeForm({ ...form, Body: 'AB123456' }), { 'x-twilio-signature': s.sign(form) }),
    ],
    [
      'with From changed after signing (someone else’s number)',
      403,
      (s, form) => s.postRaw(MESSAGES, encodeForm({ ...form, From: 'whatsapp:+212699999999' }), { 'x-twilio-signature': s.sign(form) }),
    ],
    [
      'with a parameter added after signing',
      403,
      (s, form) => s.postRaw(MESSAGES, encodeForm({ ...form, ButtonPayload: '1' }), { 'x-twilio-signature': s.sign(form) }),
    ],
    [
      'with a parameter removed after signing',
      403,
      (s, form) => {
        const { ProfileName: _removed, ...rest } = form;
        return s.postRaw(MESSAGES, encodeForm(rest), { 'x-twilio-signature': s.sign({ ...form, ProfileName: 'Amina' }) });
      },
    ],
    [
      'with Body posted twice, the second added after signing',
      403,
      (s, form) => s.postRaw(MESSAGES, `${encodeForm(form)}&Body=STOP`, { 'x-twilio-signature': s.sign(form) }),
    ],
    [
      // The library's signature ignores a repeated identical value, so this one authenticates;
      // the schema then refuses a field given twice: still never a 200.
      'with Body posted twice with the same value (signature passes, parsing refuses)',
      400,
      (s, form) => s.postRaw(MESSAGES, `${encodeForm(form)}&Body=${encodeURIComponent(String(form.Body))}`, { 'x-twilio-signature': s.sign(form) }),
    ],
  ];

  it.each(cases)('%s → %i', async (_name, expected, attempt) => {
    const user = server.whatsapp(nextPhone(), { profileName: 'Amina' });
    const form = user.form('Bonjour');
    const reply = await attempt(server, form);
    expect(reply.status).toBe(expected);
    if (expected === 200) {
      expect(reply.contentType).toMatch(/^text\/xml/);
      expect(reply.text).toContain('Bonjour Amina, je suis Tasjil');
      return;
    }
    expect(reply.messages).toEqual([]);
    // A refused request has no effect: the same MessageSid, properly signed, is still new and
    // starts the conversation from its very first message.
    const genuine = await server.post(form);
    expect(genuine.status).toBe(200);
    expect(genuine.text).toContain('Bonjour Amina, je suis Tasjil');
    expect(genuine.text).toContain('je suis Tasjil');
  });

  it('logs why a request was refused, never what it carried', async () => {
    const form = server.whatsapp(nextPhone()).form('AB123456');
    await server.post(form, { signature: 'wrong-token' });
    const line = server.logLines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.event === 'twilio.rejected').pop();
    expect(line).toMatchObject({ status: 403, reason: 'bad-signature' });
    expect(server.logLines.join('\n')).not.toContain('AB123456');
  });
});

describe('X-Twilio-Signature on POST /api/twilio/status', () => {
  let server: TwilioTestServer;
  beforeAll(async () => {
    server = await startTwilioServer();
  });
  afterAll(() => server.close());

  type SignatureCase = Parameters<TwilioTestServer['status']>[1];
  const cases: [string, number, SignatureCase][] = [
    ['signed for the status URL', 204, { signature: 'valid' }],
    ['unsigned', 403, { signature: 'none' }],
    ['signed with another auth token', 403, { signature: 'wrong-token' }],
    ['signed for the messages URL', 403, { signature: 'valid', url: WEBHOOK_URL }],
    ['signed for the URL it reached (127.0.0.1)', 403, { signature: 'other-url' }],
  ];

  it.each(cases)('%s → %i', async (_name, expected, options) => {
    const reply = await server.status(statusForm(messageSid(), 'delivered', { To: '+212612345678' }), options);
    expect(reply.status).toBe(expected);
  });

  it('the status URL defaults to the messages URL with /status', () => {
    expect(server.config.twilioStatusUrl).toBe(STATUS_URL);
  });
});

describe('malformed requests, correctly signed', () => {
  let server: TwilioTestServer;
  beforeAll(async () => {
    server = await startTwilioServer();
  });
  afterAll(() => server.close());

  const without = (form: Form, name: string): Form => Object.fromEntries(Object.entries(form).filter(([key]) => key !== name));
  const cases: [string, (form: Form) => Form][] = [
    ['no From', (form) => without(form, 'From')],
    ['no To', (form) => without(form, 'To')],
    ['no MessageSid', (form) => without(form, 'MessageSid')],
    ['a MessageSid that is not SM + 32 hex', (form) => ({ ...form, MessageSid: 'SM123' })],
    ['a MessageSid with a foreign prefix', (form) => ({ ...form, MessageSid: `XX${'a'.repeat(32)}` })],
    ['a NumMedia that is not a number', (form) => ({ ...form, NumMedia: 'many' })],
    ['a Latitude that is not a coordinate', (form) => ({ ...form, Latitude: 'north', Longitude: '-7.6' })],
    ['a Latitude out of range', (form) => ({ ...form, Latitude: '91', Longitude: '-7.6' })],
    ['Body given twice, both signed', (form) => ({ ...form, Body: ['1', '2'] })],
    ['a From that is no phone number', (form) => ({ ...form, From: 'whatsapp:hello' })],
    ['a From with a channel we do not serve', (form) => ({ ...form, From: `messenger:${String(form.From).replace('whatsapp:', '')}` })],
    ['a From without its +', (form) => ({ ...form, From: String(form.From).replace('+', '') })],
    ['a delivery report posted to the messages URL', (form) => ({ ...without(form, 'Body'), MessageStatus: 'delivered', SmsStatus: 'delivered' })],
  ];

  it.each(cases)('%s → 400, and the server still answers afterwards', async (_name, spoil) => {
    const user = server.whatsapp(nextPhone());
    const bad = await server.post(spoil(user.form('Bonjour')));
    expect(bad.status).toBe(400);
    expect(bad.messages).toEqual([]);

    const good = await user.say('Bonjour');
    expect(good.status).toBe(200);
    expect(good.text).toContain("Quelle pièce d'identité avez-vous ?");
  });

  it('a status callback with an unknown MessageStatus → 400', async () => {
    expect((await server.status(statusForm(messageSid(), 'exploded'))).status).toBe(400);
    expect((await server.status(statusForm(messageSid(), 'delivered'))).status).toBe(204);
  });
});

describe('with TWILIO_AUTH_TOKEN unset (outside production)', () => {
  let server: TwilioTestServer;
  beforeAll(async () => {
    server = await startTwilioServer({ env: { TWILIO_AUTH_TOKEN: '', TWILIO_WEBHOOK_URL: '' } });
  });
  afterAll(() => server.close());

  it('accepts an unsigned message and answers in TwiML', async () => {
    const reply = await server.post(server.whatsapp(nextPhone()).form('Bonjour'), { signature: 'none' });
    expect(reply.status).toBe(200);
    expect(reply.text).toContain("Quelle pièce d'identité avez-vous ?");
  });

  it('accepts an unsigned status callback', async () => {
    expect((await server.status(statusForm(messageSid(), 'delivered'), { signature: 'none' })).status).toBe(204);
  });

  it('still refuses a malformed one', async () => {
    expect((await server.post({ Body: 'Bonjour' }, { signature: 'none' })).status).toBe(400);
  });
});
