import { ManualClock } from '../../src/clock';
import { behavesAsAnOtpService } from '../support/otpServiceBehaviour';
import { OTP_MAX_ATTEMPTS, OTP_MAX_CODES_PER_HOUR, OTP_RESEND_COOLDOWN_MS } from '../../src/services/otp/otpService';
import { RedisOtpSendLimits, RedisOtpService } from '../../src/services/otp/redisOtpService';
import type { OutboundSms, SmsSender } from '../../src/services/types';
import { ephemeralStateKeys } from '../../src/state/keys';
import { StateUnavailableError, type RedisClient } from '../../src/state/redis';
import { closeTestClient, connectTestClient, deleteKeys, listKeys, newTestPrefix } from '../support/redis';

const PHONE = '+212612345678';
let a: RedisClient;
let b: RedisClient;
const prefixes: string[] = [];

beforeAll(async () => {
  a = await connectTestClient();
  b = await connectTestClient();
});

afterAll(async () => {
  for (const prefix of prefixes) if (a?.isReady) await deleteKeys(a, prefix);
  await closeTestClient(a);
  await closeTestClient(b);
});

/**
 * Two instances of the service (two clients, one prefix and secret) and one clock. Each test has
 * its own prefix: the limits are per number and the tests all use the same number.
 */
function setUp(generate?: () => string) {
  const prefix = newTestPrefix();
  prefixes.push(prefix);
  const { hashSecret } = ephemeralStateKeys();
  const clock = new ManualClock();
  const sent: OutboundSms[] = [];
  const sms: SmsSender = {
    send: async (m) => {
      sent.push(m);
      return {};
    },
  };
  const otp = new RedisOtpService({ sms, redis: a, hashSecret, clock, prefix, generate });
  const other = new RedisOtpService({ sms, redis: b, hashSecret, clock, prefix, generate });
  const lastCode = () => /\b(\d{6})\b/.exec(sent[sent.length - 1]!.body)![1]!;
  return { prefix, hashSecret, clock, sent, otp, other, lastCode };
}

describe('RedisOtpService (as InMemoryOtpService)', () => behavesAsAnOtpService(() => setUp()));

describe('RedisOtpService across two instances', () => {
  it('checks on one instance a code sent by the other', async () => {
    const { otp, other, lastCode } = setUp();
    await otp.send('c1', PHONE, 'fr');
    expect(await other.verify('c1', lastCode())).toEqual({ ok: true });
    expect(await otp.verify('c1', lastCode())).toEqual({ ok: false, reason: 'noCode' });
  });

  it('counts the tries of both instances together, even when they arrive at the same moment', async () => {
    const { otp, other, lastCode } = setUp();
    await otp.send('c1', PHONE, 'fr');
    const code = lastCode();
    const wrong = code === '000000' ? '111111' : '000000';
    const results = await Promise.all([...Array(8).keys()].map((i) => (i % 2 ? otp : other).verify('c1', wrong)));
    const left = results.filter((r) => r.ok === false && r.reason === 'wrong').map((r) => (r as { attemptsLeft: number }).attemptsLeft);
    // Each try counted once: 4, 3, 2, 1 tries left, then locked for every other one.
    expect([...left].sort()).toEqual([1, 2, 3, 4]);
    expect(results.filter((r) => r.ok === false && r.reason === 'locked')).toHaveLength(8 - (OTP_MAX_ATTEMPTS - 1));
    expect(await other.verify('c1', code)).toEqual({ ok: false, reason: 'locked' });
  });

  it('holds the cool-down and the hourly limit across instances, even for requests at the same moment', async () => {
    const { otp, other, clock, sent } = setUp();
    const first = await Promise.all([otp.send('c1', PHONE, 'fr'), other.send('c2', PHONE, 'fr'), otp.send('c3', PHONE, 'ar')]);
    expect(first.filter((r) => r.ok)).toHaveLength(1);
    expect(first.filter((r) => !r.ok)).toEqual([
      { ok: false, reason: 'cooldown', retryInSeconds: 60 },
      { ok: false, reason: 'cooldown', retryInSeconds: 60 },
    ]);
    clock.advance(OTP_RESEND_COOLDOWN_MS);
    expect(await other.send('c2', PHONE, 'fr')).toEqual({ ok: true });
    clock.advance(OTP_RESEND_COOLDOWN_MS);
    expect(await otp.send('c1', PHONE, 'fr')).toEqual({ ok: true });
    clock.advance(OTP_RESEND_COOLDOWN_MS);
    expect(await other.send('c4', PHONE, 'fr')).toEqual({ ok: false, reason: 'hourlyLimit' });
    expect(sent).toHaveLength(OTP_MAX_CODES_PER_HOUR);
  });

  it('RedisOtpSendLimits can stand alone (in front of Twilio Verify), shared the same way', async () => {
    const { prefix, hashSecret, clock } = setUp();
    const one = new RedisOtpSendLimits(a, hashSecret, clock, { prefix });
    const two = new RedisOtpSendLimits(b, hashSecret, clock, { prefix });
    expect(await one.take(PHONE)).toEqual({ ok: true });
    expect(await two.take(PHONE)).toEqual({ ok: false, reason: 'cooldown', retryInSeconds: 60 });
    expect(await two.take('+212600000000')).toEqual({ ok: true });
  });
});

describe('what RedisOtpService leaves in Redis', () => {
  it('holds no code, phone number or conversation key in clear in any key or value, and every key expires', async () => {
    // Fixed codes, so that no timestamp can contain one by chance.
    const codes = ['482913', '730561'];
    const { prefix, otp, clock, sent } = setUp(() => codes.shift()!);
    const conversation = `whatsapp:${PHONE}`;
    await otp.send(conversation, PHONE, 'fr');
    clock.advance(OTP_RESEND_COOLDOWN_MS);
    await otp.send(conversation, PHONE, 'fr');
    await otp.verify(conversation, '999999');
    const secrets = [...new Set(sent.map((m) => /\b(\d{6})\b/.exec(m.body)![1]!)), PHONE, PHONE.slice(1), PHONE.slice(4)];

    const keys = await listKeys(a, prefix);
    expect(keys.length).toBeGreaterThanOrEqual(2);
    const stored: string[] = [];
    for (const key of keys) {
      stored.push(key);
      expect(await a.pTTL(key)).toBeGreaterThan(0);
      const type = await a.type(key);
      if (type === 'string') stored.push(String(await a.get(key)));
      else if (type === 'hash') stored.push(...Object.entries(await a.hGetAll(key)).flat());
      else if (type === 'zset') stored.push(...(await a.zRangeWithScores(key, 0, -1)).flatMap((m) => [m.value, String(m.score)]));
      else throw new Error(`unexpected type ${type} at ${key}`);
    }
    const everything = stored.join('\n');
    for (const secret of secrets) expect(everything).not.toContain(secret);
  });
});

describe('RedisOtpService when Redis cannot answer', () => {
  it('rejects with StateUnavailableError and sends no SMS', async () => {
    const gone = await connectTestClient();
    gone.destroy();
    const { hashSecret, clock, sent, prefix } = setUp();
    const sms: SmsSender = { send: async (m) => (sent.push(m), {}) };
    const otp = new RedisOtpService({ sms, redis: gone, hashSecret, clock, prefix });
    await expect(otp.send('c1', PHONE, 'fr')).rejects.toBeInstanceOf(StateUnavailableError);
    await expect(otp.verify('c1', '123456')).rejects.toBeInstanceOf(StateUnavailableError);
    await expect(otp.forget('c1')).rejects.toBeInstanceOf(StateUnavailableError);
    expect(sent).toHaveLength(0);
  });
});
