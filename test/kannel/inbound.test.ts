import { DlrSigner } from '../../src/channels/kannel/dlrSigner';
import { KannelInboundSchema, KannelStatusSchema, kannelDeliveryStatus, paramsOf, senderE164 } from '../../src/channels/kannel/inbound';
import { KannelSendError, sendsmsAnswer } from '../../src/channels/kannel/sendsms';
import { isKannelAddress } from '../../src/channels/kannel/messenger';
import { loadConfig } from '../../src/config';

/** What Kannel sends and answers, read without Kannel: the rules the chain tests rely on. */

describe('the sender Kannel names (%p), in E.164', () => {
  it.each([
    ['212612345678', '+212612345678'],
    ['+212612345678', '+212612345678'],
    ['00212612345678', '+212612345678'],
    ['0612345678', '+212612345678'],
    ['0712345678', '+212712345678'],
    ['+212 6 12 34 56 78', '+212612345678'],
    // A foreign SIM or a worker on roaming keeps its country code.
    ['+33612345678', '+33612345678'],
    ['0033612345678', '+33612345678'],
  ])('%s → %s', (raw, e164) => {
    expect(senderE164(raw)).toBe(e164);
  });

  it.each(['', 'ALPHA', '2020', '612345678', '21261234567', '2126123456789', '+2126123456789', '0012', '+0612345678', '06123456789'])('refuses %j', (raw) => {
    expect(senderE164(raw)).toBeUndefined();
  });
});

describe("Kannel's get-url parameters", () => {
  const valid = { token: 't', id: 'd73e434e-2415-46da-8ad9-8d81042b9736', from: '+212612345678', to: '2020', ts: '1796606174', text: 'Bonjour' };

  it('reads a message as Kannel sends it, the text as typed', () => {
    const parsed = KannelInboundSchema.parse(paramsOf(new URLSearchParams({ ...valid, text: 'مرحبا بكم' }).toString()));
    expect(parsed).toMatchObject({ id: valid.id, from: '+212612345678', to: '2020', text: 'مرحبا بكم' });
  });

  it('takes the SMSC time in either of Kannel\'s forms, and none', () => {
    expect(KannelInboundSchema.safeParse({ ...valid, ts: '2026-12-07 01:16' }).success).toBe(true);
    const { ts: _ts, ...withoutTs } = valid;
    expect(KannelInboundSchema.safeParse(withoutTs).success).toBe(true);
  });

  it('takes an empty text (an empty SMS gets a polite question, not a 400)', () => {
    const { text: _text, ...withoutText } = valid;
    expect(KannelInboundSchema.parse(withoutText).text).toBe('');
  });

  it.each([
    ['no id', { id: undefined }, 'id'],
    ['an id with spaces', { id: 'a b' }, 'id'],
    ['an alphanumeric sender', { from: 'CNSS' }, 'from'],
    ['no recipient', { to: undefined }, 'to'],
    ['an escape Kannel did not fill', { ts: '%T' }, 'ts'],
    ['a text no SMS can be', { text: 'x'.repeat(10_001) }, 'text'],
  ])('refuses %s', (_case, change, field) => {
    const result = KannelInboundSchema.safeParse({ ...valid, ...change });
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.path.join('.')).toBe(field);
  });

  it('keeps a repeated parameter as a list, which then fails', () => {
    const params = paramsOf('id=1&id=2&from=%2B212612345678&to=2020');
    expect(params.id).toEqual(['1', '2']);
    expect(KannelInboundSchema.safeParse(params).success).toBe(false);
  });
});

describe('delivery reports', () => {
  it.each([
    [1, 'delivered'],
    [2, 'undelivered'],
    [4, 'queued'],
    [8, 'sent'],
    [16, 'failed'],
    [3, undefined],
    [0, undefined],
  ])('Kannel type %d is %s', (type, status) => {
    expect(kannelDeliveryStatus(type)).toBe(status);
  });

  it('signs our reference, and no other key nor reference passes', () => {
    const signer = new DlrSigner('a'.repeat(32));
    const { ref, sig } = signer.issue();
    expect(signer.verify(ref, sig)).toBe(true);
    expect(new DlrSigner('a'.repeat(32)).verify(ref, sig)).toBe(true);
    expect(new DlrSigner('b'.repeat(32)).verify(ref, sig)).toBe(false);
    expect(signer.verify(signer.issue().ref, sig)).toBe(false);
    expect(signer.verify(ref, sig.slice(0, -1))).toBe(false);
    expect(KannelStatusSchema.parse({ ref, sig, type: '2' })).toEqual({ ref, sig, type: 2 });
    expect(KannelStatusSchema.safeParse({ ref, sig, type: '%d' }).success).toBe(false);
  });
});

describe("sendsms's answers", () => {
  it.each([
    [202, '0: Accepted for delivery', 'accepted'],
    [202, '3: Queued for later delivery', 'queued'],
  ])('%d %s: %s', (status, body, answer) => {
    expect(sendsmsAnswer(status, body)).toBe(answer);
  });

  it.each([
    [403, 'Authorization failed for sendsms', 'refused', false],
    [400, 'Missing receiver number', 'refused', false],
    [503, 'Temporal failure, try again later.', 'unavailable', true],
    [500, '', 'unavailable', true],
  ])('%d %s: %s', (status, body, kind, retryable) => {
    let thrown: unknown;
    try {
      sendsmsAnswer(status, body);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(KannelSendError);
    expect({ kind: (thrown as KannelSendError).kind, retryable: (thrown as KannelSendError).retryable, message: (thrown as Error).message }).toEqual({
      kind,
      retryable,
      message: `Kannel sendsms answered ${status}`,
    });
  });
});

describe('which provider carries a chat message', () => {
  it('SMS from a short code (no "+") through Kannel; Twilio numbers and WhatsApp elsewhere', () => {
    expect(isKannelAddress('sms', '2020')).toBe(true);
    expect(isKannelAddress('sms', '+15005550006')).toBe(false);
    expect(isKannelAddress('whatsapp', '2020')).toBe(false);
  });
});

describe('Kannel settings', () => {
  const kannel = {
    KANNEL_SENDSMS_URL: 'http://127.0.0.1:13013/cgi-bin/sendsms',
    KANNEL_USERNAME: 'tasjil',
    KANNEL_PASSWORD: 'pw',
    KANNEL_FROM: '2020',
    KANNEL_STATUS_URL: 'http://10.0.0.5:3978/api/kannel/status',
  };
  const production = { NODE_ENV: 'production', STATE_ENCRYPTION_KEY: `k1:${Buffer.alloc(32, 7).toString('base64')}` };
  const token = 'x'.repeat(32);

  it('sends OTP and password SMS through Kannel once configured, unless SMS_PROVIDER says Twilio', () => {
    expect(loadConfig({ NODE_ENV: 'test' }).smsProvider).toBe('outbox');
    expect(loadConfig({ NODE_ENV: 'test', ...kannel }).smsProvider).toBe('kannel');
    const twilio = { TWILIO_ACCOUNT_SID: `AC${'0'.repeat(32)}`, TWILIO_AUTH_TOKEN: 't', TWILIO_WEBHOOK_URL: 'https://x.example/api/twilio/messages', TWILIO_SMS_FROM: 'CNSS' };
    expect(loadConfig({ NODE_ENV: 'test', ...kannel, ...twilio }).smsProvider).toBe('kannel');
    expect(loadConfig({ NODE_ENV: 'test', ...kannel, ...twilio, SMS_PROVIDER: 'twilio' }).smsProvider).toBe('twilio');
    expect(loadConfig({ NODE_ENV: 'test', ...twilio }).smsProvider).toBe('twilio');
  });

  it('starts in production with Kannel and its token, and no Twilio', () => {
    expect(loadConfig({ ...production, ...kannel, KANNEL_INBOUND_TOKEN: token }).kannelConfigured).toBe(true);
  });

  it.each([
    ['Kannel without its token in production', { ...production, ...kannel }, 'KANNEL_INBOUND_TOKEN: required in production'],
    ['a short token', { NODE_ENV: 'test', ...kannel, KANNEL_INBOUND_TOKEN: 'short' }, 'KANNEL_INBOUND_TOKEN: at least 32 characters'],
    ['sendsms without its account', { NODE_ENV: 'test', KANNEL_SENDSMS_URL: kannel.KANNEL_SENDSMS_URL }, 'KANNEL_USERNAME: required with KANNEL_SENDSMS_URL'],
    ['credentials in the URL', { NODE_ENV: 'test', ...kannel, KANNEL_SENDSMS_URL: 'http://u:p@127.0.0.1:13013/cgi-bin/sendsms' }, 'KANNEL_SENDSMS_URL: the URL only'],
    ['SMS_PROVIDER=kannel without Kannel', { NODE_ENV: 'test', SMS_PROVIDER: 'kannel' }, 'KANNEL_SENDSMS_URL: required with SMS_PROVIDER=kannel'],
    ['a Kannel setting alone', { NODE_ENV: 'test', KANNEL_FROM: '2020' }, 'KANNEL_SENDSMS_URL: required with KANNEL_FROM'],
  ])('refuses %s', (_case, env, message) => {
    expect(() => loadConfig(env as NodeJS.ProcessEnv)).toThrow(message);
  });
});
