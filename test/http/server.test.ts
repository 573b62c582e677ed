import type { AddressInfo } from 'node:net';
import { networkInterfaces } from 'node:os';
import type { Server } from 'restify';
import { createApp } from '../../src/app';
import { loadConfig, type Config } from '../../src/config';
import { createLogger } from '../../src/log';
import { warmUpDateRecognizer } from '../../src/nlu/dates';
import { createServer, isLoopbackAddress } from '../../src/server';

/** The routes over real HTTP, on an ephemeral port, as the Emulator or a probe would call them. */
async function start(overrides: Partial<Config> = {}): Promise<{ server: Server; base: string }> {
  const config = { ...loadConfig({ NODE_ENV: 'test' }), ...overrides };
  const server = createServer(createApp(config, createLogger('silent')));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { server, base: `http://127.0.0.1:${port}` };
}

function activity(text: string, extra: Record<string, unknown> = {}) {
  return {
    type: 'message',
    id: `m-${Math.random()}`,
    text,
    channelId: 'emulator',
    serviceUrl: 'http://localhost:9',
    deliveryMode: 'expectReplies',
    locale: 'en-US',
    from: { id: 'tester' },
    recipient: { id: 'bot' },
    conversation: { id: 'conv-http' },
    ...extra,
  };
}

async function post(base: string, body: unknown): Promise<{ status: number; json: { activities?: { text: string }[]; reason?: string } }> {
  const res = await fetch(`${base}/api/messages`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : {} };
}

const texts = (r: { json: { activities?: { text: string }[] } }) => (r.json.activities ?? []).map((a) => a.text).join('\n');

describe('HTTP routes', () => {
  let server: Server;
  let base: string;
  beforeAll(async () => {
    warmUpDateRecognizer();
    ({ server, base } = await start());
  }, 30000);
  afterAll(() => server.close());

  it('answers liveness and readiness', async () => {
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    const ready = await fetch(`${base}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ status: 'ready', checks: { registry: true, dateRecognizer: true } });
  });

  it('runs a whole check over /api/messages with expectReplies, to outcome B, the SMS in the dev outbox', async () => {
    const conversation = { conversation: { id: 'conv-b' } };
    const steps: [string, string][] = [
      ['bonjour', "Quelle pièce d'identité"],
      ['1', 'numéro de votre CNIE'],
      ['CD112233', "Date d'expiration"],
      ['10/01/2032', 'date de naissance'],
      ['25/12/1978', 'numéro de mobile'],
      ['0699887766', 'opérateur'],
      ['2', 'e-mail'],
      ['passer', 'Vérifiez vos réponses'],
      ['oui', 'code à 6 chiffres'],
    ];
    for (const [text, expected] of steps) {
      const reply = await post(base, activity(text, conversation));
      expect(reply.status).toBe(200);
      expect(texts(reply)).toContain(expected);
    }
    const outbox = (await (await fetch(`${base}/dev/outbox`)).json()) as { messages: { to: string; body: string; channel: string; at: string }[] };
    const sms = outbox.messages.filter((m) => m.to === '+212699887766');
    expect(sms).toHaveLength(1);
    expect(sms[0]).toMatchObject({ channel: 'sms' });
    const code = /\b\d{6}\b/.exec(sms[0]!.body)![0];
    const done = await post(base, activity(code, conversation));
    expect(texts(done)).toContain('333444555');
    expect(texts(done)).not.toContain(code);
  });

  it('refuses to call back a serviceUrl that is not on this machine when there is no app id', async () => {
    const reply = await post(base, activity('bonjour', { deliveryMode: undefined, serviceUrl: 'https://attacker.example.com' }));
    expect(reply.status).toBe(403);
    expect(reply.json.reason).toMatch(/serviceUrl/);
  });

  it('a malformed body is a 400, not a crash', async () => {
    const res = await fetch(`${base}/api/messages`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"type": "message", ' });
    expect(res.status).toBe(400);
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
  });

  it('refuses a Twilio post bigger than any real form with 413, without reading it all, and keeps serving', async () => {
    const huge = `Body=${'a'.repeat(300 * 1024)}`;
    const res = await fetch(`${base}/api/twilio/messages`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: huge });
    expect(res.status).toBe(413);
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
  });

  it('recognizes loopback callers only', () => {
    expect(['127.0.0.1', '::1', '::ffff:127.0.0.1', '127.5.5.5'].map(isLoopbackAddress)).toEqual([true, true, true, true]);
    expect(['10.0.0.1', '192.168.1.2', '::ffff:8.8.8.8', '', undefined].map(isLoopbackAddress)).toEqual([false, false, false, false, false]);
  });
});

/** An address of this machine that is not loopback (CI machines have one), to call as a remote caller would. */
function lanAddress(): string | undefined {
  return Object.values(networkInterfaces())
    .flat()
    .find((i) => i && i.family === 'IPv4' && !i.internal)?.address;
}

describe('called from another machine (HOST=0.0.0.0)', () => {
  const address = lanAddress();
  const maybe = address ? it : it.skip;

  maybe('refuses the dev outbox (it holds OTPs and passwords) and /api/messages without an app id', async () => {
    const config = { ...loadConfig({ NODE_ENV: 'test' }) };
    const server = createServer(createApp(config, createLogger('silent')));
    await new Promise<void>((resolve) => server.listen(0, '0.0.0.0', resolve));
    const { port } = server.address() as AddressInfo;
    const remote = `http://${address}:${port}`;
    try {
      expect((await fetch(`${remote}/dev/outbox`)).status).toBe(403);
      const refused = await post(remote, activity('Bonjour'));
      expect(refused.status).toBe(403);
      // The same server still answers this machine.
      expect((await fetch(`http://127.0.0.1:${port}/dev/outbox`)).status).toBe(200);
    } finally {
      server.close();
    }
  });
});

describe('in production', () => {
  it('serves no dev outbox', async () => {
    const { server, base } = await start({ NODE_ENV: 'production', isProduction: true, isDevelopment: false });
    try {
      expect((await fetch(`${base}/dev/outbox`)).status).toBe(404);
    } finally {
      server.close();
    }
  });
});
