import type { Clock } from '../../clock';
import type { StateKeys } from '../../state/keys';
import { DEFAULT_KEY_PREFIX, type RedisConnection } from '../../state/redis';
import { contactOfConversationKey, keyedId, slotTag, stateCall } from '../../state/redisHelpers';
import { openJson, sealJson } from '../../state/sealed';
import { OTP_TTL_MS } from './otpService';

/** The verification a conversation is waiting on. The code itself is never here: Verify generates and keeps it. */
export interface PendingVerification {
  phone: string;
  sentAt: number;
  /** Checks made, counted here too, so the user hears "n tries left" as with our own OTP service. */
  attempts: number;
  /** Verify said it no longer knows the verification (404): it expired or was used. */
  gone: boolean;
}

/**
 * Where TwilioVerifyOtpService remembers which number a conversation's code went to: this
 * process's memory, or Redis, so that the instance that gets the typed code is not necessarily the
 * one that asked Verify to send it.
 */
export interface PendingVerifications {
  get(conversationKey: string): Promise<PendingVerification | undefined>;
  set(conversationKey: string, pending: PendingVerification): Promise<void>;
  delete(conversationKey: string): Promise<void>;
}

/** Long enough to answer "expired" for a while after the 10 minutes, then forgotten. */
export const PENDING_VERIFICATION_RETENTION_MS = OTP_TTL_MS + 60 * 60 * 1000;

export class InMemoryPendingVerifications implements PendingVerifications {
  private readonly pending = new Map<string, PendingVerification>();
  private lastSweep: number;

  constructor(private readonly clock: Clock) {
    this.lastSweep = clock.now();
  }

  async get(conversationKey: string): Promise<PendingVerification | undefined> {
    const pending = this.pending.get(conversationKey);
    return pending ? { ...pending } : undefined;
  }

  async set(conversationKey: string, pending: PendingVerification): Promise<void> {
    this.sweep();
    this.pending.set(conversationKey, { ...pending });
  }

  async delete(conversationKey: string): Promise<void> {
    this.pending.delete(conversationKey);
  }

  /** At most once an hour, forgets verifications past their retention: memory stays bounded. */
  private sweep(): void {
    const now = this.clock.now();
    if (now - this.lastSweep < 60 * 60 * 1000) return;
    this.lastSweep = now;
    for (const [key, pending] of this.pending) if (now - pending.sentAt > PENDING_VERIFICATION_RETENTION_MS) this.pending.delete(key);
  }
}

/**
 * `<prefix>otp:verify:{tag}:<keyed hash of the conversation key>` (the contact's slot tag): the pending verification, sealed
 * with the state key (it holds the phone number), expiring after the retention. Two instances
 * counting tries on the same entry at the same moment may under-count one: Verify itself still
 * stops at 5 checks (error 60202), which the service reports as locked.
 */
export class RedisPendingVerifications implements PendingVerifications {
  private readonly prefix: string;

  constructor(
    private readonly redis: RedisConnection,
    private readonly keys: StateKeys,
    options: { prefix?: string } = {},
  ) {
    this.prefix = options.prefix ?? DEFAULT_KEY_PREFIX;
  }

  async get(conversationKey: string): Promise<PendingVerification | undefined> {
    const key = this.key(conversationKey);
    const sealed = await stateCall(() => this.redis.get(key));
    return sealed ? openJson<PendingVerification>(this.keys, key, sealed) : undefined;
  }

  async set(conversationKey: string, pending: PendingVerification): Promise<void> {
    const key = this.key(conversationKey);
    await stateCall(() => this.redis.set(key, sealJson(this.keys, key, pending), { expiration: { type: 'PX', value: PENDING_VERIFICATION_RETENTION_MS } }));
  }

  async delete(conversationKey: string): Promise<void> {
    await stateCall(() => this.redis.del(this.key(conversationKey)));
  }

  private key(conversationKey: string): string {
    return `${this.prefix}otp:verify:${slotTag(contactOfConversationKey(conversationKey))}:${keyedId(this.keys.hashSecret, 'otp-verify', conversationKey)}`;
  }
}
