import { randomBytes } from 'node:crypto';
import { warmUpDateRecognizer } from '../../src/nlu/dates';
import { REDIS_CALL_TIMEOUT_MS, type RedisClient } from '../../src/state/redis';
import { closeTestClient, connectTestClient, deleteKeys, newTestPrefix, waitUntilReady } from '../support/redis';
import { startTcpProxy, type TcpProxy } from '../support/tcpProxy';
import { eventually, messageSid, startTwilioServer, statusForm, type TwilioTestServer } from '../support/twilioServer';

/**
 * Redis going away and coming back, under a running app: the app reaches Redis through a proxy
 * the test cuts and restores (and, once, through a connection killed with CLIENT KILL).
 */

const REDIS = { host: '127.0.0.1', port: 6379 };
const STATE_ENCRYPTION_KEY = `k1:${randomBytes(32).toString('base64')}`;
const APOLOGY_FR = 'Réessayez dans un instant';
const prefix = newTestPrefix();

let proxy: TcpProxy;
let server: TwilioTestServer | undefined;

beforeAll(() => warmUpDateRecognizer(), 30000);
afterEach(async () => {
  await server?.close();
  server = undefined;
  await proxy?.close();
});
afterAll(async () => {
  const client = await connectTestClient();
  await deleteKeys(client, prefix);
  await closeTestClient(client);
});

async function readiness(base: string): Promise<{ status: number; body: { checks?: { state?: boolean } } }> {
  const res = await fetch(`${base}/readyz`);
  return { status: res.status, body: (await res.json()) as { checks?: { state?: boolean } } };
}

const env = (url: string) => ({ REDIS_URL: url, STATE_ENCRYPTION_KEY, REDIS_KEY_PREFIX: prefix });

describe('Redis down at start', () => {
  it('the app starts anyway, /readyz says state is not ready, and it connects once Redis is there', async () => {
    proxy = await startTcpProxy(REDIS, { listening: false });
    server = await startTwilioServer({ env: env(proxy.url), waitForRedis: false });
    const before = await readiness(server.base);
    expect(before.status).toBe(503);
    expect(before.body.checks?.state).toBe(false);

    // A worker writing meanwhile is asked to try again, with a 200: Twilio must not retry.
    const user = server.whatsapp('+212650000001');
    const early = await user.say('Bonjour');
    expect(early.status).toBe(200);
    expect(early.text).toContain(APOLOGY_FR);
    expect(early.text).not.toContain('حاول بعد لحظة'); // "Bonjour" is French: one language

    await proxy.restore();
    await waitUntilReady(server.app.redis!, 10_000);
    await eventually(async () => (await readiness(server!.base)).status === 200, 10_000);
    expect((await user.say('Bonjour')).text).toContain('Quelle pièce d');
  }, 30000);
});

describe('Redis lost in the middle of a conversation', () => {
  it('the worker is asked to try again (HTTP 200, no crash), and the conversation resumes where it was once Redis is back', async () => {
    proxy = await startTcpProxy(REDIS);
    server = await startTwilioServer({ env: env(proxy.url) });
    const user = server.whatsapp('+212650000002');
    for (const text of ['Bonjour', '1', 'AB123456']) expect((await user.say(text)).status).toBe(200);

    await proxy.cut();
    await eventually(() => !server!.app.redis!.isReady);
    const lost = await user.say('30/06/2031');
    expect(lost.status).toBe(200);
    expect(lost.text).toContain(APOLOGY_FR);
    // A date says nothing of the language, and the conversation's is in the unreachable state: both.
    expect(lost.text).toContain('حاول بعد لحظة');
    expect((await readiness(server.base)).body.checks?.state).toBe(false);
    // A delivery report meanwhile: "later" (Twilio retries it), and nothing of ours in the answer.
    const report = await server.status(statusForm(messageSid(), 'delivered', { To: user.phone }));
    expect({ status: report.status, raw: report.raw }).toEqual({ status: 503, raw: '{"error":"unavailable"}' });

    await proxy.restore();
    await waitUntilReady(server.app.redis!, 10_000);
    // The expiry date question is still the one waiting: the same answer now goes through.
    expect((await user.say('30/06/2031')).text).toContain('Votre date de naissance');
    expect((await user.say('14/03/1985')).text).toContain('Recevoir les SMS sur ce numéro');
    expect((await readiness(server.base)).status).toBe(200);
  }, 30000);

  it('Redis stops answering (the connection stays open): the worker is asked to try again once the call deadline passes, and the conversation goes on when answers flow again', async () => {
    proxy = await startTcpProxy(REDIS);
    server = await startTwilioServer({ env: env(proxy.url) });
    const user = server.whatsapp('+212650000004');
    for (const text of ['Bonjour', '1']) expect((await user.say(text)).status).toBe(200);

    proxy.stall();
    const started = Date.now();
    const stalled = await user.say('AB123456');
    const waited = Date.now() - started;
    expect(stalled.status).toBe(200);
    expect(stalled.text).toContain(APOLOGY_FR);
    // Given up at the deadline (REDIS_CALL_TIMEOUT_MS), not left hanging until Twilio's 15 s.
    expect(waited).toBeGreaterThanOrEqual(REDIS_CALL_TIMEOUT_MS - 100);
    expect(waited).toBeLessThan(REDIS_CALL_TIMEOUT_MS + 2_000);

    proxy.flow();
    expect((await user.say('AB123456')).text).toContain("Date d'expiration de la pièce");
    expect((await user.say('30/06/2031')).text).toContain('Votre date de naissance');
  }, 30000);

  it('a connection killed with CLIENT KILL: no crash, every message answered, and the conversation goes on after the reconnect', async () => {
    proxy = await startTcpProxy(REDIS);
    const app = (server = await startTwilioServer({ env: env(proxy.url) })).app;
    const user = server.whatsapp('+212650000003');
    for (const text of ['Bonjour', '1']) await user.say(text);

    // The reconnect that follows the kill is held, so the next message surely finds Redis gone.
    proxy.holdNew();
    const admin = await connectTestClient();
    try {
      // REDIS_URL: the app's connection is node-redis's one-server client.
      const id = await (server.app.redis as RedisClient).clientId();
      expect(await admin.sendCommand(['CLIENT', 'KILL', 'ID', String(id)])).toBe(1);
    } finally {
      await closeTestClient(admin);
    }
    await eventually(() => !app.redis!.isReady, 5_000);
    const during = await user.say('AB123456');
    expect(during.status).toBe(200);
    expect(during.text).toContain(APOLOGY_FR);

    proxy.release();
    await waitUntilReady(server.app.redis!, 10_000);
    // Where it was: the card number is asked again (the answer during the outage was not kept).
    expect((await user.say('AB123456')).text).toContain("Date d'expiration de la pièce");
    expect((await user.say('30/06/2031')).text).toContain('Votre date de naissance');
  }, 30000);
});
