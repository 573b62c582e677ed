import { createHmac, randomBytes } from 'node:crypto';
import type { Clock } from '../clock';
import type { IdTypeCode } from './types';

/**
 * A mismatch tells the user which date is wrong, which would let someone find a stranger's birth
 * date by trying dates one after the other. So mismatches are counted per document, whatever the
 * conversation: restarting, erasing or switching channel does not reset the count.
 */
export const MAX_MISMATCHES_PER_DOCUMENT = 3;
export const MISMATCH_WINDOW_MS = 24 * 60 * 60 * 1000;

export interface LookupGuard {
  /** True when the document had MAX_MISMATCHES_PER_DOCUMENT mismatches within the window. */
  isLocked(idType: IdTypeCode, idNumber: string): Promise<boolean>;
  /** Counts a mismatch; resolves with the count within the window. */
  recordMismatch(idType: IdTypeCode, idNumber: string): Promise<number>;
}

export class InMemoryLookupGuard implements LookupGuard {
  // Keyed hashes, so this table holds no document number in clear.
  private readonly secret = randomBytes(32);
  private readonly mismatches = new Map<string, number[]>();

  constructor(private readonly clock: Clock) {}

  async isLocked(idType: IdTypeCode, idNumber: string): Promise<boolean> {
    return this.recent(this.key(idType, idNumber)).length >= MAX_MISMATCHES_PER_DOCUMENT;
  }

  async recordMismatch(idType: IdTypeCode, idNumber: string): Promise<number> {
    const key = this.key(idType, idNumber);
    const times = [...this.recent(key), this.clock.now()];
    this.mismatches.set(key, times);
    return times.length;
  }

  private recent(key: string): number[] {
    const now = this.clock.now();
    const times = (this.mismatches.get(key) ?? []).filter((at) => now - at < MISMATCH_WINDOW_MS);
    if (times.length === 0) this.mismatches.delete(key);
    return times;
  }

  private key(idType: IdTypeCode, idNumber: string): string {
    return createHmac('sha256', this.secret).update(`${idType}:${idNumber}`).digest('base64url');
  }
}
