import { createHmac, randomBytes, randomInt, timingSafeEqual } from 'node:crypto';
import type { Clock } from '../../clock';
import { t } from '../../i18n';
import type { Locale, SmsSender } from '../types';
import { OtpSendLimits, type OtpSendResult } from './otpLimits';

export { OTP_MAX_CODES_PER_HOUR, OTP_RESEND_COOLDOWN_MS, OtpSendLimits, type OtpSendResult } from './otpLimits';

/** Rules of issue 3 (mirroring what the portal and Twilio Verify do). */
export const OTP_LENGTH = 6;
export const OTP_TTL_MS = 10 * 60 * 1000;
export const OTP_MAX_ATTEMPTS = 5;

export type OtpVerifyResult =
  | { ok: true }
  | { ok: false; reason: 'wrong'; attemptsLeft: number }
  | { ok: false; reason: 'locked' | 'expired' | 'noCode' };

/** One-time codes sent by SMS. The code itself is kept only as a keyed hash, never in chat state. */
export interface OtpService {
  send(conversationKey: string, phone: string, locale: Locale): Promise<OtpSendResult>;
  verify(conversationKey: string, code: string): Promise<OtpVerifyResult>;
  forget(conversationKey: string): Promise<void>;
}

interface PendingCode {
  hash: Buffer;
  expiresAt: number;
  attempts: number;
}

export class InMemoryOtpService implements OtpService {
  // A secret per process: a hash leaked from memory cannot be reversed by trying the 10^6 codes.
  private readonly secret = randomBytes(32);
  private readonly codes = new Map<string, PendingCode>();
  private readonly limits: OtpSendLimits;

  constructor(
    private readonly sms: SmsSender,
    private readonly clock: Clock,
    private readonly generate: () => string = () => String(randomInt(0, 10 ** OTP_LENGTH)).padStart(OTP_LENGTH, '0'),
  ) {
    this.limits = new OtpSendLimits(clock);
  }

  async send(conversationKey: string, phone: string, locale: Locale): Promise<OtpSendResult> {
    const allowed = this.limits.take(phone);
    if (!allowed.ok) return allowed;

    const now = this.clock.now();
    const code = this.generate();
    this.codes.set(conversationKey, { hash: this.hash(conversationKey, code), expiresAt: now + OTP_TTL_MS, attempts: 0 });
    await this.sms.send({ to: phone, body: t(locale, 'sms.otp', { code, minutes: OTP_TTL_MS / 60000 }), locale, purpose: 'otp', conversationKey });
    return { ok: true };
  }

  async verify(conversationKey: string, code: string): Promise<OtpVerifyResult> {
    const pending = this.codes.get(conversationKey);
    if (!pending) return { ok: false, reason: 'noCode' };
    if (pending.attempts >= OTP_MAX_ATTEMPTS) return { ok: false, reason: 'locked' };
    if (this.clock.now() >= pending.expiresAt) return { ok: false, reason: 'expired' };
    pending.attempts += 1;
    if (timingSafeEqual(pending.hash, this.hash(conversationKey, code))) {
      this.codes.delete(conversationKey);
      return { ok: true };
    }
    const attemptsLeft = OTP_MAX_ATTEMPTS - pending.attempts;
    return attemptsLeft > 0 ? { ok: false, reason: 'wrong', attemptsLeft } : { ok: false, reason: 'locked' };
  }

  async forget(conversationKey: string): Promise<void> {
    this.codes.delete(conversationKey);
  }

  private hash(conversationKey: string, code: string): Buffer {
    return createHmac('sha256', this.secret).update(conversationKey).update('\0').update(code).digest();
  }
}
