import twilio from 'twilio';
import type RequestClientType from 'twilio/lib/base/RequestClient';
import type TwilioResponse from 'twilio/lib/http/response';

export interface TwilioClientOptions {
  accountSid: string;
  authToken: string;
  /**
   * Tests only: send every Twilio API request to this origin (a local fake, test/support/fakeTwilio.ts)
   * instead of api.twilio.com, verify.twilio.com…, keeping path and query.
   */
  baseUrl?: string;
  /** Per request. The library's default is 30 s, longer than a whole conversation turn may take. */
  timeoutMs?: number;
}

export const TWILIO_REQUEST_TIMEOUT_MS = 10_000;

/** True for Twilio's API hosts: api.twilio.com, verify.twilio.com, and region/edge forms such as api.dublin.ie1.twilio.com. */
function isTwilioHost(hostname: string): boolean {
  return hostname === 'twilio.com' || hostname.endsWith('.twilio.com');
}

/**
 * The library's own request client, with each request's origin swapped for `baseUrl`. Everything
 * else (URL building per product, form encoding, Basic auth, error parsing) stays the library's,
 * so tests exercise the code that talks to the real Twilio. The twilio client takes any
 * `RequestClient` as `httpClient` (ClientOpts in twilio 6.2 lib/base/BaseTwilio.d.ts; platform.md §2.3).
 */
export class RedirectingRequestClient extends twilio.RequestClient {
  private readonly base: URL;

  constructor(baseUrl: string, options?: RequestClientType.RequestClientOptions) {
    super(options);
    this.base = new URL(baseUrl);
  }

  override request<TData>(opts: RequestClientType.RequestOptions<TData>): Promise<TwilioResponse<TData>> {
    return super.request({ ...opts, uri: this.redirect(opts.uri) });
  }

  /** `https://api.twilio.com/2010-04-01/…?x=1` → `<baseUrl>/2010-04-01/…?x=1`; other hosts untouched. */
  redirect(uri: string): string {
    const original = new URL(uri);
    if (!isTwilioHost(original.hostname)) return uri;
    const prefix = this.base.pathname.replace(/\/+$/, '');
    return `${this.base.origin}${prefix}${original.pathname}${original.search}`;
  }
}

/** The Twilio REST client for outbound SMS and Verify. */
export function createTwilioClient(options: TwilioClientOptions): twilio.Twilio {
  const timeout = options.timeoutMs ?? TWILIO_REQUEST_TIMEOUT_MS;
  if (options.baseUrl === undefined) {
    // No autoRetry: on Verify, HTTP 429 also means "max check attempts reached" (60202) and
    // "max send attempts reached" (60203), which a retry must not hammer.
    return twilio(options.accountSid, options.authToken, { timeout });
  }
  // keepAlive off: a test's fake server closes at once instead of waiting for idle sockets.
  const httpClient = new RedirectingRequestClient(options.baseUrl, { timeout, keepAlive: false });
  return twilio(options.accountSid, options.authToken, { httpClient });
}
