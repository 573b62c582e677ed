import { randomBytes } from 'node:crypto';
import { ManualClock } from '../../src/clock';
import { warmUpDateRecognizer } from '../../src/nlu/dates';
import { connectTestClient, closeTestClient, deleteKeys, listKeys, newTestPrefix, TEST_REDIS_URL } from '../support/redis';
import { FakeTwilio } from '../support/fakeTwilio';
import { expectNoPersonalData, scanForPersonalData, secretsInSms } from '../support/personalDataScan';
import { sampleRegistry, startTwilioServer, type Sender, type TwilioTestServer } from '../support/twilioServer';

/**
 * Two instances of the app behind one load balancer, sharing the real Redis: a user's messages
 * land on either, sometimes on both at the same moment.
 */

const STATE_ENCRYPTION_KEY = `k1:${randomBytes(32).toString('base64')}`;
const prefix = newTestPrefix();
const clock = new ManualClock();
const registry = sampleRegistry(clock);
let a: TwilioTestServer;
let b: TwilioTestServer;

beforeAll(async () => {
  warmUpDateRecognizer();
  const env = { REDIS_URL: TEST_REDIS_URL, STATE_ENCRYPTION_KEY, REDIS_KEY_PREFIX: prefix };
  [a, b] = await Promise.all([startTwilioServer({ env, clock, registry }), startTwilioServer({ env, clock, registry })]);
}, 30000);

afterAll(async () => {
  await Promise.all([a?.close(), b?.close()]);
  const client = await connectTestClient();
  await deleteKeys(client, prefix);
  await closeTestClient(client);
});

/** The same person on each instance: the load balancer picks. */
function onBoth(phone: string): [Sender, Sender] {
  return [a.whatsapp(phone), b.whatsapp(phone)];
}

/** The phone sample person AB123456's account was created with (data/sample-people.csv). */
const ACCOUNT_PHONE = '+212612345632';

/** Every SMS either instance wrote to its dev outbox for this number. */
function smsTo(phone: string): string[] {
  return [...a.app.outbox.list(), ...b.app.outbox.list()].filter((m) => m.to === phone).map((m) => m.body);
}

describe('a user whose messages alternate between two instances', () => {
  it('goes through outcome B: the code sent by one instance is checked by the other', async () => {
    const phone = '+212640000001';
    const [onA, onB] = onBoth(phone);
    const script: [Sender, string, string][] = [
      [onA, 'Bonjour', 'Quelle pièce d’identité avez-vous'],
      [onB, '1', 'Écrivez le numéro de votre CNIE'],
      [onA, 'BE654321', 'Date d’expiration de la pièce'],
      [onB, '15/11/2030', 'Votre date de naissance'],
      [onA, '02/07/1990', 'Recevoir les SMS sur ce numéro'],
      [onB, '1', 'Votre opérateur'],
      [onA, '2', 'Votre e-mail (facultatif)'],
      [onB, 'passer', 'Vérifiez vos réponses'],
      [onA, 'oui', 'Écrivez le code à 6 chiffres'],
    ];
    for (const [sender, text, expected] of script) {
      const reply = await sender.say(text);
      expect({ text, status: reply.status }).toEqual({ text, status: 200 });
      expect(reply.text.replace(/'/g, '’')).toContain(expected);
    }
    const code = /\b\d{6}\b/.exec(smsTo(phone).join('\n'))?.[0];
    expect(code).toBeDefined();
    const done = await onB.say(code!);
    expect(done.text).toContain('Votre numéro d’immatriculation : 222333444'.replace('’', "'"));
    expect(smsTo(phone).some((body) => body.includes('mot de passe Ma CNSS'))).toBe(true);
    expect(done.text).not.toContain(code!);
  });

  it('asks for a forgotten password: the code to the account\'s phone sent by one instance is checked by the other', async () => {
    const [onA, onB] = onBoth('+212640000011');
    for (const [sender, text] of [[onA, 'mot de passe oublié'], [onB, '1'], [onA, 'AB123456'], [onB, '30/06/2031'], [onA, '14/03/1985']] as const) {
      expect((await sender.say(text)).status).toBe(200);
    }
    expect((await onB.say('oui')).text).toContain('06xx xx xx 32');
    const code = /\b\d{6}\b/.exec(smsTo(ACCOUNT_PHONE).join('\n'))?.[0];
    expect(code).toBeDefined();
    const done = await onA.say(code!);
    expect(done.text).toContain('Votre nouveau mot de passe vous a été envoyé par SMS au 06xx xx xx 32');
    expect(smsTo(ACCOUNT_PHONE).some((body) => body.includes('nouveau mot de passe Ma CNSS'))).toBe(true);
    // Nothing went to the number the worker writes from.
    expect(smsTo('+212640000011')).toEqual([]);

    // Another stops at the code: the account's phone is in its state, a code is pending (scanned below).
    clock.advance(61_000);
    const [other] = onBoth('+212640000012');
    for (const text of ['mot de passe oublié', '1', 'AB123456', '30/06/2031', '14/03/1985']) await other.say(text);
    expect((await other.say('oui')).text).toContain('Écrivez le code à 6 chiffres');
  });

  const TRIALS = 10;
  it(`two messages at the same moment, one on each instance: both applied, once each, one after the other (${TRIALS} trials)`, async () => {
    for (let trial = 0; trial < TRIALS; trial++) {
      const [onA, onB] = onBoth(`+2126410000${String(trial).padStart(2, '0')}`);
      for (const [sender, text] of [[onA, 'Bonjour'], [onB, '1'], [onA, 'AB123456'], [onB, '30/06/2031']] as const) {
        expect((await sender.say(text)).status).toBe(200);
      }
      expect((await onA.say('14/03/1985')).text).toContain('Recevoir les SMS sur ce numéro');

      // "1" then "1": the first accepts the offered number, the second picks Maroc Telecom,
      // whichever instance's turn comes first.
      const replies = await Promise.all([onA.say('1'), onB.say('1')]);
      expect(replies.map((r) => r.status)).toEqual([200, 200]);
      const texts = replies.map((r) => r.text);
      const operator = texts.filter((t) => t.includes('Votre opérateur')).length;
      const email = texts.filter((t) => t.includes('Votre e-mail (facultatif)')).length;
      expect({ trial, operator, email }).toEqual({ trial, operator: 1, email: 1 });

      const summary = await (trial % 2 ? onA : onB).say('passer');
      expect(summary.text).toContain('6. Opérateur : Maroc Telecom');
      expect(summary.text).toContain('7. E-mail : aucun');
    }
  });

  it('a MessageSid retried by Twilio on the other instance is not handled twice', async () => {
    const [onA] = onBoth('+212640000002');
    await onA.say('Bonjour');
    const form = onA.form('1');
    const first = await a.post(form);
    expect(first.text).toContain('Écrivez le numéro de votre CNIE');
    const retry = await b.post(form);
    expect(retry.status).toBe(200);
    expect(retry.messages).toEqual([]);
  });

  it('STOP said by SMS to one instance holds on the other, until START', async () => {
    const [onA, onB] = [a.sms('+212640000003'), b.sms('+212640000003')];
    await onA.say('Bonjour');
    expect((await onA.say('STOP')).messages).toHaveLength(1);
    expect((await onB.say('Bonjour')).messages).toEqual([]);
    expect((await onB.say('START')).text).toContain('Quelle pièce d’identité avez-vous'.replace('’', "'"));
  });

  it('on WhatsApp, a STOP said again to the other instance stays silent, and a message reopens the conversation for both', async () => {
    const [onA, onB] = onBoth('+212640000013');
    await onA.say('Bonjour');
    expect((await onA.say('STOP')).messages).toHaveLength(1);
    expect((await onB.say('STOP')).messages).toEqual([]);
    const back = await onB.say('Bonjour');
    expect(back.text).toContain('écrivez STOP');
    expect(back.text).toContain('Quelle pièce d’identité avez-vous'.replace('’', "'"));
    expect((await onA.say('1')).text).toContain('Écrivez le numéro de votre CNIE');
    expect((await onA.say('STOP')).messages).toHaveLength(1);
  });

  it('the OTP limits hold across instances: the hourly limit counts codes sent by both', async () => {
    // Each conversation asks for a code once; the number's limit (3 an hour, 60 s apart) is shared.
    const results: string[] = [];
    for (let i = 0; i < 4; i++) {
      const [onA, onB] = onBoth(`+21264100010${i}`);
      const instance = i % 2 ? onB : onA;
      const other = i % 2 ? onA : onB;
      for (const text of ['Bonjour', '1', 'CD112233', '10/01/2032', '25/12/1978']) await instance.say(text);
      // Every conversation gives the same mobile number for the SMS.
      await other.say('0655443322');
      await instance.say('2');
      await other.say('passer');
      results.push((await instance.say('oui')).text);
      clock.advance(61_000);
    }
    expect(results.slice(0, 3).every((text) => text.includes('Écrivez le code à 6 chiffres'))).toBe(true);
    expect(results[3]).not.toContain('Écrivez le code à 6 chiffres');
    expect(smsTo('+212655443322')).toHaveLength(3);
  });
});

describe('Twilio Verify behind two instances', () => {
  it('the code Verify sent at one instance’s request is checked by the other', async () => {
    const fake = new FakeTwilio();
    await fake.start();
    const verifyEnv = {
      REDIS_URL: TEST_REDIS_URL,
      STATE_ENCRYPTION_KEY,
      REDIS_KEY_PREFIX: prefix,
      TWILIO_VERIFY_SERVICE_SID: `VA${'fedcba9876543210'.repeat(2)}`,
    };
    const [one, two] = await Promise.all([
      startTwilioServer({ fake, env: verifyEnv, clock, registry }),
      startTwilioServer({ fake, env: verifyEnv, clock, registry }),
    ]);
    try {
      const phone = '+212640000009';
      const onOne = one.whatsapp(phone);
      const onTwo = two.whatsapp(phone);
      for (const text of ['Bonjour', '2', 'E1234567']) await onOne.say(text);
      for (const text of ['31/12/2029', '09/09/1982', '1', '2', 'passer']) await onTwo.say(text);
      expect((await onOne.say('oui')).text).toContain('Écrivez le code à 6 chiffres');
      const code = fake.lastVerifyCode(phone)!;
      expect(code).toMatch(/^\d{6}$/);
      const done = await onTwo.say(code);
      expect(done.text).toContain('444555666');
    } finally {
      await Promise.all([one.close(), two.close()]);
      await fake.stop();
    }
  });
});

describe('what Redis holds', () => {
  it('no plain personal datum in any key or value after a full conversation, and every key expires', async () => {
    const client = await connectTestClient();
    try {
      const secrets = ['BE654321', 'AB123456', '1990-07-02', '02/07/1990', '15/11/2030', '2030-11-15', '222333444', '212640000001', '640000001', '0655443322', '655443322'];
      // The forgotten password: the identity, the account's phone, the registration number.
      secrets.push('1985-03-14', '14/03/1985', '2031-06-30', '111222333', '212612345632', '612345632', '212640000011', '640000011', '212640000012', '640000012');
      secrets.push(...secretsInSms([...smsTo('+212640000001'), ...smsTo(ACCOUNT_PHONE)]));
      expectNoPersonalData(await scanForPersonalData(client, await listKeys(client, prefix), secrets));
    } finally {
      await closeTestClient(client);
    }
  });
});
