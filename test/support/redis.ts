import { randomBytes } from 'node:crypto';
import { createClient } from 'redis';
import { createLogger } from '../../src/log';
import { createRedis, type RedisClient } from '../../src/state/redis';

/**
 * Tests that need Redis use a real one: 127.0.0.1:6379 here and in CI (TEST_REDIS_URL to point
 * elsewhere). Each test file works under its own random prefix and deletes its keys afterwards.
 * Redis missing is a failure, never a skip: a skipped test would hide that nothing was tested.
 */
export const TEST_REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

const CONNECT_TIMEOUT_MS = 3000;

/** Whether Redis answers PING, without retrying. */
export async function redisAvailable(url = TEST_REDIS_URL): Promise<boolean> {
  const client = createClient({ url, socket: { connectTimeout: 1000, reconnectStrategy: false } });
  client.on('error', () => undefined);
  try {
    await client.connect();
    return (await client.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    if (client.isOpen) client.destroy();
  }
}

/** A prefix no other test run uses, ending in ':'. */
export function newTestPrefix(): string {
  return `tasjil-test:${randomBytes(6).toString('hex')}:`;
}

/**
 * A client as the product makes it (src/state/redis.ts: no offline queue, reconnects with
 * backoff), once connected. Rejects with a message saying what to do when Redis is not there.
 */
export async function connectTestClient(url = TEST_REDIS_URL): Promise<RedisClient> {
  const client = createRedis(url, createLogger('silent'));
  if (client.isReady) return client;
  const ready = await new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => resolve(false), CONNECT_TIMEOUT_MS);
    client.once('ready', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
  if (!ready) {
    client.destroy();
    throw new Error(
      `Redis is not reachable at ${url}. These tests need a real Redis (CI provides one): start it ` +
        '(e.g. `redis-server` or `docker run -p 6379:6379 redis:7`) or set TEST_REDIS_URL.',
    );
  }
  return client;
}

/** Deletes every key under `prefix` (SCAN, not KEYS: never blocks a shared Redis). */
export async function deleteKeys(client: RedisClient, prefix: string): Promise<number> {
  const keys = await listKeys(client, prefix);
  if (keys.length > 0) await client.del(keys);
  return keys.length;
}

/** Every key under `prefix`. */
export async function listKeys(client: RedisClient, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const page of client.scanIterator({ MATCH: `${escapeGlob(prefix)}*`, COUNT: 500 })) keys.push(...page.map(String));
  return keys;
}

/** Closes a test client whatever its state (a client killed by a test may be reconnecting). */
export async function closeTestClient(client: RedisClient | undefined): Promise<void> {
  if (!client) return;
  if (client.isReady) await client.close();
  else if (client.isOpen) client.destroy();
}

/** Waits until the client is connected again (after CLIENT KILL). */
export async function waitUntilReady(client: { readonly isReady: boolean }, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!client.isReady) {
    if (Date.now() > deadline) throw new Error('the Redis client did not reconnect');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, '\\$&');
}
