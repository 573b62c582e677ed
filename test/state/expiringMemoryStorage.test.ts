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

  it('refuses a versioned write to a conversation that is gone (erased or expired meanwhile)', async () => {
    const clock = new ManualClock();
    const storage = new ExpiringMemoryStorage(TTL_SECONDS, clock);
    const erased = { n: 1 } as { n: number; eTag?: string };
    await storage.write({ c1: erased });
    await storage.delete(['c1']);
    await expect(storage.write({ c1: { n: 2, eTag: erased.eTag } })).rejects.toThrow(/stale/);
    expect(await storage.read(['c1'])).toEqual({});

    const expired = { n: 1 } as { n: number; eTag?: string };
    await storage.write({ c2: expired });
    clock.advance(TTL_SECONDS * 1000);
    await expect(storage.write({ c2: { n: 2, eTag: expired.eTag } })).rejects.toThrow(/stale/);
    // A new conversation (no version) is written as before.
    await storage.write({ c2: { n: 3 } });
    expect((await storage.read(['c2'])).c2).toMatchObject({ n: 3 });
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
