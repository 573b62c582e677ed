import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { ManualClock } from '../../src/clock';
import { DlrSigner } from '../../src/channels/kannel/dlrSigner';
import { KannelMessenger } from '../../src/channels/kannel/messenger';
import { KANNEL_DLR_MASK, SendsmsClient } from '../../src/channels/kannel/sendsms';
import { createLogger } from '../../src/log';
import { InMemoryDeliveryTracker } from '../../src/services/sms/deliveryTracker';
import { KannelSmsSender } from '../../src/services/sms/kannelSmsSender';
import { SmsSendError } from '../../src/services/sms/twilioSmsSender';
import { freePort } from '../support/kannel';

/**
 * What Tasjil asks of Kannel's sendsms and how it takes each answer, against a local HTTP server
 * that answers as sendsms does (202 "0: Accepted", 503, 403…) in the order the test scripts.
 */

let server: Server;
let url: string;
let answers: { status: number; body: string }[];
let requests: URLSearchParams[];

beforeAll(async () => {
  server = createServer((req: IncomingMessage, res) => {
    requests.push(new URL(req.url ?? '/', 'http://x').searchParams);
    const answer = answers.shift() ?? { status: 202, body: '0: Accepted for delivery' };
    res.writeHead(answer.status, { 'content-type': 'text/html' });
    res.end(answer.body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/cgi-bin/sendsms`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
beforeEach(() => {
  answers = [];
  requests = [];
});

const signer = new DlrSigner('s'.repeat(32));
const client = (overrides: Partial<ConstructorParameters<typeof SendsmsClient>[0]> = {}) =>
  new SendsmsClient({ url, username: 'tasjil', password: 'pw', from: '2020', statusUrl: 'http://10.0.0.5:3978/api/kannel/status', signer, ...overrides });
const fastRetry = { maxAttempts: 3, initialDelayMs: 10, maxDelayMs: 20 };

function logSink(): { lines: string[]; log: ReturnType<typeof createLogger> } {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      lines.push(String(chunk));
      done();
    },
  });
  return { lines, log: createLogger('trace', sink) };
}

describe('one SMS handed to sendsms', () => {
  it('carries French as GSM-7 and Arabic as UCS-2, in UTF-8, with a signed delivery-report URL', async () => {
    await client({ smsc: 'iam' }).send('+212612345678', 'Bonjour, votre code');
    await client().send('+212612345678', 'مرحبا');
    const [french, arabic] = requests;
    expect(Object.fromEntries(french!)).toMatchObject({
      username: 'tasjil',
      password: 'pw',
      from: '2020',
      to: '212612345678',
      text: 'Bonjour, votre code',
      charset: 'UTF-8',
      coding: '0',
      'dlr-mask': String(KANNEL_DLR_MASK),
      smsc: 'iam',
    });
    expect(arabic!.get('coding')).toBe('2');
    expect(arabic!.get('text')).toBe('مرحبا');
    expect(arabic!.has('smsc')).toBe(false);
    const dlr = new URL(french!.get('dlr-url')!.replace('%d', '2'));
    expect(dlr.origin + dlr.pathname).toBe('http://10.0.0.5:3978/api/kannel/status');
    expect(signer.verify(dlr.searchParams.get('ref')!, dlr.searchParams.get('sig')!)).toBe(true);
    expect(dlr.searchParams.get('type')).toBe('2');
  });

  it('takes "3: Queued" as taken', async () => {
    answers = [{ status: 202, body: '3: Queued for later delivery' }];
    expect((await client().send('+212612345678', 'x')).answer).toBe('queued');
  });
});

describe('a chat reply', () => {
  const reply = { channel: 'sms' as const, to: '+212612345678', from: '2020', rendered: { body: 'Votre date de naissance ?' } };

  it('is tried again while Kannel answers 503 or cannot be reached, then goes', async () => {
    answers = [
      { status: 503, body: 'Temporal failure, try again later.' },
      { status: 503, body: 'Temporal failure, try again later.' },
    ];
    const results: string[] = [];
    const { log, lines } = logSink();
    const sent = await new KannelMessenger(client(), log, fastRetry, (result) => results.push(result)).send(reply);
    expect(sent.id).toEqual(expect.any(String));
    expect(results).toEqual(['unavailable', 'unavailable', 'accepted']);
    expect(requests).toHaveLength(3);
    expect(lines.join('\n')).not.toContain('212612345678');
    expect(lines.join('\n')).not.toContain('naissance');
  });

  it('is not tried again when Kannel refuses it (4xx), and gives up past its bound', async () => {
    answers = [{ status: 403, body: 'Authorization failed for sendsms' }];
    const { log } = logSink();
    await expect(new KannelMessenger(client(), log, fastRetry).send(reply)).rejects.toMatchObject({ kind: 'refused', status: 403 });
    expect(requests).toHaveLength(1);

    // Connection refused: a port nobody listens on.
    const unreachable = client({ url: `http://127.0.0.1:${await freePort()}/cgi-bin/sendsms`, timeoutMs: 500 });
    await expect(new KannelMessenger(unreachable, log, fastRetry).send(reply)).rejects.toMatchObject({ kind: 'unreachable' });
  });
});

describe('an OTP', () => {
  const otp = { to: '+212612345678', body: 'CNSS Tasjil: votre code de verification est 123456.', locale: 'fr' as const, purpose: 'otp' as const, conversationKey: 'sms:+212612345678' };

  it('is tracked under its reference, so that its delivery report can be acted on', async () => {
    const tracker = new InMemoryDeliveryTracker(new ManualClock());
    const { log, lines } = logSink();
    const { id } = await new KannelSmsSender({ client: client(), tracker, log }).send(otp);
    expect(await tracker.report(id!, 'undelivered')).toMatchObject({ purpose: 'otp', failed: true });
    expect(await tracker.otpDeliveryFailed(otp.conversationKey)).toBe(true);
    expect(lines.join('\n')).not.toContain('123456');
  });

  it('that Kannel will not take fails fast, as an SmsSendError the dialog tells the worker about', async () => {
    answers = [
      { status: 503, body: '' },
      { status: 503, body: '' },
    ];
    const tracker = new InMemoryDeliveryTracker(new ManualClock());
    const { log } = logSink();
    const sending = new KannelSmsSender({ client: client(), tracker, log, retry: { maxAttempts: 1, initialDelayMs: 10, maxDelayMs: 10 } }).send(otp);
    await expect(sending).rejects.toBeInstanceOf(SmsSendError);
    await expect(sending).rejects.toMatchObject({ status: 503 });
    expect(requests).toHaveLength(2);
    expect(await tracker.otpDeliveryFailed(otp.conversationKey)).toBe(false);
  });
});
