import { createHash, createHmac } from 'node:crypto';
import { REDIS_CALL_TIMEOUT_MS, StateUnavailableError, type RedisConnection } from './redis';

/**
 * What the Redis versions of the contact, turn, OTP, lookup and delivery stores share: keyed
 * identifiers, Lua scripts, and one error for "Redis cannot serve this now".
 */

/**
 * The part of a key that names a person (phone number, conversation key, document number): an
 * HMAC with the secret shared by every instance, so all instances find the same key while Redis
 * (a dump, a `MONITOR`, a `KEYS *`) shows no number. `purpose` separates the uses, so the same
 * number gives unrelated keys in the opt-out list and the OTP limits. 128 bits are plenty to avoid
 * collisions and keep keys short (the per-conversation memory budget is 4 KiB).
 */
export function keyedId(secret: Buffer, purpose: string, value: string): string {
  return createHmac('sha256', secret).update(purpose).update('\0').update(value).digest().subarray(0, 16).toString('base64url');
}

/**
 * The hash tag of every key about one contact (`{3f9}`): a Redis Cluster stores keys with the same
 * tag in the same slot, so a script or MULTI that touches several of a contact's keys (the arrival
 * script: the message's dedupe mark, the 24-hour window and the opt-out; a state write during a
 * key rotation: the names under the new and the old key) never meets CROSSSLOT. One server and
 * Sentinel ignore it.
 *
 * It cannot be keyed with the state key like the rest of the name: a rotation would move a
 * contact's old and new names into different slots, and the scripts must see both. So it is 12
 * bits of a plain hash: 4,096 groups spread any cluster evenly, and each is shared by tens of
 * thousands of phone numbers, so it tells nothing about who the contact is.
 */
export function slotTag(contact: string): string {
  return `{${createHash('sha256').update('tasjil slot\0').update(contact).digest('hex').slice(0, 3)}}`;
}

/** The contact of a conversation key (`<channel>:<contact>`, dialogs/deps.ts conversationKey). */
export function contactOfConversationKey(conversationKey: string): string {
  return conversationKey.slice(conversationKey.indexOf(':') + 1);
}

/** Redis did not answer a call within REDIS_CALL_TIMEOUT_MS. */
export class RedisCallTimeoutError extends Error {
  constructor(timeoutMs: number) {
    super(`no answer from Redis within ${timeoutMs} ms`);
    this.name = 'RedisCallTimeoutError';
  }
}

/**
 * Runs `operation` (one or a few Redis commands) with a deadline; any Redis failure (down,
 * connection killed, no answer in time) becomes StateUnavailableError, cause kept. Every Redis
 * call of the product goes through here: the client itself has no command timeout (redis.ts).
 */
export async function stateCall<T>(operation: () => Promise<T>, timeoutMs = REDIS_CALL_TIMEOUT_MS): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    // A call that fails after the deadline is still listened to by the race: no unhandled rejection.
    const running = operation();
    const deadline = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => reject(new RedisCallTimeoutError(timeoutMs)), timeoutMs);
    });
    return await Promise.race([running, deadline]);
  } catch (error) {
    throw error instanceof StateUnavailableError ? error : new StateUnavailableError({ cause: error });
  } finally {
    clearTimeout(timer);
  }
}

/**
 * A Lua script run by its SHA1 (EVALSHA), so the source crosses the wire once per Redis server,
 * not once per call; sent in full when Redis does not know it yet (NOSCRIPT: first use, or after
 * a restart or SCRIPT FLUSH). Scripts make a check-then-act atomic across instances: Redis runs
 * one script at a time.
 */
export class RedisScript {
  private readonly sha1: string;

  constructor(private readonly source: string) {
    this.sha1 = createHash('sha1').update(source).digest('hex');
  }

  /** Redis errors become StateUnavailableError (cause kept). */
  run(client: RedisConnection, keys: string[], args: (string | number)[]): Promise<unknown> {
    const options = { keys, arguments: args.map(String) };
    return stateCall(async () => {
      try {
        return await client.evalSha(this.sha1, options);
      } catch (error) {
        if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
        return await client.eval(this.source, options);
      }
    });
  }
}

/** Milliseconds since the epoch by the Redis server's clock: one clock for every instance (leases). */
export const LUA_NOW_MS = `
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
`;
