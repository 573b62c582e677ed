import { randomBytes } from 'node:crypto';
import { ManualClock } from '../../src/clock';
import { warmUpDateRecognizer } from '../../src/nlu/dates';
import { startFollowUpInstances, type FollowUpInstances } from '../support/followUpOnTopology';
import { converse, OUTCOME_A_FR } from '../support/haConversations';
import { newTestPrefix } from '../support/redis';
import { startCluster, startSentinelSet, waitFor, type ClusterSet, type SentinelSet } from '../support/redisTopologies';
import { redisBinariesInstalled, requirement } from '../support/requirements';
import { makeTlsFiles, opensslInstalled, type TlsFiles } from '../support/tlsCertificates';
import { sampleRegistry, startTwilioServer, type TwilioTestServer } from '../support/twilioServer';

/**
 * Redis over TLS, as managed offerings and a public service's own network policy require: every
 * data node and sentinel listens on TLS only, with a certificate signed by a private CA (made
 * here with openssl). REDIS_TLS=true turns TLS on for Sentinel and Cluster (rediss:// for one
 * server); REDIS_TLS_CA_FILE names the CA. The conversation (node-redis) and the follow-up's
 * queue (BullMQ on ioredis) must both get through, and neither may skip the certificate check.
 */
const withTools = requirement('redis-server, redis-cli and openssl', redisBinariesInstalled() && opensslInstalled());

const STATE_ENCRYPTION_KEY = `k1:${randomBytes(32).toString('base64')}`;
const clock = new ManualClock();
const registry = sampleRegistry(clock);
let tls: TlsFiles | undefined;
let servers: TwilioTestServer[] = [];

beforeAll(() => {
  if (!withTools.available) return;
  warmUpDateRecognizer();
  tls = makeTlsFiles();
});

afterAll(() => tls?.remove());

afterEach(async () => {
  await Promise.all(servers.map((server) => server.close()));
  servers = [];
}, 30_000);

/** `count` instances sharing one Redis prefix; `waitForRedis: false` for an instance that must not get through. */
const startInstances = async (env: Record<string, string>, count = 2, waitForRedis = true) => {
  const shared = { ...env, STATE_ENCRYPTION_KEY, REDIS_KEY_PREFIX: newTestPrefix(), TWILIO_REPLY_BUDGET_MS: '14000' };
  const started = await Promise.all(Array.from({ length: count }, () => startTwilioServer({ env: shared, clock, registry, turnMaxWaitMs: 4000, waitForRedis })));
  servers.push(...started);
  return started;
};

/** The instance cannot trust the servers: it logs a failed connection and is never ready. */
const expectRefused = async (server: TwilioTestServer) => {
  await waitFor('the refused connection in the log', async () => server.logLines.some((line) => line.includes('"event":"redis.connect_failed"') || line.includes('"event":"redis.lost"')), 15_000);
  expect(await server.app.isStateReady()).toBe(false);
};

withTools.describe('a Sentinel set on TLS only', () => {
  let set: SentinelSet | undefined;
  let followUps: FollowUpInstances | undefined;
  beforeAll(async () => {
    set = await startSentinelSet({ replicas: 1, minReplicasToWrite: 1, tls });
  }, 90_000);
  afterAll(async () => {
    await followUps?.stop();
    await set?.stop();
  }, 30_000);
  const env = () => ({ ...set!.env, REDIS_TLS: 'true', REDIS_TLS_CA_FILE: tls!.caFile });

  it('a whole conversation across two instances (REDIS_TLS, REDIS_TLS_CA_FILE)', async () => {
    const instances = await startInstances(env());
    const { retries } = await converse(instances, '+212674000001', OUTCOME_A_FR);
    expect(retries).toBe(0);
  }, 60_000);

  it('the follow-up after outcome C: its BullMQ queue reaches the sentinels and the primary on TLS too, one notice', async () => {
    followUps = await startFollowUpInstances(env());
    await followUps.consent();
    await followUps.registerAndCheck();
    expect(followUps.notices()).toHaveLength(1);
  }, 90_000);

  it('one server by a rediss:// URL and the CA: the conversation goes through', async () => {
    const primary = await set!.primary();
    const instances = await startInstances({ REDIS_URL: `rediss://127.0.0.1:${primary.port}`, REDIS_TLS_CA_FILE: tls!.caFile });
    const { retries } = await converse(instances, '+212674000002', OUTCOME_A_FR);
    expect(retries).toBe(0);
  }, 60_000);

  it('without REDIS_TLS_CA_FILE the servers\' certificate is not trusted: never connected, /readyz not ready', async () => {
    const [server] = await startInstances({ ...set!.env, REDIS_TLS: 'true' }, 1, false);
    await expectRefused(server!);
  }, 30_000);
});

withTools.describe('a Cluster on TLS only (clients, replication and the cluster bus)', () => {
  let cluster: ClusterSet | undefined;
  beforeAll(async () => {
    cluster = await startCluster({ primaries: 3, replicasPerPrimary: 0, tls });
  }, 90_000);
  afterAll(() => cluster?.stop(), 30_000);

  it('a whole conversation across two instances', async () => {
    const instances = await startInstances({ ...cluster!.env, REDIS_TLS: 'true', REDIS_TLS_CA_FILE: tls!.caFile });
    const { retries } = await converse(instances, '+212674000003', OUTCOME_A_FR);
    expect(retries).toBe(0);
  }, 60_000);

  it('without TLS (REDIS_TLS unset), nothing gets through', async () => {
    const [server] = await startInstances({ ...cluster!.env }, 1, false);
    await expectRefused(server!);
  }, 30_000);
});
