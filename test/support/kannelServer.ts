import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import type { Server } from 'restify';
import { createApp, type App } from '../../src/app';
import { ManualClock } from '../../src/clock';
import { loadConfig } from '../../src/config';
import { createLogger } from '../../src/log';
import { createServer } from '../../src/server';
import { freePort, startKannel, type RunningKannel } from './kannel';
import { deleteKeys, newTestPrefix, TEST_REDIS_URL, waitUntilReady } from './redis';
import { startPlayedSmsc, type PlayedSmsc, type SubmittedSms } from './smsc';
import { startTcpProxy, type TcpProxy } from './tcpProxy';
import { sampleRegistry } from './twilioServer';
import type { SwitchableRegistry } from './harness';

/**
 * The whole chain on loopback: the operator's SMSC (played over SMPP) ⇄ a real Kannel started
 * from docs/kannel/kannel.conf ⇄ Tasjil over real HTTP, its state in the real Redis. Tasjil
 * reaches Kannel's sendsms through a TCP proxy the test can cut ("Kannel's sendsms is down").
 */

export const SHORT_CODE = '2020';
export const INBOUND_TOKEN = 'kannel-test-token-0123456789abcdef0123';
const SMPP = { systemId: 'tasjil', password: 'smpp-pw' };
const SENDSMS_USER = { username: 'tasjil', password: 'sendsms-test-pw' };

export interface KannelChain {
  app: App;
  clock: ManualClock;
  registry: SwitchableRegistry;
  smsc: PlayedSmsc;
  kannel: RunningKannel;
  /** Between Tasjil and Kannel's sendsms. */
  sendsms: TcpProxy;
  /** http://127.0.0.1:<port> of Tasjil. */
  base: string;
  logLines: string[];
  /** Messages Tasjil's Kannel route has answered 200 (a turn ran). */
  handled(): number;
  /** SMS Kannel's sendsms took from Tasjil (accepted or queued). */
  taken(): number;
  /**
   * The worker sends an SMS to the short code; resolves with every SMS the SMSC got for them
   * because of it (chat replies, an OTP, a password), once Tasjil has answered and Kannel passed
   * on everything it took.
   */
  say(phone: string, text: string): Promise<SubmittedSms[]>;
  /** Waits until every SMS Kannel took has reached the SMSC. */
  settle(): Promise<void>;
  /** Stops Tasjil and starts it again on the same port and Redis (a restart). */
  restartTasjil(): Promise<void>;
  /** Stops the in-process Tasjil (gracefully), and starts it again: another Tasjil may serve the port meanwhile. */
  stopTasjil(): Promise<void>;
  startTasjil(): Promise<void>;
  /** The port Kannel calls Tasjil on, and Tasjil's variables: for a Tasjil in a process of its own. */
  tasjilPort: number;
  tasjilEnv: Record<string, string>;
  close(): Promise<void>;
}

export async function until(condition: () => boolean, what: string, timeoutMs = 15000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** SMPP carries the worker's number as international digits, as Moroccan SMSCs send it. */
export function smppAddress(e164: string): string {
  return e164.replace(/^\+/, '');
}

/**
 * How long a message stays "in progress" after its instance died, in these tests: longer than the
 * turn queue's lease (15 s), as in production (90 s), so that the dead instance's hold on the
 * sender's turns has lapsed when its message is taken again; short enough for Kannel's retries in
 * the tests (http-request-retry of kannel.conf, 1 s apart).
 */
export const TEST_CLAIM_LEASE_MS = 17_000;

/** What the chain's Tasjil is given beyond its variables (test/support/hungRegistryTasjil.ts too). */
export const KANNEL_CHAIN_OVERRIDES = {
  kannelReplyRetry: { maxAttempts: 40, initialDelayMs: 100, maxDelayMs: 500 },
  kannelOtpRetry: { maxAttempts: 1, initialDelayMs: 100, maxDelayMs: 100 },
  kannelClaimLeaseMs: TEST_CLAIM_LEASE_MS,
};

export async function startKannelChain(options: { replyRetry?: { maxAttempts: number; initialDelayMs: number; maxDelayMs: number } } = {}): Promise<KannelChain> {
  const clock = new ManualClock();
  const registry = sampleRegistry(clock);
  const smsc = await startPlayedSmsc(SMPP);
  const tasjilPort = await freePort();
  const base = `http://127.0.0.1:${tasjilPort}`;
  let kannel: RunningKannel | undefined;
  let sendsms: TcpProxy | undefined;
  try {
    kannel = await startKannel({
      smsc: { port: smsc.port, ...SMPP },
      getUrl: `${base}/api/kannel/messages?token=${INBOUND_TOKEN}&id=%I&from=%p&to=%P&ts=%T&text=%a`,
      sendsmsUser: SENDSMS_USER,
    });
    sendsms = await startTcpProxy({ host: '127.0.0.1', port: kannel.sendsmsPort });
  } catch (error) {
    await kannel?.stop();
    await smsc.close();
    throw error;
  }
  const prefix = newTestPrefix();
  const tasjilEnv: Record<string, string> = {
    NODE_ENV: 'test',
    REDIS_URL: TEST_REDIS_URL,
    REDIS_KEY_PREFIX: prefix,
    STATE_ENCRYPTION_KEY: `k1:${Buffer.alloc(32, 7).toString('base64')}`,
    KANNEL_SENDSMS_URL: `http://127.0.0.1:${sendsms.port}/cgi-bin/sendsms`,
    KANNEL_USERNAME: SENDSMS_USER.username,
    KANNEL_PASSWORD: SENDSMS_USER.password,
    KANNEL_FROM: SHORT_CODE,
    KANNEL_INBOUND_TOKEN: INBOUND_TOKEN,
    KANNEL_STATUS_URL: `${base}/api/kannel/status`,
  };
  const config = loadConfig(tasjilEnv);
  const logLines: string[] = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      logLines.push(String(chunk));
      done();
    },
  });
  let handled = 0;
  let app!: App;
  let server!: Server;
  const startTasjil = async () => {
    app = createApp(config, createLogger('trace', sink), {
      clock,
      registry,
      ...KANNEL_CHAIN_OVERRIDES,
      kannelReplyRetry: options.replyRetry ?? KANNEL_CHAIN_OVERRIDES.kannelReplyRetry,
    });
    if (app.redis) await waitUntilReady(app.redis);
    // Counts the messages Tasjil has finished with (the route answered), to know when a turn is over.
    const webhook = app.kannelWebhook;
    const messages = webhook.messages.bind(webhook);
    webhook.messages = async (req, res) => {
      await messages(req, res);
      if (res.statusCode === 200) handled += 1;
    };
    server = createServer(app);
    await new Promise<void>((resolve) => server.listen(tasjilPort, '127.0.0.1', resolve));
  };
  const stopTasjil = async () => {
    if (!server) return;
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await app.kannelWebhook.idle();
    await app.close();
  };
  try {
    await startTasjil();
    // bearerbox binds to the SMSC a moment after it starts (and again after reconnect-delay).
    await Promise.race([
      smsc.bound(),
      new Promise((_resolve, reject) => setTimeout(() => reject(new Error(`Kannel did not bind to the SMSC within 20 s\n${kannel!.logs()}`)), 20000).unref()),
    ]);
  } catch (error) {
    await stopTasjil().catch(() => undefined);
    await kannel.stop();
    await sendsms.close();
    await smsc.close();
    throw error;
  }

  const taken = () => logLines.filter((line) => /"provider":"kannel"|"sender":"kannel"/.test(line) && /"event":"(channel|sms)\.sent"/.test(line)).length;
  const settle = async () => {
    await app.kannelWebhook.idle();
    const expected = taken();
    await until(() => smsc.submitted.length >= expected, `${expected} SMS at the SMSC (got ${smsc.submitted.length})`);
  };
  const chain: KannelChain = {
    get app() {
      return app;
    },
    clock,
    registry,
    smsc,
    kannel,
    sendsms,
    base,
    logLines,
    handled: () => handled,
    taken,
    settle,
    async say(phone, text) {
      const before = handled;
      await smsc.deliver(smppAddress(phone), SHORT_CODE, text);
      await until(() => handled > before, `Tasjil to handle ${JSON.stringify(text.slice(0, 20))}`);
      await settle();
      const to = smppAddress(phone);
      const replies = smsc.pendingFor(to);
      for (let i = 0; i < replies.length; i++) await smsc.nextTo(to);
      return replies;
    },
    async restartTasjil() {
      await stopTasjil();
      await startTasjil();
    },
    stopTasjil,
    startTasjil,
    tasjilPort,
    tasjilEnv,
    async close() {
      await stopTasjil().catch(() => undefined);
      await kannel!.stop();
      await sendsms!.close();
      await smsc.close();
      const { createRedis } = await import('../../src/state/redis');
      const cleaner = createRedis(TEST_REDIS_URL, createLogger('silent'));
      await waitUntilReady(cleaner);
      await deleteKeys(cleaner, prefix);
      await cleaner.close();
    },
  };
  return chain;
}

/** The port a restify server listens on. */
export function portOf(server: Server): number {
  return (server.address() as AddressInfo).port;
}
