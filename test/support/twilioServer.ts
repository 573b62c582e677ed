import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import type { Server } from 'restify';
import twilio from 'twilio';
import { createApp, type App } from '../../src/app';
import { createTwilioClient } from '../../src/channels/twilio/twilioClient';
import { ManualClock } from '../../src/clock';
import { DEFAULT_PEOPLE_FILE, loadConfig, type Config } from '../../src/config';
import { loadReferenceData } from '../../src/data/load';
import { createLogger } from '../../src/log';
import { EmbeddedRegistry } from '../../src/services/registry/embeddedRegistry';
import { loadPeopleFile } from '../../src/services/registry/peopleFile';
import type { Registry } from '../../src/services/types';
import { createServer } from '../../src/server';
import type { FakeTwilio } from './fakeTwilio';
import { SwitchableRegistry } from './harness';
import { waitUntilReady } from './redis';

/**
 * The Tasjil server on 127.0.0.1:0, driven the way Twilio drives it: form posts signed with the
 * twilio library's own `getExpectedTwilioSignature`, answers read as TwiML.
 *
 * Signatures are computed over TWILIO_WEBHOOK_URL (the public URL configured at Twilio), never over
 * the local URL the test actually posts to: exactly the situation behind a proxy or a tunnel.
 */

/** The public URLs configured at Twilio (the server is reached on 127.0.0.1, as behind a proxy). */
export const WEBHOOK_URL = 'https://tasjil.example.ma/api/twilio/messages';
export const STATUS_URL = 'https://tasjil.example.ma/api/twilio/status';
export const AUTH_TOKEN = 'a3f1c9e2b7d84f6a9c0e5b2d7f1a8c3e';
export const ACCOUNT_SID = `AC${'0123456789abcdef'.repeat(2)}`;
/** Our numbers: the WhatsApp sandbox sender and an SMS number. */
export const OUR_WHATSAPP = 'whatsapp:+14155238886';
export const OUR_SMS = '+15005550006';
/** The alphanumeric sender of OTP and password SMS. */
export const SMS_FROM = 'CNSS';

/** `SM` + 32 hex characters, as Twilio names a message. */
export function messageSid(): string {
  return `SM${randomBytes(16).toString('hex')}`;
}

/** The `<Message>` bodies of a TwiML `<Response>`, in order, XML entities unescaped. */
export function parseTwiml(xml: string): string[] {
  if (!/<Response\s*\/>|<Response[\s>]/.test(xml)) throw new Error(`not TwiML: ${xml.slice(0, 200)}`);
  const bodies: string[] = [];
  for (const match of xml.matchAll(/<Message(?:\s[^>]*)?(?:\/>|>([\s\S]*?)<\/Message>)/g)) bodies.push(unescapeXml(match[1] ?? ''));
  return bodies;
}

export function unescapeXml(text: string): string {
  return text.replace(/&(#x[0-9a-fA-F]+|#\d+|lt|gt|amp|quot|apos);/g, (_whole, entity: string) => {
    if (entity.startsWith('#x')) return String.fromCodePoint(parseInt(entity.slice(2), 16));
    if (entity.startsWith('#')) return String.fromCodePoint(parseInt(entity.slice(1), 10));
    return { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" }[entity]!;
  });
}

/** How a request is signed: as Twilio would, not at all, with another token, or for another URL. */
export type SignatureMode = 'valid' | 'none' | 'wrong-token' | 'other-url';

export type Form = Record<string, string | string[]>;

export interface PostOptions {
  signature?: SignatureMode;
  /** The URL to sign for (default: the route's public URL; with 'other-url', the local URL). */
  url?: string;
}

export interface TwilioReply {
  status: number;
  contentType: string | null;
  /** The raw response body. */
  raw: string;
  /** The TwiML `<Message>` bodies (empty unless a 200 with TwiML). */
  messages: string[];
  /** The messages joined by a line break, for `toContain`. */
  text: string;
}

/** A user writing from one number on one channel. */
export interface Sender {
  /** `whatsapp:+2126…` or `+2126…`. */
  from: string;
  /** The number without its channel prefix. */
  phone: string;
  /** Posts one message (a fresh MessageSid), signed; `extra` adds or overrides form fields. */
  say(body: string, extra?: Form): Promise<TwilioReply>;
  /** The form `say` would post, for tests that post it themselves (twice, tampered…). */
  form(body: string, extra?: Form): Form;
}

export interface TwilioTestServer {
  app: App;
  config: Config;
  clock: ManualClock;
  /** The registry the app uses (a SwitchableRegistry unless one was given). */
  registry: Registry;
  /** `http://127.0.0.1:<port>` */
  base: string;
  logLines: string[];
  /** POST /api/twilio/messages. */
  post(form: Form, options?: PostOptions): Promise<TwilioReply>;
  /** POST /api/twilio/status. */
  status(form: Form, options?: PostOptions): Promise<TwilioReply>;
  /** POST a raw body with the given headers (for tampering with what was signed). */
  postRaw(path: string, body: string, headers?: Record<string, string>): Promise<TwilioReply>;
  /** The X-Twilio-Signature Twilio would send for these parameters. */
  sign(form: Form, url?: string, token?: string): string;
  whatsapp(phone: string, options?: { profileName?: string }): Sender;
  sms(phone: string): Sender;
  close(): Promise<void>;
}

export interface StartOptions {
  /** Environment on top of the defaults (NODE_ENV test, TWILIO_AUTH_TOKEN, TWILIO_WEBHOOK_URL); '' unsets. */
  env?: NodeJS.ProcessEnv;
  registry?: Registry;
  /** Send SMS, Verify and late replies to this fake Twilio: sets TWILIO_ACCOUNT_SID/AUTH_TOKEN from it. */
  fake?: FakeTwilio;
  clock?: ManualClock;
  /** With REDIS_URL: wait until the app's Redis client is connected (default true). */
  waitForRedis?: boolean;
  /** With REDIS_URL: how long a message waits for its user's earlier turns. */
  turnMaxWaitMs?: number;
}

/** A SwitchableRegistry over the sample people file, on `clock`. */
export function sampleRegistry(clock: ManualClock): SwitchableRegistry {
  const data = loadReferenceData();
  const { people } = loadPeopleFile(DEFAULT_PEOPLE_FILE, {
    categories: data.categories.map((c) => c.code),
    nonSubjectReasons: data.nonSubjectReasons.map((r) => r.code),
  });
  return new SwitchableRegistry(new EmbeddedRegistry(people, clock));
}

export async function startTwilioServer(options: StartOptions = {}): Promise<TwilioTestServer> {
  const clock = options.clock ?? new ManualClock();
  const { fake } = options;
  const config = loadConfig({
    NODE_ENV: 'test',
    TWILIO_AUTH_TOKEN: AUTH_TOKEN,
    TWILIO_WEBHOOK_URL: WEBHOOK_URL,
    ...(fake ? { TWILIO_ACCOUNT_SID: fake.accountSid, TWILIO_AUTH_TOKEN: fake.authToken, TWILIO_SMS_FROM: SMS_FROM } : {}),
    ...options.env,
  });
  const logLines: string[] = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      logLines.push(String(chunk));
      done();
    },
  });
  const registry = options.registry ?? sampleRegistry(clock);
  const twilioClient = fake ? createTwilioClient({ accountSid: fake.accountSid, authToken: fake.authToken, baseUrl: fake.url }) : undefined;
  const app = createApp(config, createLogger('trace', sink), { clock, registry, twilioClient, turnMaxWaitMs: options.turnMaxWaitMs });
  // With REDIS_URL the app connects in the background; a test starts talking once it is connected.
  if (app.redis && options.waitForRedis !== false) await waitUntilReady(app.redis);
  const server: Server = createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const publicUrl = { '/api/twilio/messages': config.TWILIO_WEBHOOK_URL ?? WEBHOOK_URL, '/api/twilio/status': config.twilioStatusUrl ?? STATUS_URL };

  const sign = (form: Form, url = publicUrl['/api/twilio/messages'], token = config.TWILIO_AUTH_TOKEN ?? AUTH_TOKEN) =>
    twilio.getExpectedTwilioSignature(token, url, form);

  const postRaw = async (path: string, body: string, headers: Record<string, string> = {}): Promise<TwilioReply> => {
    const res = await fetch(`${base}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
      body,
    });
    const raw = await res.text();
    const contentType = res.headers.get('content-type');
    const messages = res.status === 200 && contentType?.includes('xml') ? parseTwiml(raw) : [];
    return { status: res.status, contentType, raw, messages, text: messages.join('\n') };
  };

  const postForm = (path: keyof typeof publicUrl) => async (form: Form, { signature = 'valid', url }: PostOptions = {}) => {
    const headers: Record<string, string> = {};
    if (signature === 'valid') headers['x-twilio-signature'] = sign(form, url ?? publicUrl[path]);
    else if (signature === 'wrong-token') headers['x-twilio-signature'] = sign(form, url ?? publicUrl[path], 'not-the-auth-token-0000000000000');
    else if (signature === 'other-url') headers['x-twilio-signature'] = sign(form, url ?? `${base}${path}`);
    return postRaw(path, encodeForm(form), headers);
  };
  const post = postForm('/api/twilio/messages');

  const sender = (channel: 'whatsapp' | 'sms', phone: string, profileName?: string): Sender => {
    const from = channel === 'whatsapp' ? `whatsapp:${phone}` : phone;
    const form = (body: string, extra: Form = {}): Form => {
      const sid = messageSid();
      const common: Form = {
        MessageSid: sid,
        SmsMessageSid: sid,
        SmsSid: sid,
        AccountSid: config.TWILIO_ACCOUNT_SID ?? ACCOUNT_SID,
        From: from,
        To: channel === 'whatsapp' ? OUR_WHATSAPP : OUR_SMS,
        Body: body,
        NumMedia: '0',
        NumSegments: '1',
        SmsStatus: 'received',
        ApiVersion: '2010-04-01',
      };
      const specific: Form =
        channel === 'whatsapp'
          ? { WaId: phone.replace(/^\+/, ''), MessageType: 'text', ...(profileName ? { ProfileName: profileName } : {}) }
          : { FromCountry: 'MA', ToCountry: 'US' };
      return { ...common, ...specific, ...extra };
    };
    return { from, phone, form, say: (body, extra) => post(form(body, extra)) };
  };

  return {
    app,
    config,
    clock,
    registry,
    base,
    logLines,
    post,
    status: postForm('/api/twilio/status'),
    postRaw,
    sign,
    whatsapp: (phone, { profileName } = {}) => sender('whatsapp', phone, profileName),
    sms: (phone) => sender('sms', phone),
    async close() {
      server.server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await app.close();
    },
  };
}

/** A form body as Twilio posts it (application/x-www-form-urlencoded); a list repeats its name. */
export function encodeForm(form: Form): string {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(form)) for (const v of Array.isArray(value) ? value : [value]) params.append(name, v);
  return params.toString();
}

/** A delivery report as Twilio posts it to the status callback. */
export function statusForm(sid: string, status: string, extra: Form = {}): Form {
  return { MessageSid: sid, SmsSid: sid, MessageStatus: status, SmsStatus: status, AccountSid: ACCOUNT_SID, ApiVersion: '2010-04-01', ...extra };
}

/** Resolves once `probe` returns a value (polled every 5 ms), or fails after `timeoutMs`. */
export async function eventually<T>(probe: () => T | undefined | false, timeoutMs = 3000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
