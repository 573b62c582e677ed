import { randomBytes } from 'node:crypto';
import type { Clock } from '../clock';
import { DEFAULT_KEY_PREFIX, type RedisConnection } from '../state/redis';
import { keyedId, RedisScript, stateCall } from '../state/redisHelpers';
import { MAX_MISMATCHES_PER_DOCUMENT, MISMATCH_WINDOW_MS, type LookupGuard } from './lookupGuard';
import type { IdTypeCode } from './types';

/** Prunes, counts the new mismatch and returns the count in one step: two instances cannot both see "2". */
const RECORD = new RedisScript(`
local key, now, window = KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
redis.call('ZADD', key, ARGV[1], ARGV[3])
redis.call('PEXPIRE', key, window)
return redis.call('ZCARD', key)
`);

/**
 * InMemoryLookupGuard in Redis, so the count per document holds whichever instance the tries
 * reach: `<prefix>mismatch:<keyed hash of type and number>`, a sorted set of mismatch times (the
 * app's clock), expiring a window after the last one. Redis failures reject with
 * StateUnavailableError.
 */
export class RedisLookupGuard implements LookupGuard {
  private readonly prefix: string;

  constructor(
    private readonly redis: RedisConnection,
    private readonly hashSecret: Buffer,
    private readonly clock: Clock,
    options: { prefix?: string } = {},
  ) {
    this.prefix = options.prefix ?? DEFAULT_KEY_PREFIX;
  }

  async isLocked(idType: IdTypeCode, idNumber: string): Promise<boolean> {
    // Within the window: strictly after now - window, as the in-memory guard counts.
    const since = this.clock.now() - MISMATCH_WINDOW_MS;
    const count = await stateCall(() => this.redis.zCount(this.key(idType, idNumber), `(${since}`, '+inf'));
    return count >= MAX_MISMATCHES_PER_DOCUMENT;
  }

  async recordMismatch(idType: IdTypeCode, idNumber: string): Promise<number> {
    const now = this.clock.now();
    const member = `${now}:${randomBytes(4).toString('hex')}`;
    return (await RECORD.run(this.redis, [this.key(idType, idNumber)], [now, MISMATCH_WINDOW_MS, member])) as number;
  }

  private key(idType: IdTypeCode, idNumber: string): string {
    return `${this.prefix}mismatch:${keyedId(this.hashSecret, 'mismatch', `${idType}:${idNumber}`)}`;
  }
}
