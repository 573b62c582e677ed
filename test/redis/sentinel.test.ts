import { randomBytes } from 'node:crypto';
import { ManualClock } from '../../src/clock';
import { warmUpDateRecognizer } from '../../src/nlu/dates';
import { concurrentConversations, converse, OUTCOME_A_FR, TRY_AGAIN_FR } from '../support/haConversations';
import { FOLLOW_UP_PERSONAL, FOLLOW_UP_WORKER, followUpKeys, isQueueBookkeeping, isQueueKey, nodeReader, startFollowUpInstances, TEMPLATE_SID, type FollowUpInstances } from '../support/followUpOnTopology';
import { expectNoPersonalData, scanForPersonalData } from '../support/personalDataScan';
import { byLabel, parseMetrics } from '../support/metricsText';
import { newTestPrefix } from '../support/redis';
import { redisBinariesInstalled, requirement } from '../support/requirements';
import { aclUserFor, nodeKeys, startSentinelSet, waitFor, type SentinelSet } from '../support/redisTopologies';
import { sampleRegistry, startTwilioServer, type TwilioTestServer } from '../support/twilioServer';

/** Real redis-server processes: skipped with a notice where the binaries are missing (CI fails instead). */
const withRedisServers = requirement('redis-server and redis-cli (Debian\'s redis-server package)', redisBinariesInstalled());

/**
 * Tasjil on a Sentinel-managed Redis (REDIS_SENTINELS, REDIS_SENTINEL_MASTER): a primary, a
 * replica and three sentinels started here on loopback ports, two app instances behind a "load
 * balancer" (each message to the next). As docs/redis.md asks, a primary takes writes only with
 * its replica attached (min-replicas-to-write 1): the old primary, replaced by the sentinels but
 * still reachable, cannot acknowledge answers that the switch would throw away.
 */

const STATE_ENCRYPTION_KEY = `k1:${randomBytes(32).toString('base64')}`;
const clock = new ManualClock();
const registry = sampleRegistry(clock);
let set: SentinelSet | undefined;
let servers: TwilioTestServer[] = [];

beforeAll(async () => {
  if (!withRedisServers.available) return;
  warmUpDateRecognizer();
  set = await startSentinelSet({ replicas: 1, minReplicasToWrite: 1 });
  const env = { ...set.env, STATE_ENCRYPTION_KEY, REDIS_KEY_PREFIX: newTestPrefix(), TWILIO_REPLY_BUDGET_MS: '14000' };
  servers = await Promise.all([0, 1].map(() => startTwilioServer({ env, clock, registry, turnMaxWaitMs: 4000 })));
}, 90_000);

afterAll(async () => {
  await Promise.all(servers.map((server) => server.close()));
  await set?.stop();
}, 30_000);

withRedisServers.it('whole conversations through the sentinels’ primary, across two instances', async () => {
  expect(servers[0]!.app.redis!.isReady).toBe(true);
  const { retries } = await converse(servers, '+212670000001', OUTCOME_A_FR);
  expect(retries).toBe(0);
  // Not in memory: the second instance read what the first wrote, through the same primary.
  expect(await set!.primary()).toBe(set!.nodes[0]);
}, 60_000);

/**
 * Runs `send` while the replica is stopped (SIGSTOP) for 1.5 s: resolves with its reply and
 * whether that reply came only after the replica was back. Then waits for the set to be whole.
 */
async function withReplicaStalled<T>(send: () => Promise<T>): Promise<{ reply: T; afterResume: boolean }> {
  const primary = await set!.primary();
  const replica = set!.nodes.find((node) => node !== primary)!;
  replica.pause();
  let resumedAt = Number.POSITIVE_INFINITY;
  const resuming = new Promise<void>((resolve) =>
    setTimeout(() => {
      resumedAt = Date.now();
      replica.resume();
      resolve();
    }, 1500),
  );
  try {
    const reply = await send();
    return { reply, afterResume: Date.now() >= resumedAt };
  } finally {
    await resuming;
    expect(await set!.healthy()).toBe(primary);
  }
}

/** tasjil_redis_replicated_writes_total of one instance, by result. */
const replicatedWrites = async (server: TwilioTestServer) => byLabel(parseMetrics(await server.app.metrics.render()), 'tasjil_redis_replicated_writes_total', 'result');

withRedisServers.it('an answer goes out only once the replica holds the turn\'s state (WAIT): a stalled replica holds the answer back until it resumes', async () => {
  const { reply, afterResume } = await withReplicaStalled(() => servers[0]!.whatsapp('+212673000001').say('Bonjour'));
  expect(reply.text).toContain("Quelle pièce d'identité avez-vous");
  // The primary had the state at once; the answer waited for the replica: a failover in that
  // second would have promoted a replica without it.
  expect(afterResume).toBe(true);
  expect((await replicatedWrites(servers[0]!)).retried).toBeGreaterThanOrEqual(1);
}, 60_000);

withRedisServers.it('STOP is confirmed only once the replica holds the opt-out: a failover must not forget it', async () => {
  const worker = servers[0]!.sms('+212673000003');
  expect((await worker.say('Bonjour')).text).toContain("Quelle pièce d'identité");
  const { reply, afterResume } = await withReplicaStalled(() => worker.say('STOP'));
  expect(reply.text).toContain('Vous ne recevrez plus de messages de Tasjil');
  expect(afterResume).toBe(true);
  // Out on the other instance too, and for good: nothing is answered until START.
  expect((await servers[1]!.sms('+212673000003').say('Bonjour')).messages).toEqual([]);
}, 60_000);

withRedisServers.it('a replica stalled past the confirmation time (REPLICA_CONFIRM_WITHIN_MS): "try again in a moment", and the conversation goes on once it is back', async () => {
  const primary = await set!.primary();
  const replica = set!.nodes.find((node) => node !== primary)!;
  replica.pause();
  try {
    // Past the reply budget: "checking…" first, then the apology by message.
    expect((await servers[1]!.whatsapp('+212673000002').say('Bonjour')).text).toContain('Je vérifie, un instant');
    await waitFor('the apology by message', async () =>
      servers[1]!.app.outbox.list().some((message) => message.to.endsWith('+212673000002') && message.body.includes(TRY_AGAIN_FR)),
    40_000);
  } finally {
    replica.resume();
  }
  expect(await set!.healthy()).toBe(primary);
  // Told to try again, the worker writes again (and again while the primary waits for its
  // replica's first ack, and the stalled turn's lease runs out), sees the question of the identity
  // document, and goes on.
  expect((await replicatedWrites(servers[1]!)).unconfirmed).toBeGreaterThanOrEqual(1);
  await converse(servers, '+212673000002', [
    ['Bonjour', '1. CNIE'],
    ['1', 'Écrivez le numéro de votre CNIE'],
  ]);
}, 90_000);

withRedisServers.it('SENTINEL FAILOVER in the middle of 20 conversations: every one completes, no answer lost, no message handled twice', async () => {
  const before = await set!.primary();
  const { results, stepsAfterDuring } = await concurrentConversations(servers, {
    count: 20,
    numberPrefix: '710000',
    startAfterSteps: 40,
    during: async () => {
      const promoted = await set!.failover();
      expect(promoted).not.toBe(before);
    },
  });
  expect(results).toHaveLength(20);
  // The switch happened while conversations were going on, not after them.
  expect(stepsAfterDuring).toBeGreaterThan(0);
}, 180_000);

withRedisServers.it('the primary killed in the middle of 20 conversations: every one completes, no answer lost, no message handled twice', async () => {
  const { results, stepsAfterDuring } = await concurrentConversations(servers, {
    count: 20,
    numberPrefix: '720000',
    startAfterSteps: 40,
    during: async () => {
      const { killed, promoted } = await set!.killPrimary();
      expect(promoted).not.toBe(killed);
      // Its supervisor starts it again; the sentinels make it the new primary's replica, and the
      // new primary takes writes again. Meanwhile the workers are asked to try again.
      await killed.restart();
      expect(await set!.healthy()).toBe(promoted);
    },
  });
  expect(results).toHaveLength(20);
  expect(stepsAfterDuring).toBeGreaterThan(0);
  // The conversations go on with the new primary: /readyz says so too.
  expect(await servers[0]!.app.isStateReady()).toBe(true);
}, 180_000);

withRedisServers.describe('the follow-up after outcome C (BullMQ through the sentinels)', () => {
  let instances: FollowUpInstances | undefined;
  afterEach(async () => {
    await instances?.stop();
    instances = undefined;
  }, 30_000);

  /** The follow-up's keys on `node` that are not BullMQ's bookkeeping: the record and its job. */
  const pendingOn = async (node: SentinelSet['nodes'][number], prefix: string) => followUpKeys(await nodeKeys(node, `${prefix}*`), prefix).filter((key) => !isQueueBookkeeping(key, prefix));

  /** Every key under `prefix` on every data node (the primary and its replica) has nothing personal. */
  const scanEveryNode = async (prefix: string, secrets: string[]) => {
    for (const node of set!.nodes) {
      const reader = nodeReader(node);
      expectNoPersonalData(await scanForPersonalData(reader, await nodeKeys(node, `${prefix}*`), secrets), (key) => isQueueKey(key, prefix));
    }
  };

  it('two instances, both running the checks: ONE notice once the registry registers the worker; the data then gone; nothing personal on any node or in the logs', async () => {
    instances = await startFollowUpInstances(set!.env);
    const { prefix } = instances;
    await instances.consent();
    // Kept on the primary and, replicated, on the replica: the sealed record and its BullMQ job.
    for (const node of set!.nodes) {
      const pending = await waitFor(`the follow-up on ${node.port}`, async () => {
        const keys = await pendingOn(node, prefix);
        return keys.length >= 2 && keys;
      });
      expect(pending.filter((key) => key.startsWith(`${prefix}followup:`))).toHaveLength(1);
      expect(pending.filter((key) => key.startsWith(`${prefix}{followups}:checks:`)).length).toBeGreaterThan(0);
    }
    await scanEveryNode(prefix, FOLLOW_UP_PERSONAL);

    await instances.registerAndCheck();
    const sent = instances.notices();
    expect(sent).toHaveLength(1);
    expect(sent[0]).toMatchObject({ To: `whatsapp:${FOLLOW_UP_WORKER}`, ContentSid: TEMPLATE_SID });
    expect(await instances.notified()).toBe(1);

    // Gone from every node: nothing left but the queue's bookkeeping, which names no one.
    for (const node of set!.nodes) await waitFor(`the follow-up gone from ${node.port}`, async () => (await pendingOn(node, prefix)).length === 0);
    await scanEveryNode(prefix, FOLLOW_UP_PERSONAL);
    const logs = instances.logs();
    expect(logs).toContain('"event":"followup.notified"');
    expect(logs).not.toMatch(/followup\.(worker_error|queue_error)/);
    for (const value of FOLLOW_UP_PERSONAL) expect({ value, inLogs: logs.includes(value) }).toEqual({ value, inLogs: false });
  }, 120_000);

  it('a SENTINEL FAILOVER while a follow-up waits: its job survives the switch and is run once', async () => {
    instances = await startFollowUpInstances(set!.env);
    const { prefix } = instances;
    await instances.consent();
    const before = await set!.primary();
    // On the replica too before the switch (replication is asynchronous: an unreplicated write
    // is lost by any failover, and that is not what this test is about).
    const replica = set!.nodes.find((node) => node !== before)!;
    await waitFor('the follow-up replicated', async () => (await pendingOn(replica, prefix)).length >= 2);
    expect(await set!.failover()).not.toBe(before);

    await instances.registerAndCheck();
    expect(instances.notices()).toHaveLength(1);
    const now = await set!.primary();
    await waitFor('the follow-up gone from the new primary', async () => (await pendingOn(now, prefix)).length === 0);
  }, 120_000);
});

withRedisServers.it('an ACL user on the data nodes (REDIS_USERNAME, REDIS_PASSWORD, as docs/redis.md sets it up) and a password on the sentinels (REDIS_SENTINEL_PASSWORD): conversations and the follow-up go through; without them, /readyz says state is not ready', async () => {
  const guarded = await startSentinelSet({ password: 'data-nodes-secret', sentinelPassword: 'sentinels-secret' });
  const started: TwilioTestServer[] = [];
  let stopFollowUps = async () => undefined as void;
  try {
    const prefix = newTestPrefix();
    for (const node of guarded.nodes) await node.command(aclUserFor(prefix));
    const env = { ...guarded.env, STATE_ENCRYPTION_KEY, REDIS_KEY_PREFIX: prefix };
    const server = await startTwilioServer({ env: { ...env, REDIS_USERNAME: 'tasjil', REDIS_PASSWORD: 'tasjil-secret', REDIS_SENTINEL_PASSWORD: 'sentinels-secret' }, clock, registry });
    started.push(server);
    expect((await converse([server], '+212673000001', OUTCOME_A_FR)).retries).toBe(0);
    const locked = await startTwilioServer({ env: { ...env, REDIS_SENTINEL_PASSWORD: 'sentinels-secret' }, clock, registry, waitForRedis: false });
    started.push(locked);
    expect(await locked.app.isStateReady()).toBe(false);

    // The follow-up's BullMQ connections log in as that user too, and its queue stays within the user's keys.
    const followUps = await startFollowUpInstances({ ...guarded.env, REDIS_USERNAME: 'tasjil', REDIS_PASSWORD: 'tasjil-secret', REDIS_SENTINEL_PASSWORD: 'sentinels-secret' }, { prefix });
    stopFollowUps = followUps.stop;
    await followUps.consent();
    await followUps.registerAndCheck();
    expect(followUps.notices()).toHaveLength(1);
    expect(followUps.logs()).not.toMatch(/NOPERM|followup\.(worker_error|queue_error)/);
  } finally {
    await stopFollowUps();
    await Promise.all(started.map((server) => server.close()));
    await guarded.stop();
  }
}, 90_000);
