import { ManualClock } from '../../src/clock';
import { DEDUPE_RETENTION_MS } from '../../src/pipeline/contacts';
import { ACTIVITY_RETENTION_MS, RedisArrivals, RedisContactActivity, RedisMessageDedupe, RedisOptOuts } from '../../src/pipeline/redisContacts';
import { ephemeralStateKeys } from '../../src/state/keys';
import { StateUnavailableError, type RedisClient } from '../../src/state/redis';
import { keyedId } from '../../src/state/redisHelpers';
import { closeTestClient, connectTestClient, deleteKeys, listKeys, newTestPrefix } from '../support/redis';

const CONTACT = '+212612345678';
const prefix = newTestPrefix();
const { hashSecret } = ephemeralStateKeys();
let a: RedisClient;
let b: RedisClient;

beforeAll(async () => {
  // Two clients: two app instances sharing one Redis.
  a = await connectTestClient();
  b = await connectTestClient();
});

afterAll(async () => {
  if (a?.isReady) await deleteKeys(a, prefix);
  await closeTestClient(a);
  await closeTestClient(b);
});

describe('RedisMessageDedupe', () => {
  it('sees a message first once, whichever instance gets it, and keeps the mark for the retention', async () => {
    const one = new RedisMessageDedupe(a, { prefix });
    const two = new RedisMessageDedupe(b, { prefix });
    const results = await Promise.all([one.firstSeen('SM0001', CONTACT), two.firstSeen('SM0001', CONTACT), one.firstSeen('SM0001', CONTACT)]);
    expect(results.filter(Boolean)).toHaveLength(1);
    expect(await two.firstSeen('SM0002', '+212600000000')).toBe(true);
    const ttl = await a.pTTL(one.keyOf('SM0001', CONTACT));
    expect(ttl).toBeGreaterThan(DEDUPE_RETENTION_MS - 60_000);
    expect(ttl).toBeLessThanOrEqual(DEDUPE_RETENTION_MS);
  });

  it('forgets a message after the retention', async () => {
    const dedupe = new RedisMessageDedupe(a, { prefix, retentionMs: 50 });
    expect(await dedupe.firstSeen('SM0003', '+212600000000')).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 120));
    expect(await dedupe.firstSeen('SM0003', '+212600000000')).toBe(true);
  });
});

describe('RedisMessageDedupe, a message claimed while its turn runs (Kannel)', () => {
  const claim = (token: string, leaseMs = 90_000) => ({ token, leaseMs });

  it('holds it in progress for every instance, then handled for the retention once marked so', async () => {
    const one = new RedisMessageDedupe(a, { prefix });
    const two = new RedisMessageDedupe(b, { prefix });
    // Two deliveries at once on two instances: one gets it, the other finds it in progress.
    const results = await Promise.all([one.claim('kannel:c1', CONTACT, claim('a')), two.claim('kannel:c1', CONTACT, claim('b'))]);
    expect(results.sort()).toEqual(['in-progress', 'new']);
    const key = one.keyOf('kannel:c1', CONTACT);
    expect(await a.pTTL(key)).toBeLessThanOrEqual(90_000);
    await two.handled('kannel:c1', CONTACT);
    expect(await one.claim('kannel:c1', CONTACT, claim('c'))).toBe('handled');
    expect(await a.get(key)).toBe('1');
    expect(await a.pTTL(key)).toBeGreaterThan(DEDUPE_RETENTION_MS - 60_000);
    // Twilio's marks and Kannel's are one kind once handled: a mark from before claims existed reads as handled.
    expect(await one.firstSeen('kannel:c1', CONTACT)).toBe(false);
  });

  it('takes a retry after the lease (the instance died mid-turn) as new, and lets only its own claim release it', async () => {
    const dedupe = new RedisMessageDedupe(a, { prefix });
    expect(await dedupe.claim('kannel:c2', CONTACT, claim('dead', 80))).toBe('new');
    expect(await dedupe.claim('kannel:c2', CONTACT, claim('b'))).toBe('in-progress');
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(await dedupe.claim('kannel:c2', CONTACT, claim('alive'))).toBe('new');
    await dedupe.release('kannel:c2', CONTACT, 'dead');
    expect(await dedupe.claim('kannel:c2', CONTACT, claim('c'))).toBe('in-progress');
    await dedupe.release('kannel:c2', CONTACT, 'alive');
    expect(await a.exists(dedupe.keyOf('kannel:c2', CONTACT))).toBe(0);
    expect(await dedupe.claim('kannel:c2', CONTACT, claim('d'))).toBe('new');
    await dedupe.handled('kannel:c2', CONTACT);
    // Released after it was handled (too late): it stays handled.
    await dedupe.release('kannel:c2', CONTACT, 'd');
    expect(await dedupe.claim('kannel:c2', CONTACT, claim('e'))).toBe('handled');
  });
});

describe('RedisOptOuts', () => {
  it('holds a STOP for every instance until START, with no expiry and no number in the key', async () => {
    const one = new RedisOptOuts(a, hashSecret, { prefix });
    const two = new RedisOptOuts(b, hashSecret, { prefix });
    expect(await two.isOptedOut(CONTACT)).toBe(false);
    await one.optOut(CONTACT);
    expect(await two.isOptedOut(CONTACT)).toBe(true);
    expect(await two.isOptedOut('+212600000000')).toBe(false);
    const keys = (await listKeys(a, prefix)).filter((k) => k.includes(':optout:'));
    expect(keys).toHaveLength(1);
    expect(keys[0]).not.toContain('212612345678');
    expect(await a.pTTL(keys[0]!)).toBe(-1);
    await two.optIn(CONTACT);
    expect(await one.isOptedOut(CONTACT)).toBe(false);
  });

  it('still finds opt-outs written under a previous hash secret, and moves them under the current one', async () => {
    const old = ephemeralStateKeys().hashSecret;
    await new RedisOptOuts(a, old, { prefix }).optOut(CONTACT);
    const rotated = new RedisOptOuts(a, hashSecret, { prefix, previousHashSecrets: [old] });
    expect(await new RedisOptOuts(a, hashSecret, { prefix }).isOptedOut(CONTACT)).toBe(false);
    expect(await rotated.isOptedOut(CONTACT)).toBe(true);
    // Moved: the old secret is no longer needed for this contact.
    expect(await new RedisOptOuts(a, hashSecret, { prefix }).isOptedOut(CONTACT)).toBe(true);
    await rotated.optIn(CONTACT);
    expect(await rotated.isOptedOut(CONTACT)).toBe(false);
  });

  it('finds an opt-out under its name from before slot tags, and moves it under the tagged one', async () => {
    const contact = '+212612340001';
    await a.set(`${prefix}optout:${keyedId(hashSecret, 'optout', contact)}`, '1');
    expect(await new RedisOptOuts(a, hashSecret, { prefix }).isOptedOut(contact)).toBe(false);
    const upgraded = new RedisOptOuts(a, hashSecret, { prefix, untaggedNames: true });
    expect(await upgraded.isOptedOut(contact)).toBe(true);
    expect(await new RedisOptOuts(a, hashSecret, { prefix }).isOptedOut(contact)).toBe(true);
    expect((await listKeys(a, prefix)).filter((k) => k.includes(':optout:') && !k.includes('{'))).toEqual([]);
    await upgraded.optIn(contact);
    expect(await upgraded.isOptedOut(contact)).toBe(false);
  });
});

describe('RedisContactActivity', () => {
  it('tells every instance when a contact last wrote, and keeps it 25 hours', async () => {
    const clock = new ManualClock();
    const one = new RedisContactActivity(a, hashSecret, clock, { prefix });
    const two = new RedisContactActivity(b, hashSecret, clock, { prefix });
    expect(await two.lastInboundAt(CONTACT)).toBeUndefined();
    await one.recordInbound(CONTACT);
    expect(await two.lastInboundAt(CONTACT)).toBe(clock.now());
    clock.advance(60_000);
    await two.recordInbound(CONTACT);
    expect(await one.lastInboundAt(CONTACT)).toBe(clock.now());
    const keys = (await listKeys(a, prefix)).filter((k) => k.includes(':inbound:'));
    expect(keys).toHaveLength(1);
    expect(keys[0]).not.toContain('212612345678');
    expect(await a.pTTL(keys[0]!)).toBeGreaterThan(ACTIVITY_RETENTION_MS - 60_000);
  });
});

describe('RedisArrivals: dedupe, the 24-hour window and the opt-out check in one step', () => {
  const storesOf = (client: RedisClient, clock: ManualClock, previousHashSecrets: Buffer[] = []) => ({
    dedupe: new RedisMessageDedupe(client, { prefix }),
    optOuts: new RedisOptOuts(client, hashSecret, { prefix, previousHashSecrets }),
    contacts: new RedisContactActivity(client, hashSecret, clock, { prefix }),
  });
  const SENDER = '+212677777777';

  it('marks a message seen once across instances, opens the window for WhatsApp only, and tells an opt-out', async () => {
    const clock = new ManualClock();
    const storesA = storesOf(a, clock);
    const one = new RedisArrivals(a, storesA);
    const two = new RedisArrivals(b, storesOf(b, clock));

    // An SMS: seen, not opted out, and no WhatsApp window opened.
    expect(await one.arrive({ id: 'SM1001', channel: 'sms', contact: SENDER })).toEqual({ firstSeen: true, inProgress: false, optedOut: false, optedBackIn: false });
    expect(await storesA.contacts.lastInboundAt(SENDER)).toBeUndefined();

    // A WhatsApp message opens the window; its retry, on the other instance, is a duplicate and changes nothing.
    expect(await two.arrive({ id: 'SM1002', channel: 'whatsapp', contact: SENDER })).toEqual({ firstSeen: true, inProgress: false, optedOut: false, optedBackIn: false });
    expect(await storesA.contacts.lastInboundAt(SENDER)).toBe(clock.now());
    clock.advance(5_000);
    expect(await one.arrive({ id: 'SM1002', channel: 'whatsapp', contact: SENDER })).toEqual({ firstSeen: false, inProgress: false, optedOut: false, optedBackIn: false });
    expect(await storesA.contacts.lastInboundAt(SENDER)).toBe(clock.now() - 5_000);
    expect(await a.pTTL(storesA.dedupe.keyOf('SM1002', SENDER))).toBeGreaterThan(DEDUPE_RETENTION_MS - 60_000);

    await storesA.optOuts.optOut(SENDER);
    expect(await two.arrive({ id: 'SM1003', channel: 'whatsapp', contact: SENDER })).toEqual({ firstSeen: true, inProgress: false, optedOut: true, optedBackIn: false });
    await storesA.optOuts.optIn(SENDER);
    expect(await two.arrive({ id: 'SM1004', channel: 'sms', contact: SENDER })).toEqual({ firstSeen: true, inProgress: false, optedOut: false, optedBackIn: false });
  });

  it('claims a Kannel message in the same step: in progress for every instance, handled once marked, or released', async () => {
    const clock = new ManualClock();
    const storesA = storesOf(a, clock);
    const one = new RedisArrivals(a, storesA);
    const two = new RedisArrivals(b, storesOf(b, clock));
    const message = { id: 'kannel:a1', channel: 'sms' as const, contact: SENDER };
    const claim = (token: string) => ({ token, leaseMs: 90_000 });
    expect(await one.arrive({ ...message, claim: claim('a') })).toEqual({ firstSeen: true, inProgress: false, optedOut: false, optedBackIn: false });
    expect(await a.get(storesA.dedupe.keyOf(message.id, SENDER))).toBe('p:a');
    expect(await a.pTTL(storesA.dedupe.keyOf(message.id, SENDER))).toBeLessThanOrEqual(90_000);
    await storesA.optOuts.optOut(SENDER);
    expect(await two.arrive({ ...message, claim: claim('b') })).toEqual({ firstSeen: false, inProgress: true, optedOut: false, optedBackIn: false });
    await one.handled(message);
    expect(await two.arrive({ ...message, claim: claim('c') })).toEqual({ firstSeen: false, inProgress: false, optedOut: false, optedBackIn: false });
    expect(await a.pTTL(storesA.dedupe.keyOf(message.id, SENDER))).toBeGreaterThan(DEDUPE_RETENTION_MS - 60_000);
    // A turn that failed gives its claim up: the retry is handled, on either instance.
    const failed = { ...message, id: 'kannel:a2' };
    expect(await two.arrive({ ...failed, claim: claim('d') })).toEqual({ firstSeen: true, inProgress: false, optedOut: true, optedBackIn: false });
    await two.release(failed, 'd');
    expect(await one.arrive({ ...failed, claim: claim('e') })).toEqual({ firstSeen: true, inProgress: false, optedOut: true, optedBackIn: false });
    await storesA.optOuts.optIn(SENDER);
  });

  it('finds an opt-out written under a previous hash secret and moves it under the current one', async () => {
    const clock = new ManualClock();
    const old = ephemeralStateKeys().hashSecret;
    await new RedisOptOuts(a, old, { prefix }).optOut(SENDER);
    const rotated = new RedisArrivals(a, storesOf(a, clock, [old]));
    expect(await rotated.arrive({ id: 'SM1005', channel: 'sms', contact: SENDER })).toEqual({ firstSeen: true, inProgress: false, optedOut: true, optedBackIn: false });
    expect(await new RedisOptOuts(a, hashSecret, { prefix }).isOptedOut(SENDER)).toBe(true);
    expect(await new RedisOptOuts(a, old, { prefix }).isOptedOut(SENDER)).toBe(false);
    await new RedisOptOuts(a, hashSecret, { prefix }).optIn(SENDER);
  });
});

describe('RedisArrivals after a STOP', () => {
  const storesOf = (client: RedisClient, clock: ManualClock, previousHashSecrets: Buffer[] = []) => ({
    dedupe: new RedisMessageDedupe(client, { prefix }),
    optOuts: new RedisOptOuts(client, hashSecret, { prefix, previousHashSecrets }),
    contacts: new RedisContactActivity(client, hashSecret, clock, { prefix }),
  });
  const SENDER = '+212677777770';

  it('opts the sender back in, in the same step and for every instance, when the message reopens (WhatsApp), and only then', async () => {
    const clock = new ManualClock();
    const storesA = storesOf(a, clock);
    const one = new RedisArrivals(a, storesA);
    const two = new RedisArrivals(b, storesOf(b, clock));
    await storesA.optOuts.optOut(SENDER);
    expect(await one.arrive({ id: 'SM2001', channel: 'sms', contact: SENDER })).toEqual({ firstSeen: true, inProgress: false, optedOut: true, optedBackIn: false });
    expect(await two.arrive({ id: 'SM2002', channel: 'whatsapp', contact: SENDER, reopensOptOut: false })).toEqual({ firstSeen: true, inProgress: false, optedOut: true, optedBackIn: false });
    expect(await storesA.optOuts.isOptedOut(SENDER)).toBe(true);

    expect(await two.arrive({ id: 'SM2003', channel: 'whatsapp', contact: SENDER, reopensOptOut: true })).toEqual({ firstSeen: true, inProgress: false, optedOut: true, optedBackIn: true });
    expect(await storesA.optOuts.isOptedOut(SENDER)).toBe(false);
    expect((await listKeys(a, prefix)).filter((k) => k.includes(':optout:'))).toEqual([]);
    // Twilio's retry of that message, on the other instance: a duplicate, which reopens nothing.
    await storesA.optOuts.optOut(SENDER);
    expect(await one.arrive({ id: 'SM2003', channel: 'whatsapp', contact: SENDER, reopensOptOut: true })).toEqual({ firstSeen: false, inProgress: false, optedOut: false, optedBackIn: false });
    expect(await storesA.optOuts.isOptedOut(SENDER)).toBe(true);
    await storesA.optOuts.optIn(SENDER);
  });

  it('reopens an opt-out written under a previous hash secret, leaving no key under either', async () => {
    const clock = new ManualClock();
    const old = ephemeralStateKeys().hashSecret;
    await new RedisOptOuts(a, old, { prefix }).optOut(SENDER);
    const rotated = new RedisArrivals(a, storesOf(a, clock, [old]));
    expect(await rotated.arrive({ id: 'SM2005', channel: 'whatsapp', contact: SENDER, reopensOptOut: true })).toEqual({ firstSeen: true, inProgress: false, optedOut: true, optedBackIn: true });
    expect(await new RedisOptOuts(a, hashSecret, { prefix }).isOptedOut(SENDER)).toBe(false);
    expect(await new RedisOptOuts(a, old, { prefix }).isOptedOut(SENDER)).toBe(false);
  });
});

describe('when Redis cannot answer', () => {
  it('rejects with StateUnavailableError, keeping the cause', async () => {
    const gone = await connectTestClient();
    gone.destroy();
    const error = await new RedisOptOuts(gone, hashSecret, { prefix }).isOptedOut(CONTACT).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StateUnavailableError);
    expect((error as Error).cause).toBeInstanceOf(Error);
    await expect(new RedisMessageDedupe(gone, { prefix }).firstSeen('SM0009', '+212600000000')).rejects.toBeInstanceOf(StateUnavailableError);
    await expect(new RedisContactActivity(gone, hashSecret, new ManualClock(), { prefix }).recordInbound(CONTACT)).rejects.toBeInstanceOf(StateUnavailableError);
    const clock = new ManualClock();
    const arrivals = new RedisArrivals(gone, {
      dedupe: new RedisMessageDedupe(gone, { prefix }),
      optOuts: new RedisOptOuts(gone, hashSecret, { prefix }),
      contacts: new RedisContactActivity(gone, hashSecret, clock, { prefix }),
    });
    await expect(arrivals.arrive({ id: 'SM0010', channel: 'whatsapp', contact: CONTACT })).rejects.toBeInstanceOf(StateUnavailableError);
  });
});
