import type { Clock } from '../../clock';

/**
 * How often a code may be sent to one phone number (issue 3), whoever sends it: our own OTP
 * service or Twilio Verify. Verify has its own send limits (5 sends per 10 minutes per number,
 * error 60203), but ours are stricter and give the user a precise wait instead of an error.
 */
export const OTP_RESEND_COOLDOWN_MS = 60 * 1000;
export const OTP_MAX_CODES_PER_HOUR = 3;
const HOUR_MS = 60 * 60 * 1000;

export type OtpSendResult =
  | { ok: true }
  | { ok: false; reason: 'cooldown'; retryInSeconds: number }
  | { ok: false; reason: 'hourlyLimit' };

/** What enforces the limits: this process's memory (OtpSendLimits) or Redis, shared by all instances (RedisOtpSendLimits). */
export interface OtpSendLimiter {
  take(phone: string): OtpSendResult | Promise<OtpSendResult>;
}

/**
 * Cool-down and hourly limit per phone number. Limits apply to the number, not the conversation,
 * so restarting a conversation does not reset them, and one attacker cannot pump SMS to a number
 * through many conversations (SMS pumping, platform.md §4.9).
 */
export class OtpSendLimits implements OtpSendLimiter {
  /** Send times per phone number, oldest first, only those of the last hour. */
  private readonly sendsByPhone = new Map<string, number[]>();
  private lastSweep: number;

  constructor(private readonly clock: Clock) {
    this.lastSweep = clock.now();
  }

  /**
   * Whether a code may be sent to `phone` now; when it may, the send is counted at once, before
   * the SMS goes out: two requests at the same moment cannot both pass, and a send that fails
   * midway still counts (a failing number must not be retried in a loop).
   */
  take(phone: string): OtpSendResult {
    const now = this.clock.now();
    this.sweep(now);
    const recent = this.recentSends(phone, now);
    const last = recent[recent.length - 1];
    if (last !== undefined && now - last < OTP_RESEND_COOLDOWN_MS) {
      return { ok: false, reason: 'cooldown', retryInSeconds: Math.ceil((OTP_RESEND_COOLDOWN_MS - (now - last)) / 1000) };
    }
    if (recent.length >= OTP_MAX_CODES_PER_HOUR) return { ok: false, reason: 'hourlyLimit' };
    this.sendsByPhone.set(phone, [...recent, now]);
    return { ok: true };
  }

  private recentSends(phone: string, now: number): number[] {
    return (this.sendsByPhone.get(phone) ?? []).filter((at) => now - at < HOUR_MS);
  }

  /** Forgets numbers with no send in the last hour, at most once an hour: memory stays bounded. */
  private sweep(now: number): void {
    if (now - this.lastSweep < HOUR_MS) return;
    this.lastSweep = now;
    for (const phone of [...this.sendsByPhone.keys()]) {
      if (this.recentSends(phone, now).length === 0) this.sendsByPhone.delete(phone);
    }
  }
}
