import { ManualClock } from '../../src/clock';
import { MAX_MISMATCHES_PER_DOCUMENT, MISMATCH_WINDOW_MS } from '../../src/services/lookupGuard';
import { RedisLookupGuard } from '../../src/services/redisLookupGuard';
import { ephemeralStateKeys } from '../../src/state/keys';
import { StateUnavailableError, type RedisClient } from '../../src/state/redis';
import { closeTestClient, connectTestClient, deleteKeys, listKeys, newTestPrefix } from '../support/redis';

const prefix = newTestPrefix();
let a: RedisClient;
let b: RedisClient;

beforeAll(async () => {
  a = await connectTestClient();
  b = await connectTestClient();
});

afterAll(async () => {
  if (a?.isReady) await deleteKeys(a, prefix);
  await closeTestClient(a);
  await closeTestClient(b);
});

function setUp() {
  const { hashSecret } = ephemeralStateKeys();
  const clock = new ManualClock();
  return { clock, one: new RedisLookupGuard(a, hashSecret, clock, { prefix }), two: new RedisLookupGuard(b, hashSecret, clock, { prefix }) };
}

describe('RedisLookupGuard', () => {
  it('locks a document after the maximum number of mismatches, for the window only (as InMemoryLookupGuard)', async () => {
    const { clock, one: guard } = setUp();
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
    // The old mismatches no longer count towards a new lock.
    expect(await guard.recordMismatch('CNIE', 'K45678')).toBe(1);
  });

  it('counts the mismatches of every instance together, each once, even at the same moment', async () => {
    const { one, two } = setUp();
    const counts = await Promise.all([one.recordMismatch('CNIE', 'BE998877'), two.recordMismatch('CNIE', 'BE998877'), one.recordMismatch('CNIE', 'BE998877')]);
    expect([...counts].sort()).toEqual([1, 2, 3]);
    expect(await two.isLocked('CNIE', 'BE998877')).toBe(true);
  });

  it('keeps no document number in clear, and lets its keys expire with the window', async () => {
    const { one } = setUp();
    await one.recordMismatch('CNIE', 'ZT424242');
    const keys = (await listKeys(a, prefix)).filter((k) => k.includes(':mismatch:'));
    expect(keys.length).toBeGreaterThan(0);
    for (const key of keys) {
      expect(key).not.toContain('ZT424242');
      const members = (await a.zRange(key, 0, -1)).join(' ');
      expect(members).not.toContain('ZT424242');
      const ttl = await a.pTTL(key);
      expect(ttl).toBeGreaterThan(0);
      expect(ttl).toBeLessThanOrEqual(MISMATCH_WINDOW_MS);
    }
  });

  it('rejects with StateUnavailableError when Redis cannot answer', async () => {
    const gone = await connectTestClient();
    gone.destroy();
    const guard = new RedisLookupGuard(gone, ephemeralStateKeys().hashSecret, new ManualClock(), { prefix });
    await expect(guard.isLocked('CNIE', 'K45678')).rejects.toBeInstanceOf(StateUnavailableError);
    await expect(guard.recordMismatch('CNIE', 'K45678')).rejects.toBeInstanceOf(StateUnavailableError);
  });
});
