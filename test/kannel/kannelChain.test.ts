import { join } from 'node:path';
import { DlrSigner } from '../../src/channels/kannel/dlrSigner';
import { SendsmsClient } from '../../src/channels/kannel/sendsms';
import { warmUpDateRecognizer } from '../../src/nlu/dates';
import { kannelInstalled } from '../support/kannel';
import { describeIfAvailable } from '../support/requirements';
import { INBOUND_TOKEN, SHORT_CODE, smppAddress, startKannelChain, TEST_CLAIM_LEASE_MS, until, type KannelChain } from '../support/kannelServer';
import { parseMetrics, valueOf } from '../support/metricsText';
import type { SubmittedSms } from '../support/smsc';
import { startTasjilProcess } from '../support/tasjilProcess';

/**
 * Two-way SMS in Morocco, end to end on loopback: a worker's phone is the SMSC played by the test
 * (SMPP deliver_sm in, submit_sm out), bound to a real Kannel (bearerbox + smsbox, configured from
 * docs/kannel/kannel.conf), which calls Tasjil's /api/kannel/messages and takes its replies, OTPs
 * and passwords on sendsms. One Kannel for the whole file: it takes a moment to start and bind.
 */

const describeWithKannel = describeIfAvailable("Debian's kannel package (bearerbox, smsbox)", kannelInstalled());

/** Tasjil wired as the chain's, in a process of its own, with a registry that never answers. */
const HUNG_REGISTRY_TASJIL = join(__dirname, '..', 'support', 'hungRegistryTasjil.ts');

let chain: KannelChain;
let phoneSeq = 0;
/** A Moroccan mobile nobody in this file has used. */
const newPhone = () => `+2126611${String(Date.now() % 1000).padStart(3, '0')}${String(phoneSeq++).padStart(2, '0')}`;

beforeAll(async () => {
  if (!kannelInstalled()) return;
  warmUpDateRecognizer();
  chain = await startKannelChain();
}, 60000);
afterAll(async () => {
  await chain?.close();
}, 30000);

const texts = (sms: SubmittedSms[]) => sms.map((s) => s.text).join('\n');
const isOtpSms = (sms: SubmittedSms) => /code de verification|رمز التحقق/.test(sms.text);
const isPasswordSms = (sms: SubmittedSms) => /mot de passe Ma CNSS est|كلمة المرور Ma CNSS ديالك هي/.test(sms.text);
const chatOnly = (sms: SubmittedSms[]) => sms.filter((s) => !isOtpSms(s) && !isPasswordSms(s));

/** Plays a conversation; returns each turn's SMS. */
async function converse(phone: string, messages: string[]): Promise<SubmittedSms[][]> {
  const turns: SubmittedSms[][] = [];
  for (const text of messages) turns.push(await chain.say(phone, text));
  return turns;
}

function codeIn(sms: SubmittedSms): string {
  const code = /\b(\d{6})\b/.exec(sms.text)?.[1];
  if (!code) throw new Error('no code in the OTP SMS');
  return code;
}

describeWithKannel('a whole conversation by SMS through Kannel', () => {
  it('reaches outcome A in French, every SMS GSM-7 from the short code', async () => {
    const phone = newPhone();
    const turns = await converse(phone, ['Bonjour', '1', 'AB123456', '30/06/2031', '14/03/1985', '1', '1', 'passer', 'oui']);
    expect(texts(turns[0]!)).toContain('je suis Tasjil');
    // The phone step offers the number the worker writes from.
    expect(texts(turns[4]!)).toContain(`Recevoir les SMS sur ce numéro : 06 ${phone.slice(5, 7)} ${phone.slice(7, 9)} ${phone.slice(9, 11)} ${phone.slice(11, 13)}`);
    expect(texts(turns[7]!)).toContain('Vérifiez vos réponses');
    expect(texts(turns[8]!)).toContain("Votre numéro d'immatriculation : 111222333");
    for (const sms of turns.flat()) {
      expect({ from: sms.from, to: sms.to, coding: sms.dataCoding, deliveryReport: sms.registeredDelivery }).toEqual({ from: SHORT_CODE, to: smppAddress(phone), coding: 0, deliveryReport: 1 });
    }
  }, 60000);

  it('reaches outcome B in French: the code and the password come as SMS of their own, never in a reply', async () => {
    const phone = newPhone();
    const turns = await converse(phone, ['Bonjour', '1', 'BE654321', '15/11/2030', '02/07/1990', '1', '2', 'passer']);
    expect(texts(turns[7]!)).toContain('Vérifiez vos réponses');
    const confirmed = await chain.say(phone, 'oui');
    const otp = confirmed.filter(isOtpSms);
    expect(otp).toHaveLength(1);
    const code = codeIn(otp[0]!);
    expect(texts(chatOnly(confirmed))).toContain('Écrivez le code à 6 chiffres');
    expect(texts(chatOnly(confirmed))).not.toContain(code);

    const done = await chain.say(phone, code);
    expect(texts(chatOnly(done))).toContain("Votre numéro d'immatriculation : 222333444");
    const password = done.filter(isPasswordSms);
    expect(password).toHaveLength(1);
    const secret = /est\s*:?\s*(\S+)/.exec(password[0]!.text)?.[1] ?? '';
    expect(secret.length).toBeGreaterThan(4);
    expect(texts(chatOnly(done))).not.toContain(secret);
    for (const sms of [...otp, ...password]) expect(sms.to).toBe(smppAddress(phone));
    // Nothing of it in the logs.
    expect(chain.logLines.join('\n')).not.toContain(code);
    expect(chain.logLines.join('\n')).not.toContain(secret);
    expect(chain.logLines.join('\n')).not.toContain(smppAddress(phone));
  }, 60000);

  it('reaches outcome A in Arabic, every SMS UCS-2', async () => {
    const phone = newPhone();
    const turns = await converse(phone, ['السلام عليكم', '1', 'AB123456', '30 يونيو 2031', '14 مارس 1985', '1', '1', 'دوز', 'نعم']);
    expect(texts(turns[0]!)).toContain('أنا تسجيل');
    expect(texts(turns[8]!)).toContain('111222333');
    for (const sms of turns.flat()) expect({ from: sms.from, coding: sms.dataCoding }).toEqual({ from: SHORT_CODE, coding: 8 });
  }, 60000);

  it('reaches outcome B in Arabic, UCS-2, a long message concatenated both ways', async () => {
    const phone = newPhone();
    // A greeting longer than one UCS-2 SMS (70 characters): it reaches Kannel in two parts.
    const greeting = 'السلام عليكم، بغيت نتسجل فالضمان الاجتماعي ديال العمال المستقلين من فضلكم عاونوني';
    expect(greeting.length).toBeGreaterThan(70);
    const welcome = await chain.say(phone, greeting);
    expect(texts(welcome)).toContain('أنا تسجيل');
    expect(welcome.every((sms) => sms.dataCoding === 8)).toBe(true);
    // The welcome is longer than one SMS: it leaves as one concatenated SMS of several parts.
    expect(welcome.some((sms) => sms.parts > 1)).toBe(true);

    const turns = await converse(phone, ['1', 'CD112233', '10 يناير 2032', '25 دجنبر 1978', '1', '3', 'دوز']);
    expect(texts(turns[6]!)).toContain('CD112233');
    const confirmed = await chain.say(phone, 'نعم');
    const otp = confirmed.filter(isOtpSms);
    expect(otp).toHaveLength(1);
    expect(otp[0]!.dataCoding).toBe(8);
    const code = codeIn(otp[0]!);
    expect(texts(chatOnly(confirmed))).not.toContain(code);
    const done = await chain.say(phone, code);
    expect(texts(chatOnly(done))).toContain('رقم تسجيلك: 333444555');
    expect(done.filter(isPasswordSms)).toHaveLength(1);
  }, 60000);
});

describeWithKannel('what Kannel and the network do', () => {
  it('handles a message once when Kannel calls twice with its id', async () => {
    const phone = newPhone();
    const url = `${chain.base}/api/kannel/messages?${new URLSearchParams({ token: INBOUND_TOKEN, id: 'b3a4c1de-0000-4000-8000-000000000001', from: smppAddress(phone), to: SHORT_CODE, text: 'Bonjour' })}`;
    const first = await fetch(url);
    expect({ status: first.status, body: await first.text() }).toEqual({ status: 200, body: '' });
    await chain.settle();
    const again = await fetch(url);
    expect({ status: again.status, body: await again.text() }).toEqual({ status: 200, body: '' });
    await chain.settle();
    const got = chain.smsc.pendingFor(smppAddress(phone));
    expect(got).toHaveLength(1);
    expect(got[0]!.text).toContain('je suis Tasjil');
    await chain.smsc.nextTo(smppAddress(phone));
  });

  it('takes a message posted as a form too (a post-url)', async () => {
    const phone = newPhone();
    const form = new URLSearchParams({ token: INBOUND_TOKEN, id: 'b3a4c1de-0000-4000-8000-000000000003', from: `00${smppAddress(phone)}`, to: SHORT_CODE, text: 'Bonjour' });
    const posted = await fetch(`${chain.base}/api/kannel/messages`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: form.toString() });
    expect(posted.status).toBe(200);
    await chain.settle();
    expect((await chain.smsc.nextTo(smppAddress(phone))).text).toContain('je suis Tasjil');
  });

  it('refuses a delivery report whose URL was not signed by us', async () => {
    const forged = new DlrSigner('not-the-inbound-token-00000000000000').issue();
    const forgedReport = await fetch(`${chain.base}/api/kannel/status?${new URLSearchParams({ ...forged, type: '2' })}`);
    const unsigned = await fetch(`${chain.base}/api/kannel/status?type=2`);
    expect([forgedReport.status, unsigned.status]).toEqual([403, 403]);
  });

  it('counts what went through Kannel, with a provider label', async () => {
    await chain.say(newPhone(), 'Bonjour');
    const samples = parseMetrics(await chain.app.metrics.render());
    expect(valueOf(samples, 'tasjil_sms_gateway_received_total', { provider: 'kannel' })).toBeGreaterThan(0);
    expect(valueOf(samples, 'tasjil_sms_gateway_sends_total', { provider: 'kannel', result: 'accepted' })).toBeGreaterThan(0);
    expect(valueOf(samples, 'tasjil_sms_sent_total', { purpose: 'otp', encoding: 'GSM-7' })).toBeGreaterThan(0);
  });

  it('is ready only when sendsms answers and takes our credentials', async () => {
    const client = (password: string) =>
      new SendsmsClient({ url: chain.kannel.sendsmsUrl, username: 'tasjil', password, from: SHORT_CODE, statusUrl: 'http://127.0.0.1:9/status', signer: new DlrSigner('x'.repeat(32)) });
    expect(await client('sendsms-test-pw').isReady()).toBe(true);
    expect(await client('wrong-password').isReady()).toBe(false);
    const body = (await (await fetch(`${chain.base}/readyz`)).json()) as { checks: Record<string, boolean> };
    expect(body.checks.kannelSendsms).toBe(true);
  });

  it('takes two SMS of one sender sent at once one after the other, in order', async () => {
    const phone = newPhone();
    await chain.say(phone, 'Bonjour');
    const before = chain.handled();
    // Both on the SMPP link back to back: Kannel calls Tasjil twice, at once.
    await Promise.all([chain.smsc.deliver(smppAddress(phone), SHORT_CODE, '1'), chain.smsc.deliver(smppAddress(phone), SHORT_CODE, 'AB123456')]);
    await until(() => chain.handled() >= before + 2, 'both messages handled');
    await chain.settle();
    const replies = chain.smsc.pendingFor(smppAddress(phone));
    for (let i = 0; i < replies.length; i++) await chain.smsc.nextTo(smppAddress(phone));
    // "1" chose the CNIE, then "AB123456" was its number: the next question is the expiry date.
    expect(replies.map((sms) => sms.text)).toEqual([expect.stringContaining('numéro de votre CNIE'), expect.stringContaining("Date d'expiration")]);
  });

  it('stops on STOP, says nothing until START, then starts again', async () => {
    const phone = newPhone();
    await chain.say(phone, 'Bonjour');
    expect(texts(await chain.say(phone, 'STOP'))).toContain('Vous ne recevrez plus de messages de Tasjil');
    expect(await chain.say(phone, 'Bonjour')).toEqual([]);
    expect(await chain.say(phone, 'توقف')).toEqual([]);
    expect(texts(await chain.say(phone, 'START'))).toMatch(/Tasjil|تسجيل/);
  });

  it('refuses a call without the token or with another one (403), and a malformed one (400), counted', async () => {
    const query = { id: 'b3a4c1de-0000-4000-8000-000000000002', from: '212661100000', to: SHORT_CODE, text: 'Bonjour' };
    const missing = await fetch(`${chain.base}/api/kannel/messages?${new URLSearchParams(query)}`);
    const wrong = await fetch(`${chain.base}/api/kannel/messages?${new URLSearchParams({ ...query, token: INBOUND_TOKEN.replace(/.$/, 'x') })}`);
    const malformed = await fetch(`${chain.base}/api/kannel/messages?${new URLSearchParams({ ...query, token: INBOUND_TOKEN, from: 'ALPHA' })}`);
    expect([missing.status, wrong.status, malformed.status]).toEqual([403, 403, 400]);
    const samples = parseMetrics(await chain.app.metrics.render());
    expect(valueOf(samples, 'tasjil_webhook_rejections_total', { route: 'kannel_messages', reason: 'no-token' })).toBe(1);
    expect(valueOf(samples, 'tasjil_webhook_rejections_total', { route: 'kannel_messages', reason: 'bad-token' })).toBe(1);
    expect(valueOf(samples, 'tasjil_webhook_rejections_total', { route: 'kannel_messages', reason: 'malformed' })).toBe(1);
    // Never a URL, a token or a number in a log line.
    const logs = chain.logLines.join('\n');
    expect(logs).not.toContain(INBOUND_TOKEN);
    expect(logs).not.toContain('212661100000');
    expect(logs).not.toContain('/api/kannel/messages?');
  });

  it('keeps the answers while sendsms is down, and sends the reply once it is back', async () => {
    const phone = newPhone();
    await converse(phone, ['Bonjour', '1']);
    await chain.sendsms.cut();
    try {
      expect((await fetch(`${chain.base}/readyz`)).status).toBe(503);
      const before = chain.handled();
      await chain.smsc.deliver(smppAddress(phone), SHORT_CODE, 'AB123456');
      // Kannel's call is answered once the turn ran and its state is saved, whatever sendsms does.
      await until(() => chain.handled() > before, 'the turn to run');
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(chain.smsc.pendingFor(smppAddress(phone))).toEqual([]);
    } finally {
      await chain.sendsms.restore();
    }
    const reply = await chain.smsc.nextTo(smppAddress(phone));
    expect(reply.text).toContain("Date d'expiration");
    expect((await fetch(`${chain.base}/readyz`)).status).toBe(200);
    // The answer was kept: the conversation goes on from there.
    expect(texts(await chain.say(phone, '30/06/2031'))).toContain('date de naissance');
  }, 30000);

  it('tells the worker when the code could not be handed to Kannel, once sendsms is back', async () => {
    const phone = newPhone();
    // The residence card holder of the sample registry: registered, no account (outcome B).
    await converse(phone, ['Bonjour', '2', 'E1234567', '31/12/2029', '09/09/1982', '1', '1', 'passer']);
    await chain.sendsms.cut();
    try {
      const before = chain.handled();
      await chain.smsc.deliver(smppAddress(phone), SHORT_CODE, 'oui');
      await until(() => chain.handled() > before, 'the turn to run');
    } finally {
      await chain.sendsms.restore();
    }
    await chain.settle();
    const told = chain.smsc.pendingFor(smppAddress(phone));
    for (let i = 0; i < told.length; i++) await chain.smsc.nextTo(smppAddress(phone));
    expect(told.filter(isOtpSms)).toEqual([]);
    expect(texts(told)).toMatch(/réessayer|Réessayez|instant/i);
  }, 30000);

  it('tells the worker on the next message when the operator reports the code undelivered', async () => {
    const phone = newPhone();
    await converse(phone, ['Bonjour', '2', 'E1234567', '31/12/2029', '09/09/1982', '1', '3', 'passer']);
    const otp = (await chain.say(phone, 'oui')).filter(isOtpSms);
    expect(otp).toHaveLength(1);
    await chain.smsc.receipt(otp[0]!, 'UNDELIV');
    await until(() => chain.logLines.some((line) => line.includes('"event":"kannel.status"') && line.includes('"status":"undelivered"') && line.includes('"purpose":"otp"')), 'the delivery report to reach Tasjil');
    expect(texts(await chain.say(phone, 'je ne le reçois pas'))).toMatch(/Le SMS n'a pas pu (ê|e)tre livré/);
  }, 60000);

  it('answers a retry of a message still being handled with 503, then handles it once', async () => {
    const phone = newPhone();
    await converse(phone, ['Bonjour', '1', 'AB123456', '30/06/2031', '14/03/1985', '1', '1', 'passer']);
    // Confirming makes the turn look the worker up in the registry, then register them: a slow registry holds it.
    let answerRegistry!: () => void;
    chain.registry.hold = new Promise<void>((resolve) => (answerRegistry = resolve));
    const { lookUps } = chain.registry;
    const url = `${chain.base}/api/kannel/messages?${new URLSearchParams({ token: INBOUND_TOKEN, id: 'b3a4c1de-0000-4000-8000-000000000004', from: smppAddress(phone), to: SHORT_CODE, text: 'oui' })}`;
    try {
      const first = fetch(url);
      await until(() => chain.registry.lookUps > lookUps, 'the turn to reach the registry');
      // Kannel's retry (its http-timeout, or a call it thinks failed) while the turn runs: no second turn.
      const retry = await fetch(url);
      expect({ status: retry.status, lookUps: chain.registry.lookUps }).toEqual({ status: 503, lookUps: lookUps + 1 });
      chain.registry.hold = undefined;
      answerRegistry();
      expect((await first).status).toBe(200);
    } finally {
      chain.registry.hold = undefined;
      answerRegistry();
    }
    // A retry after the 200: handled already, an empty 200.
    const late = await fetch(url);
    expect({ status: late.status, body: await late.text() }).toEqual({ status: 200, body: '' });
    await chain.settle();
    const replies = chain.smsc.pendingFor(smppAddress(phone));
    for (let i = 0; i < replies.length; i++) await chain.smsc.nextTo(smppAddress(phone));
    expect(replies.filter((sms) => sms.text.includes("Votre numéro d'immatriculation : 111222333"))).toHaveLength(1);
    expect(chain.registry.lookUps).toBe(lookUps + 1);
  }, 30000);

  it('handles a message again on the restarted Tasjil when the first was killed during its turn, and answers it once', async () => {
    const phone = newPhone();
    await converse(phone, ['Bonjour', '1', 'AB123456', '30/06/2031', '14/03/1985', '1', '1', 'passer']);
    // Tasjil, now a process of its own, whose registry never answers: confirming holds its turn.
    await chain.stopTasjil();
    const doomed = await startTasjilProcess({ ...chain.tasjilEnv, TEST_CLOCK_MS: String(chain.clock.now()) }, 60000, { entry: HUNG_REGISTRY_TASJIL, port: chain.tasjilPort });
    try {
      await chain.smsc.deliver(smppAddress(phone), SHORT_CODE, 'oui');
      await doomed.waitForLog('test.registry_held');
    } finally {
      // SIGKILL: Kannel's call drops unanswered; the message's claim and the sender's turn stay in Redis until their leases run out.
      await doomed.kill();
    }
    const { lookUps } = chain.registry;
    const handled = chain.handled();
    const refused = () => chain.logLines.filter((line) => line.includes('"event":"chat.in_progress"')).length;
    const refusedBefore = refused();
    await chain.startTasjil();
    // Kannel calls again every second: until the dead turn's claim lapses the new instance answers
    // 503, then it handles the message.
    await until(() => chain.handled() > handled, "Kannel's retry to be handled", TEST_CLAIM_LEASE_MS + 20000);
    await chain.settle();
    expect(refused()).toBeGreaterThan(refusedBefore);
    expect(chain.registry.lookUps).toBe(lookUps + 1);
    const replies = chain.smsc.pendingFor(smppAddress(phone));
    for (let i = 0; i < replies.length; i++) await chain.smsc.nextTo(smppAddress(phone));
    expect(replies.filter((sms) => sms.text.includes("Votre numéro d'immatriculation : 111222333"))).toHaveLength(1);
    // Nothing more comes for it: no later retry is handled a second time.
    await new Promise((resolve) => setTimeout(resolve, 2500));
    expect({ handled: chain.handled(), pending: chain.smsc.pendingFor(smppAddress(phone)) }).toEqual({ handled: handled + 1, pending: [] });
  }, 90000);

  it('loses nothing when Tasjil restarts after answering Kannel', async () => {
    const phone = newPhone();
    await converse(phone, ['Bonjour', '1', 'AB123456']);
    await chain.restartTasjil();
    expect(texts(await chain.say(phone, '30/06/2031'))).toContain('date de naissance');
  }, 30000);
});
