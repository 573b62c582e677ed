import type { Clock } from '../clock';

/**
 * What the channels remember about a sender between messages, behind interfaces: in process now,
 * in Redis when several instances serve the same users.
 */

/**
 * A delivery's hold on a message while its turn runs (Kannel): `token` is this delivery's own, so
 * that only it can give the message up; `leaseMs` is how long the hold outlives a process that
 * died holding it.
 */
export interface MessageClaim {
  token: string;
  leaseMs: number;
}

/** What a claim found: the message is new (and now held), held by another delivery, or handled. */
export type ClaimResult = 'new' | 'in-progress' | 'handled';

/**
 * Providers retry a webhook they did not get an answer to: a message is handled once. `contact`,
 * the sender, places each mark next to the sender's other keys (Redis Cluster slots).
 *
 * Two ways to mark. Twilio's (`firstSeen`): handled as soon as it is seen, since its webhook
 * answer is the reply and Twilio retries once, at once. Kannel's (`claim`, then `handled` or
 * `release`): "in progress" for a lease while the turn runs, "handled" only once its state is
 * saved, so that a retry after a crash mid-turn is handled again instead of dropped.
 */
export interface MessageDedupe {
  /** True the first time `messageId` is seen (within the retention), false afterwards. */
  firstSeen(messageId: string, contact: string): Promise<boolean>;
  /** Holds a new message for `claim.leaseMs` (one check and mark: two deliveries never both get 'new'). */
  claim(messageId: string, contact: string, claim: MessageClaim): Promise<ClaimResult>;
  /** The message's turn has run and its state is saved: handled for the retention. */
  handled(messageId: string, contact: string): Promise<void>;
  /** Gives up the hold of `token` (the turn failed): the provider's retry is handled as new. Another's hold is left. */
  release(messageId: string, contact: string, token: string): Promise<void>;
}

/** Numbers that said STOP: they get no message until they say START (or Twilio reports 21610). */
export interface OptOuts {
  optOut(contact: string): Promise<void>;
  optIn(contact: string): Promise<void>;
  isOptedOut(contact: string): Promise<boolean>;
}

/** When a contact last wrote on WhatsApp, which allows free-form messages only within 24 h of it (SMS has no such window). */
export interface ContactActivity {
  recordInbound(contact: string): Promise<void>;
  lastInboundAt(contact: string): Promise<number | undefined>;
}

/** What the pipeline learns when a message arrives. */
export interface Arrival {
  /** False for a message already seen (a provider's retry): nothing else was done. */
  firstSeen: boolean;
  /** Not first seen, and claimed by a delivery whose turn has not finished (with `claim` only). */
  inProgress: boolean;
  /** The sender said STOP earlier (checked only for a first-seen message). */
  optedOut: boolean;
  /** The sender was opted out and this message (`reopensOptOut`) opted them back in. */
  optedBackIn: boolean;
}

/** One inbound message, as the arrival checks see it. */
export interface ArrivingMessage {
  id: string;
  channel: 'whatsapp' | 'sms';
  contact: string;
  /** A sender found opted out is opted back in by this message (the pipeline's rule: WhatsApp, not a STOP). */
  reopensOptOut?: boolean;
  /** Mark it in progress under this claim instead of handled at once (MessageDedupe.claim). */
  claim?: MessageClaim;
}

/**
 * The three checks every inbound message goes through before the bot, as one step: in Redis one
 * round trip instead of three on every message. Same effects as, in this order,
 * `dedupe.firstSeen(id)`, then (first seen, WhatsApp only) `contacts.recordInbound(contact)`, then
 * `optOuts.isOptedOut(contact)`, then (opted out and `reopensOptOut`) `optOuts.optIn(contact)`.
 */
export interface MessageArrivals {
  arrive(message: ArrivingMessage): Promise<Arrival>;
  /** A claimed message's turn has run and its state is saved (MessageDedupe.handled). */
  handled(message: { id: string; contact: string }): Promise<void>;
  /** A claimed message's turn failed: its retry is handled as new (MessageDedupe.release). */
  release(message: { id: string; contact: string }, token: string): Promise<void>;
}

/** The arrival made of the three stores, one call each (in memory they cost nothing). */
export class SeparateArrivals implements MessageArrivals {
  constructor(private readonly stores: { dedupe: MessageDedupe; contacts: ContactActivity; optOuts: OptOuts }) {}

  async arrive(message: ArrivingMessage): Promise<Arrival> {
    const { dedupe } = this.stores;
    const seen = message.claim ? await dedupe.claim(message.id, message.contact, message.claim) : (await dedupe.firstSeen(message.id, message.contact)) ? 'new' : 'handled';
    if (seen !== 'new') return { firstSeen: false, inProgress: seen === 'in-progress', optedOut: false, optedBackIn: false };
    // The 24-hour window is WhatsApp's: an SMS from the same number does not open it.
    if (message.channel === 'whatsapp') await this.stores.contacts.recordInbound(message.contact);
    const optedOut = await this.stores.optOuts.isOptedOut(message.contact);
    if (optedOut && message.reopensOptOut) await this.stores.optOuts.optIn(message.contact);
    return { firstSeen: true, inProgress: false, optedOut, optedBackIn: optedOut && message.reopensOptOut === true };
  }

  handled(message: { id: string; contact: string }): Promise<void> {
    return this.stores.dedupe.handled(message.id, message.contact);
  }

  release(message: { id: string; contact: string }, token: string): Promise<void> {
    return this.stores.dedupe.release(message.id, message.contact, token);
  }
}

/** Twilio's retry window is short; a day covers any retry and a user's double tap. */
export const DEDUPE_RETENTION_MS = 24 * 60 * 60 * 1000;
/** Beyond WhatsApp's 24 h window the date no longer matters. */
const ACTIVITY_RETENTION_MS = 25 * 60 * 60 * 1000;

/**
 * Keys remembered for a fixed time. Every add goes to the end of the map, so the map is in order
 * of expiry and the expired keys are always at its front: dropping them costs only what is
 * dropped, never a walk over every key (which, past 10,000 messages a day, made each message
 * slower than the last). A key added for less than the retention (a claim's lease) may outlive its
 * expiry behind longer ones until it reaches the front: it is found expired all the same.
 */
class ExpiringSet {
  private readonly entries = new Map<string, number>();
  constructor(
    private readonly clock: Clock,
    private readonly retentionMs: number,
    /** Past this many keys the oldest go first, whatever their time. */
    private readonly maxEntries = Infinity,
  ) {}
  /** Adds `key` for `forMs` (the retention by default); false when it was already there. */
  add(key: string, forMs = this.retentionMs): boolean {
    const now = this.clock.now();
    dropExpiredFront(this.entries, (expiresAt) => expiresAt <= now);
    if (this.has(key)) return false;
    this.put(key, forMs);
    return true;
  }

  has(key: string): boolean {
    const expiresAt = this.entries.get(key);
    return expiresAt !== undefined && expiresAt > this.clock.now();
  }

  /** Adds or renews `key` for `forMs` (the retention by default), whether it was there or not. */
  put(key: string, forMs = this.retentionMs): void {
    this.entries.delete(key);
    this.entries.set(ownCopy(key), this.clock.now() + forMs);
    if (this.entries.size > this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
  }

  delete(key: string): void {
    this.entries.delete(key);
  }
}

/**
 * A string of its own for a key kept long after its request: a MessageSid or a number cut from a
 * form body is, to V8, a slice that keeps the whole body alive (400 bytes to several kB per
 * message, for a day). The bench's memory profile showed the dedupe set growing by that.
 */
export function ownCopy(text: string): string {
  // UTF-16 both ways: every JavaScript string survives it unchanged, lone surrogates included.
  return Buffer.from(text, 'utf16le').toString('utf16le');
}

/** Deletes entries from the front of an insertion-ordered map while they are expired. */
function dropExpiredFront<V>(entries: Map<string, V>, expired: (value: V) => boolean): void {
  for (const [key, value] of entries) {
    if (!expired(value)) return;
    entries.delete(key);
  }
}

/**
 * In one process, the last 50,000 messages at most (about 5 MB), within the day: Twilio retries a
 * webhook once, right after a failed or timed-out try (15 s at most, platform.md §4.3), which that
 * many messages cover even at 3,000 messages a second. Without the cap the set grew with every
 * message of the day, and the heap with it several times over (V8 sizes the heap to what lives).
 */
export const IN_MEMORY_DEDUPE_MAX_MESSAGES = 50_000;

export class InMemoryMessageDedupe implements MessageDedupe {
  private readonly seen: ExpiringSet;
  /** The token of each message in progress (a key of `seen` for its lease); only those, so it stays small. */
  private readonly claims = new Map<string, string>();
  constructor(clock: Clock, maxMessages = IN_MEMORY_DEDUPE_MAX_MESSAGES) {
    this.seen = new ExpiringSet(clock, DEDUPE_RETENTION_MS, maxMessages);
  }
  async firstSeen(messageId: string): Promise<boolean> {
    return this.seen.add(messageId);
  }
  async claim(messageId: string, _contact: string, claim: MessageClaim): Promise<ClaimResult> {
    if (this.seen.add(messageId, claim.leaseMs)) {
      this.claims.set(ownCopy(messageId), claim.token);
      return 'new';
    }
    return this.claims.has(messageId) ? 'in-progress' : 'handled';
  }
  async handled(messageId: string, _contact?: string): Promise<void> {
    this.claims.delete(messageId);
    this.seen.put(messageId);
  }
  async release(messageId: string, _contact: string, token: string): Promise<void> {
    if (this.claims.get(messageId) !== token) return;
    this.claims.delete(messageId);
    this.seen.delete(messageId);
  }
}

export class InMemoryOptOuts implements OptOuts {
  private readonly contacts = new Set<string>();
  async optOut(contact: string) {
    this.contacts.add(ownCopy(contact));
  }
  async optIn(contact: string) {
    this.contacts.delete(contact);
  }
  async isOptedOut(contact: string) {
    return this.contacts.has(contact);
  }
}

export class InMemoryContactActivity implements ContactActivity {
  private readonly lastInbound = new Map<string, number>();
  constructor(private readonly clock: Clock) {}
  async recordInbound(contact: string) {
    const now = this.clock.now();
    // To the end of the map: it stays in order of time, the oldest first (see ExpiringSet).
    this.lastInbound.delete(contact);
    this.lastInbound.set(ownCopy(contact), now);
    dropExpiredFront(this.lastInbound, (at) => now - at > ACTIVITY_RETENTION_MS);
  }
  async lastInboundAt(contact: string) {
    return this.lastInbound.get(contact);
  }
}
