import { ManualClock } from '../../src/clock';
import { DELIVERY_TRACKING_TTL_MS } from '../../src/services/sms/deliveryTracker';
import { RedisDeliveryTracker } from '../../src/services/sms/redisDeliveryTracker';
import { ephemeralStateKeys, parseStateKeys } from '../../src/state/keys';
import { StateUnavailableError, type RedisClient } from '../../src/state/redis';
import { closeTestClient, connectTestClient, deleteKeys, listKeys, newTestPrefix } from '../support/redis';

const TO = '+212612345678';
const otp = (conversationKey = 'c1') => ({ purpose: 'otp' as const, conversationKey, to: TO });
const prefix = newTestPrefix();
let a: RedisClient;
let b: RedisClient;
let run = 0;

beforeAll(async () => {
  a = await connectTestClient();
  b = await connectTestClient();
});

afterAll(async () => {
  if (a?.isReady) await deleteKeys(a, prefix);
  await closeTestClient(a);
  await closeTestClient(b);
});

/**
 * Two trackers (two instances: the status callback may reach the one that did not send) on one
 * clock. Sids are made unique per test, since the entries are keyed by sid under one prefix.
 */
function setUp() {
  const keys = ephemeralStateKeys();
  const clock = new ManualClock();
  const tag = `${++run}x`;
  return {
    clock,
    keys,
    sid: (n: number) => `SM${tag}${n}`,
    tracker: new RedisDeliveryTracker(a, keys, clock, { prefix }),
    other: new RedisDeliveryTracker(b, keys, clock, { prefix }),
  };
}

describe('RedisDeliveryTracker (as InMemoryDeliveryTracker)', () => {
  it('ties a status report back to the SMS, its purpose and conversation, on another instance', async () => {
    const { tracker, other, sid } = setUp();
    await tracker.sent(sid(1), { purpose: 'password', conversationKey: 'c1', to: TO });
    expect(await other.report(sid(1), 'sent')).toEqual({ purpose: 'password', conversationKey: 'c1', to: TO, failed: false });
    expect(await tracker.report(sid(1), 'delivered')).toEqual({ purpose: 'password', conversationKey: 'c1', to: TO, failed: false });
  });

  it.each(['failed', 'undelivered'])('reports "%s" as a failure, with its error code', async (status) => {
    const { tracker, sid } = setUp();
    await tracker.sent(sid(1), otp());
    expect(await tracker.report(sid(1), status, 30003)).toEqual({ ...otp(), failed: true, errorCode: 30003 });
  });

  it('reads the error code as Twilio posts it: a form string', async () => {
    const { tracker, sid } = setUp();
    await tracker.sent(sid(1), otp());
    expect(await tracker.report(sid(1), 'failed', '21610')).toMatchObject({ failed: true, errorCode: 21610 });
    expect(await tracker.report(sid(1), 'failed', '')).not.toHaveProperty('errorCode');
  });

  it('knows nothing of an SMS it did not send, and creates no entry for it', async () => {
    const { tracker, sid } = setUp();
    expect(await tracker.report(sid(9), 'failed', 30005)).toBeUndefined();
    expect(await a.exists(`${prefix}sms:${sid(9)}`)).toBe(0);
  });

  it('says when the latest OTP of a conversation failed, until a new OTP is sent', async () => {
    const { tracker, other, sid } = setUp();
    await tracker.sent(sid(1), otp());
    expect(await tracker.otpDeliveryFailed('c1')).toBe(false);
    await other.report(sid(1), 'undelivered', 30003);
    expect(await tracker.otpDeliveryFailed('c1')).toBe(true);
    expect(await tracker.otpDeliveryFailed('c2')).toBe(false);

    await other.sent(sid(2), otp());
    expect(await tracker.otpDeliveryFailed('c1')).toBe(false);
    // A late report about the older OTP does not concern the one the user is waiting for.
    await tracker.report(sid(1), 'failed', 30003);
    expect(await other.otpDeliveryFailed('c1')).toBe(false);
  });

  it('a password SMS, failed or not, does not change what is known of the OTP', async () => {
    const { tracker, sid } = setUp();
    await tracker.sent(sid(1), otp());
    await tracker.report(sid(1), 'failed');
    await tracker.sent(sid(2), { purpose: 'password', conversationKey: 'c1', to: TO });
    expect(await tracker.otpDeliveryFailed('c1')).toBe(true);
  });

  it('keeps a failure when reports arrive out of order', async () => {
    const { tracker, sid } = setUp();
    await tracker.sent(sid(1), otp());
    await tracker.report(sid(1), 'undelivered', 30003);
    expect(await tracker.report(sid(1), 'sent')).toMatchObject({ failed: false });
    expect(await tracker.otpDeliveryFailed('c1')).toBe(true);
  });

  it('forgets what it sent after 24 hours', async () => {
    const { tracker, clock, sid } = setUp();
    await tracker.sent(sid(1), otp());
    await tracker.report(sid(1), 'failed');
    clock.advance(DELIVERY_TRACKING_TTL_MS - 1);
    expect(await tracker.otpDeliveryFailed('c1')).toBe(true);
    clock.advance(1);
    expect(await tracker.otpDeliveryFailed('c1')).toBe(false);
    expect(await tracker.report(sid(1), 'failed')).toBeUndefined();
  });
});

describe('what RedisDeliveryTracker leaves in Redis', () => {
  it('holds neither the number nor the conversation key in clear, and every key expires within the tracking period', async () => {
    const { tracker, sid } = setUp();
    const conversationKey = `whatsapp:${TO}`;
    await tracker.sent(sid(1), { purpose: 'otp', conversationKey, to: TO });
    await tracker.report(sid(1), 'failed', 30003);
    const keys = (await listKeys(a, prefix)).filter((k) => k.includes(sid(1)) || k.includes(':sms-otp:'));
    const stored: string[] = [];
    for (const key of keys) {
      stored.push(key);
      const ttl = await a.pTTL(key);
      expect(ttl).toBeGreaterThan(0);
      expect(ttl).toBeLessThanOrEqual(DELIVERY_TRACKING_TTL_MS);
      if ((await a.type(key)) === 'hash') stored.push(...Object.values(await a.hGetAll(key)));
      else stored.push(String(await a.get(key)));
    }
    for (const secret of [TO, TO.slice(1), TO.slice(4)]) expect(stored.join('\n')).not.toContain(secret);
  });

  it('reads entries sealed with an older key after rotation, and none once that key is dropped', async () => {
    const k1 = `k1:${Buffer.alloc(32, 1).toString('base64')}`;
    const k2 = `k2:${Buffer.alloc(32, 2).toString('base64')}`;
    const clock = new ManualClock();
    const sid = `SM${++run}rot`;
    await new RedisDeliveryTracker(a, parseStateKeys(k1), clock, { prefix }).sent(sid, otp());
    expect(await new RedisDeliveryTracker(a, parseStateKeys(`${k2},${k1}`), clock, { prefix }).report(sid, 'sent')).toMatchObject({ to: TO });
    expect(await new RedisDeliveryTracker(a, parseStateKeys(k2), clock, { prefix }).report(sid, 'sent')).toBeUndefined();
  });

  it('rejects with StateUnavailableError when Redis cannot answer', async () => {
    const gone = await connectTestClient();
    gone.destroy();
    const tracker = new RedisDeliveryTracker(gone, ephemeralStateKeys(), new ManualClock(), { prefix });
    await expect(tracker.sent('SMgone', otp())).rejects.toBeInstanceOf(StateUnavailableError);
    await expect(tracker.report('SMgone', 'failed')).rejects.toBeInstanceOf(StateUnavailableError);
    await expect(tracker.otpDeliveryFailed('c1')).rejects.toBeInstanceOf(StateUnavailableError);
  });
});
