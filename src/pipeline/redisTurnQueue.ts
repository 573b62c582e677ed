import { randomUUID } from 'node:crypto';
import type { Logger } from '../log';
import { DEFAULT_KEY_PREFIX, StateUnavailableError, type RedisConnection } from '../state/redis';
import { contactOfConversationKey, keyedId, LUA_NOW_MS, RedisScript, slotTag } from '../state/redisHelpers';
import { InProcessTurnQueue, type TurnQueue } from './turnQueue';

/** Longer than the 8 s reply budget: a live turn keeps it, and renews it while it runs. */
export const DEFAULT_TURN_LEASE_MS = 15_000;
/** How long a message waits for the turns before it; then the user is asked to try again. */
export const DEFAULT_TURN_MAX_WAIT_MS = 10_000;
/** A turn stops renewing its lease after this: a hung turn must not block its user for good. */
export const DEFAULT_TURN_MAX_HOLD_MS = 60_000;

export interface RedisTurnQueueOptions {
  prefix?: string;
  leaseMs?: number;
  maxWaitMs?: number;
  maxHoldMs?: number;
  /** Polling delays: first and largest (each waiter sleeps a random part of it: no lock-step). */
  pollMinMs?: number;
  pollMaxMs?: number;
  /** For the rare anomalies (a lease lost mid-turn, a failed release); never given personal data. */
  log?: Logger;
}

/**
 * One hash per conversation, `<prefix>turn:{tag}:<keyed hash of the conversation key>` (the
 * contact's slot tag):
 *   e  epoch: a random id given when the hash is created; tickets of an earlier hash are void
 *   n  the last ticket handed out
 *   s  "now serving": the ticket whose turn it is
 *   h  the lease token of the turn that holds it ('' while the ticket is not yet claimed)
 *   u  until when (Redis server time, ms) the serving ticket holds its lease, or has to claim it
 *   g:<ticket>  tickets given up by their waiter, skipped when reached
 * Deleted as soon as nobody holds or waits, so an idle conversation costs nothing; otherwise
 * expires a while after the last activity on it (a crash of everyone involved).
 */
const TAKE = new RedisScript(`${LUA_NOW_MS}
local key, token, epoch, lease, ttl = KEYS[1], ARGV[1], ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])
local now = now_ms()
if redis.call('EXISTS', key) == 0 then
  redis.call('HSET', key, 'e', epoch, 'n', 0, 's', 1, 'h', '', 'u', now + lease)
end
local ticket = redis.call('HINCRBY', key, 'n', 1)
local state = redis.call('HMGET', key, 'e', 's')
local claimed = 0
if tonumber(state[2]) == ticket then
  -- Nobody before it: the turn is its own at once, which saves a round trip.
  redis.call('HSET', key, 'h', token, 'u', now + lease)
  claimed = 1
end
redis.call('PEXPIRE', key, ttl)
return { ticket, claimed, state[1] }
`);

/**
 * Claims the turn when it is the ticket's, or renews the lease of its holder. On the way, moves
 * "now serving" past tickets given up, and past a holder (or a waiter that never came to claim)
 * whose deadline passed: a process that died is skipped after one lease. 1: held; 0: wait; -1:
 * the ticket was passed over (or belongs to a hash since deleted), it will never be served.
 */
const POLL = new RedisScript(`${LUA_NOW_MS}
local key, ticket, token, epoch, lease, ttl = KEYS[1], tonumber(ARGV[1]), ARGV[2], ARGV[3], tonumber(ARGV[4]), tonumber(ARGV[5])
local state = redis.call('HMGET', key, 'e', 's', 'h', 'u')
if state[1] ~= epoch then return -1 end
local now = now_ms()
local s, h, u = tonumber(state[2]), state[3], tonumber(state[4])
while s < ticket do
  if redis.call('HDEL', key, 'g:' .. s) == 1 or u <= now then
    s, h, u = s + 1, '', now + lease
  else
    break
  end
end
local result = 0
if s == ticket and (h == '' or h == token) then
  h, u, result = token, now + lease, 1
elseif s > ticket then
  result = -1
end
redis.call('HSET', key, 's', s, 'h', h, 'u', u)
redis.call('PEXPIRE', key, ttl)
return result
`);

/**
 * Ends a ticket: its holder's release, or a waiter giving up. Only the ticket's own token hands
 * the turn on (a holder whose lease was taken over cannot release its successor). A waiter
 * giving up before its time marks its ticket, which is then skipped without waiting.
 */
const FINISH = new RedisScript(`${LUA_NOW_MS}
local key, ticket, token, epoch, lease, ttl = KEYS[1], tonumber(ARGV[1]), ARGV[2], ARGV[3], tonumber(ARGV[4]), tonumber(ARGV[5])
local state = redis.call('HMGET', key, 'e', 's', 'n', 'h')
if state[1] ~= epoch then return 0 end
local s, n, h = tonumber(state[2]), tonumber(state[3]), state[4]
if s < ticket then
  redis.call('HSET', key, 'g:' .. ticket, 1)
  redis.call('PEXPIRE', key, ttl)
  return 1
end
if s > ticket or (h ~= '' and h ~= token) then return 0 end
s = s + 1
while s <= n and redis.call('HDEL', key, 'g:' .. s) == 1 do s = s + 1 end
if s > n then
  redis.call('DEL', key)
else
  redis.call('HSET', key, 's', s, 'h', '', 'u', now_ms() + lease)
  redis.call('PEXPIRE', key, ttl)
end
return 1
`);

interface Ticket {
  number: number;
  epoch: string;
  /** Date.now() when Redis gave the turn with the ticket; undefined when others were before it. */
  claimedAt?: number;
}

interface Attempt {
  acquired: boolean;
  gaveUp: boolean;
}

/**
 * Runs the turns of one conversation one at a time, in order of arrival, whichever instance each
 * message reaches: a ticket lock in Redis. Each message takes a ticket on arrival (INCR: Redis
 * orders arrivals across instances); the ticket being served holds a lease (a random token and a
 * deadline) that it renews while the turn runs and hands on when done. A waiter that waits too
 * long gives up with StateUnavailableError ("try again in a moment") and its ticket is skipped;
 * a holder that died is skipped once its lease ran out, so nobody waits forever.
 *
 * In front of Redis, an in-process queue: of one instance's messages for a conversation, only the
 * oldest polls Redis; the others wait in memory for it to finish (their tickets, taken in the
 * same order, come after its own).
 *
 * Redis failures reject with StateUnavailableError (cause kept); a turn that throws still releases.
 */
export class RedisTurnQueue implements TurnQueue {
  private readonly local = new InProcessTurnQueue();
  private readonly prefix: string;
  private readonly leaseMs: number;
  private readonly maxWaitMs: number;
  private readonly maxHoldMs: number;
  private readonly pollMinMs: number;
  private readonly pollMaxMs: number;
  /** Long enough that an active queue never expires (pollers and holders refresh it far more often). */
  private readonly keyTtlMs: number;
  /** Tickets of this process not yet finished, by token: what `releaseAll` hands on at shutdown. */
  private readonly live = new Map<string, { key: string; taking: Promise<Ticket> }>();
  /** Set by `releaseAll`: no new ticket, no more claiming. */
  private released = false;

  constructor(
    private readonly redis: RedisConnection,
    private readonly hashSecret: Buffer,
    private readonly options: RedisTurnQueueOptions = {},
  ) {
    this.prefix = options.prefix ?? DEFAULT_KEY_PREFIX;
    this.leaseMs = options.leaseMs ?? DEFAULT_TURN_LEASE_MS;
    this.maxWaitMs = options.maxWaitMs ?? DEFAULT_TURN_MAX_WAIT_MS;
    this.maxHoldMs = options.maxHoldMs ?? DEFAULT_TURN_MAX_HOLD_MS;
    this.pollMinMs = options.pollMinMs ?? 2;
    this.pollMaxMs = options.pollMaxMs ?? 25;
    this.keyTtlMs = 2 * (this.leaseMs + this.maxWaitMs);
  }

  run<T>(conversationKey: string, turn: () => Promise<T>): Promise<T> {
    if (this.released) return Promise.reject(new StateUnavailableError({ cause: new Error('shutting down') }));
    const key = `${this.prefix}turn:${slotTag(contactOfConversationKey(conversationKey))}:${keyedId(this.hashSecret, 'turn', conversationKey)}`;
    const token = randomUUID();
    // The ticket is taken now, in arrival order, even if this instance has older messages of the
    // same conversation still to run.
    const taking = this.take(key, token);
    taking.catch(() => undefined); // awaited later; a failure must not count as unhandled meanwhile
    this.live.set(token, { key, taking });
    const attempt: Attempt = { acquired: false, gaveUp: false };
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        if (attempt.acquired) return;
        attempt.gaveUp = true;
        void this.finish(key, token, taking);
        reject(new StateUnavailableError({ cause: new Error(`no turn within ${this.maxWaitMs} ms`) }));
      }, this.maxWaitMs);
      this.local.run(conversationKey, () => this.inTurn(key, token, taking, attempt, timer, turn)).then(
        (value) => {
          clearTimeout(timer);
          resolve(value);
        },
        (error: unknown) => {
          clearTimeout(timer);
          reject(error);
        },
      );
    });
  }

  /** Conversations with a turn running or waiting in this process. */
  pending(): number {
    return this.local.pending();
  }

  /**
   * At shutdown, once the grace period is over: hands on every turn this process holds and gives
   * up every ticket it waits with, so another instance serves these conversations at once instead
   * of after a lease (15 s). Nothing is claimed afterwards. Gives back how many tickets were let go.
   */
  async releaseAll(): Promise<number> {
    this.released = true;
    const tickets = [...this.live.entries()];
    await Promise.all(tickets.map(([token, { key, taking }]) => this.finish(key, token, taking)));
    return tickets.length;
  }

  private async inTurn<T>(key: string, token: string, taking: Promise<Ticket>, attempt: Attempt, timer: NodeJS.Timeout, turn: () => Promise<T>): Promise<T> {
    if (attempt.gaveUp) throw new StateUnavailableError(); // its caller already heard so
    const ticket = await taking;
    try {
      await this.waitFor(key, token, ticket, attempt);
    } catch (error) {
      if (!attempt.gaveUp) void this.finish(key, token, taking); // else the give-up already went out
      throw error;
    }
    attempt.acquired = true;
    clearTimeout(timer);

    const startedAt = Date.now();
    const renewal = setInterval(() => {
      if (this.released || Date.now() - startedAt > this.maxHoldMs) return clearInterval(renewal);
      this.poll(key, token, ticket).then(
        (held) => {
          if (held !== 1) this.options.log?.warn({ event: 'turn.lease_lost' }, 'a turn outlived its lease; the next one may have started');
        },
        () => undefined, // Redis away: the lease runs out, which is the best that can be done
      );
    }, this.leaseMs / 3);
    try {
      return await turn();
    } finally {
      clearInterval(renewal);
      await this.finish(key, token, taking);
    }
  }

  /** Resolves once the ticket holds the lease. */
  private async waitFor(key: string, token: string, ticket: Ticket, attempt: Attempt): Promise<void> {
    // Given with the ticket, and recently enough that the lease still has most of its time.
    if (ticket.claimedAt !== undefined && Date.now() - ticket.claimedAt < this.leaseMs / 2) return;
    for (let delay = this.pollMinMs; ; delay = Math.min(delay * 2, this.pollMaxMs)) {
      if (attempt.gaveUp || this.released) throw new StateUnavailableError();
      const result = await this.poll(key, token, ticket);
      // Given up while the poll was on its way: the give-up, sent after it, has handed the turn on.
      if (attempt.gaveUp) throw new StateUnavailableError();
      if (result === 1) return;
      if (result === -1) throw new StateUnavailableError({ cause: new Error('the turn was passed over') });
      await sleep(delay / 2 + (Math.random() * delay) / 2);
    }
  }

  private async take(key: string, token: string): Promise<Ticket> {
    const epoch = randomUUID();
    const [number, claimed, currentEpoch] = (await TAKE.run(this.redis, [key], [token, epoch, this.leaseMs, this.keyTtlMs])) as [number, number, string];
    return { number, epoch: currentEpoch, claimedAt: claimed === 1 ? Date.now() : undefined };
  }

  private async poll(key: string, token: string, ticket: Ticket): Promise<number> {
    return (await POLL.run(this.redis, [key], [ticket.number, token, ticket.epoch, this.leaseMs, this.keyTtlMs])) as number;
  }

  /**
   * Releases or gives up the ticket. Never rejects, and never holds the turn's answer for Redis:
   * a release Redis refused goes on in the background (finishLater).
   */
  private async finish(key: string, token: string, taking: Promise<Ticket>): Promise<void> {
    if (!this.live.delete(token) && this.released) return; // releaseAll already let it go
    let ticket: Ticket;
    try {
      ticket = await taking;
    } catch {
      return; // no ticket, nothing to hand on
    }
    const release = () => FINISH.run(this.redis, [key], [ticket.number, token, ticket.epoch, this.leaseMs, this.keyTtlMs]);
    try {
      await release();
    } catch (error) {
      void this.finishLater(release, error);
    }
  }

  /**
   * A release refused by a switch of primary (NOREPLICAS or READONLY while Sentinel or the Cluster
   * promotes a replica) or a cut connection, tried again until the lease would have run out
   * anyway: the worker's next message then waits for the switch, not for the whole lease (15 s).
   * Running FINISH twice is harmless: once the turn has moved on, it changes nothing.
   */
  private async finishLater(release: () => Promise<unknown>, firstError: unknown): Promise<void> {
    const giveUpAt = Date.now() + this.leaseMs;
    let lastError = firstError;
    for (let delay = RELEASE_RETRY_FIRST_MS; Date.now() + delay < giveUpAt; delay = Math.min(delay * 2, RELEASE_RETRY_MAX_MS)) {
      // unref: a release still being tried never holds a stopping process.
      await new Promise((resolve) => setTimeout(resolve, delay).unref());
      try {
        await release();
        this.options.log?.info({ event: 'turn.release_retried' }, 'turn released after Redis refused the first try');
        return;
      } catch (error) {
        lastError = error;
      }
    }
    const cause = (lastError as Error).cause instanceof Error ? ((lastError as Error).cause as Error) : (lastError as Error);
    this.options.log?.warn({ event: 'turn.release_failed', error: cause.message }, 'turn not released; its lease will run out');
  }
}

/** A release Redis refused is tried again after 50 ms, then twice as long each time, up to 1 s. */
const RELEASE_RETRY_FIRST_MS = 50;
const RELEASE_RETRY_MAX_MS = 1000;

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
