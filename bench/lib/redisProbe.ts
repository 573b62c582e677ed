import { createClient } from 'redis';

function newClient(url: string) {
  return createClient({ url, socket: { connectTimeout: 2000, reconnectStrategy: false } });
}

/** The benchmark's own Redis connection: counts, measures and finally deletes the run's keys. */
export type BenchRedis = ReturnType<typeof newClient>;

export async function connectRedis(url: string): Promise<BenchRedis> {
  const client = newClient(url);
  client.on('error', () => undefined);
  await client.connect();
  await client.ping();
  return client;
}

export async function keysUnder(redis: BenchRedis, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const batch of redis.scanIterator({ MATCH: `${escapeGlob(prefix)}*`, COUNT: 1000 })) keys.push(...batch);
  return keys;
}

export async function anyKeyUnder(redis: BenchRedis, prefix: string): Promise<boolean> {
  for await (const batch of redis.scanIterator({ MATCH: `${escapeGlob(prefix)}*`, COUNT: 1000 })) if (batch.length > 0) return true;
  return false;
}

/** MEMORY USAGE (all nested values sampled) summed over `keys`; a key gone meanwhile counts 0. */
export async function memoryUsage(redis: BenchRedis, keys: string[]): Promise<number> {
  let total = 0;
  for (let i = 0; i < keys.length; i += 500) {
    const sizes = await Promise.all(keys.slice(i, i + 500).map((key) => redis.memoryUsage(key, { SAMPLES: 0 })));
    for (const size of sizes) total += size ?? 0;
  }
  return total;
}

/** Redis's own CPU seconds (INFO cpu: used_cpu_user + used_cpu_sys). */
export async function redisCpuSeconds(redis: BenchRedis): Promise<number> {
  const info = await redis.info('cpu');
  const field = (name: string) => Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(info)?.[1] ?? NaN);
  return field('used_cpu_user') + field('used_cpu_sys');
}

export async function deleteUnder(redis: BenchRedis, prefix: string): Promise<number> {
  let deleted = 0;
  for await (const batch of redis.scanIterator({ MATCH: `${escapeGlob(prefix)}*`, COUNT: 1000 })) {
    if (batch.length) deleted += await redis.unlink(batch);
  }
  return deleted;
}

function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, '\\$&');
}
