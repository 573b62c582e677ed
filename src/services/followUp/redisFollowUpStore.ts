import type { Clock } from '../../clock';
import { DEFAULT_KEY_PREFIX, type RedisConnection } from '../../state/redis';
import { stateCall } from '../../state/redisHelpers';
import { openJson, sealJson } from '../../state/sealed';
import type { StateKeys } from '../../state/keys';
import type { FollowUpRecord, FollowUpStore } from './store';

/**
 * Follow-ups in Redis, shared by every instance: `<prefix>followup:<id>`, where the id is a keyed
 * hash of the conversation (never a number), and the value is sealed with the state key
 * (AES-256-GCM, bound to its key name). The key expires with the follow-up (PX): even with every
 * instance stopped, Redis drops the data at the end of its retention.
 */
export class RedisFollowUpStore implements FollowUpStore {
  private readonly prefix: string;

  constructor(
    private readonly redis: RedisConnection,
    private readonly keys: StateKeys,
    private readonly clock: Clock,
    options: { prefix?: string } = {},
  ) {
    this.prefix = `${options.prefix ?? DEFAULT_KEY_PREFIX}followup:`;
  }

  async put(id: string, record: FollowUpRecord): Promise<void> {
    const key = this.keyOf(id);
    // Relative, from our clock: the retention counts from the worker's yes, whatever Redis' clock says.
    const ttlMs = Math.max(1, record.expiresAt - this.clock.now());
    await stateCall(() => this.redis.set(key, sealJson(this.keys, key, record), { expiration: { type: 'PX', value: ttlMs } }));
  }

  async get(id: string): Promise<FollowUpRecord | undefined> {
    const key = this.keyOf(id);
    const sealed = await stateCall(() => this.redis.get(key));
    return this.opened(key, sealed);
  }

  async take(id: string): Promise<FollowUpRecord | undefined> {
    const key = this.keyOf(id);
    const sealed = await stateCall(() => this.redis.getDel(key));
    return this.opened(key, sealed);
  }

  async delete(id: string): Promise<boolean> {
    return (await stateCall(() => this.redis.del(this.keyOf(id)))) > 0;
  }

  keyOf(id: string): string {
    return `${this.prefix}${id}`;
  }

  /** A record sealed with a key no longer configured, or past its time, counts as gone. */
  private opened(key: string, sealed: string | null): FollowUpRecord | undefined {
    if (sealed === null) return undefined;
    const record = openJson<FollowUpRecord>(this.keys, key, sealed);
    return record && record.expiresAt > this.clock.now() ? record : undefined;
  }
}
