import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient } from 'redis';
import { freePort } from './freePort';
import type { TlsFiles } from './tlsCertificates';

export { freePort };

/**
 * Highly available Redis topologies for tests, made of real `redis-server` processes on free
 * loopback ports, in a temporary directory, persisting nothing (`--save '' --appendonly no`):
 * - a Sentinel set: a primary, its replicas, and sentinels (`redis-server <conf> --sentinel`, so no
 *   package beyond redis-server is needed) watching it under one master name;
 * - a Cluster: primaries with replicas each, made with `redis-cli --cluster create`.
 * `stop()` kills every process and removes the directory; every process is also killed if the
 * test process exits first. Timings are short (failure detection in about a second) but leave
 * room for a loaded 2-core machine.
 */

export interface HostPort {
  host: string;
  port: number;
}

/** One redis-server process (a data node or a sentinel). */
export interface RedisProcess extends HostPort {
  readonly running: boolean;
  /** SIGKILL, as a crash would: no shutdown, no goodbye to the replicas. */
  kill(): Promise<void>;
  /** Starts it again on the same port, with the same arguments (and its rewritten config, if any). */
  restart(): Promise<void>;
  /** SIGSTOP: it stops answering and sending, its connections stay open (a stalled machine). */
  pause(): void;
  /** SIGCONT after `pause`. */
  resume(): void;
  /** Runs one command on it (a fresh connection each time). */
  command(args: string[]): Promise<unknown>;
}

export interface SentinelSet {
  masterName: string;
  /** The nodes as started: the first was the primary then. */
  nodes: RedisProcess[];
  sentinels: RedisProcess[];
  /** The app's environment for this set. */
  env: { REDIS_SENTINELS: string; REDIS_SENTINEL_MASTER: string };
  /** The node the sentinels name as primary now. */
  primary(): Promise<RedisProcess>;
  /** SENTINEL FAILOVER, then waits until the sentinels name another primary that takes writes. */
  failover(): Promise<RedisProcess>;
  /**
   * Kills the primary, then waits until the sentinels have promoted a replica. With
   * min-replicas-to-write, it takes writes only once enough replicas are back (`healthy`).
   */
  killPrimary(): Promise<{ killed: RedisProcess; promoted: RedisProcess }>;
  /** Waits until every node runs and the named primary has every other node as a replica in sync. */
  healthy(): Promise<RedisProcess>;
  stop(): Promise<void>;
}

export interface SentinelSetOptions {
  masterName?: string;
  /** requirepass of the data nodes (masterauth too, and the sentinels' auth-pass). */
  password?: string;
  /** requirepass of the sentinels. */
  sentinelPassword?: string;
  replicas?: number;
  sentinels?: number;
  /**
   * `min-replicas-to-write` on every data node (0: none): a primary that lost its replicas (the
   * one the sentinels just replaced, still taking writes) refuses writes instead of acknowledging
   * what the switch will throw away.
   */
  minReplicasToWrite?: number;
  /** Every data node and sentinel on TLS only, with this CA's server certificate. */
  tls?: TlsFiles;
}

export interface ClusterSet {
  nodes: RedisProcess[];
  env: { REDIS_CLUSTER_NODES: string };
  /** The primaries now, each with the slots it serves. */
  primaries(): Promise<{ node: RedisProcess; replicas: RedisProcess[] }[]>;
  /** CLUSTER FAILOVER on a replica of the primary that serves `slotOfKey`'s slot (or the first). */
  failover(key?: string): Promise<{ from: RedisProcess; to: RedisProcess }>;
  /** Kills a primary (of `key`'s slot, or the first), then waits until its replica serves its slots. */
  killPrimary(key?: string): Promise<{ killed: RedisProcess; promoted: RedisProcess }>;
  /** Waits until every node runs, the cluster is ok, and every primary has its replicas in sync. */
  healthy(): Promise<void>;
  /** Every key of every primary matching `pattern` (SCAN on each). */
  keys(pattern: string): Promise<string[]>;
  stop(): Promise<void>;
}

export interface ClusterOptions {
  /** requirepass and masterauth of every node. */
  password?: string;
  primaries?: number;
  replicasPerPrimary?: number;
  /** `min-replicas-to-write` on every node (0: none), as for SentinelSetOptions. */
  minReplicasToWrite?: number;
  /** Every node on TLS only (clients, replication and the cluster bus), with this CA's server certificate. */
  tls?: TlsFiles;
}

const HOST = '127.0.0.1';
const STARTED = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of STARTED) child.kill('SIGKILL');
});

/**
 * ACL SETUSER for the user docs/redis.md recommends: user `tasjil`, password `tasjil-secret`, its
 * keys under `prefix` only, every command but the dangerous ones (FLUSHALL, CONFIG, KEYS…) save
 * INFO, which the follow-up's BullMQ (its Redis version check) and ioredis (its ready check) read.
 */
export function aclUserFor(prefix: string): string[] {
  return ['ACL', 'SETUSER', 'tasjil', 'on', '>tasjil-secret', `~${prefix}*`, 'resetchannels', '+@all', '-@dangerous', '+info'];
}

async function sleep(ms: number): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `check` until it returns a value other than undefined/false. */
export async function waitFor<T>(what: string, check: () => Promise<T | undefined | false>, timeoutMs = 30_000, everyMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${lastError ? `: ${String(lastError)}` : ''}`);
    await sleep(everyMs);
  }
}

/** One command on a fresh connection, closed at once. */
export async function redisCommand(node: HostPort & { password?: string; tlsCa?: string }, args: string[], timeoutMs = 3000): Promise<unknown> {
  const socket = { host: node.host, port: node.port, connectTimeout: timeoutMs, reconnectStrategy: false as const };
  const client = createClient({ ...(node.password ? { password: node.password } : {}), socket: node.tlsCa ? { ...socket, tls: true, ca: node.tlsCa } : socket });
  client.on('error', () => undefined);
  try {
    await client.connect();
    return await client.sendCommand(args);
  } finally {
    if (client.isOpen) client.destroy();
  }
}

function redisProcess(port: number, args: string[], directory: string, password?: string, tls?: TlsFiles): RedisProcess {
  let child: ChildProcess | undefined;
  const node: RedisProcess & { password?: string; tlsCa?: string } = {
    host: HOST,
    port,
    password,
    tlsCa: tls?.caPem,
    get running() {
      return child !== undefined && child.exitCode === null && child.signalCode === null;
    },
    async kill() {
      const running = child;
      if (!running || running.exitCode !== null || running.signalCode !== null) return;
      const exited = new Promise((resolve) => running.once('exit', resolve));
      running.kill('SIGKILL');
      await exited;
    },
    async restart() {
      await node.kill();
      const output: string[] = [];
      child = spawn('redis-server', args, { cwd: directory, stdio: ['ignore', 'pipe', 'pipe'] });
      STARTED.add(child);
      const started = child;
      started.once('exit', () => STARTED.delete(started));
      started.stdout!.on('data', (chunk) => output.push(String(chunk)));
      started.stderr!.on('data', (chunk) => output.push(String(chunk)));
      await waitFor(`redis-server on port ${port}`, async () => {
        if (started.exitCode !== null) throw new Error(`redis-server on port ${port} exited: ${output.join('').slice(-2000)}`);
        return (await redisCommand(node, ['PING'], 500)) === 'PONG';
      }, 15_000, 50);
    },
    pause: () => void child?.kill('SIGSTOP'),
    resume: () => void child?.kill('SIGCONT'),
    command: (commandArgs) => redisCommand(node, commandArgs),
  };
  return node;
}

/**
 * With `tls`, the node listens on TLS only (`port 0`), replicates over TLS, and asks clients for
 * no certificate of their own (as a managed Redis with a server certificate does).
 */
function tlsArgs(port: number, tls: TlsFiles): string[] {
  return ['--port', '0', '--tls-port', String(port), '--tls-cert-file', tls.certFile, '--tls-key-file', tls.keyFile, '--tls-ca-cert-file', tls.caFile, '--tls-auth-clients', 'no', '--tls-replication', 'yes'];
}

function dataNodeArgs(port: number, directory: string, password?: string, tls?: TlsFiles): string[] {
  const auth = password ? ['--requirepass', password, '--masterauth', password] : [];
  return [...auth, ...(tls ? tlsArgs(port, tls) : ['--port', String(port)]), '--bind', HOST, '--dir', directory, '--save', '', '--appendonly', 'no', '--protected-mode', 'no',
    // A replica's first sync starts at once (5 s of waiting by default).
    '--repl-diskless-sync', 'yes', '--repl-diskless-sync-delay', '0', '--logfile', join(directory, `redis-${port}.log`)];
}

function infoField(info: unknown, field: string): string | undefined {
  return new RegExp(`^${field}:(.*)$`, 'm').exec(String(info))?.[1]?.trim();
}

/** Whether `node` is a primary that has `replicas` replicas in sync (master_link up on each). */
async function replicatedPrimary(node: RedisProcess, replicas: number): Promise<boolean> {
  const info = await node.command(['INFO', 'replication']);
  if (infoField(info, 'role') !== 'master') return false;
  const online = String(info).match(/^slave\d+:.*state=online/gm) ?? [];
  return online.length >= replicas;
}

/**
 * A Sentinel set: `replicas` replicas (default 1) of one primary and `sentinels` sentinels
 * (default 3, quorum 2), ready when every sentinel knows every replica and every other sentinel
 * (so that a failover can be agreed at once).
 */
export async function startSentinelSet(options: SentinelSetOptions = {}): Promise<SentinelSet> {
  const masterName = options.masterName ?? 'tasjil';
  const replicaCount = options.replicas ?? 1;
  const sentinelCount = options.sentinels ?? 3;
  const quorum = Math.floor(sentinelCount / 2) + 1;
  const directory = mkdtempSync(join(tmpdir(), 'tasjil-sentinel-'));
  const nodes: RedisProcess[] = [];
  const sentinels: RedisProcess[] = [];
  const stop = async () => {
    await Promise.all([...sentinels, ...nodes].map((node) => node.kill()));
    rmSync(directory, { recursive: true, force: true });
  };
  try {
    const ports = await Promise.all(Array.from({ length: replicaCount + 1 }, () => freePort()));
    const primaryPort = ports[0]!;
    for (const [index, port] of ports.entries()) {
      const args = dataNodeArgs(port, directory, options.password, options.tls);
      if (index > 0) args.push('--replicaof', HOST, String(primaryPort));
      if (options.minReplicasToWrite) args.push('--min-replicas-to-write', String(options.minReplicasToWrite), '--min-replicas-max-lag', '10');
      nodes.push(redisProcess(port, args, directory, options.password, options.tls));
    }
    await Promise.all(nodes.map((node) => node.restart()));
    await waitFor('the replicas in sync', () => replicatedPrimary(nodes[0]!, replicaCount));

    for (let i = 0; i < sentinelCount; i++) {
      const port = await freePort();
      const conf = join(directory, `sentinel-${port}.conf`);
      writeFileSync(
        conf,
        [
          ...(options.tls
            ? ['port 0', `tls-port ${port}`, `tls-cert-file ${options.tls.certFile}`, `tls-key-file ${options.tls.keyFile}`, `tls-ca-cert-file ${options.tls.caFile}`, 'tls-auth-clients no', 'tls-replication yes']
            : [`port ${port}`]),
          `bind ${HOST}`,
          `dir ${directory}`,
          `logfile ${join(directory, `sentinel-${port}.log`)}`,
          `sentinel monitor ${masterName} ${HOST} ${primaryPort} ${quorum}`,
          // Short, but not so short that a loaded machine's pause looks like a dead primary.
          `sentinel down-after-milliseconds ${masterName} 2000`,
          `sentinel failover-timeout ${masterName} 10000`,
          `sentinel parallel-syncs ${masterName} 1`,
          ...(options.password ? [`sentinel auth-pass ${masterName} ${options.password}`] : []),
          ...(options.sentinelPassword ? [`requirepass ${options.sentinelPassword}`] : []),
          '',
        ].join('\n'),
      );
      sentinels.push(redisProcess(port, [conf, '--sentinel'], directory, options.sentinelPassword, options.tls));
    }
    await Promise.all(sentinels.map((sentinel) => sentinel.restart()));
    // Replicas are learnt from the primary's INFO (every 10 s) and sentinels from each other's
    // hello messages (every 2 s): on a loaded machine this takes a while.
    let seen = '';
    await waitFor('the sentinels to know every replica and each other', async () => {
      const views = await Promise.all(
        sentinels.map(async (sentinel) => {
          const replicas = (await sentinel.command(['SENTINEL', 'REPLICAS', masterName])) as unknown[];
          const up = replicas.filter((fields) => fieldOf(fields, 'flags') === 'slave' && fieldOf(fields, 'master-link-status') === 'ok');
          const others = (await sentinel.command(['SENTINEL', 'SENTINELS', masterName])) as unknown[];
          return { sentinel: sentinel.port, replicas: replicas.map((fields) => `${fieldOf(fields, 'flags')}/${fieldOf(fields, 'master-link-status')}`), up: up.length, others: others.length };
        }),
      );
      seen = JSON.stringify(views);
      return views.every((view) => view.up >= replicaCount && view.others >= sentinelCount - 1);
    }, 60_000, 200).catch((error: Error) => {
      throw new Error(`${error.message}; last seen: ${seen}`);
    });
  } catch (error) {
    await stop();
    throw error;
  }

  const nodeAt = (port: number) => nodes.find((node) => node.port === port)!;
  const primary = async () => {
    for (const sentinel of sentinels) {
      if (!sentinel.running) continue;
      const [, port] = (await sentinel.command(['SENTINEL', 'GET-MASTER-ADDR-BY-NAME', masterName])) as [string, string];
      return nodeAt(Number(port));
    }
    throw new Error('no sentinel running');
  };
  /** The node every running sentinel names, once they agree on one other than `previous` that says it is primary. */
  const namedPrimary = async (previous?: RedisProcess) => {
    const named = await Promise.all(sentinels.filter((s) => s.running).map(async (s) => ((await s.command(['SENTINEL', 'GET-MASTER-ADDR-BY-NAME', masterName])) as string[])[1]));
    const port = Number(named[0]);
    if (port === previous?.port || named.some((p) => Number(p) !== port)) return undefined;
    const node = nodeAt(port);
    return node.running && infoField(await node.command(['INFO', 'replication']), 'role') === 'master' ? node : undefined;
  };
  const healthy = () =>
    waitFor('every node back, replicating from the primary the sentinels name', async () => {
      const current = await namedPrimary();
      return current && nodes.every((node) => node.running) && (await replicatedPrimary(current, nodes.length - 1)) ? current : undefined;
    }, 90_000, 200);

  return {
    masterName,
    nodes,
    sentinels,
    env: { REDIS_SENTINELS: sentinels.map((s) => `${s.host}:${s.port}`).join(','), REDIS_SENTINEL_MASTER: masterName },
    primary,
    async failover() {
      const before = await primary();
      const sentinel = sentinels.find((s) => s.running)!;
      await sentinel.command(['SENTINEL', 'FAILOVER', masterName]);
      await waitFor('the sentinels to switch to a new primary', () => namedPrimary(before), 60_000, 200);
      return healthy();
    },
    async killPrimary() {
      const killed = await primary();
      await killed.kill();
      const promoted = await waitFor('the sentinels to promote a replica', () => namedPrimary(killed), 60_000, 200);
      return { killed, promoted };
    },
    healthy,
    stop,
  };
}

/** A field of a SENTINEL REPLICAS entry: a flat [name, value, …] list (RESP2) or a map (RESP3). */
function fieldOf(fields: unknown, name: string): string | undefined {
  if (Array.isArray(fields)) {
    const at = fields.indexOf(name);
    return at === -1 ? undefined : String(fields[at + 1]);
  }
  if (fields instanceof Map) return fields.get(name) as string | undefined;
  return (fields as Record<string, string>)[name];
}

/**
 * A Redis Cluster of `primaries` primaries (default 3) with `replicasPerPrimary` replicas each
 * (default 1), every slot covered, every replica in sync.
 */
export async function startCluster(options: ClusterOptions = {}): Promise<ClusterSet> {
  const primaryCount = options.primaries ?? 3;
  const replicasPer = options.replicasPerPrimary ?? 1;
  const directory = mkdtempSync(join(tmpdir(), 'tasjil-cluster-'));
  const nodes: RedisProcess[] = [];
  const healthy = async () => {
    await waitFor('the cluster to be ok on every node, replicas in sync', async () => {
      if (!nodes.every((node) => node.running)) return false;
      for (const node of nodes) {
        if (infoField(await node.command(['CLUSTER', 'INFO']), 'cluster_state') !== 'ok') return false;
      }
      const shards = await clusterShards(nodes);
      return shards.length === primaryCount && shards.every((shard) => shard.replicas.length === replicasPer && shard.replicasInSync);
    }, 60_000, 200);
  };
  const stop = async () => {
    await Promise.all(nodes.map((node) => node.kill()));
    rmSync(directory, { recursive: true, force: true });
  };
  try {
    const ports = await Promise.all(Array.from({ length: primaryCount * (1 + replicasPer) }, () => freePort()));
    for (const port of ports) {
      const args = [
        ...dataNodeArgs(port, directory, options.password, options.tls),
        ...(options.tls ? ['--tls-cluster', 'yes'] : []),
        '--cluster-enabled', 'yes',
        '--cluster-config-file', join(directory, `nodes-${port}.conf`),
        // Failure detection in seconds, not the default 15: the failover tests stay short; not
        // shorter, so that a loaded machine's pause does not look like a dead primary.
        '--cluster-node-timeout', '2000',
      ];
      if (options.minReplicasToWrite) args.push('--min-replicas-to-write', String(options.minReplicasToWrite), '--min-replicas-max-lag', '10');
      nodes.push(redisProcess(port, args, directory, options.password, options.tls));
    }
    await Promise.all(nodes.map((node) => node.restart()));
    const created = spawnSync('redis-cli', [...(options.password ? ['-a', options.password, '--no-auth-warning'] : []), ...(options.tls ? ['--tls', '--cacert', options.tls.caFile] : []), '--cluster', 'create', ...nodes.map((n) => `${n.host}:${n.port}`), '--cluster-replicas', String(replicasPer), '--cluster-yes'], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    if (created.status !== 0) throw new Error(`redis-cli --cluster create failed: ${created.stdout}${created.stderr}`);
    await healthy();
  } catch (error) {
    await stop();
    throw error;
  }

  const primaries = async () => (await clusterShards(nodes)).map(({ node, replicas }) => ({ node, replicas }));
  const shardOf = async (key?: string) => {
    const shards = await clusterShards(nodes);
    if (key === undefined) return shards[0]!;
    const slot = Number(await shards[0]!.node.command(['CLUSTER', 'KEYSLOT', key]));
    return shards.find((shard) => shard.slots.some(([from, to]) => slot >= from && slot <= to))!;
  };
  /** Every running node agrees that `promoted` serves the slots, and the cluster is ok. */
  const servedBy = (promoted: RedisProcess, firstSlot: number) =>
    waitFor('the cluster to settle on the new primary', async () => {
      for (const node of nodes.filter((n) => n.running)) {
        if (infoField(await node.command(['CLUSTER', 'INFO']), 'cluster_state') !== 'ok') return false;
      }
      const shards = await clusterShards(nodes);
      const serving = shards.find((shard) => shard.slots.some(([from, to]) => firstSlot >= from && firstSlot <= to));
      return serving?.node === promoted;
    }, 60_000, 200);

  return {
    nodes,
    env: { REDIS_CLUSTER_NODES: nodes.map((n) => `${n.host}:${n.port}`).join(',') },
    primaries,
    async failover(key) {
      const shard = await shardOf(key);
      const to = shard.replicas[0]!;
      await to.command(['CLUSTER', 'FAILOVER']);
      await servedBy(to, shard.slots[0]![0]);
      return { from: shard.node, to };
    },
    async killPrimary(key) {
      const shard = await shardOf(key);
      await shard.node.kill();
      const promoted = await waitFor('a replica to take over', async () => {
        for (const replica of shard.replicas) {
          if (infoField(await replica.command(['INFO', 'replication']), 'role') === 'master') return replica;
        }
        return undefined;
      }, 60_000, 200);
      await servedBy(promoted, shard.slots[0]![0]);
      return { killed: shard.node, promoted };
    },
    healthy,
    async keys(pattern) {
      const found: string[] = [];
      for (const { node } of await primaries()) found.push(...(await nodeKeys(node, pattern)));
      return found;
    },
    stop,
  };
}

interface Shard {
  node: RedisProcess;
  replicas: RedisProcess[];
  slots: [number, number][];
  replicasInSync: boolean;
}

/** The cluster's primaries as a running node sees them (CLUSTER NODES), with their replicas. */
async function clusterShards(nodes: RedisProcess[]): Promise<Shard[]> {
  const asker = nodes.find((node) => node.running)!;
  const lines = String(await asker.command(['CLUSTER', 'NODES'])).trim().split('\n');
  const byId = new Map<string, { node: RedisProcess | undefined; flags: string[]; master: string; slots: [number, number][]; link: string }>();
  for (const line of lines) {
    const [id, address, flags, master, , , , link, ...slots] = line.split(' ');
    const port = Number(address!.split('@')[0]!.split(':')[1]);
    byId.set(id!, {
      node: nodes.find((node) => node.port === port),
      flags: flags!.split(','),
      master: master!,
      link: link!,
      slots: slots.filter((s) => !s.startsWith('[')).map((s) => {
        const [from, to] = s.split('-');
        return [Number(from), Number(to ?? from)];
      }),
    });
  }
  const shards: Shard[] = [];
  for (const [id, entry] of byId) {
    if (!entry.flags.includes('master') || entry.flags.includes('fail') || entry.slots.length === 0 || !entry.node) continue;
    const replicaEntries = [...byId.values()].filter((other) => other.master === id && !other.flags.includes('fail') && other.node);
    const inSync = await Promise.all(
      replicaEntries.map(async (replica) => (replica.node!.running ? infoField(await replica.node!.command(['INFO', 'replication']), 'master_link_status') === 'up' : false)),
    );
    shards.push({ node: entry.node, replicas: replicaEntries.map((r) => r.node!), slots: entry.slots, replicasInSync: inSync.every(Boolean) });
  }
  return shards.sort((a, b) => a.slots[0]![0] - b.slots[0]![0]);
}

/** Every key matching `pattern` on one node (SCAN). */
export async function nodeKeys(node: RedisProcess, pattern: string): Promise<string[]> {
  const found: string[] = [];
  let cursor = '0';
  do {
    const [next, page] = (await node.command(['SCAN', cursor, 'MATCH', pattern, 'COUNT', '1000'])) as [string, string[]];
    found.push(...page);
    cursor = next;
  } while (cursor !== '0');
  return found;
}
