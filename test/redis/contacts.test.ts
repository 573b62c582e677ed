import { ManualClock } from '../../src/clock';
import { DEDUPE_RETENTION_MS } from '../../src/pipeline/contacts';
import { ACTIVITY_RETENTION_MS, RedisContactActivity, RedisMessageDedupe, RedisOptOuts } from '../../src/pipeline/redisContacts';
import { ephemeralStateKeys } from '../../src/state/keys';
import { StateUnavailableError, type RedisClient } from '../../src/state/redis';
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
    const results = await Promise.all([one.firstSeen('SM0001'), two.firstSeen('SM0001'), one.firstSeen('SM0001')]);
    expect(results.filter(Boolean)).toHaveLength(1);
    expect(await two.firstSeen('SM0002')).toBe(true);
    const ttl = await a.pTTL(`${prefix}dedupe:SM0001`);
    expect(ttl).toBeGreaterThan(DEDUPE_RETENTION_MS - 60_000);
    expect(ttl).toBeLessThanOrEqual(DEDUPE_RETENTION_MS);
  });

  it('forgets a message after the retention', async () => {
    const dedupe = new RedisMessageDedupe(a, { prefix, retentionMs: 50 });
    expect(await dedupe.firstSeen('SM0003')).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 120));
    expect(await dedupe.firstSeen('SM0003')).toBe(true);
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

describe('when Redis cannot answer', () => {
  it('rejects with StateUnavailableError, keeping the cause', async () => {
    const gone = await connectTestClient();
    gone.destroy();
    const error = await new RedisOptOuts(gone, hashSecret, { prefix }).isOptedOut(CONTACT).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StateUnavailableError);
    expect((error as Error).cause).toBeInstanceOf(Error);
    await expect(new RedisMessageDedupe(gone, { prefix }).firstSeen('SM0009')).rejects.toBeInstanceOf(StateUnavailableError);
    await expect(new RedisContactActivity(gone, hashSecret, new ManualClock(), { prefix }).recordInbound(CONTACT)).rejects.toBeInstanceOf(StateUnavailableError);
  });
});
