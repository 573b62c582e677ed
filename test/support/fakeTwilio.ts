import { randomBytes, randomInt } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { systemClock, type Clock } from '../../src/clock';

/**
 * A local stand-in for the parts of Twilio's REST API the bot calls, over real HTTP, so tests run
 * the real twilio library (pointed here with createTwilioClient's `baseUrl`) and assert exactly
 * what Twilio would receive. Shapes follow Twilio's: form-encoded requests, Basic auth with the
 * account SID and auth token, JSON answers, errors as `{code, message, more_info, status}`.
 */

export interface RecordedRequest {
  method: string;
  /** Path without the query, e.g. `/2010-04-01/Accounts/AC…/Messages.json`. */
  path: string;
  query: string;
  /** Form fields as Twilio receives them (`To`, `From`, `Body`…); a repeated field gives an array. */
  form: Record<string, string | string[]>;
  /** The raw `Authorization` header. */
  authorization?: string;
}

/** Twilio's error body (https://www.twilio.com/docs/usage/twilios-response#response-formats-exceptions). */
export interface TwilioErrorBody {
  code: number;
  message: string;
  status: number;
  more_info?: string;
}

export const UNSUBSCRIBED_ERROR: TwilioErrorBody = { code: 21610, message: 'Attempt to send to unsubscribed recipient', status: 400 };
export const NOT_MOBILE_ERROR: TwilioErrorBody = { code: 21614, message: "'To' number is not a valid mobile number", status: 400 };

/** Verify's defaults: a verification lives 10 minutes and accepts 5 checks (Verify service settings). */
export const FAKE_VERIFY_TTL_MS = 10 * 60 * 1000;
export const FAKE_VERIFY_MAX_CHECKS = 5;

interface FakeVerification {
  sid: string;
  serviceSid: string;
  to: string;
  channel: string;
  locale?: string;
  code: string;
  createdAt: number;
  checks: number;
  status: 'pending' | 'approved';
}

export interface FakeTwilioOptions {
  accountSid?: string;
  authToken?: string;
  /** The fake's clock for Verify expiry; `advance()` moves it further on its own. */
  clock?: Clock;
}

const hex32 = () => randomBytes(16).toString('hex');

/** Twilio's dates: RFC 2822 in GMT, "Wed, 25 Nov 2026 10:00:00 +0000". */
const rfc2822 = (ms: number) => new Date(ms).toUTCString().replace('GMT', '+0000');

export class FakeTwilio {
  readonly accountSid: string;
  readonly authToken: string;
  /** Every request received, in order, whatever its outcome. */
  readonly requests: RecordedRequest[] = [];
  /** Messages accepted by `POST …/Messages.json`, as returned to the client. */
  readonly messages: Record<string, unknown>[] = [];

  private server?: Server;
  private baseUrl?: string;
  private readonly clock: Clock;
  private offset = 0;
  private readonly sendFailures: TwilioErrorBody[] = [];
  private readonly verifyFailures: TwilioErrorBody[] = [];
  private readonly checkFailures: TwilioErrorBody[] = [];
  private readonly verifications: FakeVerification[] = [];

  constructor(options: FakeTwilioOptions = {}) {
    this.accountSid = options.accountSid ?? `AC${hex32()}`;
    this.authToken = options.authToken ?? hex32();
    this.clock = options.clock ?? systemClock;
  }

  /** Base URL of the running fake, e.g. `http://127.0.0.1:41234`. */
  get url(): string {
    if (!this.baseUrl) throw new Error('FakeTwilio is not started');
    return this.baseUrl;
  }

  async start(): Promise<string> {
    const server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    this.server = server;
    this.baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    return this.baseUrl;
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    this.baseUrl = undefined;
    server.closeAllConnections();
    await new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
  }

  /** Forgets recorded requests, messages and pending failures (Verify's verifications stay, as at Twilio). */
  reset(): void {
    this.requests.splice(0);
    this.messages.splice(0);
    this.sendFailures.splice(0);
    this.verifyFailures.splice(0);
    this.checkFailures.splice(0);
  }

  /** The next `count` message sends fail with this Twilio error (default 21610, the recipient opted out). */
  failNextSends(count = 1, error: TwilioErrorBody = UNSUBSCRIBED_ERROR): void {
    for (let i = 0; i < count; i++) this.sendFailures.push(error);
  }

  /** The next `count` verification sends fail with this Twilio error. */
  failNextVerifications(count = 1, error: TwilioErrorBody = { code: 60200, message: 'Invalid parameter', status: 400 }): void {
    for (let i = 0; i < count; i++) this.verifyFailures.push(error);
  }

  /** The next `count` verification checks fail with this Twilio error (e.g. a 500). */
  failNextChecks(count = 1, error: TwilioErrorBody = { code: 20500, message: 'Internal Server Error', status: 500 }): void {
    for (let i = 0; i < count; i++) this.checkFailures.push(error);
  }

  /** The code Verify "texted" to `to` last: what the user would read on their phone. */
  lastVerifyCode(to: string): string | undefined {
    return [...this.verifications].reverse().find((v) => v.to === to)?.code;
  }

  /** Moves the fake's clock only (its Verify expiry), not the bot's. */
  advance(ms: number): void {
    this.offset += ms;
  }

  now(): number {
    return this.clock.now() + this.offset;
  }

  /** The recorded requests to one kind of endpoint, by the end of their path. */
  requestsTo(pathEnd: 'Messages.json' | 'Verifications' | 'VerificationCheck'): RecordedRequest[] {
    return this.requests.filter((r) => r.path.endsWith(`/${pathEnd}`));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const url = new URL(req.url ?? '/', 'http://fake.twilio');
    const form: Record<string, string | string[]> = {};
    for (const [name, value] of new URLSearchParams(Buffer.concat(chunks).toString('utf8'))) {
      const previous = form[name];
      form[name] = previous === undefined ? value : [...(Array.isArray(previous) ? previous : [previous]), value];
    }
    const request: RecordedRequest = { method: req.method ?? '', path: url.pathname, query: url.search, form };
    if (req.headers.authorization !== undefined) request.authorization = req.headers.authorization;
    this.requests.push(request);

    const message = /^\/2010-04-01\/Accounts\/([^/]+)\/Messages\.json$/.exec(url.pathname);
    const verification = /^\/v2\/Services\/([^/]+)\/Verifications$/.exec(url.pathname);
    const check = /^\/v2\/Services\/([^/]+)\/VerificationCheck$/.exec(url.pathname);
    if (!message && !verification && !check) return this.error(res, { code: 20404, message: `The requested resource ${url.pathname} was not found`, status: 404 });
    if (req.method !== 'POST') return this.error(res, { code: 20004, message: 'Method not allowed', status: 405 });
    if (!this.authorized(req.headers.authorization) || (message && message[1] !== this.accountSid)) {
      return this.error(res, { code: 20003, message: 'Authenticate', status: 401 });
    }
    if (message) return this.createMessage(res, form);
    if (verification) return this.createVerification(res, verification[1]!, form);
    return this.checkVerification(res, check![1]!, form, url.pathname);
  }

  private authorized(header: string | undefined): boolean {
    const expected = `Basic ${Buffer.from(`${this.accountSid}:${this.authToken}`).toString('base64')}`;
    return header === expected;
  }

  private createMessage(res: ServerResponse, form: Record<string, string | string[]>): void {
    const field = (name: string) => (typeof form[name] === 'string' ? (form[name] as string) : undefined);
    if (!field('To')) return this.error(res, { code: 21604, message: "A 'To' phone number is required.", status: 400 });
    if (!field('From') && !field('MessagingServiceSid')) return this.error(res, { code: 21603, message: "A 'From' phone number is required.", status: 400 });
    if (!field('Body') && !form.MediaUrl && !field('ContentSid')) return this.error(res, { code: 21602, message: 'Message body is required.', status: 400 });
    const failure = this.sendFailures.shift();
    if (failure) return this.error(res, failure);

    const sid = `SM${hex32()}`;
    const now = rfc2822(this.now());
    const uri = `/2010-04-01/Accounts/${this.accountSid}/Messages/${sid}.json`;
    const body = {
      account_sid: this.accountSid,
      api_version: '2010-04-01',
      body: field('Body') ?? '',
      date_created: now,
      date_sent: null,
      date_updated: now,
      direction: 'outbound-api',
      error_code: null,
      error_message: null,
      from: field('From') ?? null,
      messaging_service_sid: field('MessagingServiceSid') ?? null,
      num_media: '0',
      num_segments: '1',
      price: null,
      price_unit: 'USD',
      sid,
      status: 'queued',
      subresource_uris: { media: uri.replace(/\.json$/, '/Media.json') },
      to: field('To'),
      uri,
    };
    this.messages.push(body);
    this.json(res, 201, body);
  }

  private createVerification(res: ServerResponse, serviceSid: string, form: Record<string, string | string[]>): void {
    const to = typeof form.To === 'string' ? form.To : undefined;
    const channel = typeof form.Channel === 'string' ? form.Channel : undefined;
    if (!to || !channel) return this.error(res, { code: 60200, message: 'Invalid parameter', status: 400 });
    const failure = this.verifyFailures.shift();
    if (failure) return this.error(res, failure);

    // While a verification to this number is pending, Verify sends the same code again rather
    // than a new one: the user may type the code from either SMS.
    let current = this.pendingVerification(serviceSid, to);
    if (!current) {
      current = {
        sid: `VE${hex32()}`,
        serviceSid,
        to,
        channel,
        code: String(randomInt(0, 1_000_000)).padStart(6, '0'),
        createdAt: this.now(),
        checks: 0,
        status: 'pending',
      };
      this.verifications.push(current);
    }
    if (typeof form.Locale === 'string') current.locale = form.Locale;
    this.json(res, 201, this.verificationJson(current));
  }

  private checkVerification(res: ServerResponse, serviceSid: string, form: Record<string, string | string[]>, path: string): void {
    const to = typeof form.To === 'string' ? form.To : undefined;
    const code = typeof form.Code === 'string' ? form.Code : undefined;
    if (!to || !code) return this.error(res, { code: 60200, message: 'Invalid parameter', status: 400 });
    const failure = this.checkFailures.shift();
    if (failure) return this.error(res, failure);
    // Verify forgets a verification once approved or expired: any later check is a 404.
    const current = this.pendingVerification(serviceSid, to);
    if (!current) return this.error(res, { code: 20404, message: `The requested resource ${path} was not found`, status: 404 });
    if (current.checks >= FAKE_VERIFY_MAX_CHECKS) return this.error(res, { code: 60202, message: 'Max check attempts reached', status: 429 });
    current.checks += 1;
    if (code === current.code) current.status = 'approved';
    this.json(res, 200, { ...this.verificationJson(current), valid: current.status === 'approved' });
  }

  private pendingVerification(serviceSid: string, to: string): FakeVerification | undefined {
    return this.verifications.find(
      (v) => v.serviceSid === serviceSid && v.to === to && v.status === 'pending' && this.now() - v.createdAt < FAKE_VERIFY_TTL_MS,
    );
  }

  private verificationJson(v: FakeVerification) {
    const date = new Date(v.createdAt).toISOString();
    return {
      sid: v.sid,
      service_sid: v.serviceSid,
      account_sid: this.accountSid,
      to: v.to,
      channel: v.channel,
      status: v.status,
      valid: v.status === 'approved',
      lookup: {},
      amount: null,
      payee: null,
      send_code_attempts: [{ time: date, channel: v.channel }],
      date_created: date,
      date_updated: date,
      url: `https://verify.twilio.com/v2/Services/${v.serviceSid}/Verifications/${v.sid}`,
    };
  }

  private error(res: ServerResponse, error: TwilioErrorBody): void {
    this.json(res, error.status, { more_info: `https://www.twilio.com/docs/errors/${error.code}`, ...error });
  }

  private json(res: ServerResponse, status: number, body: unknown): void {
    res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8' });
    res.end(JSON.stringify(body));
  }
}
