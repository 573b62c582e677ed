import { StateUnavailableError } from '../../src/state/redis';
import { ReplicatedWrites } from '../../src/state/replicatedWrites';

/**
 * What a write does while a Redis set may be switching primaries (the real switches run in
 * test/redis/sentinel.test.ts and cluster.test.ts; here each answer of Redis is scripted, so that
 * every branch is reached on purpose).
 */

type Step<T> = T | Error;

/** A function that answers each call with the next scripted step (a value, or a failure). */
function scripted<T>(steps: Step<T>[], otherwise: T) {
  const calls: unknown[][] = [];
  const fn = async (...args: unknown[]) => {
    calls.push(args);
    const step = steps.length > 0 ? steps.shift()! : otherwise;
    if (step instanceof Error) throw step;
    return step;
  };
  return { fn, calls };
}

const killed = new Error('Socket closed unexpectedly');
const demoted = new Error('UNBLOCKED force unblock from blocking operation, instance state changed (master -> replica?)');
const readonly = new Error("READONLY You can't write against a read only replica.");
const noReplicas = new Error('NOREPLICAS Not enough good replicas to write.');

describe('ReplicatedWrites', () => {
  it('the write, then one WAIT that the replica answers: nothing more (nothing to count either)', async () => {
    const wait = scripted<number>([1], 0);
    const write = scripted<number>([7], 0);
    const onOutcome = jest.fn();
    expect(await new ReplicatedWrites({ replicas: 1, wait: wait.fn, onOutcome }).run('tasjil:state:{abc}:x', write.fn)).toBe(7);
    expect(onOutcome).not.toHaveBeenCalled();
    expect(write.calls).toHaveLength(1);
    expect(wait.calls).toEqual([['tasjil:state:{abc}:x', 1, 50]]);
  });

  it('REDIS_WAIT_REPLICAS=0: the write once, no WAIT, and a failure is "try again" at once', async () => {
    const wait = scripted<number>([], 0);
    const writes = new ReplicatedWrites({ replicas: 0, wait: wait.fn });
    expect(await writes.run('k', async () => 'OK')).toBe('OK');
    const failing = scripted<string>([killed], 'OK');
    await expect(writes.run('k', failing.fn)).rejects.toBeInstanceOf(StateUnavailableError);
    expect(failing.calls).toHaveLength(1);
    expect(wait.calls).toHaveLength(0);
  });

  it('a compare-and-set refused on the first run is settled: no WAIT, no second run', async () => {
    const wait = scripted<number>([], 1);
    const write = scripted<number>([-1], 7);
    expect(await new ReplicatedWrites({ replicas: 1, wait: wait.fn }).run('k', write.fn, (v) => v === -1)).toBe(-1);
    expect(write.calls).toHaveLength(1);
    expect(wait.calls).toHaveLength(0);
  });

  it('the reply cut off by the switch, then refused by the demoted primary, then run on the new one: the result of the run the replicas hold', async () => {
    const wait = scripted<number>([1], 0);
    const write = scripted<number>([killed, readonly, 8], 0);
    const onOutcome = jest.fn();
    expect(await new ReplicatedWrites({ replicas: 1, wait: wait.fn, pauseMs: 1, onOutcome }).run('k', write.fn, (v) => v === -1)).toBe(8);
    expect(write.calls).toHaveLength(3);
    expect(wait.calls).toHaveLength(1);
    expect(onOutcome.mock.calls).toEqual([['retried']]);
  });

  it('WAIT cut short by the switch: the write is run again (it recognizes itself) and WAITed on the new primary', async () => {
    const wait = scripted<number>([demoted, 0, 1], 0);
    const write = scripted<number>([8, noReplicas, 8, 8], 0);
    expect(await new ReplicatedWrites({ replicas: 1, wait: wait.fn, pauseMs: 1 }).run('k', write.fn)).toBe(8);
    expect(write.calls).toHaveLength(4);
    expect(wait.calls).toHaveLength(3);
  });

  it('a refusal on a later run (old data on a demoted primary) is not taken as settled: tried again', async () => {
    const wait = scripted<number>([0, 1], 0);
    const write = scripted<number>([8, -1, 8], 0);
    expect(await new ReplicatedWrites({ replicas: 1, wait: wait.fn, pauseMs: 1 }).run('k', write.fn, (v) => v === -1)).toBe(8);
    expect(write.calls).toHaveLength(3);
  });

  it('never enough replicas: StateUnavailableError ("try again") once the time is up, having asked for all of them each time', async () => {
    const wait = scripted<number>([], 1);
    const write = scripted<string>([], 'OK');
    const onOutcome = jest.fn();
    const running = new ReplicatedWrites({ replicas: 2, wait: wait.fn, pauseMs: 5, withinMs: 60, onOutcome }).run('k', write.fn);
    await expect(running).rejects.toBeInstanceOf(StateUnavailableError);
    expect(onOutcome.mock.calls).toEqual([['unconfirmed']]);
    expect(wait.calls.length).toBeGreaterThan(1);
    expect(wait.calls.every(([, replicas]) => replicas === 2)).toBe(true);
  });
});
