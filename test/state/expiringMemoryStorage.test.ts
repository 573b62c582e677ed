import { ManualClock } from '../../src/clock';
import { ExpiringMemoryStorage } from '../../src/state/expiringMemoryStorage';

describe('ExpiringMemoryStorage', () => {
  const TTL_SECONDS = 1800;

  it('forgets a conversation after the TTL of silence, and each write starts the TTL again', async () => {
    const clock = new ManualClock();
    const storage = new ExpiringMemoryStorage(TTL_SECONDS, clock);
    await storage.write({ c1: { step: 1 } });
    clock.advance((TTL_SECONDS - 1) * 1000);
    await storage.write({ c1: { step: 2, eTag: '*' } });
    clock.advance((TTL_SECONDS - 1) * 1000);
    expect((await storage.read(['c1'])).c1).toMatchObject({ step: 2 });
    clock.advance(1000);
    expect(await storage.read(['c1'])).toEqual({});
    expect(storage.size()).toBe(0);
  });

  it('refuses a write whose eTag is stale, and accepts the current one or "*"', async () => {
    const storage = new ExpiringMemoryStorage(TTL_SECONDS, new ManualClock());
    await storage.write({ c1: { n: 1 } });
    const first = (await storage.read(['c1'])).c1 as { eTag: string };
    await storage.write({ c1: { n: 2, eTag: first.eTag } });
    await expect(storage.write({ c1: { n: 3, eTag: first.eTag } })).rejects.toThrow(/stale/);
    await storage.write({ c1: { n: 4, eTag: '*' } });
    expect((await storage.read(['c1'])).c1).toMatchObject({ n: 4 });
  });

  it('returns copies: changing what was read does not change what is stored', async () => {
    const storage = new ExpiringMemoryStorage(TTL_SECONDS, new ManualClock());
    await storage.write({ c1: { form: { a: 1 } } });
    const read = (await storage.read(['c1'])).c1 as { form: { a: number } };
    read.form.a = 99;
    expect((await storage.read(['c1'])).c1).toMatchObject({ form: { a: 1 } });
  });

  it('deletes at once', async () => {
    const storage = new ExpiringMemoryStorage(TTL_SECONDS, new ManualClock());
    await storage.write({ c1: { x: 1 }, c2: { x: 2 } });
    await storage.delete(['c1']);
    expect(Object.keys(await storage.read(['c1', 'c2']))).toEqual(['c2']);
  });
});
