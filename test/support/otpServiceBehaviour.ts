import type { ManualClock } from '../../src/clock';
import {
  OTP_MAX_ATTEMPTS,
  OTP_MAX_CODES_PER_HOUR,
  OTP_RESEND_COOLDOWN_MS,
  OTP_TTL_MS,
  type OtpService,
} from '../../src/services/otp/otpService';
import type { OutboundSms } from '../../src/services/types';

/**
 * What every OtpService of ours does, whatever keeps the codes (memory, Redis): one suite, run
 * against each implementation, so they cannot drift apart.
 */
export interface OtpServiceUnderTest {
  otp: OtpService;
  clock: ManualClock;
  /** SMS handed to the sender, oldest first. */
  sent: OutboundSms[];
  /** The code in the latest SMS. */
  lastCode(): string;
}

const PHONE = '+212612345678';

export function behavesAsAnOtpService(setUp: () => OtpServiceUnderTest): void {
  it('sends a 6-digit code by SMS in the conversation language, and accepts it once', async () => {
    const { otp, sent, lastCode } = setUp();
    expect(await otp.send('c1', PHONE, 'fr')).toEqual({ ok: true });
    expect(sent[0]).toMatchObject({ to: PHONE, locale: 'fr', purpose: 'otp', conversationKey: 'c1' });
    expect(lastCode()).toMatch(/^\d{6}$/);
    const code = lastCode();
    expect(await otp.verify('c1', code)).toEqual({ ok: true });
    expect(await otp.verify('c1', code)).toEqual({ ok: false, reason: 'noCode' });
  });

  it('counts wrong tries and locks the code after the last one, even for the right code', async () => {
    const { otp, lastCode } = setUp();
    await otp.send('c1', PHONE, 'ar');
    const code = lastCode();
    const wrong = code === '000000' ? '111111' : '000000';
    for (let i = 1; i < OTP_MAX_ATTEMPTS; i++) {
      expect(await otp.verify('c1', wrong)).toEqual({ ok: false, reason: 'wrong', attemptsLeft: OTP_MAX_ATTEMPTS - i });
    }
    expect(await otp.verify('c1', wrong)).toEqual({ ok: false, reason: 'locked' });
    expect(await otp.verify('c1', code)).toEqual({ ok: false, reason: 'locked' });
  });

  it('refuses an expired code', async () => {
    const { otp, clock, lastCode } = setUp();
    await otp.send('c1', PHONE, 'fr');
    clock.advance(OTP_TTL_MS);
    expect(await otp.verify('c1', lastCode())).toEqual({ ok: false, reason: 'expired' });
  });

  it('makes the user wait between codes, and sends at most 3 codes an hour to one number', async () => {
    const { otp, clock, sent } = setUp();
    await otp.send('c1', PHONE, 'fr');
    expect(await otp.send('c1', PHONE, 'fr')).toEqual({ ok: false, reason: 'cooldown', retryInSeconds: 60 });
    clock.advance(OTP_RESEND_COOLDOWN_MS);
    expect(await otp.send('c1', PHONE, 'fr')).toEqual({ ok: true });
    clock.advance(OTP_RESEND_COOLDOWN_MS);
    expect(await otp.send('other-conversation', PHONE, 'fr')).toEqual({ ok: true });
    clock.advance(OTP_RESEND_COOLDOWN_MS);
    expect(await otp.send('c1', PHONE, 'fr')).toEqual({ ok: false, reason: 'hourlyLimit' });
    expect(sent).toHaveLength(OTP_MAX_CODES_PER_HOUR);
    clock.advance(60 * 60 * 1000);
    expect(await otp.send('c1', PHONE, 'fr')).toEqual({ ok: true });
  });

  it('the newest code replaces the previous one', async () => {
    const { otp, clock, lastCode } = setUp();
    await otp.send('c1', PHONE, 'fr');
    const first = lastCode();
    clock.advance(OTP_RESEND_COOLDOWN_MS);
    await otp.send('c1', PHONE, 'fr');
    const second = lastCode();
    if (first !== second) expect(await otp.verify('c1', first)).toMatchObject({ ok: false, reason: 'wrong' });
    expect(await otp.verify('c1', second)).toEqual({ ok: true });
  });

  it('forgets a pending code', async () => {
    const { otp, lastCode } = setUp();
    await otp.send('c1', PHONE, 'fr');
    await otp.forget('c1');
    expect(await otp.verify('c1', lastCode())).toEqual({ ok: false, reason: 'noCode' });
  });

  it('tells the remaining wait of the cool-down in whole seconds, rounded up', async () => {
    const { otp, clock } = setUp();
    await otp.send('c1', PHONE, 'fr');
    clock.advance(OTP_RESEND_COOLDOWN_MS - 1500);
    expect(await otp.send('c1', PHONE, 'fr')).toEqual({ ok: false, reason: 'cooldown', retryInSeconds: 2 });
  });
}
