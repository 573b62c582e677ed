import { request as httpRequest, Agent } from 'node:http';
import type { ServerResponse } from 'node:http';
import { closeTestClient, connectTestClient, deleteKeys, listKeys, newTestPrefix, TEST_REDIS_URL } from '../support/redis';
import { startMisbehavingServer, startReferenceRegistry, type MisbehavingServer, type RecordedRequest, type ReferenceRegistry } from '../support/registryServers';
import { messageSid, OUR_WHATSAPP, parseTwiml, encodeForm } from '../support/twilioServer';
import { newStateKey, startTasjilProcess, type TasjilProcess } from '../support/tasjilProcess';
import type { RedisClient } from '../../src/state/redis';

/**
 * A restart as an orchestrator does it: SIGTERM to the real process while a worker's turn waits on
 * a slow registry. The instance leaves the balancer at once (/readyz 503), still serves what
 * arrives, sends the late "checking…" result, and exits 0 within SHUTDOWN_GRACE_MS.
 */

const GRACE_MS = 15_000;

/** The reference registry behind a front that holds each look-up for `lookupDelayMs`. */
async function slowRegistry(reference: ReferenceRegistry): Promise<MisbehavingServer & { lookupDelayMs: number }> {
  const settings = { lookupDelayMs: 0 };
  const front = await startMisbehavingServer((req: RecordedRequest, res: ServerResponse) => {
    const delay = req.path.endsWith('/people/lookup') ? settings.lookupDelayMs : 0;
    const timer = setTimeout(() => {
      const headers: Record<string, string> = {};
      for (const name of ['content-type', 'x-api-key', 'accept']) {
        const value = req.headers[name];
        if (typeof value === 'string') headers[name] = value;
      }
      void fetch(`${reference.url}${req.path}`, { method: req.method, headers, body: req.method === 'GET' ? undefined : req.body }).then(
        async (answer) => {
          const body = await answer.text();
          res.writeHead(answer.status, { 'content-type': answer.headers.get('content-type') ?? 'application/json' });
          res.end(body);
        },
        () => res.destroy(),
      );
    }, delay);
    res.on('close', () => clearTimeout(timer));
  });
  return Object.defineProperty(front, 'lookupDelayMs', { get: () => settings.lookupDelayMs, set: (ms: number) => (settings.lookupDelayMs = ms) }) as MisbehavingServer & {
    lookupDelayMs: number;
  };
}

/** One WhatsApp message, posted as Twilio would (unsigned: no TWILIO_AUTH_TOKEN outside production). */
async function say(base: string, phone: string, body: string): Promise<{ status: number; text: string }> {
  const sid = messageSid();
  const form = { MessageSid: sid, SmsMessageSid: sid, AccountSid: `AC${'0'.repeat(32)}`, From: `whatsapp:${phone}`, To: OUR_WHATSAPP, Body: body, NumMedia: '0' };
  const res = await fetch(`${base}/api/twilio/messages`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: encodeForm(form) });
  const raw = await res.text();
  return { status: res.status, text: res.status === 200 ? parseTwiml(raw).join('\n') : raw };
}

/** The portal's form up to its summary, for someone the registry does not know (outcome C). */
const FORM_TO_SUMMARY: [string, string][] = [
  ['Bonjour', "Quelle pièce d'identité"],
  ['1', 'numéro'],
  ['ZZ999999', "Date d'expiration"],
  ['15/11/2030', 'date de naissance'],
  ['02/07/1990', 'mobile'],
  ['0612345678', 'opérateur'],
  ['2', 'e-mail'],
  ['passer', 'Vérifiez vos réponses'],
];

describe('SIGTERM: a clean restart', () => {
  let reference: ReferenceRegistry;
  let registry: MisbehavingServer & { lookupDelayMs: number };
  let redis: RedisClient;
  const prefix = newTestPrefix();
  const running: TasjilProcess[] = [];

  beforeAll(async () => {
    redis = await connectTestClient();
    reference = await startReferenceRegistry();
    registry = await slowRegistry(reference);
  });
  afterEach(async () => {
    await Promise.all(running.splice(0).map((p) => p.kill()));
  });
  afterAll(async () => {
    await registry?.stop();
    await reference?.stop();
    if (redis) await deleteKeys(redis, prefix);
    await closeTestClient(redis);
  });

  it('leaves the balancer at once, serves what still arrives, sends the late reply, exits 0; the next instance goes on', async () => {
    const env = {
      REDIS_URL: TEST_REDIS_URL,
      REDIS_KEY_PREFIX: prefix,
      STATE_ENCRYPTION_KEY: newStateKey(),
      REGISTRY_URL: registry.url,
      REGISTRY_TIMEOUT_MS: '10000',
      TWILIO_REPLY_BUDGET_MS: '500',
      SHUTDOWN_GRACE_MS: String(GRACE_MS),
    };
    const first = await startTasjilProcess(env);
    running.push(first);
    const worker = '+212612000001';
    for (const [text, expected] of FORM_TO_SUMMARY) expect((await say(first.base, worker, text)).text).toContain(expected);

    // The registry now takes 6 s: the reply budget (0.5 s) runs out, the worker hears "checking…".
    registry.lookupDelayMs = 6000;
    const lookupsBefore = registry.received.filter((r) => r.path.endsWith('/people/lookup')).length;
    expect((await say(first.base, worker, 'oui')).text).toContain('Je vérifie');
    expect(registry.received.filter((r) => r.path.endsWith('/people/lookup')).length).toBe(lookupsBefore + 1);

    const signalledAt = Date.now();
    first.child.kill('SIGTERM');
    await first.waitForLog('shutdown.start');
    const ready = await fetch(`${first.base}/readyz`);
    expect(ready.status).toBe(503);
    // The balancer has not noticed yet: what still comes is served (a message, a delivery report,
    // an Emulator turn).
    const late = await say(first.base, '+212612000002', 'Bonjour');
    expect(late.status).toBe(200);
    expect(late.text).toContain("Quelle pièce d'identité");
    const statusCallback = await fetch(`${first.base}/api/twilio/status`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: encodeForm({ MessageSid: messageSid(), MessageStatus: 'delivered' }),
    });
    expect(statusCallback.status).toBe(204);
    const emulator = await fetch(`${first.base}/api/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        type: 'message',
        text: 'Bonjour',
        channelId: 'emulator',
        deliveryMode: 'expectReplies',
        from: { id: 'tester' },
        recipient: { id: 'bot' },
        conversation: { id: 'drain' },
      }),
    });
    expect(emulator.status).toBe(200);

    const exit = await first.exited;
    expect(exit).toEqual({ code: 0, signal: null });
    expect(Date.now() - signalledAt).toBeLessThan(GRACE_MS);
    // The "checking…" result went out during the drain (the dev outbox stands for Twilio here).
    const events = first.logs.map((line) => line.event);
    const start = events.indexOf('shutdown.start');
    const sentLate = first.logs.findIndex((line, i) => i > start && line.event === 'outbox.sent' && line.channel === 'whatsapp');
    expect(sentLate).toBeGreaterThan(start);
    const end = first.logs.find((line) => line.event === 'shutdown.end')!;
    expect(end).toMatchObject({ drained: true, exitCode: 0, closed: true, leasesReleased: 0 });
    expect(events.indexOf('shutdown.end')).toBeGreaterThan(sentLate);
    // Nothing of the turn queue is left behind for another instance to wait on.
    expect(await listKeys(redis, `${prefix}turn:`)).toEqual([]);

    // The late turn's answers were saved: the next instance asks the worker's activity.
    registry.lookupDelayMs = 0;
    const second = await startTasjilProcess(env);
    running.push(second);
    expect((await say(second.base, worker, '5')).text).toContain('apportez');
  }, 120_000);

  it('past the grace period: what is still running is counted, its lease released, exit code 1', async () => {
    const env = {
      REDIS_URL: TEST_REDIS_URL,
      REDIS_KEY_PREFIX: prefix,
      STATE_ENCRYPTION_KEY: newStateKey(),
      REGISTRY_URL: registry.url,
      REGISTRY_TIMEOUT_MS: '20000',
      TWILIO_REPLY_BUDGET_MS: '500',
      SHUTDOWN_GRACE_MS: '1000',
    };
    const proc = await startTasjilProcess(env);
    running.push(proc);
    const worker = '+212612000003';
    registry.lookupDelayMs = 0;
    for (const [text, expected] of FORM_TO_SUMMARY) expect((await say(proc.base, worker, text)).text).toContain(expected);
    registry.lookupDelayMs = 15_000;
    expect((await say(proc.base, worker, 'oui')).text).toContain('Je vérifie');
    // The turn holds its conversation's lease in Redis while the registry thinks.
    expect(await listKeys(redis, `${prefix}turn:`)).toHaveLength(1);

    proc.child.kill('SIGTERM');
    const exit = await proc.exited;
    expect(exit.code).toBe(1);
    const end = proc.logs.find((line) => line.event === 'shutdown.end')!;
    expect(end).toMatchObject({ drained: false, exitCode: 1, leasesReleased: 1, abandoned: { turns: 1, lateReplies: 1 } });
    // Released, not left to run out: another instance may serve this worker at once.
    expect(await listKeys(redis, `${prefix}turn:`)).toEqual([]);
  }, 120_000);

  it('a second signal during the drain stops at once, exit code 1, without a crash', async () => {
    const proc = await startTasjilProcess({ REGISTRY_URL: registry.url, REGISTRY_TIMEOUT_MS: '20000', TWILIO_REPLY_BUDGET_MS: '500', SHUTDOWN_GRACE_MS: '60000' });
    running.push(proc);
    const worker = '+212612000004';
    registry.lookupDelayMs = 0;
    for (const [text, expected] of FORM_TO_SUMMARY) expect((await say(proc.base, worker, text)).text).toContain(expected);
    registry.lookupDelayMs = 15_000;
    expect((await say(proc.base, worker, 'oui')).text).toContain('Je vérifie');

    proc.child.kill('SIGTERM');
    await proc.waitForLog('shutdown.start');
    proc.child.kill('SIGTERM');
    const exit = await proc.exited;
    expect(exit).toEqual({ code: 1, signal: null });
    expect(proc.logs.find((line) => line.event === 'shutdown.forced')).toMatchObject({ signal: 'SIGTERM' });
    // Nothing thrown on the way out (stderr only carries restify's deprecation notice on Node 20).
    expect(proc.stderr()).not.toMatch(/Error\b|\n\s+at /);
  }, 120_000);

  it('an idle keep-alive connection does not hold the exit', async () => {
    const proc = await startTasjilProcess({ SHUTDOWN_GRACE_MS: '60000' });
    running.push(proc);
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const socketClosed = new Promise<void>((resolve, reject) => {
      const req = httpRequest(`${proc.base}/healthz`, { agent }, (res) => {
        res.resume();
        res.once('end', () => {
          expect(res.headers.connection).toBe('keep-alive');
          // The agent keeps the socket open, idle, for the next request.
          req.socket!.once('close', () => resolve());
        });
      });
      req.once('error', reject);
      req.end();
    });
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(Object.values(agent.freeSockets).flat()).toHaveLength(1);

    const signalledAt = Date.now();
    proc.child.kill('SIGTERM');
    const exit = await proc.exited;
    await socketClosed;
    agent.destroy();
    expect(exit).toEqual({ code: 0, signal: null });
    // Not a speed check: the grace period is 60 s, an exit held by the connection would wait for it.
    expect(Date.now() - signalledAt).toBeLessThan(30_000);
    expect(proc.logs.find((line) => line.event === 'shutdown.end')).toMatchObject({ drained: true, exitCode: 0 });
  }, 120_000);
});
