import type { Storage, StoreItems } from 'botbuilder';
import type { Clock } from '../clock';
import { NEW_ITEM_ETAG, StaleWriteError } from './errors';

/**
 * In-process conversation storage. Unlike botbuilder's MemoryStorage it forgets a conversation
 * after `ttlSeconds` without a write (its personal data with it), and it honours eTags: a write
 * whose eTag is stale is refused, as the Redis storage will do across instances.
 */
export class ExpiringMemoryStorage implements Storage {
  private readonly items = new Map<string, { json: string; eTag: string; expiresAt: number }>();
  private nextETag = 1;
  private writesSinceSweep = 0;

  constructor(
    private readonly ttlSeconds: number,
    private readonly clock: Clock,
  ) {}

  async read(keys: string[]): Promise<StoreItems> {
    const found: StoreItems = {};
    for (const key of keys) {
      const item = this.live(key);
      if (item) found[key] = { ...JSON.parse(item.json), eTag: item.eTag };
    }
    return found;
  }

  async write(changes: StoreItems): Promise<void> {
    for (const [key, change] of Object.entries(changes)) {
      const current = this.live(key);
      const expected: unknown = change?.eTag;
      if (typeof expected === 'string' && expected !== '*' && !matchesVersion(expected, current?.eTag)) throw new StaleWriteError();
      const { eTag: _ignored, ...value } = (change ?? {}) as Record<string, unknown>;
      const eTag = String(this.nextETag++);
      this.items.set(key, { json: JSON.stringify(value), eTag, expiresAt: this.clock.now() + this.ttlSeconds * 1000 });
      // As botbuilder's MemoryStorage does: the writer learns the new version.
      if (change) change.eTag = eTag;
    }
    // Forgotten conversations must not pile up in memory: sweep now and then, not on every write.
    if (++this.writesSinceSweep >= 500) this.sweep();
  }

  async delete(keys: string[]): Promise<void> {
    for (const key of keys) this.items.delete(key);
  }

  /** Number of conversations held (expired ones excluded). */
  size(): number {
    this.sweep();
    return this.items.size;
  }

  private live(key: string) {
    const item = this.items.get(key);
    if (item && item.expiresAt <= this.clock.now()) {
      this.items.delete(key);
      return undefined;
    }
    return item;
  }

  private sweep(): void {
    this.writesSinceSweep = 0;
    const now = this.clock.now();
    for (const [key, item] of this.items) if (item.expiresAt <= now) this.items.delete(key);
  }
}

/**
 * NEW_ITEM_ETAG creates a conversation only if there is none; any other version must be the
 * stored one. A version of a conversation that is gone (erased by STOP, or expired meanwhile) is
 * stale too: writing it would bring the erased data back. As the Redis storage does.
 */
function matchesVersion(expected: string, stored: string | undefined): boolean {
  return expected === NEW_ITEM_ETAG ? stored === undefined : expected === stored;
}
