import { StateUnavailableError } from '../../src/state/redis';
import { RedisCallTimeoutError, stateCall } from '../../src/state/redisHelpers';

describe('stateCall: every Redis call of the product, with its deadline', () => {
  it('passes an answer through', async () => {
    expect(await stateCall(async () => 'PONG', 50)).toBe('PONG');
  });

  it('turns a failure into StateUnavailableError, keeping the cause', async () => {
    const cause = new Error('ECONNRESET');
    const error = await stateCall(() => Promise.reject(cause), 50).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StateUnavailableError);
    expect((error as Error).cause).toBe(cause);
  });

  it('gives up on a call that is not answered by the deadline; its late failure is heard by nobody', async () => {
    let failLate: (error: Error) => void = () => undefined;
    const unanswered = new Promise<string>((_resolve, reject) => {
      failLate = reject;
    });
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const error = await stateCall(() => unanswered, 30).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(StateUnavailableError);
      expect((error as Error).cause).toBeInstanceOf(RedisCallTimeoutError);
      failLate(new Error('connection closed'));
      await new Promise((resolve) => setTimeout(resolve, 20));
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });
});
