import type { Clock } from '../../clock';
import { DEFAULT_KEY_PREFIX, type RedisConnection } from '../../state/redis';
import { openJson, sealJson } from '../../state/sealed';
import type { StateKeys } from '../../state/keys';
import { contactOfConversationKey, keyedId, RedisScript, slotTag, stateCall } from '../../state/redisHelpers';
import { DELIVERY_TRACKING_TTL_MS, FAILED_STATUSES, type DeliveryReport, type DeliveryTracker, type SentSms } from './deliveryTracker';

/**
 * Marks the SMS failed only if it is still known: a plain HSET on an expired entry would bring
 * back a key with no expiry.
 */
const REPORT = new RedisScript(`
if redis.call('EXISTS', KEYS[1]) == 0 then return false end
if ARGV[1] == '1' then redis.call('HSET', KEYS[1], 'f', '1') end
return redis.call('HMGET', KEYS[1], 'p', 't', 'd')
`);

/**
 * InMemoryDeliveryTracker in Redis: a delivery report may reach another instance than the one
 * that sent the SMS.
 *   `<prefix>sms:<MessageSid>`  hash: p purpose, f failed (sticky), t sent at (the app's clock),
 *                               d the conversation key and number, AES-256-GCM under the state
 *                               key (`keyId:iv:tag:ciphertext`, the sid as associated data)
 *   `<prefix>sms-otp:{tag}:<keyed hash of the conversation key>`  the sid of its latest OTP SMS
 *                               (the contact's slot tag; the sid's entry has none: a status
 *                               report knows only the sid)
 * Both expire after the tracking period (24 h). The number is encrypted, not hashed, because a
 * report must give it back (opt-out on error 21610). No entry cap, unlike the in-memory tracker:
 * expiry bounds Redis memory, and Redis is sized for it, not this process's heap.
 * Redis failures reject with StateUnavailableError.
 */
export class RedisDeliveryTracker implements DeliveryTracker {
  private readonly prefix: string;
  private readonly ttlMs: number;

  constructor(
    private readonly redis: RedisConnection,
    private readonly keys: StateKeys,
    private readonly clock: Clock,
    options: { prefix?: string; ttlMs?: number } = {},
  ) {
    this.prefix = options.prefix ?? DEFAULT_KEY_PREFIX;
    this.ttlMs = options.ttlMs ?? DELIVERY_TRACKING_TTL_MS;
  }

  async sent(sid: string, sms: SentSms): Promise<void> {
    const key = this.entryKey(sid);
    const fields = { p: sms.purpose, f: '0', t: String(this.clock.now()), d: sealJson(this.keys, sid, { c: sms.conversationKey, to: sms.to }) };
    // Two keys in two slots on a cluster, so two commands, sent together (one round trip on one
    // server). The latest OTP replaces the previous one: a new code clears a failure of the old.
    const entry = () => this.redis.multi().del(key).hSet(key, fields).pExpire(key, this.ttlMs).exec();
    const latestOtp = () => this.redis.set(this.latestOtpKey(sms.conversationKey), sid, { expiration: { type: 'PX', value: this.ttlMs } });
    await stateCall(() => Promise.all(sms.purpose === 'otp' ? [entry(), latestOtp()] : [entry()]));
  }

  async report(sid: string, status: string, errorCode?: number | string): Promise<DeliveryReport | undefined> {
    const failed = FAILED_STATUSES.has(status);
    const entry = (await REPORT.run(this.redis, [this.entryKey(sid)], [failed ? '1' : '0'])) as [string | null, string | null, string | null] | null;
    if (!entry) return undefined;
    const [purpose, sentAt, sealed] = entry;
    if (!this.current(sentAt) || !sealed) return undefined;
    const opened = openJson<Sealed>(this.keys, sid, sealed);
    if (!opened) return undefined;
    const report: DeliveryReport = { purpose: purpose as SentSms['purpose'], conversationKey: opened.c, to: opened.to, failed };
    const code = errorCodeOf(errorCode);
    if (code !== undefined) report.errorCode = code;
    return report;
  }

  async otpDeliveryFailed(conversationKey: string): Promise<boolean> {
    const sid = await stateCall(() => this.redis.get(this.latestOtpKey(conversationKey)));
    if (sid === null) return false;
    const [failed, sentAt] = await stateCall(() => this.redis.hmGet(this.entryKey(sid), ['f', 't']));
    return failed === '1' && this.current(sentAt ?? null);
  }

  /** Redis's expiry runs on real time; this one on the app's clock, as the in-memory tracker (and tests) do. */
  private current(sentAt: string | null): boolean {
    return sentAt !== null && this.clock.now() - Number(sentAt) < this.ttlMs;
  }

  private entryKey(sid: string): string {
    return `${this.prefix}sms:${sid}`;
  }

  private latestOtpKey(conversationKey: string): string {
    return `${this.prefix}sms-otp:${slotTag(contactOfConversationKey(conversationKey))}:${keyedId(this.keys.hashSecret, 'sms-otp', conversationKey)}`;
  }
}

interface Sealed {
  /** Conversation key (it contains the number). */
  c: string;
  to: string;
}

/** As deliveryTracker.ts reads Twilio's ErrorCode (a form string, or a number). */
function errorCodeOf(value: number | string | undefined): number | undefined {
  const code = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  return typeof code === 'number' && Number.isInteger(code) ? code : undefined;
}
