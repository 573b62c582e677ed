import { createTwilioClient } from '../../src/channels/twilio/twilioClient';
import { ManualClock } from '../../src/clock';
import { createLogger } from '../../src/log';
import { OTP_MAX_ATTEMPTS, OTP_MAX_CODES_PER_HOUR, OTP_RESEND_COOLDOWN_MS, OTP_TTL_MS } from '../../src/services/otp/otpService';
import { TwilioVerifyOtpService } from '../../src/services/otp/twilioVerifyOtpService';
import { SmsSendError } from '../../src/services/sms/twilioSmsSender';
import { FakeTwilio } from '../support/fakeTwilio';

const SERVICE_SID = `VA${'0123456789abcdef'.repeat(2)}`;
const PHONE = '+212612345678';

describe('TwilioVerifyOtpService, against a fake Twilio Verify over HTTP', () => {
  const clock = new ManualClock();
  const fake = new FakeTwilio({ clock });
  beforeAll(() => fake.start());
  afterAll(() => fake.stop());

  let otp: TwilioVerifyOtpService;
  let phone = PHONE;
  beforeEach(() => {
    fake.reset();
    // A new number each test: Verify keeps one pending verification per number, across tests.
    phone = `+2126${String(Math.floor(Math.random() * 1e8)).padStart(8, '0')}`;
    const client = createTwilioClient({ accountSid: fake.accountSid, authToken: fake.authToken, baseUrl: fake.url });
    otp = new TwilioVerifyOtpService({ client, serviceSid: SERVICE_SID, clock, log: createLogger('silent') });
  });
  const wrongCode = () => (fake.lastVerifyCode(phone) === '000000' ? '111111' : '000000');

  it('asks Verify to text a code, in the conversation language; the code never passes through the bot', async () => {
    expect(await otp.send('c1', phone, 'ar')).toEqual({ ok: true });
    expect(fake.requests).toEqual([
      expect.objectContaining({
        method: 'POST',
        path: `/v2/Services/${SERVICE_SID}/Verifications`,
        form: { To: phone, Channel: 'sms', Locale: 'ar' },
      }),
    ]);
    expect(fake.lastVerifyCode(phone)).toMatch(/^\d{6}$/);
  });

  it('accepts the right code once, by asking Verify to check it', async () => {
    await otp.send('c1', phone, 'fr');
    expect(fake.requests[0]!.form.Locale).toBe('fr');
    const code = fake.lastVerifyCode(phone)!;
    expect(await otp.verify('c1', code)).toEqual({ ok: true });
    expect(fake.requestsTo('VerificationCheck')).toEqual([
      expect.objectContaining({ path: `/v2/Services/${SERVICE_SID}/VerificationCheck`, form: { To: phone, Code: code } }),
    ]);
    expect(await otp.verify('c1', code)).toEqual({ ok: false, reason: 'noCode' });
  });

  it('counts wrong tries, then locks, even for the right code, without asking Verify again', async () => {
    await otp.send('c1', phone, 'fr');
    for (let i = 1; i < OTP_MAX_ATTEMPTS; i++) {
      expect(await otp.verify('c1', wrongCode())).toEqual({ ok: false, reason: 'wrong', attemptsLeft: OTP_MAX_ATTEMPTS - i });
    }
    expect(await otp.verify('c1', wrongCode())).toEqual({ ok: false, reason: 'locked' });
    expect(await otp.verify('c1', fake.lastVerifyCode(phone)!)).toEqual({ ok: false, reason: 'locked' });
    expect(fake.requestsTo('VerificationCheck')).toHaveLength(OTP_MAX_ATTEMPTS);
  });

  it('counts a malformed code as a wrong try without sending it to Verify', async () => {
    await otp.send('c1', phone, 'fr');
    expect(await otp.verify('c1', '12ab')).toEqual({ ok: false, reason: 'wrong', attemptsLeft: OTP_MAX_ATTEMPTS - 1 });
    expect(fake.requestsTo('VerificationCheck')).toHaveLength(0);
  });

  it('says "locked" when Verify has reached its own check limit (60202)', async () => {
    await otp.send('c1', phone, 'fr');
    for (let i = 0; i < OTP_MAX_ATTEMPTS; i++) await otp.verify('c1', wrongCode());
    // A resend within 10 minutes is the same verification at Verify, its 5 checks used up, while
    // our count starts afresh with the "new" code.
    clock.advance(OTP_RESEND_COOLDOWN_MS);
    await otp.send('c1', phone, 'fr');
    expect(await otp.verify('c1', fake.lastVerifyCode(phone)!)).toEqual({ ok: false, reason: 'locked' });
  });

  it('says "expired" after 10 minutes, without asking Verify', async () => {
    await otp.send('c1', phone, 'fr');
    clock.advance(OTP_TTL_MS);
    expect(await otp.verify('c1', fake.lastVerifyCode(phone)!)).toEqual({ ok: false, reason: 'expired' });
    expect(fake.requestsTo('VerificationCheck')).toHaveLength(0);
  });

  it('says "expired" when Verify answers 404 (expired on its clock, or approved already)', async () => {
    await otp.send('c1', phone, 'fr');
    const code = fake.lastVerifyCode(phone)!;
    fake.advance(OTP_TTL_MS);
    expect(await otp.verify('c1', code)).toEqual({ ok: false, reason: 'expired' });
    expect(fake.requestsTo('VerificationCheck')).toHaveLength(1);
    expect(await otp.verify('c1', code)).toEqual({ ok: false, reason: 'expired' });
    expect(fake.requestsTo('VerificationCheck')).toHaveLength(1);
    fake.advance(-OTP_TTL_MS);
  });

  it('says "expired" when the code was already used in another conversation for the same number', async () => {
    await otp.send('c1', phone, 'fr');
    clock.advance(OTP_RESEND_COOLDOWN_MS);
    await otp.send('c2', phone, 'fr');
    const code = fake.lastVerifyCode(phone)!;
    expect(await otp.verify('c2', code)).toEqual({ ok: true });
    expect(await otp.verify('c1', code)).toEqual({ ok: false, reason: 'expired' });
  });

  it('says "noCode" when nothing was sent, or after forget', async () => {
    expect(await otp.verify('c1', '123456')).toEqual({ ok: false, reason: 'noCode' });
    await otp.send('c1', phone, 'fr');
    await otp.forget('c1');
    expect(await otp.verify('c1', fake.lastVerifyCode(phone)!)).toEqual({ ok: false, reason: 'noCode' });
  });

  it('makes the user wait between codes, and sends at most 3 codes an hour to one number', async () => {
    await otp.send('c1', phone, 'fr');
    expect(await otp.send('c1', phone, 'fr')).toEqual({ ok: false, reason: 'cooldown', retryInSeconds: 60 });
    clock.advance(OTP_RESEND_COOLDOWN_MS);
    expect(await otp.send('c1', phone, 'fr')).toEqual({ ok: true });
    clock.advance(OTP_RESEND_COOLDOWN_MS);
    expect(await otp.send('other-conversation', phone, 'fr')).toEqual({ ok: true });
    clock.advance(OTP_RESEND_COOLDOWN_MS);
    expect(await otp.send('c1', phone, 'fr')).toEqual({ ok: false, reason: 'hourlyLimit' });
    expect(fake.requestsTo('Verifications')).toHaveLength(OTP_MAX_CODES_PER_HOUR);
    clock.advance(60 * 60 * 1000);
    expect(await otp.send('c1', phone, 'fr')).toEqual({ ok: true });
  });

  it('throws an SmsSendError with Twilio\'s code when Verify refuses to send, and keeps no pending code', async () => {
    fake.failNextVerifications(1, { code: 60205, message: 'SMS is not supported by landline phone number', status: 400 });
    const error = await otp.send('c1', phone, 'fr').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SmsSendError);
    expect(error).toMatchObject({ code: 60205, status: 400 });
    expect(await otp.verify('c1', '123456')).toEqual({ ok: false, reason: 'noCode' });
  });

  it('throws OtpCheckError, and does not count the try, when Verify fails', async () => {
    await otp.send('c1', phone, 'fr');
    fake.failNextChecks(1, { code: 20500, message: 'Internal Server Error', status: 500 });
    await expect(otp.verify('c1', wrongCode())).rejects.toMatchObject({ name: 'OtpCheckError', code: 20500, status: 500 });
    expect(await otp.verify('c1', wrongCode())).toEqual({ ok: false, reason: 'wrong', attemptsLeft: OTP_MAX_ATTEMPTS - 1 });
  });

  it('throws OtpCheckError when Verify cannot be reached', async () => {
    const unreachable = new FakeTwilio();
    const url = await unreachable.start();
    await unreachable.stop();
    const client = createTwilioClient({ accountSid: fake.accountSid, authToken: fake.authToken, baseUrl: url });
    const offline = new TwilioVerifyOtpService({ client, serviceSid: SERVICE_SID, clock, log: createLogger('silent') });
    await expect(offline.send('c1', phone, 'fr')).rejects.toMatchObject({ name: 'SmsSendError', code: undefined });
  });
});
