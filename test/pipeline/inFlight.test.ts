import { InFlightWork } from '../../src/pipeline/inFlight';

/** The restart's view of the work in flight: what it waits for, and what it reports as cut. */

function deferred(): { promise: Promise<void>; resolve: () => void; reject: (error: Error) => void } {
  let resolve!: () => void;
  let reject!: (error: Error) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

describe('InFlightWork', () => {
  it('drains at once when idle, and says it is draining from then on', async () => {
    const work = new InFlightWork();
    expect(work.isDraining).toBe(false);
    expect(await work.drain(Date.now() + 1000)).toEqual({ drained: true, remaining: { requests: 0, turns: 0, lateReplies: 0 } });
    expect(work.isDraining).toBe(true);
  });

  it('waits for every piece of work, a failed one too, and for work that starts during the drain', async () => {
    const work = new InFlightWork();
    const turn = deferred();
    const reply = deferred();
    void work.track('turns', turn.promise).catch(() => undefined);
    const endRequest = work.begin('requests');
    expect(work.snapshot()).toEqual({ requests: 1, turns: 1, lateReplies: 0 });

    let drained = false;
    const draining = work.drain(Date.now() + 10_000).then((result) => {
      drained = true;
      return result;
    });
    turn.reject(new Error('registry down'));
    void work.track('lateReplies', reply.promise);
    endRequest();
    endRequest(); // a second call counts nothing
    await new Promise((resolve) => setImmediate(resolve));
    expect(drained).toBe(false);
    expect(work.snapshot()).toEqual({ requests: 0, turns: 0, lateReplies: 1 });

    reply.resolve();
    expect(await draining).toEqual({ drained: true, remaining: { requests: 0, turns: 0, lateReplies: 0 } });
  });

  it('gives up at the deadline and reports what is still running', async () => {
    const work = new InFlightWork();
    void work.track('turns', new Promise(() => undefined));
    expect(await work.drain(Date.now() + 20)).toEqual({ drained: false, remaining: { requests: 0, turns: 1, lateReplies: 0 } });
  });
});
