import { createClient } from 'redis';
import type { Logger } from '../log';

/**
 * How long a Redis call may take before the turn gives up on it ("try again in a moment"): a
 * Redis that accepts commands and never answers (a network that swallows packets) must not hold
 * a worker's message until Twilio's 15 s are gone.
 */
export const REDIS_CALL_TIMEOUT_MS = 5_000;

function newClient(url: string) {
  return createClient({
    url,
    disableOfflineQueue: true,
    // node-redis's own per-command timeout (5 s by default) arms an AbortSignal.timeout for every
    // command: with ~5 commands a message, that and the weak references it leaves to the garbage
    // collector cost a sixth of a turn's CPU (npm run bench). The same deadline is kept, once per
    // call and with a plain timer, by stateCall (redisHelpers.ts).
    commandOptions: { timeout: 0 },
    socket: {
      connectTimeout: 2000,
      reconnectStrategy: (retries: number) => Math.min(100 * 2 ** Math.min(retries, 6), 5000) + Math.floor(Math.random() * 100),
    },
  });
}

export type RedisClient = ReturnType<typeof newClient>;

/** Every key this product writes starts with it, so one Redis can serve several deployments. */
export const DEFAULT_KEY_PREFIX = 'tasjil:';

/**
 * A node-redis client that keeps trying to (re)connect with capped exponential backoff and fails
 * commands at once while disconnected (no offline queue): a worker then gets "please try again in
 * a moment" instead of a webhook that hangs until Twilio gives up. Connecting does not block the
 * start: /readyz says whether Redis is there.
 */
export function createRedis(url: string, log: Logger): RedisClient {
  let connected = false;
  const client = newClient(url);
  // One line per change of state, not one per failed retry.
  client.on('ready', () => {
    if (!connected) log.info({ event: 'redis.ready' }, 'Redis connected');
    connected = true;
  });
  client.on('error', (error: Error) => {
    if (connected) log.error({ event: 'redis.lost', error: error.message }, 'Redis connection lost; reconnecting');
    connected = false;
  });
  client.connect().catch((error: Error) => log.error({ event: 'redis.connect_failed', error: error.message }, 'Redis not reachable; retrying'));
  return client;
}

/** Thrown when Redis cannot serve a turn now: the user is asked to try again in a moment. */
export class StateUnavailableError extends Error {
  constructor(options?: { cause?: unknown }) {
    super('conversation state unavailable', options);
    this.name = 'StateUnavailableError';
  }
}
