import IORedis, { Cluster } from 'ioredis';
import { loadConfig, type RedisTopology } from '../../src/config';
import { createBullConnection, followUpQueuePrefix, ioRedisSettings } from '../../src/services/followUp/bullConnection';

/**
 * BullMQ's ioredis connections come from the same validated Redis topology as the rest of Tasjil
 * (config.ts): each kind maps to its ioredis shape, read here from the real environment variables.
 */

const topologyOf = (env: NodeJS.ProcessEnv): RedisTopology => loadConfig({ NODE_ENV: 'test', ...env }).redisTopology!;

describe('BullMQ connection settings from the Redis topology', () => {
  it('one server: the URL as given (credentials, database and TLS travel in it), no retry limit on commands', () => {
    const settings = ioRedisSettings(topologyOf({ REDIS_URL: 'rediss://tasjil:s3cret@redis.internal:6380/2' }));
    expect(settings).toEqual({ kind: 'single', url: 'rediss://tasjil:s3cret@redis.internal:6380/2', options: { maxRetriesPerRequest: null } });
  });

  it('Sentinel: the sentinels, the primary by name, both passwords, TLS for the primary and the sentinels', () => {
    const settings = ioRedisSettings(
      topologyOf({
        REDIS_SENTINELS: '10.0.0.1:26379, 10.0.0.2:26380,[::1]:26381',
        REDIS_SENTINEL_MASTER: 'tasjil',
        REDIS_USERNAME: 'app',
        REDIS_PASSWORD: 'data-password',
        REDIS_SENTINEL_PASSWORD: 'sentinel-password',
        REDIS_TLS: 'true',
      }),
    );
    expect(settings).toEqual({
      kind: 'sentinel',
      options: {
        maxRetriesPerRequest: null,
        sentinels: [
          { host: '10.0.0.1', port: 26379 },
          { host: '10.0.0.2', port: 26380 },
          { host: '::1', port: 26381 },
        ],
        name: 'tasjil',
        username: 'app',
        password: 'data-password',
        sentinelPassword: 'sentinel-password',
        // tls is the primary's; the sentinels have their own option (without it ioredis spoke
        // plain TCP to TLS sentinels: test/redis/tls.test.ts).
        tls: {},
        sentinelTLS: {},
        enableTLSForSentinelMode: true,
      },
    });
  });

  it('Sentinel without TLS sets no TLS option at all', () => {
    const settings = ioRedisSettings(topologyOf({ REDIS_SENTINELS: '10.0.0.1:26379', REDIS_SENTINEL_MASTER: 'tasjil' }));
    expect(settings.options).not.toHaveProperty('tls');
    expect(settings.options).not.toHaveProperty('enableTLSForSentinelMode');
  });

  it('Cluster: the seed nodes, and the data nodes\' credentials and TLS for every node found', () => {
    const settings = ioRedisSettings(
      topologyOf({ REDIS_CLUSTER_NODES: '10.0.1.1:7000,10.0.1.2:7001', REDIS_USERNAME: 'app', REDIS_PASSWORD: 'data-password', REDIS_TLS: 'true' }),
    );
    expect(settings).toEqual({
      kind: 'cluster',
      nodes: [
        { host: '10.0.1.1', port: 7000 },
        { host: '10.0.1.2', port: 7001 },
      ],
      options: { redisOptions: { maxRetriesPerRequest: null, username: 'app', password: 'data-password', tls: {} } },
    });
  });

  it('builds the ioredis client of each kind (without connecting)', async () => {
    const single = createBullConnection(topologyOf({ REDIS_URL: 'redis://app:pw@127.0.0.1:6390/3' }), { lazyConnect: true });
    const sentinel = createBullConnection(topologyOf({ REDIS_SENTINELS: '127.0.0.1:26390', REDIS_SENTINEL_MASTER: 'tasjil', REDIS_SENTINEL_PASSWORD: 'spw' }), { lazyConnect: true });
    const cluster = createBullConnection(topologyOf({ REDIS_CLUSTER_NODES: '127.0.0.1:7390', REDIS_PASSWORD: 'pw' }), { lazyConnect: true });
    try {
      expect(single).toBeInstanceOf(IORedis);
      expect((single as IORedis).options).toMatchObject({ host: '127.0.0.1', port: 6390, db: 3, username: 'app', password: 'pw', maxRetriesPerRequest: null });
      expect(sentinel).toBeInstanceOf(IORedis);
      expect((sentinel as IORedis).options).toMatchObject({ sentinels: [{ host: '127.0.0.1', port: 26390 }], name: 'tasjil', sentinelPassword: 'spw' });
      expect(cluster).toBeInstanceOf(Cluster);
      expect((cluster as Cluster).options.redisOptions).toMatchObject({ password: 'pw', maxRetriesPerRequest: null });
      expect((cluster as unknown as { startupNodes: unknown }).startupNodes).toEqual([{ host: '127.0.0.1', port: 7390 }]);
    } finally {
      for (const connection of [single, sentinel, cluster]) connection.disconnect();
    }
  });

  it('the queue\'s side fails fast while Redis is away; the worker\'s waits', () => {
    for (const env of [{ REDIS_URL: 'redis://127.0.0.1:6390' }, { REDIS_CLUSTER_NODES: '127.0.0.1:7390' }]) {
      const queueSide = createBullConnection(topologyOf(env), { lazyConnect: true, failFast: true });
      const workerSide = createBullConnection(topologyOf(env), { lazyConnect: true });
      try {
        expect(queueSide.options.enableOfflineQueue).toBe(false);
        expect(workerSide.options.enableOfflineQueue).toBe(true);
      } finally {
        queueSide.disconnect();
        workerSide.disconnect();
      }
    }
  });
});

describe('the queue prefix', () => {
  it('stays under REDIS_KEY_PREFIX and is hash-tagged, so a queue\'s keys share one Cluster slot', () => {
    expect(followUpQueuePrefix('tasjil:')).toBe('tasjil:{followups}');
    // Redis hashes the first {…}: every key BullMQ derives (`<prefix>:checks:wait`, `…:<id>`) has the same tag.
    const tag = (key: string) => /\{([^}]+)\}/.exec(key)?.[1];
    expect(new Set([`${followUpQueuePrefix('tasjil:')}:checks:wait`, `${followUpQueuePrefix('tasjil:')}:checks:delayed`, `${followUpQueuePrefix('tasjil:')}:checks:abc`].map(tag))).toEqual(new Set(['followups']));
  });
});
