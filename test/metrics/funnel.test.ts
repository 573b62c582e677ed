import { countSmsSegments } from '../../src/channels/sms/encoding';
import { EXPIRY_GRACE_MS } from '../../src/metrics/openConversations';
import { warmUpDateRecognizer } from '../../src/nlu/dates';
import { byLabel, parseMetrics, personalLabels, valueOf, type Sample } from '../support/metricsText';
import type { SwitchableRegistry } from '../support/harness';
import { startTwilioServer, statusForm, messageSid, type Sender, type TwilioTestServer } from '../support/twilioServer';

/**
 * Ten scripted conversations over the real Twilio webhook (signed forms), then GET /metrics over
 * real HTTP: every counter of the funnel has exactly the value the scripts imply, and no label
 * value looks like a phone number or an id.
 */

let server: TwilioTestServer;
/** Turns the scripts ran, by `channel locale`. */
const turns: Record<string, number> = {};
/** Every TwiML body answered on the SMS channel: chat replies are SMS too. */
const smsReplies: string[] = [];

async function play(user: Sender, locale: 'fr' | 'ar', messages: string[]): Promise<void> {
  for (const text of messages) {
    const reply = await user.say(text);
    expect({ text, status: reply.status }).toEqual({ text, status: 200 });
    const channel = user.from.startsWith('whatsapp:') ? 'whatsapp' : 'sms';
    turns[`${channel} ${locale}`] = (turns[`${channel} ${locale}`] ?? 0) + 1;
    if (channel === 'sms') smsReplies.push(...reply.messages);
  }
}

async function scrape(headers: Record<string, string> = {}): Promise<{ status: number; contentType: string | null; samples: Sample[] }> {
  const res = await fetch(`${server.base}/metrics`, { headers });
  const text = await res.text();
  return { status: res.status, contentType: res.headers.get('content-type'), samples: res.status === 200 ? parseMetrics(text) : [] };
}

/** The form up to the summary: the sender's own number, Maroc Telecom, no e-mail. */
const form = (documentNumber: string, expiry: string, birth: string) => ['Bonjour', '1', documentNumber, expiry, birth, '1', '1', 'passer'];

const STEP_ZEROES = Object.fromEntries(
  ['welcome', 'documentType', 'documentNumber', 'expiryDate', 'birthDate', 'phone', 'operator', 'email', 'summary', 'lookup', 'registryRetry', 'otp', 'activationRetry', 'category', 'city', 'passwordResetOffer', 'passwordReset', 'passwordResetRetry', 'followUp', 'other'].map(
    (s) => [s, 0],
  ),
);

let beforeExpiry: Sample[];
let afterExpiry: Sample[];

beforeAll(async () => {
  warmUpDateRecognizer();
  server = await startTwilioServer();
  const registry = server.registry as SwitchableRegistry;

  // 1. Outcome A, one impossible expiry date on the way; no new password, thanks.
  await play(server.whatsapp('+212610000001'), 'fr', ['Bonjour', '1', 'AB123456', '31/02/2031', '30/06/2031', '14/03/1985', '1', '1', 'passer', 'oui', 'non']);
  // 2. Outcome C on SMS in Arabic: two more pages of categories, pharmacists, Casablanca, yes to the follow-up.
  await play(server.sms('+212710000002'), 'ar', ['السلام عليكم', '1', 'ZZ999999', '15/08/2030', '15/03/1985', '1', '3', 'دوز', 'نعم', '0', '0', '11', 'الدار البيضاء', 'نعم']);
  // 3. Outcome B: something that is not a code, a wrong code, then the right one.
  const b = server.whatsapp('+212610000003');
  await play(b, 'fr', [...form('BE654321', '15/11/2030', '02/07/1990'), 'oui', '123']);
  const code = /\b\d{6}\b/.exec(server.app.outbox.list().filter((m) => m.to === b.phone).pop()!.body)![0];
  await play(b, 'fr', [String((Number(code) + 1) % 1_000_000).padStart(6, '0'), code]);
  // 4. Outcome D.
  await play(server.whatsapp('+212610000004'), 'fr', [...form('EF445566', '01/09/2029', '20/05/1965'), 'oui']);
  // 5. Three birth-date mismatches for one card: the bot stops.
  await play(server.whatsapp('+212610000005'), 'fr', [...form('K45678', '01/04/2030', '02/04/1970'), 'oui', '03/04/1970', 'oui', '12/12/1970', 'oui']);
  // 6. The registry is down at the look-up; the worker never replies "1".
  registry.down = true;
  await play(server.whatsapp('+212610000006'), 'fr', [...form('CD112233', '10/01/2032', '25/12/1978'), 'oui']);
  registry.down = false;
  // 7. Three unreadable expiry dates (the way out), then silence.
  await play(server.whatsapp('+212610000007'), 'fr', ['Bonjour', '1', 'AB123456', 'abc', 'abc', 'abc']);
  // 8. Erased mid-form.
  await play(server.whatsapp('+212610000008'), 'fr', ['Bonjour', '1', 'supprimer']);
  // 9. Restarted mid-form, then silence.
  await play(server.whatsapp('+212610000009'), 'fr', ['Bonjour', '1', 'recommencer']);
  // 10. STOP on SMS mid-form: opted out, data erased (no turn runs for STOP).
  const stopper = server.sms('+212710000010');
  await play(stopper, 'fr', ['Bonjour', '1']);
  smsReplies.push(...(await stopper.say('STOP')).messages);

  // Refused webhooks: unsigned, signed with another token, malformed; a status report unsigned.
  const someone = server.whatsapp('+212610000011');
  expect((await server.post(someone.form('Bonjour'), { signature: 'none' })).status).toBe(403);
  expect((await server.post(someone.form('Bonjour'), { signature: 'wrong-token' })).status).toBe(403);
  const { From: _from, ...noSender } = someone.form('Bonjour');
  expect((await server.post(noSender)).status).toBe(400);
  expect((await server.status(statusForm(messageSid(), 'delivered'), { signature: 'none' })).status).toBe(403);

  beforeExpiry = (await scrape()).samples;
  // Everyone still open is silent past the TTL: their state is gone, the next scrape counts them.
  server.clock.advance(server.config.CONVERSATION_TTL_SECONDS * 1000 + EXPIRY_GRACE_MS);
  afterExpiry = (await scrape()).samples;
}, 60000);
afterAll(() => server.close());

describe('GET /metrics after scripted conversations', () => {
  it('answers in the Prometheus text format, default process metrics included', async () => {
    const res = await scrape();
    expect(res.status).toBe(200);
    expect(res.contentType).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(valueOf(res.samples, 'process_cpu_user_seconds_total')).toBeGreaterThan(0);
    expect(res.samples.some((s) => s.name === 'nodejs_heap_size_used_bytes')).toBe(true);
  });

  it('counts turns by channel and language', () => {
    expect(valueOf(afterExpiry, 'tasjil_turns_total', { channel: 'whatsapp', locale: 'fr' })).toBe(turns['whatsapp fr']);
    expect(valueOf(afterExpiry, 'tasjil_turns_total', { channel: 'sms', locale: 'ar' })).toBe(turns['sms ar']);
    expect(valueOf(afterExpiry, 'tasjil_turns_total', { channel: 'sms', locale: 'fr' })).toBe(turns['sms fr']);
    expect(turns).toEqual({ 'whatsapp fr': 66, 'sms ar': 14, 'sms fr': 2 });
    const total = afterExpiry.filter((s) => s.name === 'tasjil_turns_total').reduce((sum, s) => sum + s.value, 0);
    expect(total).toBe(82);
  });

  it('counts each step once per conversation that reached it', () => {
    expect(byLabel(afterExpiry, 'tasjil_funnel_step_reached_total', 'step')).toEqual({
      ...STEP_ZEROES,
      // Ten conversations, and the one that started again after "recommencer".
      welcome: 11,
      documentType: 11,
      documentNumber: 10,
      expiryDate: 7,
      // The mismatch conversation is asked its birth date three times: counted once.
      birthDate: 6,
      phone: 6,
      operator: 6,
      email: 6,
      summary: 6,
      lookup: 6,
      registryRetry: 1,
      otp: 1,
      category: 1,
      city: 1,
      // Outcome A offers a new password.
      passwordResetOffer: 1,
      followUp: 1,
    });
  });

  it('counts outcomes; erase, restart and STOP at once, silence once the TTL has passed', () => {
    const outcomes = { A: 1, B: 1, C: 1, D: 1, mismatch: 1, password_reset: 0, password_reset_agency: 0 };
    expect(byLabel(beforeExpiry, 'tasjil_funnel_outcome_total', 'outcome')).toEqual({ ...outcomes, abandoned: 3, registry_unavailable: 0 });
    // + the way-out conversation and the restarted one; the registry-down one ended on "registry unavailable".
    expect(byLabel(afterExpiry, 'tasjil_funnel_outcome_total', 'outcome')).toEqual({ ...outcomes, abandoned: 5, registry_unavailable: 1 });
  });

  it('counts an expired conversation once, however often Prometheus scrapes', async () => {
    expect(byLabel((await scrape()).samples, 'tasjil_funnel_outcome_total', 'outcome')).toEqual(byLabel(afterExpiry, 'tasjil_funnel_outcome_total', 'outcome'));
  });

  it('counts re-asked questions and way outs by question, and mismatches by date', () => {
    expect(byLabel(afterExpiry, 'tasjil_reprompts_total', 'step')).toEqual({ ...STEP_ZEROES, expiryDate: 3, otp: 1 });
    expect(byLabel(afterExpiry, 'tasjil_way_outs_total', 'step')).toEqual({ ...STEP_ZEROES, expiryDate: 1 });
    expect(byLabel(afterExpiry, 'tasjil_identity_mismatches_total', 'kind')).toEqual({ birthDate: 3, idExpiryDate: 0, both: 0 });
  });

  it('counts follow-ups by event: the one made with a yes', () => {
    expect(byLabel(afterExpiry, 'tasjil_follow_ups_total', 'event')).toEqual({ created: 1, notified: 0, cancelled: 0, expired: 0, not_subject: 0 });
  });

  it('counts codes sent and checked', () => {
    expect(byLabel(afterExpiry, 'tasjil_otp_sends_total', 'result')).toEqual({ sent: 1, cooldown: 0, hourly_limit: 0, error: 0 });
    expect(byLabel(afterExpiry, 'tasjil_otp_checks_total', 'result')).toEqual({ verified: 1, wrong: 1, locked: 0, expired: 0, no_code: 0, error: 0 });
  });

  it('counts SMS and their segments by purpose and encoding: the code, the password, and chat replies on SMS', () => {
    const expected: Record<string, { sent: number; segments: number }> = {};
    const add = (purpose: string, body: string) => {
      const { encoding, segments } = countSmsSegments(body);
      const key = `${purpose} ${encoding}`;
      expected[key] = { sent: (expected[key]?.sent ?? 0) + 1, segments: (expected[key]?.segments ?? 0) + segments };
    };
    const [otp, password] = server.app.outbox.list().filter((m) => m.to === '+212610000003');
    add('otp', otp!.body);
    add('password', password!.body);
    for (const body of smsReplies) add('reply', body);
    const actual: Record<string, { sent: number; segments: number }> = {};
    for (const s of afterExpiry.filter((x) => x.name === 'tasjil_sms_sent_total' && x.value > 0)) {
      const key = `${s.labels.purpose} ${s.labels.encoding}`;
      actual[key] = { sent: s.value, segments: valueOf(afterExpiry, 'tasjil_sms_segments_total', s.labels) };
    }
    expect(actual).toEqual(expected);
    // Arabic replies are UCS-2 and French ones GSM-7: both encodings are exercised.
    expect(Object.keys(actual).sort()).toEqual(['otp GSM-7', 'password GSM-7', 'reply GSM-7', 'reply UCS-2']);
  });

  it('times registry calls and counts their failures', () => {
    const count = (operation: string, result: string) => valueOf(afterExpiry, 'tasjil_registry_request_duration_seconds_count', { operation, result });
    // Look-ups: A, C, B, D, three mismatches; one activation (B); one look-up while down.
    expect([count('lookup', 'ok'), count('activate', 'ok'), count('lookup', 'unavailable'), count('lookup', 'error')]).toEqual([7, 1, 1, 0]);
    expect(byLabel(afterExpiry.filter((s) => s.labels.operation === 'lookup'), 'tasjil_registry_errors_total', 'result')).toEqual({ unavailable: 1, error: 0 });
    // Why: the embedded registry only says "unavailable" (the HTTP client's kinds are tested over HTTP).
    expect(valueOf(afterExpiry, 'tasjil_registry_errors_total', { operation: 'lookup', result: 'unavailable', kind: 'unavailable' })).toBe(1);
  });

  it('counts webhook rejections by route and reason', () => {
    const rejected = afterExpiry.filter((s) => s.name === 'tasjil_webhook_rejections_total' && s.value > 0).map((s) => [s.labels.route, s.labels.reason, s.value]);
    expect(rejected).toEqual(
      expect.arrayContaining([
        ['twilio_messages', 'no-signature', 1],
        ['twilio_messages', 'bad-signature', 1],
        ['twilio_messages', 'malformed', 1],
        ['twilio_status', 'no-signature', 1],
      ]),
    );
    expect(rejected).toHaveLength(4);
  });

  it('carries no phone number, id, date or code in any label value', async () => {
    expect(personalLabels((await scrape()).samples)).toEqual([]);
  });
});

describe('GET /metrics after a code locked by too many wrong tries', () => {
  it('counts the wrong tries, the lock, and the right code typed too late as locked too', async () => {
    const locked = await startTwilioServer();
    try {
      const user = locked.whatsapp('+212610000021');
      for (const text of [...form('BE654321', '15/11/2030', '02/07/1990'), 'oui']) await user.say(text);
      const code = /\b\d{6}\b/.exec(locked.app.outbox.list().filter((m) => m.to === user.phone).pop()!.body)![0];
      const wrong = String((Number(code) + 1) % 1_000_000).padStart(6, '0');
      for (let i = 0; i < 5; i++) await user.say(wrong);
      expect((await user.say(code)).text).toContain("Trop d'essais pour ce code");
      const samples = parseMetrics(await (await fetch(`${locked.base}/metrics`)).text());
      expect(byLabel(samples, 'tasjil_otp_checks_total', 'result')).toEqual({ verified: 0, wrong: 4, locked: 2, expired: 0, no_code: 0, error: 0 });
    } finally {
      await locked.close();
    }
  });
});

describe('GET /metrics after forgotten passwords', () => {
  it('counts them in the same families: steps, outcomes, codes, SMS and registry calls, with no personal data in a label', async () => {
    const resets = await startTwilioServer();
    try {
      // 1. Asked for at once; a wrong code, then the right one: a new password by SMS.
      const asker = resets.whatsapp('+212610000031');
      for (const text of ['mot de passe oublié', '1', 'AB123456', '30/06/2031', '14/03/1985', 'oui']) await asker.say(text);
      const sms = resets.app.outbox.list().filter((m) => m.to === '+212612345632');
      const code = /\b\d{6}\b/.exec(sms.pop()!.body)![0];
      await asker.say(String((Number(code) + 1) % 1_000_000).padStart(6, '0'));
      expect((await asker.say(code)).text).toContain('Votre nouveau mot de passe vous a été envoyé par SMS');
      // 2. Offered at outcome A, accepted: no phone known for the account, an agency.
      const agency = resets.whatsapp('+212610000032');
      for (const text of [...form('K45678', '01/04/2030', '01/04/1970'), 'oui']) await agency.say(text);
      expect((await agency.say('oui')).text).toContain('Aucun numéro de mobile');
      // 3. Offered, declined: outcome A.
      const declined = resets.whatsapp('+212610000033');
      for (const text of [...form('AB123456', '30/06/2031', '14/03/1985'), 'oui', 'non']) await declined.say(text);

      const samples = parseMetrics(await (await fetch(`${resets.base}/metrics`)).text());
      expect(byLabel(samples, 'tasjil_funnel_outcome_total', 'outcome')).toMatchObject({ A: 1, password_reset: 1, password_reset_agency: 1, abandoned: 0 });
      expect(byLabel(samples, 'tasjil_funnel_step_reached_total', 'step')).toMatchObject({ passwordResetOffer: 2, passwordReset: 1, passwordResetRetry: 0, phone: 2, otp: 0 });
      expect(byLabel(samples, 'tasjil_otp_sends_total', 'result')).toEqual({ sent: 1, cooldown: 0, hourly_limit: 0, error: 0 });
      expect(byLabel(samples, 'tasjil_otp_checks_total', 'result')).toEqual({ verified: 1, wrong: 1, locked: 0, expired: 0, no_code: 0, error: 0 });
      const count = (operation: string) => valueOf(samples, 'tasjil_registry_request_duration_seconds_count', { operation, result: 'ok' });
      // A refusal (no phone known) is the registry's answer, not a failure.
      expect([count('lookup'), count('account_phone'), count('password_reset')]).toEqual([3, 2, 1]);
      expect(valueOf(samples, 'tasjil_sms_sent_total', { purpose: 'password', encoding: 'GSM-7' })).toBe(1);
      expect(personalLabels(samples)).toEqual([]);
    } finally {
      await resets.close();
    }
  });
});
