import { randomBytes } from 'node:crypto';
import { isGsm7 } from '../../src/channels/sms/encoding';
import { ManualClock } from '../../src/clock';
import { createLogger } from '../../src/log';
import { Metrics } from '../../src/metrics/metrics';
import { warmUpDateRecognizer } from '../../src/nlu/dates';
import { FollowUpService, type FollowUpServiceDeps } from '../../src/services/followUp/followUpService';
import { RedisFollowUpStore } from '../../src/services/followUp/redisFollowUpStore';
import { TimerScheduler } from '../../src/services/followUp/scheduler';
import { InMemoryFollowUpStore, type FollowUpRecord } from '../../src/services/followUp/store';
import { parseStateKeys } from '../../src/state/keys';
import type { RedisClient } from '../../src/state/redis';
import { RegistryUnavailableError, type IdentityQuery, type LookupResult } from '../../src/services/types';
import { createTestBot } from '../support/harness';
import { byLabel, parseMetrics } from '../support/metricsText';
import { closeTestClient, connectTestClient, deleteKeys, newTestPrefix } from '../support/redis';
import { RegistryThatRegisters } from '../support/registryThatRegisters';
import { sampleRegistry } from '../support/twilioServer';

/**
 * The follow-up's rules on their own, in memory and on a manual clock: when checks happen, what a
 * registry answer does, what a failed notice does. The end-to-end runs (Twilio, Redis, BullMQ,
 * several instances) are in notice.test.ts.
 */

const HOUR = 60 * 60 * 1000;
const DAY = 24 * HOUR;
const IDENTITY: IdentityQuery = { idType: 'CNIE', idNumber: 'ZZ999999', birthDate: '1990-07-02', idExpiryDate: '2030-11-15' };
const ADDRESS = { channel: 'whatsapp', contact: '+212612345678', ourAddress: '+14155238886' };

interface Sent {
  channel: string;
  contact: string;
  text: string;
}

function setUp(overrides: Partial<FollowUpServiceDeps> & { answer?: () => Promise<LookupResult> } = {}) {
  const clock = new ManualClock();
  const store = new InMemoryFollowUpStore(clock);
  const sent: Sent[] = [];
  const lookUps: IdentityQuery[] = [];
  const metrics = new Metrics({ clock, conversationTtlSeconds: 1800, conversationAlive: async () => false, onSweepError: () => undefined });
  const service = new FollowUpService({
    store,
    scheduler: new TimerScheduler(clock, createLogger('silent')),
    registry: {
      lookUp: async (query) => {
        lookUps.push(query);
        return (overrides.answer ?? (async () => ({ kind: 'notRegistered' }) as LookupResult))();
      },
    },
    notify: async (channel, contact, _our, text) => {
      sent.push({ channel, contact, text });
      return 'sent';
    },
    idsOf: (channel, contact) => [`${channel}:${contact}`],
    clock,
    log: createLogger('silent'),
    metrics,
    checkIntervalHours: 24,
    retentionDays: 90,
    random: () => 0.5,
    ...overrides,
  });
  service.startChecks();
  const events = async () => byLabel(parseMetrics(await metrics.register.metrics()), 'tasjil_follow_ups_total', 'event');
  return { clock, store, sent, lookUps, service, events };
}

describe('the schedule', () => {
  it('checks once per interval, not before; the registry is asked with the identity kept', async () => {
    const { clock, lookUps, service } = setUp();
    await service.create({ address: ADDRESS, identity: IDENTITY, locale: 'fr' });
    clock.advance(23 * HOUR);
    await service.runDue();
    expect(lookUps).toEqual([]);
    clock.advance(1 * HOUR);
    await service.runDue();
    expect(lookUps).toEqual([IDENTITY]);
    await service.runDue();
    expect(lookUps).toHaveLength(1);
    clock.advance(DAY);
    await service.runDue();
    expect(lookUps).toHaveLength(2);
  });

  it.each([
    [0, 21.6],
    [0.999999, 26.4],
  ])('is jittered by ±10 %% (draw %d: the first check after %d hours)', async (draw, hours) => {
    const { clock, lookUps, service } = setUp({ random: () => draw });
    await service.create({ address: ADDRESS, identity: IDENTITY, locale: 'fr' });
    clock.advance(hours * HOUR - 60_000);
    await service.runDue();
    expect(lookUps).toHaveLength(0);
    clock.advance(60_000);
    await service.runDue();
    expect(lookUps).toHaveLength(1);
  });

  it('follows FOLLOW_UP_CHECK_INTERVAL_HOURS', async () => {
    const { clock, lookUps, service } = setUp({ checkIntervalHours: 6 });
    await service.create({ address: ADDRESS, identity: IDENTITY, locale: 'fr' });
    clock.advance(6 * HOUR);
    await service.runDue();
    expect(lookUps).toHaveLength(1);
  });

  it('never keeps more than 90 days, whatever is configured', () => {
    expect(setUp({ retentionDays: 365 }).service.retentionDays).toBe(90);
    expect(setUp({ retentionDays: 30 }).service.retentionDays).toBe(30);
  });
});

describe('what a check does', () => {
  it('registered: one notice in the worker\'s language, with no personal data; the record is deleted', async () => {
    const { clock, store, sent, service, events } = setUp({ answer: async () => ({ kind: 'registered', hasAccount: true, registrationNumber: '111222333' }) });
    await service.create({ address: ADDRESS, identity: IDENTITY, locale: 'ar' });
    clock.advance(2 * DAY);
    await service.runDue();
    await service.runDue();
    clock.advance(2 * DAY);
    await service.runDue();
    expect(sent).toHaveLength(1);
    expect(sent[0]).toMatchObject({ channel: 'whatsapp', contact: '+212612345678' });
    expect(sent[0]!.text).toContain('تم تسجيلك');
    expect(sent[0]!.text).not.toMatch(/111222333|ZZ999999|1990|2030/);
    expect(store.size).toBe(0);
    expect(await events()).toMatchObject({ created: 1, notified: 1 });
  });

  it('a notice that could not go (no template, Twilio down) is kept and tried at the next check', async () => {
    let refuse = true;
    const sent: string[] = [];
    const { clock, store, service } = setUp({
      answer: async () => ({ kind: 'registered', hasAccount: false, registrationNumber: '111222333' }),
      notify: async (_channel, _contact, _our, text) => {
        if (refuse) throw new Error('Twilio down');
        sent.push(text);
        return 'template';
      },
    });
    await service.create({ address: ADDRESS, identity: IDENTITY, locale: 'fr' });
    clock.advance(DAY + 3 * HOUR);
    await service.runDue();
    expect(sent).toEqual([]);
    expect(store.size).toBe(1);
    refuse = false;
    clock.advance(DAY + 3 * HOUR);
    await service.runDue();
    expect(sent).toHaveLength(1);
    expect(store.size).toBe(0);
  });

  it('a registry down (or its circuit open) is asked again at the next check', async () => {
    let down = true;
    const { clock, sent, service } = setUp({
      answer: async () => {
        if (down) throw new RegistryUnavailableError('circuit open');
        return { kind: 'registered', hasAccount: false, registrationNumber: '111222333' };
      },
    });
    await service.create({ address: ADDRESS, identity: IDENTITY, locale: 'fr' });
    clock.advance(DAY + 3 * HOUR);
    await service.runDue();
    expect(sent).toEqual([]);
    down = false;
    clock.advance(DAY + 3 * HOUR);
    await service.runDue();
    expect(sent).toHaveLength(1);
  });

  it('not subject to the regime any more: ends quietly, data deleted', async () => {
    const { clock, store, sent, lookUps, service, events } = setUp({ answer: async () => ({ kind: 'notSubject', reasonCode: 'AMO_SALARIE_CNSS' }) });
    await service.create({ address: ADDRESS, identity: IDENTITY, locale: 'fr' });
    clock.advance(DAY + 3 * HOUR);
    await service.runDue();
    clock.advance(DAY + 3 * HOUR);
    await service.runDue();
    expect(lookUps).toHaveLength(1);
    expect(sent).toEqual([]);
    expect(store.size).toBe(0);
    expect(await events()).toMatchObject({ not_subject: 1 });
  });

  it('after the retention: deleted without one more look-up, counted as expired', async () => {
    const { clock, store, lookUps, service, events } = setUp({ retentionDays: 3 });
    await service.create({ address: ADDRESS, identity: IDENTITY, locale: 'fr' });
    for (let day = 0; day < 4; day++) {
      clock.advance(DAY);
      await service.runDue();
    }
    // Checks on days 1 and 2; the third "check" is the end.
    expect(lookUps).toHaveLength(2);
    expect(store.size).toBe(0);
    expect(await events()).toMatchObject({ created: 1, expired: 1 });
  });

  it('cancel deletes the data and the plan; a second cancel finds nothing', async () => {
    const { clock, store, lookUps, service, events } = setUp();
    await service.create({ address: ADDRESS, identity: IDENTITY, locale: 'fr' });
    expect(await service.cancel('whatsapp', '+212612345678')).toBe(true);
    expect(store.size).toBe(0);
    expect(await service.cancel('whatsapp', '+212612345678')).toBe(false);
    clock.advance(3 * DAY);
    await service.runDue();
    expect(lookUps).toEqual([]);
    expect(await events()).toMatchObject({ created: 1, cancelled: 1 });
  });

  it('a follow-up whose check cannot be planned (the queue unreachable) is not kept', async () => {
    const clock = new ManualClock();
    const scheduler = new TimerScheduler(clock, createLogger('silent'));
    scheduler.schedule = () => Promise.reject(new Error('queue unreachable'));
    const { store, service } = setUp({ scheduler });
    await expect(service.create({ address: ADDRESS, identity: IDENTITY, locale: 'fr' })).rejects.toThrow('queue unreachable');
    expect(store.size).toBe(0);
  });

  it('is offered only where a notice can reach: WhatsApp and SMS', () => {
    const { service } = setUp();
    expect(['whatsapp', 'sms', 'emulator', 'test', 'simulator'].map((channel) => service.canReach(channel))).toEqual([true, true, false, false, false]);
  });
});

describe('the store in Redis', () => {
  let redis: RedisClient;
  const prefix = newTestPrefix();
  const keys = parseStateKeys(`k1:${randomBytes(32).toString('base64')}`);
  beforeAll(async () => {
    redis = await connectTestClient();
  });
  afterAll(async () => {
    await deleteKeys(redis, prefix);
    await closeTestClient(redis);
  });

  const record = (clock: ManualClock): FollowUpRecord => ({ channel: 'sms', contact: '+212612345678', ourAddress: '+15005550006', locale: 'fr', identity: IDENTITY, createdAt: clock.now(), expiresAt: clock.now() + 90 * DAY });

  it('seals the record: another key cannot read it, and Redis drops it at the end of its retention', async () => {
    const clock = new ManualClock();
    const store = new RedisFollowUpStore(redis, keys, clock, { prefix });
    await store.put('f1', record(clock));
    const raw = (await redis.get(store.keyOf('f1')))!;
    expect(raw).not.toMatch(/ZZ999999|1990|2030|612345678/);
    expect(await store.get('f1')).toEqual(record(clock));
    const ttl = await redis.pTTL(store.keyOf('f1'));
    expect(ttl).toBeGreaterThan(90 * DAY - 60_000);
    expect(ttl).toBeLessThanOrEqual(90 * DAY);
    const otherKey = new RedisFollowUpStore(redis, parseStateKeys(`k2:${randomBytes(32).toString('base64')}`), clock, { prefix });
    expect(await otherKey.get('f1')).toBeUndefined();
    clock.advance(90 * DAY);
    expect(await store.get('f1')).toBeUndefined();
  });

  it('of two instances taking the same record at once, one gets it: one notice', async () => {
    const clock = new ManualClock();
    const [a, b] = [new RedisFollowUpStore(redis, keys, clock, { prefix }), new RedisFollowUpStore(redis, keys, clock, { prefix })];
    for (let trial = 0; trial < 20; trial++) {
      await a.put(`race${trial}`, record(clock));
      const taken = await Promise.all([a.take(`race${trial}`), b.take(`race${trial}`)]);
      expect(taken.filter(Boolean)).toHaveLength(1);
    }
  });
});

describe('in memory mode (no Redis), through the whole app', () => {
  beforeAll(() => warmUpDateRecognizer(), 30000);

  it('a timer per follow-up: the notice reaches the outbox once the registry has the worker', async () => {
    const clock = new ManualClock();
    const registry = new RegistryThatRegisters(sampleRegistry(clock));
    const bot = createTestBot({ channel: 'sms', from: '+212612345678', clock, registry });
    bot.app.followUps.startChecks();
    for (const text of ['Bonjour', '1', 'ZZ999999', '15/11/2030', '02/07/1990', '1', '2', 'passer', 'oui', 'taxi', 'Casa']) await bot.say(text);
    expect((await bot.say('oui')).join('\n')).toContain("C'est noté");
    clock.advance(DAY + 3 * HOUR);
    await bot.app.followUps.runDue();
    expect(bot.app.outbox.list().filter((m) => m.to === '+212612345678')).toEqual([]);
    registry.register('ZZ999999');
    clock.advance(DAY + 3 * HOUR);
    await bot.app.followUps.runDue();
    const notices = bot.app.outbox.list().filter((m) => m.to === '+212612345678');
    expect(notices).toHaveLength(1);
    expect(notices[0]!.body).toContain('votre immatriculation à la CNSS est faite');
    expect(isGsm7(notices[0]!.body)).toBe(true);
    await bot.app.close();
  }, 30000);
});
