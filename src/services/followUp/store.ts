import type { Clock } from '../../clock';
import type { IdentityQuery, Locale } from '../types';

/** The channels a follow-up notice can go out on: where the worker wrote from. */
export type FollowUpChannel = 'whatsapp' | 'sms';

/**
 * What a follow-up keeps, with the worker's yes, to look them up again and tell them: the
 * identity the registry is asked about, where to write, in which language. Nothing else (no
 * phone typed for SMS codes, no e-mail, no category). Encrypted at rest; gone at the notice, the
 * cancel, or `expiresAt`.
 */
export interface FollowUpRecord {
  channel: FollowUpChannel;
  /** The worker's number on that channel, E.164: the notice goes there. */
  contact: string;
  /** The number the worker wrote to: the notice comes from it (empty: our configured sender). */
  ourAddress: string;
  locale: Locale;
  identity: IdentityQuery;
  createdAt: number;
  /** Epoch ms: past it, the record is deleted and nothing is sent. */
  expiresAt: number;
}

/** Where follow-ups live between checks: this process's memory, or Redis (redisFollowUpStore.ts). */
export interface FollowUpStore {
  /** Writes (or replaces) the record; it disappears by itself at `record.expiresAt`. */
  put(id: string, record: FollowUpRecord): Promise<void>;
  get(id: string): Promise<FollowUpRecord | undefined>;
  /**
   * Reads and deletes in one step: of several instances checking the same follow-up, only one
   * gets the record, so only one sends the notice.
   */
  take(id: string): Promise<FollowUpRecord | undefined>;
  /** True when there was a record to delete. */
  delete(id: string): Promise<boolean>;
}

/** One instance, no Redis: a Map; an entry past its expiry is never returned and is dropped when seen. */
export class InMemoryFollowUpStore implements FollowUpStore {
  private readonly records = new Map<string, FollowUpRecord>();

  constructor(private readonly clock: Clock) {}

  async put(id: string, record: FollowUpRecord): Promise<void> {
    this.records.set(id, structuredClone(record));
  }

  async get(id: string): Promise<FollowUpRecord | undefined> {
    const record = this.records.get(id);
    if (record && record.expiresAt <= this.clock.now()) {
      this.records.delete(id);
      return undefined;
    }
    return record && structuredClone(record);
  }

  async take(id: string): Promise<FollowUpRecord | undefined> {
    const record = await this.get(id);
    this.records.delete(id);
    return record;
  }

  async delete(id: string): Promise<boolean> {
    const live = (await this.get(id)) !== undefined;
    return this.records.delete(id) && live;
  }

  /** How many records are kept (tests: the data is gone). */
  get size(): number {
    return this.records.size;
  }
}
