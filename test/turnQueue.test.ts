import { InProcessTurnQueue } from '../src/pipeline/turnQueue';

const tick = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('InProcessTurnQueue', () => {
  it('runs the turns of one conversation one at a time, in order of arrival', async () => {
    const queue = new InProcessTurnQueue();
    const events: string[] = [];
    const turn = (name: string, ms: number) => () =>
      (async () => {
        events.push(`start ${name}`);
        await tick(ms);
        events.push(`end ${name}`);
      })();
    await Promise.all([queue.run('c1', turn('a', 20)), queue.run('c1', turn('b', 1)), queue.run('c1', turn('c', 5))]);
    expect(events).toEqual(['start a', 'end a', 'start b', 'end b', 'start c', 'end c']);
    expect(queue.pending()).toBe(0);
  });

  it('lets different conversations run side by side', async () => {
    const queue = new InProcessTurnQueue();
    const events: string[] = [];
    await Promise.all([
      queue.run('c1', async () => {
        events.push('start 1');
        await tick(20);
        events.push('end 1');
      }),
      queue.run('c2', async () => {
        events.push('start 2');
        events.push('end 2');
      }),
    ]);
    expect(events).toEqual(['start 1', 'start 2', 'end 2', 'end 1']);
  });

  it('a failing turn does not block the next one', async () => {
    const queue = new InProcessTurnQueue();
    const failing = queue.run('c1', async () => {
      throw new Error('boom');
    });
    const next = queue.run('c1', async () => 'ok');
    await expect(failing).rejects.toThrow('boom');
    await expect(next).resolves.toBe('ok');
  });
});
