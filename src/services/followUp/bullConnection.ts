import IORedis, { Cluster, type ClusterOptions, type RedisOptions } from 'ioredis';
import type { HostPort, RedisTopology } from '../../config';

/**
 * BullMQ speaks to Redis through ioredis (the rest of Tasjil uses node-redis). Its connections are
 * built here from the same validated topology (config.ts `redisTopology`): one server by its URL,
 * a primary found through its sentinels, or a cluster from a few of its nodes.
 */
export type IoRedisSettings =
  | { kind: 'single'; url: string; options: RedisOptions }
  | { kind: 'sentinel'; options: RedisOptions }
  | { kind: 'cluster'; nodes: HostPort[]; options: ClusterOptions };

/**
 * BullMQ's workers wait on blocking commands and must not give up on a command while Redis fails
 * over: `maxRetriesPerRequest: null` is what BullMQ requires of a worker's connection.
 */
const BULLMQ_REQUIRED: RedisOptions = { maxRetriesPerRequest: null };

/** The system's certificate authorities, or only REDIS_TLS_CA_FILE's; certificates always verified. */
const tlsOptions = (ca?: string) => (ca ? { ca } : {});

export function ioRedisSettings(topology: RedisTopology): IoRedisSettings {
  switch (topology.kind) {
    case 'single':
      // User, password, database and TLS (rediss://) travel in the URL, as for node-redis.
      return { kind: 'single', url: topology.url, options: { ...BULLMQ_REQUIRED, ...(topology.tlsCa ? { tls: tlsOptions(topology.tlsCa) } : {}) } };
    case 'sentinel':
      return {
        kind: 'sentinel',
        options: {
          ...BULLMQ_REQUIRED,
          sentinels: topology.sentinels.map(({ host, port }) => ({ host, port })),
          name: topology.masterName,
          username: topology.username,
          password: topology.password,
          sentinelPassword: topology.sentinelPassword,
          // The primary and the sentinels alike, as the other clients do with REDIS_TLS.
          ...(topology.tls ? { tls: tlsOptions(topology.tlsCa), sentinelTLS: tlsOptions(topology.tlsCa), enableTLSForSentinelMode: true } : {}),
        },
      };
    case 'cluster':
      return {
        kind: 'cluster',
        nodes: topology.nodes.map(({ host, port }) => ({ host, port })),
        options: {
          redisOptions: {
            ...BULLMQ_REQUIRED,
            username: topology.username,
            password: topology.password,
            ...(topology.tls ? { tls: tlsOptions(topology.tlsCa) } : {}),
          },
        },
      };
  }
}

/**
 * A new ioredis connection (or cluster client) for BullMQ. `lazyConnect`: connect on first command.
 * `failFast`: a command fails at once while Redis is away instead of waiting in ioredis' offline
 * queue (BullMQ's advice for a Queue, the side a worker's turn calls): the worker is told to try
 * again rather than kept waiting. A Worker's connection keeps waiting: it only has to resume.
 */
export function createBullConnection(topology: RedisTopology, options: { lazyConnect?: boolean; failFast?: boolean } = {}): IORedis | Cluster {
  const settings = ioRedisSettings(topology);
  const extra = { lazyConnect: options.lazyConnect ?? false, ...(options.failFast ? { enableOfflineQueue: false } : {}) };
  switch (settings.kind) {
    case 'single':
      return new IORedis(settings.url, { ...settings.options, ...extra });
    case 'sentinel':
      return new IORedis({ ...settings.options, ...extra });
    case 'cluster':
      return new Cluster(settings.nodes, { ...settings.options, ...extra });
  }
}

/**
 * BullMQ's key prefix for the follow-up queue: under REDIS_KEY_PREFIX like every key of Tasjil
 * (`tasjil:{followups}:checks:…`), and hash-tagged: in a Cluster, a queue's keys must share one
 * hash slot (its Lua scripts touch several at once), and Redis hashes only what is between the
 * first braces. The same keys on every topology.
 */
export function followUpQueuePrefix(keyPrefix: string): string {
  return `${keyPrefix}{followups}`;
}
