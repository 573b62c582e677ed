import { createCipheriv, createDecipheriv, createHash, createHmac } from 'node:crypto';
import type { Storage, StoreItem, StoreItems } from 'botbuilder';
import { NEW_ITEM_ETAG, StaleWriteError } from './errors';
import { freshIv } from './initializationVectors';
import type { StateKeys } from './keys';
import type { RedisConnection } from './redis';
import { ReplicatedWrites } from './replicatedWrites';
import { slotTag, stateCall } from './redisHelpers';

/**
 * Conversation state in Redis, shared by every instance:
 * - key `<prefix>state:{tag}:<HMAC(storage key)>`: the storage key holds the sender's phone
 *   number, so it is hashed with a secret; an old key's name is still found after a key rotation;
 *   `{tag}` is the contact's slot tag (redisHelpers.ts slotTag), the same under every encryption
 *   key, so the write script can see the names under the old and new keys on a cluster too;
 * - a hash { v: version, d: AES-256-GCM ciphertext } — the version (eTag) is readable by a Lua
 *   compare-and-set without decrypting, the data is not readable without STATE_ENCRYPTION_KEY;
 *   the ciphertext is bound to its key name (GCM additional data), so values cannot be swapped;
 * - a TTL of CONVERSATION_TTL_SECONDS, set again on every write (every turn writes).
 */
/*
 * The whole compare-and-set in one script, so no other writer can come in between. KEYS[1] is
 * the name under the current encryption key; KEYS[2..] are the names under older keys (during a
 * rotation the value may still sit there: its version counts, then it moves under KEYS[1]).
 * ARGV: expected version ('' = any, NEW_ITEM_ETAG = must not exist), ciphertext, TTL in ms.
 * A version expected of a key that is gone (expired, erased) is stale too: a turn that outlived
 * an erase must not write the erased conversation back.
 * The same write run again finds its own ciphertext (a fresh IV makes each one unique) and only
 * refreshes the TTL: a write whose reply a failover cut off can be sent again (replicatedWrites.ts).
 */
const WRITE_SCRIPT = `
local stored = redis.call('HMGET', KEYS[1], 'v', 'd')
local current = stored[1]
if stored[2] == ARGV[2] then
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
  return tonumber(current)
end
for i = 2, #KEYS do
  if current then break end
  current = redis.call('HGET', KEYS[i], 'v')
end
if ARGV[1] == '${NEW_ITEM_ETAG}' then
  if current then return -1 end
elseif ARGV[1] ~= '' and current ~= ARGV[1] then
  return -1
end
local version = (tonumber(current) or 0) + 1
redis.call('HSET', KEYS[1], 'v', version, 'd', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
for i = 2, #KEYS do redis.call('DEL', KEYS[i]) end
return version
`;
/** Sent by its SHA1 (EVALSHA): Redis keeps the script, the text does not travel on every turn. */
const WRITE_SCRIPT_SHA = createHash('sha1').update(WRITE_SCRIPT).digest('hex');

export class RedisStorage implements Storage {
  /** Per encryption key, a separate key for naming (never the cipher key itself twice over). */
  private readonly namingKeys: Map<Buffer, Buffer>;

  constructor(
    private readonly redis: RedisConnection,
    private readonly keys: StateKeys,
    private readonly ttlSeconds: number,
    private readonly prefix: string,
    /** REDIS_WAIT_REPLICAS: a write returns once that many replicas hold it. */
    private readonly writes: ReplicatedWrites = ReplicatedWrites.none,
  ) {
    this.namingKeys = new Map([...keys.byId.values()].map((key) => [key, createHmac('sha256', key).update('tasjil state key names v1').digest()]));
  }

  async read(storageKeys: string[]): Promise<StoreItems> {
    const found: StoreItems = {};
    for (const storageKey of storageKeys) {
      const item = await this.find(storageKey);
      // A value that cannot be decrypted (tampered with, or its key dropped too early) is not
      // trusted: the conversation starts afresh, and its version lets the next write replace it.
      if (item) found[storageKey] = { ...(this.decrypt(item.name, item.data) ?? {}), eTag: item.version };
    }
    return found;
  }

  async write(changes: StoreItems): Promise<void> {
    for (const [storageKey, change] of Object.entries(changes)) {
      const { eTag, ...value } = (change ?? {}) as StoreItem;
      const name = this.nameFor(storageKey, this.keys.current.key);
      const expected = typeof eTag === 'string' && eTag !== '*' ? eTag : '';
      const older = [...this.keys.byId.values()].filter((key) => key !== this.keys.current.key).map((key) => this.nameFor(storageKey, key));
      const args = [expected, this.encrypt(name, value), String(this.ttlSeconds * 1000)];
      const write = () => this.runWriteScript([name, ...older], args);
      // The turn's answer goes out after this: with replicas, it must be one no failover takes back.
      const version = await this.writes.run(name, write, (result) => result === -1);
      if (version === -1) throw new StaleWriteError();
      if (change) change.eTag = String(version);
    }
  }

  /** EVALSHA, and EVAL once when Redis does not know the script (first call, restart, SCRIPT FLUSH). */
  private async runWriteScript(keys: string[], args: string[]): Promise<unknown> {
    try {
      return await this.redis.evalSha(WRITE_SCRIPT_SHA, { keys, arguments: args });
    } catch (error) {
      if (!String((error as Error).message).startsWith('NOSCRIPT')) throw error;
      return this.redis.eval(WRITE_SCRIPT, { keys, arguments: args });
    }
  }

  async delete(storageKeys: string[]): Promise<void> {
    // One DEL per storage key: its names share a slot, two storage keys may not.
    const namesOf = (storageKey: string) => [...this.keys.byId.values()].map((key) => this.nameFor(storageKey, key));
    // An erase ("supprimer", STOP) holds through a failover too: a DEL can be sent again.
    await Promise.all(
      storageKeys.map((storageKey) => {
        const names = namesOf(storageKey);
        return this.writes.run(names[0]!, () => this.redis.del(names));
      }),
    );
  }

  /**
   * The Redis key name of a storage key under one encryption key. botbuilder's storage keys end
   * in the conversation's id (`<channel>/conversations/<contact>`): the slot tag is the contact's.
   */
  private nameFor(storageKey: string, key: Buffer): string {
    return `${this.prefix}state:${slotTag(storageKey.slice(storageKey.lastIndexOf('/') + 1))}:${createHmac('sha256', this.namingKeys.get(key)!).update(storageKey).digest('base64url')}`;
  }

  /** The stored item under the current key's name, or an older key's (after a rotation). */
  private async find(storageKey: string): Promise<{ name: string; version: string; data: string } | undefined> {
    for (const key of this.keys.byId.values()) {
      const name = this.nameFor(storageKey, key);
      const [version, data] = await stateCall(() => this.redis.hmGet(name, ['v', 'd']));
      if (version && data) return { name, version, data };
    }
    return undefined;
  }

  private encrypt(name: string, value: object): string {
    const { id, key } = this.keys.current;
    const iv = freshIv();
    const cipher = createCipheriv('aes-256-gcm', key, iv);
    cipher.setAAD(Buffer.from(name));
    const data = Buffer.concat([cipher.update(JSON.stringify(value), 'utf8'), cipher.final()]);
    return [id, iv.toString('base64'), cipher.getAuthTag().toString('base64'), data.toString('base64')].join('.');
  }

  private decrypt(name: string, payload: string): object | undefined {
    const [id, iv, tag, data] = payload.split('.');
    const key = id ? this.keys.byId.get(id) : undefined;
    if (!key || !iv || !tag || data === undefined) return undefined;
    try {
      const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64'));
      decipher.setAAD(Buffer.from(name));
      decipher.setAuthTag(Buffer.from(tag, 'base64'));
      return JSON.parse(Buffer.concat([decipher.update(Buffer.from(data, 'base64')), decipher.final()]).toString('utf8')) as object;
    } catch {
      return undefined;
    }
  }
}
