import type { Clock } from '../../clock';
import type { OutboundSms } from '../types';

/** What we remember of an SMS we sent, so that its delivery report can be tied back to a conversation. */
export interface SentSms {
  purpose: OutboundSms['purpose'];
  conversationKey: string;
  /** E.164 number: lets the status route act on the number (opt-out on error 21610). Kept in memory only, never logged. */
  to: string;
}

/** What a delivery report taught us: the SMS it is about, and whether this report says it failed. */
export interface DeliveryReport extends SentSms {
  failed: boolean;
  /** Twilio's `ErrorCode` of the report (e.g. 30003 unreachable handset, 30005 unknown number, 21610 opted out). */
  errorCode?: number;
}

/**
 * Ties Twilio delivery reports (`POST /api/twilio/status`) back to the SMS we sent. Asynchronous
 * because the Redis implementation (several instances: the status callback may reach another one
 * than the instance that sent) will be.
 */
export interface DeliveryTracker {
  /** Records an SMS the provider accepted, under its id (Twilio's `MessageSid`). */
  sent(sid: string, sms: SentSms): Promise<void>;
  /**
   * Records a status callback (`MessageStatus`, `ErrorCode`; the code as Twilio posts it, a form
   * string, or as a number). Undefined when the SMS is unknown: sent by another system on the
   * account, or more than a day ago.
   */
  report(sid: string, status: string, errorCode?: number | string): Promise<DeliveryReport | undefined>;
  /** True when the latest OTP sent for this conversation was reported failed; a new OTP clears it. */
  otpDeliveryFailed(conversationKey: string): Promise<boolean>;
}

/**
 * Message statuses that mean the SMS will never arrive. Twilio's lifecycle is queued → sending →
 * sent → delivered | undelivered | failed (platform.md §4.4); `failed` is Twilio refusing it,
 * `undelivered` the carrier or handset (e.g. a switched-off phone past the validity period).
 */
export const FAILED_STATUSES: ReadonlySet<string> = new Set(['failed', 'undelivered']);

/** Delivery reports come within minutes, at worst hours (carrier retries): a day is plenty, and bounds memory. */
export const DELIVERY_TRACKING_TTL_MS = 24 * 60 * 60 * 1000;
/** A hard cap as well, in case of a sending burst within the day; the oldest are forgotten first. */
export const DELIVERY_TRACKING_MAX_ENTRIES = 100_000;

interface Entry extends SentSms {
  sentAt: number;
  /** Sticky: status callbacks can arrive out of order, and a late `sent` must not hide an `undelivered`. */
  failed: boolean;
}

/** One process's memory. Good for a single instance; the Redis issue provides the shared one. */
export class InMemoryDeliveryTracker implements DeliveryTracker {
  /** By sid, in order of sending (a Map keeps insertion order): the oldest are at the front. */
  private readonly entries = new Map<string, Entry>();
  /** Sid of the latest OTP SMS per conversation. */
  private readonly latestOtp = new Map<string, string>();

  constructor(
    private readonly clock: Clock,
    private readonly options: { ttlMs?: number; maxEntries?: number } = {},
  ) {}

  async sent(sid: string, sms: SentSms): Promise<void> {
    const now = this.clock.now();
    this.expire(now);
    this.entries.delete(sid); // re-inserted at the back, as the newest
    this.entries.set(sid, { purpose: sms.purpose, conversationKey: sms.conversationKey, to: sms.to, sentAt: now, failed: false });
    if (sms.purpose === 'otp') this.latestOtp.set(sms.conversationKey, sid);
    this.trim();
  }

  async report(sid: string, status: string, errorCode?: number | string): Promise<DeliveryReport | undefined> {
    this.expire(this.clock.now());
    const entry = this.entries.get(sid);
    if (!entry) return undefined;
    const failed = FAILED_STATUSES.has(status);
    if (failed) entry.failed = true;
    const report: DeliveryReport = { purpose: entry.purpose, conversationKey: entry.conversationKey, to: entry.to, failed };
    const code = errorCodeOf(errorCode);
    if (code !== undefined) report.errorCode = code;
    return report;
  }

  async otpDeliveryFailed(conversationKey: string): Promise<boolean> {
    this.expire(this.clock.now());
    const sid = this.latestOtp.get(conversationKey);
    return sid !== undefined && this.entries.get(sid)?.failed === true;
  }

  private expire(now: number): void {
    const ttl = this.options.ttlMs ?? DELIVERY_TRACKING_TTL_MS;
    for (const [sid, entry] of this.entries) {
      if (now - entry.sentAt < ttl) break; // the rest are newer
      this.forget(sid, entry);
    }
  }

  private trim(): void {
    const max = this.options.maxEntries ?? DELIVERY_TRACKING_MAX_ENTRIES;
    for (const [sid, entry] of this.entries) {
      if (this.entries.size <= max) break;
      this.forget(sid, entry);
    }
  }

  private forget(sid: string, entry: Entry): void {
    this.entries.delete(sid);
    if (this.latestOtp.get(entry.conversationKey) === sid) this.latestOtp.delete(entry.conversationKey);
  }
}

function errorCodeOf(value: number | string | undefined): number | undefined {
  const code = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  return typeof code === 'number' && Number.isInteger(code) ? code : undefined;
}
