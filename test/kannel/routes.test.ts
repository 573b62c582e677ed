import type { AddressInfo } from 'node:net';
import type { Server } from 'restify';
import { createApp, type App } from '../../src/app';
import { loadConfig } from '../../src/config';
import { createLogger } from '../../src/log';
import { MessagePipeline } from '../../src/pipeline/messagePipeline';
import { createServer } from '../../src/server';

/**
 * Where the Kannel routes are served without Kannel: on one machine, unauthenticated, replies in
 * the dev outbox (to try the route with curl); in production without its token, not at all.
 */

async function serve(env: NodeJS.ProcessEnv): Promise<{ app: App; server: Server; base: string }> {
  const app = createApp(loadConfig(env), createLogger('silent'));
  const server = createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { app, server, base: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

async function stop({ app, server }: { app: App; server: Server }): Promise<void> {
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await app.close();
}

it('outside production, answers a call without a token, the reply in the dev outbox', async () => {
  const served = await serve({ NODE_ENV: 'development', LOG_LEVEL: 'silent' });
  try {
    const query = new URLSearchParams({ id: 'try-1', from: '0612345678', to: '2020', text: 'Bonjour' });
    const response = await fetch(`${served.base}/api/kannel/messages?${query}`);
    expect({ status: response.status, body: await response.text() }).toEqual({ status: 200, body: '' });
    await served.app.kannelWebhook.idle();
    const outbox = served.app.outbox.list();
    expect(outbox.map((m) => ({ to: m.to, channel: m.channel }))).toContainEqual({ to: '+212612345678', channel: 'sms' });
    expect(outbox.map((m) => m.body).join('\n')).toContain('je suis Tasjil');
  } finally {
    await stop(served);
  }
}, 20000);

it('answers 503 to a call whose handling failed, and handles its retry as new (one instance, no Redis)', async () => {
  const served = await serve({ NODE_ENV: 'development', LOG_LEVEL: 'silent' });
  // The first call fails after the pipeline took the message (a defect the pipeline did not catch).
  const receive = MessagePipeline.prototype.receive;
  const failOnce = jest.spyOn(MessagePipeline.prototype, 'receive').mockImplementationOnce(async function (this: MessagePipeline, ...args) {
    await receive.apply(this, args);
    throw new Error('transport defect');
  });
  try {
    const query = new URLSearchParams({ id: 'try-3', from: '0612345679', to: '2020', text: 'Bonjour' });
    const url = `${served.base}/api/kannel/messages?${query}`;
    const welcomes = () => served.app.outbox.list().filter((m) => m.to === '+212612345679').length;
    expect((await fetch(url)).status).toBe(503);
    await served.app.kannelWebhook.idle();
    expect(welcomes()).toBe(0);
    // Kannel's retry: the failed call gave its claim up, so it is handled, not taken for a duplicate.
    expect((await fetch(url)).status).toBe(200);
    await served.app.kannelWebhook.idle();
    expect(welcomes()).toBeGreaterThan(0);
    const sent = welcomes();
    // And once handled, a further retry is answered empty.
    expect((await fetch(url)).status).toBe(200);
    await served.app.kannelWebhook.idle();
    expect(welcomes()).toBe(sent);
  } finally {
    failOnce.mockRestore();
    await stop(served);
  }
}, 20000);

it('in production without KANNEL_INBOUND_TOKEN, serves no Kannel route', async () => {
  const served = await serve({
    NODE_ENV: 'production',
    LOG_LEVEL: 'silent',
    STATE_ENCRYPTION_KEY: `k1:${Buffer.alloc(32, 7).toString('base64')}`,
    TWILIO_ACCOUNT_SID: `AC${'0'.repeat(32)}`,
    TWILIO_AUTH_TOKEN: 't',
    TWILIO_WEBHOOK_URL: 'https://x.example/api/twilio/messages',
    TWILIO_SMS_FROM: 'CNSS',
    SIMULATOR_ENABLED: 'false',
  });
  try {
    const query = new URLSearchParams({ id: 'try-2', from: '0612345678', to: '2020', text: 'Bonjour' });
    expect((await fetch(`${served.base}/api/kannel/messages?${query}`)).status).toBe(404);
    expect((await fetch(`${served.base}/api/kannel/status?ref=x&sig=y&type=2`)).status).toBe(404);
  } finally {
    await stop(served);
  }
});
