import { createHmac, randomBytes, randomInt } from 'node:crypto';
import type { Clock } from '../../clock';
import { t } from '../../i18n';
import { DEFAULT_KEY_PREFIX, type RedisConnection } from '../../state/redis';
import { contactOfConversationKey, keyedId, RedisScript, slotTag, stateCall } from '../../state/redisHelpers';
import type { Locale, SmsSender } from '../types';
import { OTP_MAX_CODES_PER_HOUR, OTP_RESEND_COOLDOWN_MS, type OtpSendLimiter, type OtpSendResult } from './otpLimits';
import { OTP_LENGTH, OTP_MAX_ATTEMPTS, OTP_TTL_MS, type OtpService, type OtpVerifyResult } from './otpService';

const HOUR_MS = 60 * 60 * 1000;
/**
 * A code is kept an hour past its expiry so that a late answer hears "expired" (as from the
 * in-memory service) rather than "no code"; then Redis forgets it.
 */
const CODE_RETENTION_MS = OTP_TTL_MS + HOUR_MS;

/**
 * Cool-down and hourly limit in one script: the check and the counting of the send cannot be
 * split by another instance's send to the same number. Times are the app's clock (ARGV), as in
 * OtpSendLimits; the sorted set is pruned of sends older than the hour on each call.
 */
const TAKE_SEND = new RedisScript(`
local key, now, cooldown, max, hour = KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
redis.call('ZREMRANGEBYSCORE', key, '-inf', now - hour)
local last = redis.call('ZRANGE', key, -1, -1, 'WITHSCORES')
if last[2] and now - tonumber(last[2]) < cooldown then
  return { 'cooldown', cooldown - (now - tonumber(last[2])) }
end
if redis.call('ZCARD', key) >= max then return { 'hourlyLimit', 0 } end
redis.call('ZADD', key, ARGV[1], ARGV[5])
redis.call('PEXPIRE', key, hour)
return { 'ok', 0 }
`);

/**
 * One try in one script: two instances given a code at the same moment cannot both use the last
 * try. The hash is compared inside Redis; that comparison is not constant-time, which leaks
 * nothing useful: the hashes are keyed, so nobody can choose a code whose hash shares a prefix.
 */
const VERIFY = new RedisScript(`
local key, candidate, now, max = KEYS[1], ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local code = redis.call('HMGET', key, 'h', 'x', 'a')
if not code[1] then return { 'noCode', 0 } end
if tonumber(code[3]) >= max then return { 'locked', 0 } end
if now >= tonumber(code[2]) then return { 'expired', 0 } end
local attempts = redis.call('HINCRBY', key, 'a', 1)
if code[1] == candidate then
  redis.call('DEL', key)
  return { 'ok', 0 }
end
return { 'wrong', max - attempts }
`);

/**
 * OtpSendLimits in Redis, for every instance at once: `<prefix>otp:sends:<keyed hash of the
 * number>`, a sorted set of send times (the app's clock), expiring an hour after the last send.
 */
export class RedisOtpSendLimits implements OtpSendLimiter {
  private readonly prefix: string;

  constructor(
    private readonly redis: RedisConnection,
    private readonly hashSecret: Buffer,
    private readonly clock: Clock,
    options: { prefix?: string } = {},
  ) {
    this.prefix = options.prefix ?? DEFAULT_KEY_PREFIX;
  }

  async take(phone: string): Promise<OtpSendResult> {
    const key = `${this.prefix}otp:sends:${keyedId(this.hashSecret, 'otp-sends', phone)}`;
    const now = this.clock.now();
    // Two sends in the same millisecond are two members.
    const member = `${now}:${randomBytes(4).toString('hex')}`;
    const [outcome, waitMs] = (await TAKE_SEND.run(this.redis, [key], [now, OTP_RESEND_COOLDOWN_MS, OTP_MAX_CODES_PER_HOUR, HOUR_MS, member])) as [string, number];
    if (outcome === 'cooldown') return { ok: false, reason: 'cooldown', retryInSeconds: Math.ceil(waitMs / 1000) };
    if (outcome === 'hourlyLimit') return { ok: false, reason: 'hourlyLimit' };
    return { ok: true };
  }
}

export interface RedisOtpServiceOptions {
  sms: SmsSender;
  redis: RedisConnection;
  /** StateKeys.hashSecret: the same on every instance, so any instance checks a code another sent. */
  hashSecret: Buffer;
  clock: Clock;
  prefix?: string;
  generate?: () => string;
  /** Default: RedisOtpSendLimits on the same Redis, prefix and secret. */
  limits?: OtpSendLimiter;
}

/**
 * InMemoryOtpService's rules, with the pending code in Redis so that a conversation whose
 * messages reach different instances can be sent a code by one and answer it to another:
 * `<prefix>otp:code:{tag}:<keyed hash of the conversation key>` (the contact's slot tag), a hash of
 *   h  HMAC of the conversation key and the code (never the code itself)
 *   x  expiry time (the app's clock)
 *   a  tries made
 * Redis failures reject with StateUnavailableError.
 */
export class RedisOtpService implements OtpService {
  private readonly prefix: string;
  private readonly limits: OtpSendLimiter;
  private readonly generate: () => string;

  constructor(private readonly options: RedisOtpServiceOptions) {
    this.prefix = options.prefix ?? DEFAULT_KEY_PREFIX;
    this.limits = options.limits ?? new RedisOtpSendLimits(options.redis, options.hashSecret, options.clock, { prefix: this.prefix });
    this.generate = options.generate ?? (() => String(randomInt(0, 10 ** OTP_LENGTH)).padStart(OTP_LENGTH, '0'));
  }

  async send(conversationKey: string, phone: string, locale: Locale): Promise<OtpSendResult> {
    const allowed = await this.limits.take(phone);
    if (!allowed.ok) return allowed;

    const code = this.generate();
    const key = this.key(conversationKey);
    const fields = { h: this.hash(conversationKey, code), x: String(this.options.clock.now() + OTP_TTL_MS), a: '0' };
    // The new code replaces the previous one, tries counted afresh.
    await stateCall(() => this.options.redis.multi().hSet(key, fields).pExpire(key, CODE_RETENTION_MS).exec());
    await this.options.sms.send({ to: phone, body: t(locale, 'sms.otp', { code, minutes: OTP_TTL_MS / 60000 }), locale, purpose: 'otp', conversationKey });
    return { ok: true };
  }

  async verify(conversationKey: string, code: string): Promise<OtpVerifyResult> {
    const [outcome, attemptsLeft] = (await VERIFY.run(this.options.redis, [this.key(conversationKey)], [
      this.hash(conversationKey, code),
      this.options.clock.now(),
      OTP_MAX_ATTEMPTS,
    ])) as [string, number];
    switch (outcome) {
      case 'ok':
        return { ok: true };
      case 'wrong':
        return attemptsLeft > 0 ? { ok: false, reason: 'wrong', attemptsLeft } : { ok: false, reason: 'locked' };
      case 'locked':
      case 'expired':
        return { ok: false, reason: outcome };
      default:
        return { ok: false, reason: 'noCode' };
    }
  }

  async forget(conversationKey: string): Promise<void> {
    await stateCall(() => this.options.redis.del(this.key(conversationKey)));
  }

  private key(conversationKey: string): string {
    return `${this.prefix}otp:code:${slotTag(contactOfConversationKey(conversationKey))}:${keyedId(this.options.hashSecret, 'otp-code', conversationKey)}`;
  }

  /** Keyed: a hash read from Redis cannot be reversed by trying the 10^6 codes without the secret. */
  private hash(conversationKey: string, code: string): string {
    return createHmac('sha256', this.options.hashSecret).update('otp-code-hash\0').update(conversationKey).update('\0').update(code).digest('base64url');
  }
}
