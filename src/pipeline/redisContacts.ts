import type { Clock } from '../clock';
import { DEFAULT_KEY_PREFIX, type RedisConnection } from '../state/redis';
import { keyedId, RedisScript, slotTag, stateCall } from '../state/redisHelpers';
import { ReplicatedWrites } from '../state/replicatedWrites';
import {
  DEDUPE_RETENTION_MS,
  type Arrival,
  type ArrivingMessage,
  type ClaimResult,
  type ContactActivity,
  type MessageArrivals,
  type MessageClaim,
  type MessageDedupe,
  type OptOuts,
} from './contacts';

/**
 * The contact stores of contacts.ts in Redis, shared by every instance: Twilio may retry a webhook
 * on another instance than the one that handled it, and STOP said to one instance holds for all.
 * Redis failures reject with StateUnavailableError.
 */

/** Beyond WhatsApp's 24 h window the date no longer matters (as InMemoryContactActivity). */
export const ACTIVITY_RETENTION_MS = 25 * 60 * 60 * 1000;

/** The dedupe mark of a message handled; a message in progress holds its claim's token instead. */
const HANDLED = '1';
/** Prefixes a claim's token: never equal to HANDLED, and it tells a held mark at a glance. */
const IN_PROGRESS = 'p:';

/**
 * Lua: KEYS[1] the dedupe key; ARGV[first] the mark to write (HANDLED, or IN_PROGRESS and a token),
 * ARGV[first + 1] for how many ms. Writes it when the key is absent; 0 then, else 1 (handled) or
 * 2 (in progress). Shared by the claim and the arrival script.
 */
const LUA_MARK = `
local function mark(first)
  if redis.call('SET', KEYS[1], ARGV[first], 'NX', 'PX', ARGV[first + 1]) then return 0 end
  local found = redis.call('GET', KEYS[1])
  if found and string.sub(found, 1, 2) == '${IN_PROGRESS}' then return 2 end
  return 1
end
`;

/** KEYS[1] the dedupe key; ARGV the mark, its ms. Returns 0 new, 1 handled, 2 in progress. */
const CLAIM = new RedisScript(`${LUA_MARK}
return mark(1)
`);

/** KEYS[1] the dedupe key; ARGV[1] the mark of the claim to give up. Deletes only that claim's mark. */
const RELEASE = new RedisScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`);

const CLAIM_RESULTS: readonly ClaimResult[] = ['new', 'handled', 'in-progress'];

/**
 * `<prefix>dedupe:{tag}:<id>`, with the sender's slot tag (redisHelpers.ts slotTag): the arrival
 * script marks it together with the sender's window and opt-out keys, which a cluster can only do
 * within one slot. The id is the provider's id of the message (Twilio's MessageSid, `kannel:` and
 * Kannel's id), not personal data, so it is kept as is: one can then look a message up when the
 * provider's support asks about it. Its value: '1' once handled (kept for the retention), or
 * `p:<token>` while a claim holds it (kept for the claim's lease).
 */
export class RedisMessageDedupe implements MessageDedupe {
  private readonly prefix: string;
  private readonly retentionMs: number;

  constructor(
    private readonly redis: RedisConnection,
    options: { prefix?: string; retentionMs?: number } = {},
  ) {
    this.prefix = options.prefix ?? DEFAULT_KEY_PREFIX;
    this.retentionMs = options.retentionMs ?? DEDUPE_RETENTION_MS;
  }

  async firstSeen(messageId: string, contact: string): Promise<boolean> {
    // SET NX is the check and the mark in one command: two instances given the same retry at once
    // cannot both see it first.
    const set = await stateCall(() => this.redis.set(this.keyOf(messageId, contact), '1', { condition: 'NX', expiration: { type: 'PX', value: this.retentionMs } }));
    return set === 'OK';
  }

  async claim(messageId: string, contact: string, claim: MessageClaim): Promise<ClaimResult> {
    const found = (await CLAIM.run(this.redis, [this.keyOf(messageId, contact)], [claimMark(claim), claim.leaseMs])) as number;
    return CLAIM_RESULTS[found]!;
  }

  async handled(messageId: string, contact: string): Promise<void> {
    // Whoever holds it: the turn has run, so a hold another delivery took after this one's lease
    // ran out (this process stalled) is for a message already handled.
    await stateCall(() => this.redis.set(this.keyOf(messageId, contact), HANDLED, { expiration: { type: 'PX', value: this.retentionMs } }));
  }

  async release(messageId: string, contact: string, token: string): Promise<void> {
    await RELEASE.run(this.redis, [this.keyOf(messageId, contact)], [claimMark({ token, leaseMs: 0 })]);
  }

  keyOf(messageId: string, contact: string): string {
    return `${this.prefix}dedupe:${slotTag(contact)}:${messageId}`;
  }

  get retention(): number {
    return this.retentionMs;
  }
}

/**
 * Lua: 1 when the contact is opted out, 0 otherwise; KEYS[first] is its opt-out key under the
 * current secret, the keys after it under older ones. One found only under an older secret is
 * moved under the current one, so it survives the old key being dropped. Shared by the opt-out
 * check and the arrival script.
 */
const LUA_OPTED_OUT = `
local function opted_out(first)
  if redis.call('EXISTS', KEYS[first]) == 1 then return 1 end
  for i = first + 1, #KEYS do
    if redis.call('EXISTS', KEYS[i]) == 1 then
      redis.call('SET', KEYS[first], '1')
      for j = first + 1, #KEYS do redis.call('DEL', KEYS[j]) end
      return 1
    end
  end
  return 0
end
`;

/** KEYS: the contact's opt-out keys, current secret first. */
const IS_OPTED_OUT = new RedisScript(`${LUA_OPTED_OUT}
return opted_out(1)
`);

/**
 * `<prefix>optout:{tag}:<keyed hash of the contact>`, with no expiry: a STOP holds until START.
 *
 * The hash secret comes from the state key; if it changes (key rotation), opt-outs written under
 * the old secret would no longer be found. Pass the secrets of the older keys as
 * `previousHashSecrets` until the opt-outs have moved: every check also looks under them, and a
 * contact found there is moved under the current secret.
 */
export class RedisOptOuts implements OptOuts {
  private readonly prefix: string;
  private readonly previousHashSecrets: readonly Buffer[];
  private readonly untaggedNames: boolean;
  private readonly writes: ReplicatedWrites;

  /**
   * `untaggedNames`: also look under the names of the versions before slot tags
   * (`<prefix>optout:<keyed hash>`), and move what is found there: a STOP said before the upgrade
   * holds after it. Not on a cluster (those names are in other slots; no cluster ran that version).
   */
  constructor(
    private readonly redis: RedisConnection,
    private readonly hashSecret: Buffer,
    options: { prefix?: string; previousHashSecrets?: readonly Buffer[]; untaggedNames?: boolean; writes?: ReplicatedWrites } = {},
  ) {
    this.prefix = options.prefix ?? DEFAULT_KEY_PREFIX;
    this.writes = options.writes ?? ReplicatedWrites.none;
    this.previousHashSecrets = options.previousHashSecrets ?? [];
    this.untaggedNames = options.untaggedNames ?? false;
  }

  /**
   * Returns once the STOP is on the replicas (REDIS_WAIT_REPLICAS): a failover must not forget it
   * and let a message reach someone who said STOP. Setting it is idempotent: through a switch it
   * is set again on the new primary, wherever the first one went.
   */
  async optOut(contact: string): Promise<void> {
    const key = this.key(this.hashSecret, contact);
    await this.writes.run(key, () => this.redis.set(key, '1'));
  }

  async optIn(contact: string): Promise<void> {
    await stateCall(() => this.redis.del(this.allKeys(contact)));
  }

  async isOptedOut(contact: string): Promise<boolean> {
    return (await IS_OPTED_OUT.run(this.redis, this.allKeys(contact), [])) === 1;
  }

  /** The contact's key under the current secret, then under each older one (then the untagged names). */
  allKeys(contact: string): string[] {
    const secrets = [this.hashSecret, ...this.previousHashSecrets];
    const tagged = secrets.map((secret) => this.key(secret, contact));
    return this.untaggedNames ? [...tagged, ...secrets.map((secret) => `${this.prefix}optout:${keyedId(secret, 'optout', contact)}`)] : tagged;
  }

  private key(secret: Buffer, contact: string): string {
    return `${this.prefix}optout:${slotTag(contact)}:${keyedId(secret, 'optout', contact)}`;
  }
}

/**
 * `<prefix>inbound:{tag}:<keyed hash of the contact>` = the time of the last inbound message (by the
 * app's clock, as the in-memory version), kept 25 h: after that the 24 h window is closed anyway.
 */
export class RedisContactActivity implements ContactActivity {
  private readonly prefix: string;
  private readonly retentionMs: number;

  constructor(
    private readonly redis: RedisConnection,
    private readonly hashSecret: Buffer,
    private readonly clock: Clock,
    options: { prefix?: string; retentionMs?: number } = {},
  ) {
    this.prefix = options.prefix ?? DEFAULT_KEY_PREFIX;
    this.retentionMs = options.retentionMs ?? ACTIVITY_RETENTION_MS;
  }

  async recordInbound(contact: string): Promise<void> {
    const at = String(this.clock.now());
    await stateCall(() => this.redis.set(this.keyOf(contact), at, { expiration: { type: 'PX', value: this.retentionMs } }));
  }

  async lastInboundAt(contact: string): Promise<number | undefined> {
    const at = await stateCall(() => this.redis.get(this.keyOf(contact)));
    return at === null ? undefined : Number(at);
  }

  /** What `recordInbound` writes now: the key, its value, and how long it is kept. */
  inboundEntry(contact: string): { key: string; value: string; retentionMs: number } {
    return { key: this.keyOf(contact), value: String(this.clock.now()), retentionMs: this.retentionMs };
  }

  private keyOf(contact: string): string {
    return `${this.prefix}inbound:${slotTag(contact)}:${keyedId(this.hashSecret, 'inbound', contact)}`;
  }
}

/*
 * KEYS: the dedupe key, the inbound key, then the opt-out keys (current secret first): all with the
 * contact's slot tag, so the script runs on a cluster too.
 * ARGV: '1' to record the inbound time (WhatsApp) else '0', that time, its retention ms, '1' when
 * this message opts an opted-out sender back in else '0', then the dedupe mark ('1' handled, or a
 * claim's `p:<token>`) and its ms (the retention, or the claim's lease).
 * Returns { seen: 0 new, 1 handled, 2 in progress; opted out 0|1; opted back in 0|1 }.
 */
const ARRIVE = new RedisScript(`${LUA_OPTED_OUT}${LUA_MARK}
local seen = mark(5)
if seen ~= 0 then return { seen, 0, 0 } end
if ARGV[1] == '1' then redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[3]) end
if opted_out(3) == 0 then return { 0, 0, 0 } end
if ARGV[4] ~= '1' then return { 0, 1, 0 } end
for i = 3, #KEYS do redis.call('DEL', KEYS[i]) end
return { 0, 1, 1 }
`);

/**
 * The arrival checks of the Redis stores in one script: the dedupe mark, the 24-hour window and
 * the opt-out check cost one round trip per message instead of three, with the same keys and
 * effects as the three stores called one by one.
 */
export class RedisArrivals implements MessageArrivals {
  constructor(
    private readonly redis: RedisConnection,
    private readonly stores: { dedupe: RedisMessageDedupe; contacts: RedisContactActivity; optOuts: RedisOptOuts },
  ) {}

  async arrive(message: ArrivingMessage): Promise<Arrival> {
    const inbound = this.stores.contacts.inboundEntry(message.contact);
    const keys = [this.stores.dedupe.keyOf(message.id, message.contact), inbound.key, ...this.stores.optOuts.allKeys(message.contact)];
    const mark = message.claim ? [claimMark(message.claim), message.claim.leaseMs] : [HANDLED, this.stores.dedupe.retention];
    const args = [message.channel === 'whatsapp' ? '1' : '0', inbound.value, inbound.retentionMs, message.reopensOptOut ? '1' : '0', ...mark];
    const [seen, optedOut, optedBackIn] = (await ARRIVE.run(this.redis, keys, args)) as [number, number, number];
    return { firstSeen: seen === 0, inProgress: seen === 2, optedOut: optedOut === 1, optedBackIn: optedBackIn === 1 };
  }

  handled(message: { id: string; contact: string }): Promise<void> {
    return this.stores.dedupe.handled(message.id, message.contact);
  }

  release(message: { id: string; contact: string }, token: string): Promise<void> {
    return this.stores.dedupe.release(message.id, message.contact, token);
  }
}

function claimMark(claim: MessageClaim): string {
  return `${IN_PROGRESS}${claim.token}`;
}
