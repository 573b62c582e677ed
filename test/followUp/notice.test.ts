import { randomBytes } from 'node:crypto';
import { ManualClock } from '../../src/clock';
import { t } from '../../src/i18n';
import { warmUpDateRecognizer } from '../../src/nlu/dates';
import { RegistryThatRegisters } from '../support/registryThatRegisters';
import { FakeTwilio } from '../support/fakeTwilio';
import { SwitchableRegistry } from '../support/harness';
import { byLabel, parseMetrics, personalLabels } from '../support/metricsText';
import { closeTestClient, connectTestClient, deleteKeys, listKeys, newTestPrefix, TEST_REDIS_URL } from '../support/redis';
import { sampleRegistry, startTwilioServer, type Sender, type TwilioTestServer } from '../support/twilioServer';
import type { RedisClient } from '../../src/state/redis';

/**
 * The follow-up after outcome C as it runs in production: the app over real HTTP with Twilio's
 * signed webhooks, the real Redis (records sealed, checks as BullMQ jobs), a local fake of
 * Twilio's API for the notice, and a manual clock moved by hand over days. `runDue()` wakes the
 * checks that are due by that clock, as the BullMQ timer would once the real days had passed.
 */

const HOUR = 60 * 60 * 1000;
const DAY = 24 * HOUR;
const TEMPLATE_SID = `HX${'0123456789abcdef'.repeat(2)}`;
const STATE_ENCRYPTION_KEY = `k1:${randomBytes(32).toString('base64')}`;
/** The person of outcome C in the sample people file: not on the list. */
const DOCUMENT = 'ZZ999999';
const PERSONAL = [DOCUMENT, '2030-11-15', '15/11/2030', '1990-07-02', '02/07/1990', '212612345678', '612345678', '0612345678', '212612345679', '612345679', '222333999'];
const CONSENT_SCRIPT = ['Bonjour', '1', DOCUMENT, '15/11/2030', '02/07/1990', '1', '2', 'passer', 'oui', 'taxi', 'Casa'];

let redis: RedisClient;
const prefixes: string[] = [];
const servers: TwilioTestServer[] = [];
const fakes: FakeTwilio[] = [];

beforeAll(async () => {
  warmUpDateRecognizer();
  redis = await connectTestClient();
}, 30000);

afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
  await Promise.all(fakes.splice(0).map((fake) => fake.stop()));
  for (const prefix of prefixes.splice(0)) await deleteKeys(redis, prefix);
});

afterAll(() => closeTestClient(redis));

interface Setup {
  clock: ManualClock;
  fake: FakeTwilio;
  registry: RegistryThatRegisters;
  /** The switch in front of it: `down` makes every look-up fail as a registry outage would. */
  outage: SwitchableRegistry;
  prefix: string;
  start(): Promise<TwilioTestServer>;
}

async function setUp(env: NodeJS.ProcessEnv = {}): Promise<Setup> {
  const clock = new ManualClock();
  const fake = new FakeTwilio({ clock });
  await fake.start();
  fakes.push(fake);
  const registry = new RegistryThatRegisters(sampleRegistry(clock));
  const outage = new SwitchableRegistry(registry);
  const prefix = newTestPrefix();
  prefixes.push(prefix);
  const start = async () => {
    const server = await startTwilioServer({
      clock,
      fake,
      registry: outage,
      env: { REDIS_URL: TEST_REDIS_URL, REDIS_KEY_PREFIX: prefix, STATE_ENCRYPTION_KEY, TWILIO_NOTIFICATION_TEMPLATE_SID: TEMPLATE_SID, ...env },
    });
    servers.push(server);
    server.app.followUps.startChecks();
    return server;
  };
  return { clock, fake, registry, outage, prefix, start };
}

/** Outcome C up to the offer, then `answer` to it; returns the last reply. */
async function reachOffer(sender: Sender, answer: string): Promise<string> {
  for (const text of CONSENT_SCRIPT) expect((await sender.say(text)).status).toBe(200);
  const reply = await sender.say(answer);
  expect(reply.status).toBe(200);
  return reply.text;
}

/** The Messages API requests that carried the follow-up notice. */
function notices(fake: FakeTwilio): Record<string, string | string[]>[] {
  return fake.requestsTo('Messages.json').map((r) => r.form);
}

/** Every key under the prefix, with its value(s) as text, whatever its Redis type. */
async function redisContent(prefix: string): Promise<{ keys: string[]; text: string }> {
  const keys = await listKeys(redis, prefix);
  const values: string[] = [];
  for (const key of keys) {
    const type = await redis.type(key);
    if (type === 'string') values.push((await redis.get(key)) ?? '');
    else if (type === 'hash') values.push(JSON.stringify(await redis.hGetAll(key)));
    else if (type === 'list') values.push(JSON.stringify(await redis.lRange(key, 0, -1)));
    else if (type === 'zset') values.push(JSON.stringify(await redis.zRange(key, 0, -1)));
    else if (type === 'set') values.push(JSON.stringify(await redis.sMembers(key)));
    else if (type === 'stream') values.push(JSON.stringify(await redis.xRange(key, '-', '+')));
  }
  return { keys, text: `${keys.join('\n')}\n${values.join('\n')}` };
}

async function followUpMetrics(server: TwilioTestServer) {
  const samples = parseMetrics(await server.app.metrics.render());
  return { events: byLabel(samples, 'tasjil_follow_ups_total', 'event'), checks: byLabel(samples, 'tasjil_follow_up_checks_total', 'result'), samples };
}

const recordKeys = (keys: string[], prefix: string) => keys.filter((key) => key.startsWith(`${prefix}followup:`));

describe('the notice once the registry has registered the worker', () => {
  it('WhatsApp, the 24-hour window closed: the approved template, once, with nothing personal; the data is then gone', async () => {
    const { clock, fake, registry, prefix, start } = await setUp();
    const server = await start();
    const worker = server.whatsapp('+212612345678');
    expect(await reachOffer(worker, 'oui')).toContain("C'est noté");

    // Kept, sealed, under a name that says nothing; the check is a BullMQ job with an opaque id.
    const kept = await redisContent(prefix);
    expect(recordKeys(kept.keys, prefix)).toHaveLength(1);
    expect(kept.keys.some((key) => key.startsWith(`${prefix}{followups}:checks:`))).toBe(true);
    for (const value of PERSONAL) expect({ value, inRedis: kept.text.includes(value) }).toEqual({ value, inRedis: false });

    // A day on, still not registered: checked, nothing sent.
    clock.advance(27 * HOUR);
    await server.app.followUps.runDue();
    expect(notices(fake)).toEqual([]);
    expect((await followUpMetrics(server)).checks.not_registered).toBe(1);

    registry.register(DOCUMENT);
    clock.advance(27 * HOUR);
    await server.app.followUps.runDue();
    const sent = notices(fake);
    expect(sent).toHaveLength(1);
    const text = t('fr', 'followUp.notice');
    expect(sent[0]).toMatchObject({ To: 'whatsapp:+212612345678', From: 'whatsapp:+14155238886', ContentSid: TEMPLATE_SID });
    expect(JSON.parse(sent[0]!.ContentVariables as string)).toEqual({ '1': text });
    expect(sent[0]!.Body).toBeUndefined();
    // What the worker reads names nobody: no document, date, number (not even the registration number).
    for (const value of PERSONAL) expect(text).not.toContain(value);
    expect(text).not.toMatch(/\d{4,}/);

    // Sent once: later checks find nothing to send; the record and the job are gone.
    clock.advance(3 * DAY);
    await server.app.followUps.runDue();
    expect(notices(fake)).toHaveLength(1);
    const after = await redisContent(prefix);
    expect(recordKeys(after.keys, prefix)).toEqual([]);
    expect(await server.app.followUps.runDue()).toBeUndefined();
    const { events, samples } = await followUpMetrics(server);
    expect(events).toEqual({ created: 1, notified: 1, cancelled: 0, expired: 0, not_subject: 0 });
    expect(personalLabels(samples)).toEqual([]);

    // Nothing personal was logged on the way, from the conversation to the notice.
    const logs = server.logLines.join('\n');
    expect(logs).toContain('"event":"followup.notified"');
    for (const value of PERSONAL) expect({ value, inLogs: logs.includes(value) }).toEqual({ value, inLogs: false });

    // The worker writes as invited, and gets the number (outcome B: the account is made).
    for (const text of CONSENT_SCRIPT.slice(0, 8)) await worker.say(text);
    expect((await worker.say('oui')).text).toContain('Vous êtes immatriculé(e) à la CNSS, mais sans compte Ma CNSS');
  }, 30000);

  it('WhatsApp, within 24 hours of the worker\'s last message: free text', async () => {
    const { clock, fake, registry, start } = await setUp({ FOLLOW_UP_CHECK_INTERVAL_HOURS: '1' });
    const server = await start();
    expect(await reachOffer(server.whatsapp('+212612345678'), 'oui')).toContain("C'est noté");
    registry.register(DOCUMENT);
    clock.advance(2 * HOUR);
    await server.app.followUps.runDue();
    const sent = notices(fake);
    expect(sent).toHaveLength(1);
    expect(sent[0]).toMatchObject({ To: 'whatsapp:+212612345678', Body: t('fr', 'followUp.notice') });
    expect(sent[0]!.ContentSid).toBeUndefined();
  }, 30000);

  it('SMS: a plain SMS to the number the worker wrote from, in their language', async () => {
    const { clock, fake, registry, start } = await setUp();
    const server = await start();
    const worker = server.sms('+212612345679');
    for (const text of ['السلام عليكم', '1', DOCUMENT, '15/11/2030', '02/07/1990', '1', '3', 'دوز', 'نعم', 'taxi', 'الدار البيضاء']) await worker.say(text);
    expect((await worker.say('نعم')).text).toContain('تم. سنتحقق بانتظام');
    registry.register(DOCUMENT);
    clock.advance(30 * DAY);
    await server.app.followUps.runDue();
    const sent = notices(fake);
    expect(sent).toHaveLength(1);
    expect(sent[0]).toMatchObject({ To: '+212612345679', From: '+15005550006', Body: t('ar', 'followUp.notice') });
    expect(sent[0]!.ContentSid).toBeUndefined();
  }, 30000);

  it('a registry that fails at a check is asked again at the next one: the follow-up is not lost', async () => {
    const { clock, fake, registry, outage, prefix, start } = await setUp();
    const server = await start();
    await reachOffer(server.whatsapp('+212612345678'), 'oui');
    registry.register(DOCUMENT);
    outage.down = true;
    clock.advance(27 * HOUR);
    await server.app.followUps.runDue();
    expect(notices(fake)).toEqual([]);
    expect(recordKeys((await redisContent(prefix)).keys, prefix)).toHaveLength(1);
    expect((await followUpMetrics(server)).checks.unavailable).toBe(1);

    // Back up, but the next check is a day away: nothing before it.
    outage.down = false;
    await server.app.followUps.runDue();
    expect(notices(fake)).toEqual([]);
    clock.advance(27 * HOUR);
    await server.app.followUps.runDue();
    expect(notices(fake)).toHaveLength(1);
  }, 30000);
});

describe('no notice, and the data deleted', () => {
  it('"non" to the offer keeps nothing at all', async () => {
    const { clock, fake, registry, prefix, start } = await setUp();
    const server = await start();
    expect(await reachOffer(server.whatsapp('+212612345678'), 'non')).toContain('pas de suivi');
    expect(recordKeys((await redisContent(prefix)).keys, prefix)).toEqual([]);
    registry.register(DOCUMENT);
    clock.advance(2 * DAY);
    await server.app.followUps.runDue();
    expect(notices(fake)).toEqual([]);
    expect((await followUpMetrics(server)).events.created).toBe(0);
  }, 30000);

  it.each([
    ['"annuler le suivi"', 'annuler le suivi', 'Le suivi est annulé'],
    ['STOP', 'STOP', 'Vous ne recevrez plus de messages'],
    ['"supprimer" (erase)', 'supprimer', 'Vos données ont été effacées'],
  ])('%s deletes the follow-up at once', async (_name, command, reply) => {
    const { clock, fake, registry, prefix, start } = await setUp();
    const server = await start();
    const worker = server.whatsapp('+212612345678');
    await reachOffer(worker, 'oui');
    expect(recordKeys((await redisContent(prefix)).keys, prefix)).toHaveLength(1);

    expect((await worker.say(command)).text).toContain(reply);
    const left = await redisContent(prefix);
    expect(recordKeys(left.keys, prefix)).toEqual([]);
    // The job went with it: no check is planned any more.
    expect(left.keys.filter((key) => /\{followups\}:checks:(?!(?:meta|events|id|stalled-check|marker)$)/.test(key))).toEqual([]);

    registry.register(DOCUMENT);
    clock.advance(2 * DAY);
    await server.app.followUps.runDue();
    expect(notices(fake)).toEqual([]);
    expect((await followUpMetrics(server)).events).toMatchObject({ created: 1, cancelled: 1, notified: 0 });
  }, 30000);

  it('after its retention (90 days) the follow-up ends by itself: data gone, nothing sent', async () => {
    const { clock, fake, outage, prefix, start } = await setUp();
    const server = await start();
    await reachOffer(server.whatsapp('+212612345678'), 'oui');
    // Asked every day for 90 days (here, once in the middle), never registered.
    clock.advance(45 * DAY);
    await server.app.followUps.runDue();
    const lookUps = outage.lookUps;
    clock.advance(46 * DAY);
    await server.app.followUps.runDue();
    expect(outage.lookUps).toBe(lookUps); // the end is not one more look-up
    expect(notices(fake)).toEqual([]);
    const left = await redisContent(prefix);
    expect(recordKeys(left.keys, prefix)).toEqual([]);
    for (const value of PERSONAL) expect(left.text).not.toContain(value);
    expect((await followUpMetrics(server)).events).toMatchObject({ created: 1, expired: 1, notified: 0 });
  }, 30000);
});

describe('several instances', () => {
  it('two apps sharing Redis, both checking: one notice', async () => {
    const { clock, fake, registry, start } = await setUp();
    const [a, b] = [await start(), await start()];
    await reachOffer(a.whatsapp('+212612345678'), 'oui');
    registry.register(DOCUMENT);
    clock.advance(27 * HOUR);
    await Promise.all([a.app.followUps.runDue(), b.app.followUps.runDue()]);
    await Promise.all([a.app.followUps.runDue(), b.app.followUps.runDue()]);
    expect(notices(fake)).toHaveLength(1);
    const notified = (await followUpMetrics(a)).events.notified + (await followUpMetrics(b)).events.notified;
    expect(notified).toBe(1);
  }, 30000);

  it('a worker who said yes on one instance cancels on the other', async () => {
    const { clock, fake, registry, prefix, start } = await setUp();
    const [a, b] = [await start(), await start()];
    await reachOffer(a.whatsapp('+212612345678'), 'oui');
    expect((await b.whatsapp('+212612345678').say('annuler le suivi')).text).toContain('Le suivi est annulé');
    expect(recordKeys((await redisContent(prefix)).keys, prefix)).toEqual([]);
    registry.register(DOCUMENT);
    clock.advance(2 * DAY);
    await Promise.all([a.app.followUps.runDue(), b.app.followUps.runDue()]);
    expect(notices(fake)).toEqual([]);
  }, 30000);
});
