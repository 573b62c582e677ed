import { isGsm7 } from '../sms/encoding';
import type { DlrSigner } from './dlrSigner';

/**
 * Kannel's HTTP `sendsms` interface (user guide, "Using the HTTP interface to send SMS
 * messages"): one GET per SMS. Kannel splits a long text into concatenated parts itself
 * (`max-messages` and `concatenation` of the sendsms-user), and asks the SMSC for a delivery
 * receipt that it hands back on the `dlr-url` we give.
 */

/**
 * Delivery reports asked for: 1 delivered to the phone, 2 not delivered to the phone, 16 refused
 * by the SMSC. Not 4 (queued) nor 8 (taken by the SMSC): they say nothing we act on.
 */
export const KANNEL_DLR_MASK = 1 + 2 + 16;

/** Kannel answers within milliseconds when it is up; past this it is as good as down. */
export const SENDSMS_TIMEOUT_MS = 10_000;

export interface SendsmsOptions {
  /** KANNEL_SENDSMS_URL, e.g. http://127.0.0.1:13013/cgi-bin/sendsms */
  url: string;
  username: string;
  password: string;
  /** KANNEL_FROM: our short code, the sender of every SMS. */
  from: string;
  /** KANNEL_SMSC: the smsc-id to route through; unset, Kannel's own routing. */
  smsc?: string;
  /** Public URL of GET /api/kannel/status, as Kannel reaches it. */
  statusUrl: string;
  signer: DlrSigner;
  timeoutMs?: number;
  /** Tests: another fetch. */
  fetch?: typeof fetch;
}

/** Kannel took the SMS: `accepted` (0: handed to an SMSC link) or `queued` (3: stored until a link is up). */
export type SendsmsResult = { ref: string; answer: 'accepted' | 'queued' };

/**
 * Kannel did not take the SMS. Never carries Kannel's body nor the request URL: they hold the
 * password, the number and the text.
 */
export class KannelSendError extends Error {
  constructor(
    /** `unreachable`: no answer; `unavailable`: 5xx, try later; `refused`: 4xx, this request will never pass. */
    readonly kind: 'unreachable' | 'unavailable' | 'refused',
    /** HTTP status of Kannel's answer; undefined when it could not be reached. */
    readonly status?: number,
  ) {
    super(kind === 'unreachable' ? 'Kannel sendsms unreachable' : `Kannel sendsms answered ${status}`);
    this.name = 'KannelSendError';
  }

  /** Worth another try later: Kannel down, restarting or overloaded. */
  get retryable(): boolean {
    return this.kind !== 'refused';
  }
}

export class SendsmsClient {
  constructor(private readonly options: SendsmsOptions) {}

  /** Hands one SMS to Kannel; `to` in E.164. */
  async send(to: string, text: string, from = this.options.from): Promise<SendsmsResult> {
    const { ref, sig } = this.options.signer.issue();
    const request = new URL(this.options.url);
    const gsm = isGsm7(text);
    const params: Record<string, string> = {
      username: this.options.username,
      password: this.options.password,
      from,
      // International digits without "+": a literal "+" separates recipients in sendsms.
      to: to.replace(/^\+/, ''),
      text,
      charset: 'UTF-8',
      // 0: GSM-7 (French without ç â ê…), 2: UCS-2 (Arabic, and French that GSM-7 cannot carry).
      coding: gsm ? '0' : '2',
      'dlr-mask': String(KANNEL_DLR_MASK),
      'dlr-url': `${this.options.statusUrl}${this.options.statusUrl.includes('?') ? '&' : '?'}ref=${ref}&sig=${sig}&type=%d`,
    };
    if (this.options.smsc) params.smsc = this.options.smsc;
    for (const [name, value] of Object.entries(params)) request.searchParams.set(name, value);
    let response: Response;
    let body: string;
    try {
      response = await (this.options.fetch ?? fetch)(request, { signal: AbortSignal.timeout(this.options.timeoutMs ?? SENDSMS_TIMEOUT_MS) });
      body = await response.text();
    } catch {
      // Connection refused, reset, timed out: the error names the URL, which holds the secrets.
      throw new KannelSendError('unreachable');
    }
    return { ref, answer: sendsmsAnswer(response.status, body) };
  }

  /**
   * Whether sendsms answers and takes our credentials: a request with no recipient, which Kannel
   * refuses as incomplete (400) once the user is known, or with 403 when it is not.
   */
  async isReady(): Promise<boolean> {
    const request = new URL(this.options.url);
    request.searchParams.set('username', this.options.username);
    request.searchParams.set('password', this.options.password);
    try {
      const response = await (this.options.fetch ?? fetch)(request, { signal: AbortSignal.timeout(this.options.timeoutMs ?? SENDSMS_TIMEOUT_MS) });
      await response.arrayBuffer();
      return response.status < 500 && response.status !== 401 && response.status !== 403;
    } catch {
      return false;
    }
  }
}

/**
 * Kannel's answers (user guide, "SMS Push reply codes"): 202 with "0: Accepted for delivery" or
 * "3: Queued for later delivery"; 4xx when the request can never pass (bad credentials, a
 * number refused); 503 "Temporal failure, try again later".
 */
export function sendsmsAnswer(status: number, body: string): 'accepted' | 'queued' {
  if (status >= 200 && status < 300) {
    if (/^\s*3:/.test(body)) return 'queued';
    if (/^\s*0:/.test(body)) return 'accepted';
    // Another 2xx body (a proxy in between): Kannel took it, we cannot say more.
    return 'accepted';
  }
  throw new KannelSendError(status >= 500 ? 'unavailable' : 'refused', status);
}
