import { RedisTurnQueue } from '../../src/pipeline/redisTurnQueue';
import { ephemeralStateKeys } from '../../src/state/keys';
import { StateUnavailableError, type RedisClient } from '../../src/state/redis';
import { closeTestClient, connectTestClient, deleteKeys, listKeys, newTestPrefix, waitUntilReady } from '../support/redis';
import { startTcpProxy } from '../support/tcpProxy';

const tick = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const prefix = newTestPrefix();
const { hashSecret } = ephemeralStateKeys();
let a: RedisClient;
let b: RedisClient;
let seq = 0;
/** A fresh conversation per test, shaped as the Twilio webhook makes them. */
const conversation = () => `whatsapp:+2126123456${String(++seq).padStart(2, '0')}`;

/** A turn whose end the test decides. */
function gate() {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { open, opened };
}

/** A turn that starts on `queue` and runs until the test ends it; resolves once it runs. */
async function turnHeldOpen(queue: RedisTurnQueue, key: string): Promise<{ done: Promise<string>; end: () => void }> {
  const running = gate();
  const ending = gate();
  const done = queue.run(key, async () => {
    running.open();
    await ending.opened;
    return 'held';
  });
  await running.opened;
  return { done, end: ending.open };
}

beforeAll(async () => {
  // Two clients, two queues: two app instances sharing one Redis.
  a = await connectTestClient();
  b = await connectTestClient();
});

afterAll(async () => {
  if (a?.isReady) await deleteKeys(a, prefix);
  await closeTestClient(a);
  await closeTestClient(b);
});

describe('RedisTurnQueue across two instances', () => {
  it('runs the turns of one conversation one at a time, in order of arrival, whichever instance gets them', async () => {
    const instances = [new RedisTurnQueue(a, hashSecret, { prefix }), new RedisTurnQueue(b, hashSecret, { prefix })];
    const key = conversation();
    const order: number[] = [];
    let running = 0;
    let overlaps = 0;
    const turn = (n: number, ms: number) => async () => {
      running += 1;
      if (running > 1) overlaps += 1;
      order.push(n);
      await tick(ms);
      running -= 1;
      return n;
    };
    const runs: Promise<number>[] = [];
    for (let n = 0; n < 12; n++) {
      // Alternating instances; a few ms apart so the arrival order at Redis is the order here.
      runs.push(instances[n % 2]!.run(key, turn(n, n === 0 ? 40 : 3)));
      await tick(4);
    }
    expect(await Promise.all(runs)).toEqual([...Array(12).keys()]);
    expect(order).toEqual([...Array(12).keys()]);
    expect(overlaps).toBe(0);
  });

  it('never overlaps turns that arrive at the same moment on both instances, and each runs once', async () => {
    const instances = [new RedisTurnQueue(a, hashSecret, { prefix }), new RedisTurnQueue(b, hashSecret, { prefix })];
    const key = conversation();
    const ran: number[] = [];
    let running = 0;
    let overlaps = 0;
    await Promise.all(
      [...Array(20).keys()].map((n) =>
        instances[n % 2]!.run(key, async () => {
          running += 1;
          if (running > 1) overlaps += 1;
          ran.push(n);
          await tick(1);
          running -= 1;
        }),
      ),
    );
    expect(overlaps).toBe(0);
    expect([...ran].sort((x, y) => x - y)).toEqual([...Array(20).keys()]);
    // Each instance's own turns keep their order (its tickets are taken in call order).
    expect(ran.filter((n) => n % 2 === 0)).toEqual([...Array(10).keys()].map((n) => 2 * n));
  });

  it('runs different conversations side by side', async () => {
    const one = new RedisTurnQueue(a, hashSecret, { prefix });
    const two = new RedisTurnQueue(b, hashSecret, { prefix });
    const events: string[] = [];
    await Promise.all([
      one.run(conversation(), async () => {
        events.push('start 1');
        await tick(60);
        events.push('end 1');
      }),
      tick(5).then(() =>
        two.run(conversation(), async () => {
          events.push('start 2');
          events.push('end 2');
        }),
      ),
    ]);
    expect(events).toEqual(['start 1', 'start 2', 'end 2', 'end 1']);
  });

  it('releases after a turn that throws, and passes its error on unchanged', async () => {
    const one = new RedisTurnQueue(a, hashSecret, { prefix, leaseMs: 10_000 });
    const two = new RedisTurnQueue(b, hashSecret, { prefix, leaseMs: 10_000 });
    const key = conversation();
    const failing = one.run(key, async () => {
      await tick(20);
      throw new Error('boom');
    });
    const startedAt = Date.now();
    const next = two.run(key, async () => 'ok');
    await expect(failing).rejects.toThrow('boom');
    await expect(next).resolves.toBe('ok');
    expect(Date.now() - startedAt).toBeLessThan(5000); // not the 10 s lease running out
  });

  it('skips a holder whose process died, once its lease has run out', async () => {
    const doomed = await connectTestClient();
    const dying = new RedisTurnQueue(doomed, hashSecret, { prefix, leaseMs: 300 });
    const survivor = new RedisTurnQueue(b, hashSecret, { prefix, leaseMs: 300 });
    const key = conversation();
    const { done: orphan, end: unhang } = await turnHeldOpen(dying, key);
    doomed.destroy(); // the process is gone: no release, no lease renewal
    const startedAt = Date.now();
    await expect(survivor.run(key, async () => 'after')).resolves.toBe('after');
    const waited = Date.now() - startedAt;
    expect(waited).toBeGreaterThanOrEqual(250);
    expect(waited).toBeLessThan(2000);
    unhang();
    await orphan; // its release fails quietly: the client is gone
  });

  it('gives up after the bounded wait with StateUnavailableError, and the given-up turn is skipped at once', async () => {
    const holder = new RedisTurnQueue(a, hashSecret, { prefix, leaseMs: 10_000 });
    const impatient = new RedisTurnQueue(b, hashSecret, { prefix, leaseMs: 10_000, maxWaitMs: 100 });
    const key = conversation();
    // Holding before the other arrives: the two instances' tickets could otherwise reach Redis in either order.
    const held = await turnHeldOpen(holder, key);
    let ranLate = false;
    const waited = impatient.run(key, async () => {
      ranLate = true;
    });
    await expect(waited).rejects.toBeInstanceOf(StateUnavailableError);
    held.end();
    await held.done;
    const startedAt = Date.now();
    await expect(holder.run(key, async () => 'next')).resolves.toBe('next');
    expect(Date.now() - startedAt).toBeLessThan(5000); // skipped, not waited out for its 10 s lease
    expect(ranLate).toBe(false);
  });

  it('bounds the wait of turns queued behind one of the same instance too', async () => {
    const queue = new RedisTurnQueue(a, hashSecret, { prefix, maxWaitMs: 100 });
    const key = conversation();
    const release = gate();
    const held = queue.run(key, () => release.opened);
    await expect(queue.run(key, async () => 'late')).rejects.toBeInstanceOf(StateUnavailableError);
    release.open();
    await held;
    await expect(queue.run(key, async () => 'fine')).resolves.toBe('fine');
  });

  it('answers StateUnavailableError when its Redis connection is killed mid-wait, then works again once reconnected', async () => {
    const holder = new RedisTurnQueue(a, hashSecret, { prefix, leaseMs: 300 });
    const waiter = new RedisTurnQueue(b, hashSecret, { prefix, leaseMs: 300 });
    const key = conversation();
    const held = await turnHeldOpen(holder, key);
    const waiterConnection = String(await b.clientId());
    const waiting = waiter.run(key, async () => 'never').catch((e: unknown) => e);
    await tick(30); // the waiter is polling
    // A command that holds the connection (as a Redis in trouble would), so the waiter's next poll
    // is on the wire when the connection dies: node-redis reconnects within milliseconds, and a
    // kill between two polls would go unnoticed (which is fine, but tests nothing).
    const stuck = b.blPop(`${prefix}never`, 5).catch(() => undefined);
    await tick(40);
    await a.sendCommand(['CLIENT', 'KILL', 'ID', waiterConnection]);
    await stuck;
    const error = await waiting;
    expect(error).toBeInstanceOf(StateUnavailableError);
    expect((error as Error).cause).toBeInstanceOf(Error);
    held.end();
    await held.done;
    await waitUntilReady(b);
    await expect(waiter.run(key, async () => 'back')).resolves.toBe('back');
  });

  it('answers StateUnavailableError when Redis cannot be reached at all', async () => {
    const gone = await connectTestClient();
    gone.destroy();
    const queue = new RedisTurnQueue(gone, hashSecret, { prefix });
    let ran = false;
    await expect(
      queue.run(conversation(), async () => {
        ran = true;
      }),
    ).rejects.toBeInstanceOf(StateUnavailableError);
    expect(ran).toBe(false);
    expect(queue.pending()).toBe(0);
  });

  it('leaves nothing in Redis once a conversation is idle, and never the number in a key', async () => {
    const queue = new RedisTurnQueue(a, hashSecret, { prefix });
    const key = conversation();
    await queue.run(key, async () => {
      const keys = (await listKeys(a, prefix)).filter((k) => k.includes(':turn:'));
      expect(keys.length).toBeGreaterThan(0);
      for (const k of keys) expect(k).not.toMatch(/2126/);
      // An active conversation's entry expires on its own if everyone involved crashed.
      for (const k of keys) expect(await a.pTTL(k)).toBeGreaterThan(0);
    });
    await tick(500); // tickets orphaned by the earlier tests run out
    const leftovers = (await listKeys(a, prefix)).filter((k) => k.includes(':turn:'));
    for (const k of leftovers) expect(await a.pTTL(k)).toBeGreaterThan(0);
    expect(queue.pending()).toBe(0);
  });
  it('at shutdown, releaseAll hands on the turn it holds and gives up the ones it waits for: the other instance serves them at once', async () => {
    const stopping = new RedisTurnQueue(a, hashSecret, { prefix });
    const other = new RedisTurnQueue(b, hashSecret, { prefix, maxWaitMs: 30_000 });
    const key = conversation();
    const held = gate();
    let started = false;
    const holding = stopping.run(key, async () => {
      started = true;
      await held.opened; // a turn stuck on a slow registry
    });
    const waiting = stopping.run(key, async () => 'never');
    waiting.catch(() => undefined);
    while (!started) await tick(2);
    const next = other.run(key, async () => 'served');

    const startedAt = Date.now();
    expect(await stopping.releaseAll()).toBe(2);
    // Served well before the 15 s lease of the stuck turn would have run out.
    expect(await next).toBe('served');
    expect(Date.now() - startedAt).toBeLessThan(5000);
    // The stuck turn ends; nothing after it runs on the stopping instance.
    held.open();
    await holding;
    await expect(waiting).rejects.toBeInstanceOf(StateUnavailableError);
    await expect(stopping.run(key, async () => 'after')).rejects.toBeInstanceOf(StateUnavailableError);
    expect(await listKeys(a, `${prefix}turn:`)).toEqual([]);
  });
});

describe('RedisTurnQueue when Redis refuses a release', () => {
  it('tries the release again once Redis is back: the next message waits for Redis, not for the whole lease', async () => {
    const proxy = await startTcpProxy({ host: '127.0.0.1', port: 6379 });
    const behindProxy = await connectTestClient(proxy.url);
    try {
      const leaseMs = 6000;
      const holder = new RedisTurnQueue(behindProxy, hashSecret, { prefix, leaseMs });
      const next = new RedisTurnQueue(b, hashSecret, { prefix, leaseMs });
      const key = conversation();
      const first = await turnHeldOpen(holder, key);
      // The holder's Redis goes away as its turn ends (a primary switching over): the release fails.
      await proxy.cut();
      first.end();
      await expect(first.done).resolves.toBe('held'); // the answer does not wait for the release
      const startedAt = Date.now();
      const second = next.run(key, async () => 'second');
      await tick(300);
      await proxy.restore();
      await expect(second).resolves.toBe('second');
      // Served once the holder reconnected and released (its reconnection backs off up to ~1 s);
      // without the retry it would have waited for the lease.
      expect(Date.now() - startedAt).toBeLessThan(leaseMs / 2);
    } finally {
      await closeTestClient(behindProxy);
      await proxy.close();
    }
  }, 20000);
});
