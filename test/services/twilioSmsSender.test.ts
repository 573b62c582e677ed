import { Writable } from 'node:stream';
import { createTwilioClient, RedirectingRequestClient } from '../../src/channels/twilio/twilioClient';
import { ManualClock } from '../../src/clock';
import { createLogger } from '../../src/log';
import { InMemoryDeliveryTracker } from '../../src/services/sms/deliveryTracker';
import { SmsSendError, TwilioSmsSender } from '../../src/services/sms/twilioSmsSender';
import type { OutboundSms } from '../../src/services/types';
import { FakeTwilio, NOT_MOBILE_ERROR } from '../support/fakeTwilio';

const FROM = 'CNSS'; // an alphanumeric sender: Moroccan carriers do not carry numeric ones
const STATUS_URL = 'https://bot.example.ma/api/twilio/status';
const PHONE = '+212612345678';
const OTP_SMS: OutboundSms = {
  to: PHONE,
  body: 'CNSS Tasjil: votre code de verification est 482913. Valable 10 min.',
  locale: 'fr',
  purpose: 'otp',
  conversationKey: 'whatsapp:+212612345678',
};

describe('TwilioSmsSender, against a fake Twilio over HTTP', () => {
  const fake = new FakeTwilio();
  beforeAll(() => fake.start());
  afterAll(() => fake.stop());
  beforeEach(() => fake.reset());

  function setUp(credentials: { authToken?: string } = {}) {
    const clock = new ManualClock();
    const logLines: string[] = [];
    const sink = new Writable({
      write(chunk, _encoding, done) {
        logLines.push(String(chunk));
        done();
      },
    });
    const log = createLogger('trace', sink);
    const tracker = new InMemoryDeliveryTracker(clock);
    const client = createTwilioClient({ accountSid: fake.accountSid, authToken: credentials.authToken ?? fake.authToken, baseUrl: fake.url });
    const sender = new TwilioSmsSender({ client, from: FROM, statusCallbackUrl: STATUS_URL, tracker, log });
    return { sender, tracker, logLines };
  }

  it('posts From (the alphanumeric sender), To, Body and StatusCallback to the Messages resource', async () => {
    const { sender } = setUp();
    await sender.send(OTP_SMS);
    expect(fake.requests).toHaveLength(1);
    expect(fake.requests[0]).toMatchObject({
      method: 'POST',
      path: `/2010-04-01/Accounts/${fake.accountSid}/Messages.json`,
      form: { From: FROM, To: PHONE, Body: OTP_SMS.body, StatusCallback: STATUS_URL },
    });
    expect(Object.keys(fake.requests[0]!.form).sort()).toEqual(['Body', 'From', 'StatusCallback', 'To']);
  });

  it('authenticates with the account SID and auth token (HTTP Basic)', async () => {
    const { sender } = setUp();
    await sender.send(OTP_SMS);
    const expected = `Basic ${Buffer.from(`${fake.accountSid}:${fake.authToken}`).toString('base64')}`;
    expect(fake.requests[0]!.authorization).toBe(expected);
  });

  it('keeps Arabic text intact (UTF-8 form encoding)', async () => {
    const { sender } = setUp();
    const body = 'CNSS تسجيل: رمز التحقق هو 482913';
    await sender.send({ ...OTP_SMS, body, locale: 'ar' });
    expect(fake.requests[0]!.form.Body).toBe(body);
  });

  it("returns Twilio's message SID and records it for the status callback", async () => {
    const { sender, tracker } = setUp();
    const { id } = await sender.send(OTP_SMS);
    expect(id).toMatch(/^SM[0-9a-f]{32}$/);
    expect(fake.messages.map((m) => m.sid)).toEqual([id]);
    expect(await tracker.report(id!, 'undelivered', 30003)).toEqual({
      purpose: 'otp',
      conversationKey: OTP_SMS.conversationKey,
      to: PHONE,
      failed: true,
      errorCode: 30003,
    });
    expect(await tracker.otpDeliveryFailed(OTP_SMS.conversationKey)).toBe(true);
  });

  it('turns error 21610 (the number opted out) into an SmsSendError with the code, and tracks nothing', async () => {
    const { sender, tracker } = setUp();
    fake.failNextSends(1);
    const error = await sender.send(OTP_SMS).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SmsSendError);
    expect(error).toMatchObject({ code: 21610, status: 400, optedOut: true });
    expect(await tracker.otpDeliveryFailed(OTP_SMS.conversationKey)).toBe(false);
    // Only the next send was told to fail.
    await expect(sender.send(OTP_SMS)).resolves.toEqual({ id: expect.stringMatching(/^SM/) });
  });

  it('turns error 21614 (not a mobile) into an SmsSendError that quotes neither the number nor the text', async () => {
    const { sender } = setUp();
    fake.failNextSends(1, NOT_MOBILE_ERROR);
    const error = (await sender.send(OTP_SMS).catch((e: unknown) => e)) as SmsSendError;
    expect(error).toMatchObject({ code: 21614, optedOut: false });
    const shown = JSON.stringify({ ...error, message: error.message, stack: error.stack });
    expect(shown).not.toContain('482913');
    expect(shown).not.toContain('612345678');
    expect(error.cause).toBeUndefined();
  });

  it('rejects with Twilio code 20003 when the auth token is wrong', async () => {
    const { sender } = setUp({ authToken: 'not-the-token' });
    await expect(sender.send(OTP_SMS)).rejects.toMatchObject({ name: 'SmsSendError', code: 20003, status: 401 });
  });

  it('rejects with an SmsSendError without code when Twilio cannot be reached', async () => {
    const unreachable = new FakeTwilio();
    const url = await unreachable.start();
    await unreachable.stop();
    const log = createLogger('silent');
    const client = createTwilioClient({ accountSid: fake.accountSid, authToken: fake.authToken, baseUrl: url });
    const sender = new TwilioSmsSender({ client, from: FROM, statusCallbackUrl: STATUS_URL, tracker: new InMemoryDeliveryTracker(new ManualClock()), log });
    const error = await sender.send(OTP_SMS).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SmsSendError);
    expect(error).toMatchObject({ code: undefined, message: 'SMS provider unreachable' });
  });

  it('logs the event, masked recipient, purpose and SID; never the number or the text', async () => {
    const { sender, logLines } = setUp();
    const { id } = await sender.send(OTP_SMS);
    fake.failNextSends(1);
    await sender.send(OTP_SMS).catch(() => undefined);
    const entries = logLines.map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(entries[0]).toMatchObject({ event: 'sms.sent', recipient: '06xx xx xx 78', purpose: 'otp', sid: id });
    expect(entries[1]).toMatchObject({ event: 'sms.failed', recipient: '06xx xx xx 78', purpose: 'otp', errorCode: 21610 });
    const all = logLines.join('\n');
    expect(all).not.toContain('482913');
    expect(all).not.toContain('612345678');
    expect(all).not.toContain('verification');
  });

  it('still returns the SID when the delivery tracker fails: the SMS is already on its way', async () => {
    const log = createLogger('silent');
    const client = createTwilioClient({ accountSid: fake.accountSid, authToken: fake.authToken, baseUrl: fake.url });
    const broken = {
      sent: async () => {
        throw new Error('redis down');
      },
      report: async () => undefined,
      otpDeliveryFailed: async () => false,
    };
    const fragile = new TwilioSmsSender({ client, from: FROM, statusCallbackUrl: STATUS_URL, tracker: broken, log });
    await expect(fragile.send(OTP_SMS)).resolves.toEqual({ id: expect.stringMatching(/^SM/) });
  });
});

describe('RedirectingRequestClient (tests only)', () => {
  it('sends any Twilio host to the base URL, keeping path and query; other hosts untouched', () => {
    const client = new RedirectingRequestClient('http://127.0.0.1:4321/');
    expect(client.redirect('https://api.twilio.com/2010-04-01/Accounts/AC1/Messages.json')).toBe('http://127.0.0.1:4321/2010-04-01/Accounts/AC1/Messages.json');
    expect(client.redirect('https://verify.twilio.com/v2/Services/VA1/VerificationCheck')).toBe('http://127.0.0.1:4321/v2/Services/VA1/VerificationCheck');
    // TWILIO_REGION / TWILIO_EDGE make the library call regional hosts.
    expect(client.redirect('https://api.dublin.ie1.twilio.com/2010-04-01/Accounts.json?PageSize=2')).toBe('http://127.0.0.1:4321/2010-04-01/Accounts.json?PageSize=2');
    expect(client.redirect('https://example.com/x')).toBe('https://example.com/x');
    expect(client.redirect('https://nottwilio.com/x')).toBe('https://nottwilio.com/x');
  });
});
