import { ManualClock } from '../../src/clock';
import { InMemoryLookupGuard, MAX_MISMATCHES_PER_DOCUMENT, MISMATCH_WINDOW_MS } from '../../src/services/lookupGuard';

describe('InMemoryLookupGuard', () => {
  it('locks a document after the maximum number of mismatches, for the window only', async () => {
    const clock = new ManualClock();
    const guard = new InMemoryLookupGuard(clock);
    for (let i = 1; i < MAX_MISMATCHES_PER_DOCUMENT; i++) {
      expect(await guard.recordMismatch('CNIE', 'K45678')).toBe(i);
      expect(await guard.isLocked('CNIE', 'K45678')).toBe(false);
    }
    await guard.recordMismatch('CNIE', 'K45678');
    expect(await guard.isLocked('CNIE', 'K45678')).toBe(true);
    expect(await guard.isLocked('CARTE_SEJOUR', 'K45678')).toBe(false);
    expect(await guard.isLocked('CNIE', 'AB123456')).toBe(false);
    clock.advance(MISMATCH_WINDOW_MS);
    expect(await guard.isLocked('CNIE', 'K45678')).toBe(false);
  });
});
