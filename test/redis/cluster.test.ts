import { randomBytes } from 'node:crypto';
import { createClient, createCluster } from 'redis';
import { ManualClock } from '../../src/clock';
import { warmUpDateRecognizer } from '../../src/nlu/dates';
import { FakeTwilio } from '../support/fakeTwilio';
import { FOLLOW_UP_PERSONAL, FOLLOW_UP_WORKER, followUpKeys, isQueueBookkeeping, isQueueKey, startFollowUpInstances, TEMPLATE_SID, type FollowUpInstances } from '../support/followUpOnTopology';
import { concurrentConversations, converse, OUTCOME_A_FR } from '../support/haConversations';
import { expectNoPersonalData, scanForPersonalData, secretsInSms } from '../support/personalDataScan';
import { newTestPrefix } from '../support/redis';
import { redisBinariesInstalled, requirement } from '../support/requirements';
import { aclUserFor, startCluster, waitFor, type ClusterSet } from '../support/redisTopologies';
import { sampleRegistry, SMS_FROM, startTwilioServer, statusForm, type TwilioTestServer } from '../support/twilioServer';

/** Real redis-server processes: skipped with a notice where the binaries are missing (CI fails instead). */
const withRedisServers = requirement('redis-server and redis-cli (Debian\'s redis-server package)', redisBinariesInstalled());

/**
 * Tasjil on a Redis Cluster (REDIS_CLUSTER_NODES): three primaries with a replica each, started
 * here on loopback ports, two app instances behind a "load balancer". Every script and MULTI of
 * the product stays in one slot (a contact's keys share a hash tag): a CROSSSLOT would surface as
 * "try again" that never ends, and fail the conversations below.
 */

const K1 = `k1:${randomBytes(32).toString('base64')}`;
const K2 = `k2:${randomBytes(32).toString('base64')}`;
const prefix = newTestPrefix();
const clock = new ManualClock();
const registry = sampleRegistry(clock);
const fake = new FakeTwilio();
let cluster: ClusterSet | undefined;
let servers: TwilioTestServer[] = [];
let withTwilio: TwilioTestServer | undefined;
// docs/redis.md's setup for "no answer lost, even through a crash": a primary takes writes only
// with its replica attached, and a turn's answer goes out once the replica holds its writes.
const env = () => ({ ...cluster!.env, STATE_ENCRYPTION_KEY: K1, REDIS_KEY_PREFIX: prefix, TWILIO_REPLY_BUDGET_MS: '14000', REDIS_WAIT_REPLICAS: '1' });

beforeAll(async () => {
  if (!withRedisServers.available) return;
  warmUpDateRecognizer();
  await fake.start();
  cluster = await startCluster({ primaries: 3, replicasPerPrimary: 1, minReplicasToWrite: 1 });
  servers = await Promise.all([0, 1].map(() => startTwilioServer({ env: env(), clock, registry, turnMaxWaitMs: 4000 })));
  withTwilio = await startTwilioServer({ env: env(), clock, registry, fake });
}, 120_000);

afterAll(async () => {
  await Promise.all([...servers, withTwilio].map((server) => server?.close()));
  await cluster?.stop();
  await fake.stop();
}, 30_000);

const B_PHONE = '+212680000001';

withRedisServers.describe('whole conversations on a cluster', () => {
  it('outcome A across two instances, never asked to try again', async () => {
    const { retries } = await converse(servers, '+212680000002', OUTCOME_A_FR);
    expect(retries).toBe(0);
  }, 60_000);

  it('outcome B with Twilio: the code SMS, its delivery report, the account, the password SMS', async () => {
    const user = withTwilio!.whatsapp(B_PHONE);
    for (const [text, expected] of [
      ['Bonjour', 'Quelle pièce d'],
      ['1', 'Écrivez le numéro de votre CNIE'],
      ['BE654321', 'Date d'],
      ['15/11/2030', 'Votre date de naissance'],
      ['02/07/1990', 'Recevoir les SMS sur ce numéro'],
      ['1', 'Votre opérateur'],
      ['2', 'Votre e-mail (facultatif)'],
      ['passer', 'Vérifiez vos réponses'],
      ['oui', 'Écrivez le code à 6 chiffres'],
    ]) {
      expect((await user.say(text!)).text).toContain(expected);
    }
    const otpSms = fake.messages.find((message) => message.to === B_PHONE)!;
    const code = /\b\d{6}\b/.exec(String(otpSms.body))![0];
    const report = await withTwilio!.status(statusForm(String(otpSms.sid), 'delivered', { To: B_PHONE, From: SMS_FROM }));
    expect(report.status).toBe(204);
    const done = await user.say(code);
    expect(done.text).toContain("Votre numéro d'immatriculation : 222333444");
    expect(fake.messages.filter((message) => message.to === B_PHONE)).toHaveLength(2);
  }, 60_000);

  it('STOP and START by SMS: the opt-out holds on the other instance', async () => {
    const phone = '+212680000003';
    await servers[0]!.sms(phone).say('Bonjour');
    expect((await servers[0]!.sms(phone).say('STOP')).messages).toHaveLength(1);
    expect((await servers[1]!.sms(phone).say('Bonjour')).messages).toEqual([]);
    expect((await servers[1]!.sms(phone).say('START')).text).toContain('pièce');
  }, 60_000);

  it('STOP on WhatsApp: the next message, on the other instance, reopens the conversation', async () => {
    const phone = '+212680000013';
    await servers[0]!.whatsapp(phone).say('Bonjour');
    expect((await servers[0]!.whatsapp(phone).say('STOP')).messages).toHaveLength(1);
    expect((await servers[1]!.whatsapp(phone).say('Bonjour')).text).toContain('STOP');
  }, 60_000);

  it('a key rotation: a conversation written under the old key goes on under the new one (the names under both keys in one slot)', async () => {
    const phone = '+212680000004';
    const [first, ...rest] = OUTCOME_A_FR;
    for (const [text, expected] of [first!, rest[0]!]) expect((await servers[0]!.whatsapp(phone).say(text)).text.replace(/'/g, '’')).toContain(expected);
    const rotated = await startTwilioServer({ env: { ...env(), STATE_ENCRYPTION_KEY: `${K2},${K1}` }, clock, registry });
    try {
      const { retries } = await converse([rotated], phone, rest.slice(1));
      expect(retries).toBe(0);
    } finally {
      await rotated.close();
    }
  }, 60_000);
});

withRedisServers.describe('failovers in the middle of 20 conversations: every one completes, no answer lost, no message handled twice', () => {
  it('CLUSTER FAILOVER on a replica', async () => {
    const { results, stepsAfterDuring } = await concurrentConversations(servers, {
      count: 20,
      numberPrefix: '810000',
      startAfterSteps: 40,
      during: async () => {
        const { from, to } = await cluster!.failover();
        expect(to).not.toBe(from);
      },
    });
    expect(results).toHaveLength(20);
    expect(stepsAfterDuring).toBeGreaterThan(0);
  }, 180_000);

  it('a primary killed', async () => {
    const { results, stepsAfterDuring } = await concurrentConversations(servers, {
      count: 20,
      numberPrefix: '820000',
      startAfterSteps: 40,
      during: async () => {
        const { killed, promoted } = await cluster!.killPrimary();
        expect(promoted).not.toBe(killed);
        // Its supervisor starts it again and it rejoins as the new primary's replica; until then
        // that shard refuses writes and its workers are asked to try again.
        await killed.restart();
        await cluster!.healthy();
      },
    });
    expect(results).toHaveLength(20);
    expect(stepsAfterDuring).toBeGreaterThan(0);
    expect(await servers[0]!.app.isStateReady()).toBe(true);
  }, 180_000);
});

withRedisServers.describe('a message through Kannel on a cluster', () => {
  it('is held in progress by the instance running its turn (503 on the other), then handled once', async () => {
    const phone = '+212683000001';
    const [one, two] = servers;
    let seq = 0;
    const kannel = (server: TwilioTestServer, text: string, id = `cluster-${seq++}`) =>
      fetch(`${server.base}/api/kannel/messages?${new URLSearchParams({ id, from: phone.slice(1), to: '2020', text })}`);
    for (const text of ['Bonjour', '1', 'AB123456', '30/06/2031', '14/03/1985', '1', '1', 'passer']) expect((await kannel(one!, text)).status).toBe(200);
    // Confirming looks the worker up: a slow registry holds the turn on the first instance.
    let answer!: () => void;
    registry.hold = new Promise<void>((resolve) => (answer = resolve));
    const lookUps = registry.lookUps;
    try {
      const first = kannel(one!, 'oui', 'cluster-confirm');
      while (registry.lookUps === lookUps) await new Promise((resolve) => setTimeout(resolve, 20));
      expect((await kannel(two!, 'oui', 'cluster-confirm')).status).toBe(503);
      registry.hold = undefined;
      answer();
      expect((await first).status).toBe(200);
    } finally {
      registry.hold = undefined;
      answer();
    }
    expect(await (await kannel(two!, 'oui', 'cluster-confirm')).text()).toBe('');
    await Promise.all([one!, two!].map((server) => server.app.kannelWebhook.idle()));
    const sent = [one!, two!].flatMap((server) => server.app.outbox.list()).filter((m) => m.to === phone && m.body.includes('111222333'));
    expect(sent).toHaveLength(1);
    expect(registry.lookUps).toBe(lookUps + 1);
  }, 60_000);
});

withRedisServers.describe('what the cluster holds', () => {
  it('no plain personal datum in any key or value of any node, and every key but the opt-outs expires', async () => {
    const reader = createCluster({ rootNodes: cluster!.nodes.filter((node) => node.running).map(({ host, port }) => ({ socket: { host, port } })) });
    reader.on('error', () => undefined);
    await reader.connect();
    try {
      const keys = await cluster!.keys(`${prefix}*`);
      const secrets = ['BE654321', 'AB123456', '1990-07-02', '02/07/1990', '15/11/2030', '2030-11-15', '30/06/2031', '14/03/1985', '222333444', '111222333'];
      secrets.push('212680000001', '680000001', '212681000000', '681000000', '212682000000', '682000000', '0680000001');
      secrets.push(...secretsInSms(fake.messages.map((message) => String(message.body))));
      expectNoPersonalData(await scanForPersonalData(reader, keys, secrets));
      // Every key of a contact carries its slot tag; the SMS entries (found by their sid) need none.
      for (const key of keys) expect({ key, tagged: /\{[0-9a-f]{3}\}/.test(key) || key.startsWith(`${prefix}sms:`) || /:(otp:sends|mismatch):/.test(key) }).toEqual({ key, tagged: true });
    } finally {
      await reader.close();
    }
  }, 60_000);
});

withRedisServers.describe('the follow-up after outcome C (BullMQ on the cluster)', () => {
  let instances: FollowUpInstances | undefined;
  afterEach(async () => {
    await instances?.stop();
    instances = undefined;
  }, 30_000);

  /** The follow-up's keys under `prefix` on the cluster that are not BullMQ's bookkeeping: the record and its job. */
  const pendingUnder = async (prefix: string) => followUpKeys(await cluster!.keys(`${prefix}*`), prefix).filter((key) => !isQueueBookkeeping(key, prefix));

  /**
   * Every key under `prefix` on every running node, primaries and replicas (READONLY: a replica
   * serves reads of its primary's slots), has nothing personal.
   */
  const scanEveryNode = async (prefix: string) => {
    let scanned = 0;
    for (const node of cluster!.nodes.filter((n) => n.running)) {
      const reader = createClient({ socket: { host: node.host, port: node.port, reconnectStrategy: false } });
      reader.on('error', () => undefined);
      await reader.connect();
      try {
        await reader.sendCommand(['READONLY']);
        const keys: string[] = [];
        for await (const page of reader.scanIterator({ MATCH: `${prefix}*`, COUNT: 1000 })) keys.push(...page.map(String));
        if (keys.length === 0) continue;
        scanned += keys.length;
        expectNoPersonalData(await scanForPersonalData(reader, keys, FOLLOW_UP_PERSONAL), (key) => isQueueKey(key, prefix));
      } finally {
        reader.destroy();
      }
    }
    expect(scanned).toBeGreaterThan(0);
  };

  it('two instances, both running the checks: ONE notice once the registry registers the worker; no CROSSSLOT; the queue in one slot under the prefix; the data then gone; nothing personal', async () => {
    instances = await startFollowUpInstances(env());
    const { prefix } = instances;
    await instances.consent();
    const pending = await pendingUnder(prefix);
    expect(pending.filter((key) => key.startsWith(`${prefix}followup:`))).toHaveLength(1);
    expect(pending.filter((key) => isQueueKey(key, prefix)).length).toBeGreaterThan(0);
    await scanEveryNode(prefix);

    // BullMQ's keys, wherever they are: all under the prefix with the {followups} tag, in one slot
    // (its Lua scripts touch several at once: another slot would be a CROSSSLOT).
    const queueKeys = (await cluster!.keys('*')).filter((key) => /checks|bull|followups/.test(key) && !key.startsWith(`${prefix}followup:`));
    expect(queueKeys.length).toBeGreaterThan(2);
    for (const key of queueKeys.filter((k) => !k.startsWith(`${prefix}{followups}:`))) expect({ key, underThePrefix: false }).toEqual({ key, underThePrefix: true });
    const node = cluster!.nodes.find((n) => n.running)!;
    const slots = new Set(await Promise.all(queueKeys.map((key) => node.command(['CLUSTER', 'KEYSLOT', key]))));
    expect(slots).toEqual(new Set([await node.command(['CLUSTER', 'KEYSLOT', '{followups}'])]));

    await instances.registerAndCheck();
    const sent = instances.notices();
    expect(sent).toHaveLength(1);
    expect(sent[0]).toMatchObject({ To: `whatsapp:${FOLLOW_UP_WORKER}`, ContentSid: TEMPLATE_SID });
    expect(await instances.notified()).toBe(1);

    await waitFor('the follow-up gone', async () => (await pendingUnder(prefix)).length === 0);
    await scanEveryNode(prefix);
    const logs = instances.logs();
    expect(logs).toContain('"event":"followup.notified"');
    expect(logs).not.toMatch(/CROSSSLOT|followup\.(worker_error|queue_error)/);
    for (const value of FOLLOW_UP_PERSONAL) expect({ value, inLogs: logs.includes(value) }).toEqual({ value, inLogs: false });
  }, 120_000);

  it('a CLUSTER FAILOVER of the queue\'s shard while a follow-up waits: its job survives the switch and is run once', async () => {
    instances = await startFollowUpInstances(env());
    const { prefix } = instances;
    await instances.consent();
    // CLUSTER FAILOVER waits for the replica to catch up: nothing written before it is lost.
    const { from, to } = await cluster!.failover(`${prefix}{followups}:checks:meta`);
    expect(to).not.toBe(from);
    await instances.registerAndCheck();
    expect(instances.notices()).toHaveLength(1);
    await waitFor('the follow-up gone', async () => (await pendingUnder(prefix)).length === 0);
    expect(instances.logs()).not.toMatch(/CROSSSLOT/);
  }, 120_000);
});

withRedisServers.describe('a cluster with passwords', () => {
  it('an ACL user (REDIS_USERNAME, REDIS_PASSWORD, as docs/redis.md sets it up): conversations and the follow-up go through; without it, /readyz says state is not ready', async () => {
    const guarded = await startCluster({ password: 'cluster-secret' });
    const started: TwilioTestServer[] = [];
    let stopFollowUps = async () => undefined as void;
    try {
      const guardedPrefix = newTestPrefix();
      for (const node of guarded.nodes) await node.command(aclUserFor(guardedPrefix));
      const guardedEnv = { ...guarded.env, STATE_ENCRYPTION_KEY: K1, REDIS_KEY_PREFIX: guardedPrefix };
      const server = await startTwilioServer({ env: { ...guardedEnv, REDIS_USERNAME: 'tasjil', REDIS_PASSWORD: 'tasjil-secret' }, clock, registry });
      started.push(server);
      expect((await converse([server], '+212683000001', OUTCOME_A_FR)).retries).toBe(0);
      const locked = await startTwilioServer({ env: guardedEnv, clock, registry, waitForRedis: false });
      started.push(locked);
      expect(await locked.app.isStateReady()).toBe(false);

      // The follow-up's BullMQ connections log in as that user too, and its queue stays within the user's keys.
      const followUps = await startFollowUpInstances({ ...guarded.env, REDIS_USERNAME: 'tasjil', REDIS_PASSWORD: 'tasjil-secret' }, { prefix: guardedPrefix });
      stopFollowUps = followUps.stop;
      await followUps.consent();
      await followUps.registerAndCheck();
      expect(followUps.notices()).toHaveLength(1);
      expect(followUps.logs()).not.toMatch(/NOPERM|CROSSSLOT|followup\.(worker_error|queue_error)/);
    } finally {
      await stopFollowUps();
      await Promise.all(started.map((server) => server.close()));
      await guarded.stop();
    }
  }, 120_000);
});
