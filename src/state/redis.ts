import { createClient, createCluster, createSentinel } from '@redis/client';
import type { RedisTopology } from '../config';
import type { Logger } from '../log';

/**
 * How long a Redis call may take before the turn gives up on it ("try again in a moment"): a
 * Redis that accepts commands and never answers (a network that swallows packets) must not hold
 * a worker's message until Twilio's 15 s are gone.
 */
export const REDIS_CALL_TIMEOUT_MS = 5_000;

/** Every key this product writes starts with it, so one Redis can serve several deployments. */
export const DEFAULT_KEY_PREFIX = 'tasjil:';

type SetOptions = { condition?: 'NX'; expiration?: { type: 'PX'; value: number } };
type ScriptOptions = { keys: string[]; arguments: string[] };

/** The commands of one MULTI … EXEC the stores queue (all on keys of one slot: one contact's). */
export interface RedisTransaction {
  del(key: string): RedisTransaction;
  hSet(key: string, fields: Record<string, string>): RedisTransaction;
  pExpire(key: string, ms: number): RedisTransaction;
  exec(): Promise<unknown>;
}

/**
 * "The Redis connection": the commands the product uses, which node-redis's client (one server),
 * its Sentinel client and its cluster client all have as they are (no wrapper, no cast). The
 * stores depend on this, never on a client type, so one code path serves the three topologies.
 * Every multi-key command, script and MULTI is given keys of one hash slot (one `{tag}`, see
 * redisHelpers.ts slotTag): the cluster client sends it to the node of its first key, EVALSHA and
 * the EVAL after a NOSCRIPT included.
 */
export interface RedisConnection {
  readonly isReady: boolean;
  readonly isOpen: boolean;
  get(key: string): Promise<string | null>;
  /** GET and DEL in one step: of two instances taking one record, only one gets it. */
  getDel(key: string): Promise<string | null>;
  set(key: string, value: string, options?: SetOptions): Promise<string | null>;
  del(keys: string | string[]): Promise<number>;
  hmGet(key: string, fields: string[]): Promise<(string | null)[]>;
  zCount(key: string, min: string, max: string): Promise<number>;
  evalSha(sha1: string, options: ScriptOptions): Promise<unknown>;
  eval(script: string, options: ScriptOptions): Promise<unknown>;
  multi(): RedisTransaction;
  /** 'PONG' (on a cluster: from any one node). */
  ping(): Promise<string>;
  close(): Promise<void>;
  destroy(): void;
}

const RECONNECT = (retries: number) => Math.min(100 * 2 ** Math.min(retries, 6), 5000) + Math.floor(Math.random() * 100);

/**
 * What every connection to a data node gets: no offline queue (a command fails at once while
 * disconnected: the worker hears "try again in a moment" instead of a webhook that hangs until
 * Twilio gives up), reconnection with capped exponential backoff, and no per-command timeout:
 * node-redis's own (5 s by default) arms an AbortSignal.timeout for every command, and with ~5
 * commands a message that and the weak references it leaves to the garbage collector cost a sixth
 * of a turn's CPU (npm run bench). The same deadline is kept, once per call and with a plain
 * timer, by stateCall (redisHelpers.ts).
 */
const SOCKET = { connectTimeout: 2000, reconnectStrategy: RECONNECT };
const NO_COMMAND_TIMEOUT = { timeout: 0 };

/**
 * TLS socket options: the system's certificate authorities, or only `ca` (REDIS_TLS_CA_FILE, a
 * private CA). The servers' certificates are verified either way: never rejectUnauthorized false.
 */
const tlsSocket = (ca?: string) => ({ tls: true as const, ...(ca ? { ca } : {}) });

function singleClient(url: string, ca?: string) {
  // rediss:// turns TLS on by itself; a private CA must be given to the socket.
  return createClient({ url, disableOfflineQueue: true, commandOptions: NO_COMMAND_TIMEOUT, socket: ca ? { ...SOCKET, ...tlsSocket(ca) } : SOCKET });
}

/** A node-redis client of one server, with every command (tests and tools use more than the stores). */
export type RedisClient = ReturnType<typeof singleClient>;

const credentials = (username?: string, password?: string) => ({ ...(username ? { username } : {}), ...(password ? { password } : {}) });

/**
 * The primary the sentinels name. node-redis asks the sentinels where it is, follows their
 * switch-master messages, and sends every command to the primary (no reads from replicas: a
 * replica may lag, and a turn must read what the previous turn wrote).
 */
function sentinelClient(topology: Extract<RedisTopology, { kind: 'sentinel' }>) {
  return createSentinel({
    name: topology.masterName,
    sentinelRootNodes: topology.sentinels,
    commandOptions: NO_COMMAND_TIMEOUT,
    // Look at the sentinels' view again every 2 s (10 s by default) in case a switch-master
    // message was missed while the connection to a sentinel was down.
    scanInterval: 2000,
    // Commands of concurrent turns are pipelined on one connection, as with one server.
    masterPoolSize: 1,
    // node-redis would send a command again after the connection dropped under it, but it may
    // have run (a dedupe mark set twice reads as a duplicate: a message never answered). Failing
    // it instead gives the worker "try again in a moment", and the conversation resumes.
    maxCommandRediscovers: 0,
    nodeClientOptions: { disableOfflineQueue: true, ...credentials(topology.username, topology.password), socket: { ...SOCKET, ...(topology.tls ? tlsSocket(topology.tlsCa) : {}) } },
    sentinelClientOptions: { ...credentials(undefined, topology.sentinelPassword), socket: { ...SOCKET, ...(topology.tls ? tlsSocket(topology.tlsCa) : {}) } },
  });
}

/** node-redis's cluster client: it learns the slot map from any listed node and follows MOVED/ASK. */
function clusterClient(topology: Extract<RedisTopology, { kind: 'cluster' }>) {
  return createCluster({
    rootNodes: topology.nodes.map(({ host, port }) => ({ socket: { host, port } })),
    commandOptions: NO_COMMAND_TIMEOUT,
    // A primary that stopped answering: ask the other nodes for the slot map again after 1 s
    // (5 s by default), so the replica that took its slots over is found soon after the failover.
    topologyRefreshOnReconnectionAttemptStrategy: 1000,
    defaults: { disableOfflineQueue: true, ...credentials(topology.username, topology.password), socket: { ...SOCKET, ...(topology.tls ? tlsSocket(topology.tlsCa) : {}) } },
  });
}

/**
 * A connection to the configured topology that keeps trying to (re)connect and fails commands at
 * once while disconnected. Connecting does not block the start: /readyz says whether Redis is there.
 */
export function createRedis(url: string, log: Logger): RedisClient;
export function createRedis(topology: RedisTopology, log: Logger): RedisConnection;
export function createRedis(topology: RedisTopology | string, log: Logger): RedisConnection {
  const chosen: RedisTopology = typeof topology === 'string' ? { kind: 'single', url: topology } : topology;
  const client = chosen.kind === 'single' ? singleClient(chosen.url, chosen.tlsCa) : chosen.kind === 'sentinel' ? sentinelClient(chosen) : clusterClient(chosen);
  let connected = false;
  // One line per change of state, not one per failed retry.
  const up = () => {
    if (!connected) log.info({ event: 'redis.ready', topology: chosen.kind }, 'Redis connected');
    connected = true;
  };
  client.on('error', (error: Error) => {
    if (connected) log.error({ event: 'redis.lost', topology: chosen.kind, error: error.message }, 'Redis connection lost; reconnecting');
    connected = false;
  });
  client.on('ready', up);
  (client.connect() as Promise<unknown>).then(up, (error: Error) =>
    log.error({ event: 'redis.connect_failed', topology: chosen.kind, error: error.message }, 'Redis not reachable; retrying'),
  );
  return client;
}

/**
 * WAIT on the connection through which the writes for `slotKey`'s slot went: resolves with how
 * many replicas hold every write sent on it so far (at most `replicas`; fewer once `timeoutMs`
 * has passed). One server and Sentinel send everything on one connection to the primary; the
 * cluster client has one per node and routes by `slotKey`, which must carry the contact's `{tag}`.
 */
export type ReplicaWait = (slotKey: string, replicas: number, timeoutMs: number) => Promise<number>;

export function replicaWaitOf(kind: RedisTopology['kind'], connection: RedisConnection): ReplicaWait {
  const args = (replicas: number, timeoutMs: number) => ['WAIT', String(replicas), String(timeoutMs)];
  // WAIT has no key and is not in RedisConnection: each client type sends a raw command its own way.
  switch (kind) {
    case 'single':
      return (_slotKey, replicas, timeoutMs) => (connection as RedisClient).sendCommand<number>(args(replicas, timeoutMs));
    case 'sentinel':
      return (_slotKey, replicas, timeoutMs) => (connection as unknown as ReturnType<typeof sentinelClient>).sendCommand<number>(false, args(replicas, timeoutMs));
    case 'cluster':
      return (slotKey, replicas, timeoutMs) => (connection as unknown as ReturnType<typeof clusterClient>).sendCommand<number>(slotKey, false, args(replicas, timeoutMs));
  }
}

/** Thrown when Redis cannot serve a turn now: the user is asked to try again in a moment. */
export class StateUnavailableError extends Error {
  constructor(options?: { cause?: unknown }) {
    super('conversation state unavailable', options);
    this.name = 'StateUnavailableError';
  }
}
