import { warmUpDateRecognizer } from '../../src/nlu/dates';
import { FakeTwilio, NOT_MOBILE_ERROR, type RecordedRequest } from '../support/fakeTwilio';
import { SMS_FROM, STATUS_URL, startTwilioServer, statusForm, type Sender, type TwilioReply, type TwilioTestServer } from '../support/twilioServer';

/**
 * Outcome B over WhatsApp with Twilio configured: the OTP and the password leave as SMS through
 * the real twilio library, pointed at a local fake of Twilio's REST API. The tests assert what
 * Twilio would receive, read the code from there as the user would read it on their phone, and
 * type it back through the webhook.
 */

const VERIFY_SID = `VA${'fedcba9876543210'.repeat(2)}`;

const fake = new FakeTwilio();
let server: TwilioTestServer;

beforeAll(async () => {
  warmUpDateRecognizer();
  await fake.start();
}, 30000);
afterAll(() => fake.stop());
beforeEach(() => fake.reset());
afterEach(() => server?.close());

/** Everything the user read in chat, to check that no secret ever shows there. */
function chatLog(replies: TwilioReply[]): string {
  return replies.map((r) => r.raw).join('\n');
}

/** Answers the form up to the summary and confirms it; the phone typed is `phone` (national format). */
async function reachOtp(user: Sender, person: { number: string; expiry: string; birth: string }, phone: string, replies: TwilioReply[]) {
  for (const text of ['Bonjour', '1', person.number, person.expiry, person.birth, phone, '2', 'passer']) {
    const reply = await user.say(text);
    expect(reply.status).toBe(200);
    replies.push(reply);
  }
  const confirmed = await user.say('oui');
  replies.push(confirmed);
  return confirmed;
}

const messagesSent = () => fake.requestsTo('Messages.json');
const codeIn = (request: RecordedRequest | undefined) => /\b(\d{6})\b/.exec(String(request?.form.Body))?.[1];
const passwordIn = (request: RecordedRequest | undefined) => /mot de passe Ma CNSS est (\S+) \./.exec(String(request?.form.Body))?.[1];

describe('OTP and password through Twilio Messages (our own OTP service)', () => {
  it('sends both SMS from the alphanumeric sender to the number given, with the status callback, and never shows the password in chat', async () => {
    server = await startTwilioServer({ fake });
    const user = server.whatsapp('+212612345678');
    const replies: TwilioReply[] = [];

    const atOtp = await reachOtp(user, { number: 'BE654321', expiry: '15/11/2030', birth: '02/07/1990' }, '06 98 76 54 32', replies);
    expect(atOtp.text).toContain('sans compte Ma CNSS');
    expect(atOtp.text).toContain('Écrivez le code à 6 chiffres reçu par SMS au 06xx xx xx 32');

    // Exactly one request reached Twilio: the OTP SMS.
    expect(fake.requests).toHaveLength(1);
    const [otpSms] = messagesSent();
    expect(otpSms).toMatchObject({
      method: 'POST',
      path: `/2010-04-01/Accounts/${fake.accountSid}/Messages.json`,
      authorization: `Basic ${Buffer.from(`${fake.accountSid}:${fake.authToken}`).toString('base64')}`,
      form: { From: SMS_FROM, To: '+212698765432', StatusCallback: STATUS_URL },
    });
    expect(Object.keys(otpSms!.form).sort()).toEqual(['Body', 'From', 'StatusCallback', 'To']);
    expect(otpSms!.form.Body).toMatch(/^CNSS Tasjil: votre code de verification est \d{6}\. Valable 10 min\./);
    const code = codeIn(otpSms)!;

    // Twilio reports the OTP sent, then delivered: nothing for the user to hear about.
    const otpSid = String(fake.messages[0]!.sid);
    for (const status of ['sent', 'delivered']) {
      expect((await server.status(statusForm(otpSid, status, { To: '+212698765432', From: SMS_FROM }))).status).toBe(204);
    }

    const done = await user.say(code);
    replies.push(done);
    expect(done.text).toContain('Votre compte Ma CNSS est créé');
    expect(done.text).toContain("Votre numéro d'immatriculation : 222333444");
    expect(done.text).toContain('Votre mot de passe vous a été envoyé par SMS au 06xx xx xx 32');

    const sent = messagesSent();
    expect(sent).toHaveLength(2);
    expect(sent[1]).toMatchObject({ form: { From: SMS_FROM, To: '+212698765432', StatusCallback: STATUS_URL } });
    const password = passwordIn(sent[1]);
    expect(password).toMatch(/^\S{8,}$/);

    const chat = chatLog(replies);
    expect(chat).not.toContain(password);
    expect(chat).not.toContain(code);
    // Chat replies all travelled in TwiML: nothing went to WhatsApp by REST.
    expect(sent.every((r) => !String(r.form.To).startsWith('whatsapp:'))).toBe(true);
    // No SMS went to the dev outbox once Twilio is configured.
    expect(server.app.outbox.list()).toEqual([]);
  });

  it('when Twilio refuses the password SMS, the account is still created: the number is shown and the portal\'s way to a password given', async () => {
    server = await startTwilioServer({ fake });
    const user = server.whatsapp('+212612345678');
    const replies: TwilioReply[] = [];
    await reachOtp(user, { number: 'BE654321', expiry: '15/11/2030', birth: '02/07/1990' }, '06 98 76 54 32', replies);
    const code = codeIn(messagesSent()[0])!;

    fake.failNextSends(1, NOT_MOBILE_ERROR);
    const done = await user.say(code);
    expect(done.status).toBe(200);
    expect(done.text).toContain('Votre compte Ma CNSS est créé');
    expect(done.text).toContain("Votre numéro d'immatriculation : 222333444");
    expect(done.text).toContain("Le SMS avec votre mot de passe n'a pas pu être envoyé au 06xx xx xx 32");
    expect(done.text).toContain('« Mot de passe oublié »');
    expect(done.text).not.toContain('envoyé par SMS au');
    // Twilio was asked once for the password SMS, and refused it: nothing else went out.
    expect(messagesSent()).toHaveLength(2);
    // And the conversation goes on normally.
    expect((await user.say('Bonjour')).text).toContain('Nouvelle vérification');
  });
});

describe('OTP through Twilio Verify (TWILIO_VERIFY_SERVICE_SID set)', () => {
  it('asks Verify to text the code in the conversation’s language, checks the code typed back, and sends the password by Messages', async () => {
    server = await startTwilioServer({ fake, env: { TWILIO_VERIFY_SERVICE_SID: VERIFY_SID } });
    const user = server.whatsapp('+212612345679');
    const replies: TwilioReply[] = [];
    for (const text of ['السلام عليكم', '1', 'CD112233', '10/01/2032', '25/12/1978', '0677889900', '1', 'دوز']) {
      replies.push(await user.say(text));
    }
    const atOtp = await user.say('نعم');
    replies.push(atOtp);
    expect(atOtp.status).toBe(200);

    // One Verify request, no Messages request: Verify generates and texts the code itself.
    expect(messagesSent()).toEqual([]);
    const verifications = fake.requestsTo('Verifications');
    expect(verifications).toHaveLength(1);
    expect(verifications[0]).toMatchObject({ method: 'POST', path: `/v2/Services/${VERIFY_SID}/Verifications` });
    expect(verifications[0]!.form).toEqual({ To: '+212677889900', Channel: 'sms', Locale: 'ar' });

    const code = fake.lastVerifyCode('+212677889900')!;
    expect(code).toMatch(/^\d{6}$/);
    const done = await user.say(code);
    replies.push(done);
    expect(done.status).toBe(200);
    expect(done.text).toContain('333444555');

    expect(fake.requestsTo('VerificationCheck').map((r) => r.form)).toEqual([{ To: '+212677889900', Code: code }]);
    const sent = messagesSent();
    expect(sent).toHaveLength(1);
    expect(sent[0]).toMatchObject({ form: { From: SMS_FROM, To: '+212677889900', StatusCallback: STATUS_URL } });
    const password = /هي (\S+) \./.exec(String(sent[0]!.form.Body))?.[1];
    expect(password).toBeDefined();
    expect(chatLog(replies)).not.toContain(password);
  });
});

describe('a status callback reports the OTP SMS undelivered', () => {
  it('the next message hears it; another mobile number typed then gets a new code', async () => {
    server = await startTwilioServer({ fake });
    const user = server.whatsapp('+212612345677');
    await reachOtp(user, { number: 'BE654321', expiry: '15/11/2030', birth: '02/07/1990' }, '0698765431', []);
    const [otpSms] = messagesSent();
    expect(otpSms!.form.To).toBe('+212698765431');

    // Twilio posts the report for the SID it returned when the OTP was sent.
    const otpSid = String(fake.messages[0]!.sid);
    const report = await server.status(statusForm(otpSid, 'undelivered', { ErrorCode: '30003', To: '+212698765431', From: SMS_FROM }));
    expect(report.status).toBe(204);

    const told = await user.say("j'attends toujours");
    expect(told.status).toBe(200);
    expect(told.messages).toEqual([
      'Le SMS n\'a pas pu être livré au 06xx xx xx 31. Écrivez un autre numéro de mobile, ou « renvoyer » pour réessayer.',
    ]);
    expect(messagesSent()).toHaveLength(1);

    // Told once per code: the next message is read as an attempt again.
    const again = await user.say('123');
    expect(again.text).not.toContain("n'a pas pu être livré");

    const moved = await user.say('07 11 22 33 44');
    expect(moved.text).toContain('Nouveau code envoyé au 07xx xx xx 44');
    const sent = messagesSent();
    expect(sent).toHaveLength(2);
    expect(sent[1]).toMatchObject({ form: { From: SMS_FROM, To: '+212711223344', StatusCallback: STATUS_URL } });

    const done = await user.say(codeIn(sent[1])!);
    expect(done.text).toContain('222333444');
    expect(done.text).toContain('envoyé par SMS au 07xx xx xx 44');
    expect(messagesSent()[2]).toMatchObject({ form: { To: '+212711223344' } });
  });

  it('a failure report for an SMS this bot never sent changes nothing in the conversation', async () => {
    server = await startTwilioServer({ fake });
    const user = server.whatsapp('+212612345676');
    await reachOtp(user, { number: 'BE654321', expiry: '15/11/2030', birth: '02/07/1990' }, '0698765430', []);
    expect((await server.status(statusForm(`SM${'9'.repeat(32)}`, 'undelivered', { ErrorCode: '30003', To: '+212698765430' }))).status).toBe(204);
    const done = await user.say(codeIn(messagesSent()[0])!);
    expect(done.text).toContain('222333444');
  });
});

describe('a forgotten password through Twilio Messages', () => {
  it('sends the code and the new password to the account\'s phone only; an undelivered code is told, and another number is never taken', async () => {
    server = await startTwilioServer({ fake });
    const user = server.whatsapp('+212612345675');
    for (const text of ['mot de passe oublié', '1', 'AB123456', '30/06/2031', '14/03/1985']) expect((await user.say(text)).status).toBe(200);
    const atCode = await user.say('oui');
    expect(atCode.text).toContain('uniquement au numéro de votre compte : 06xx xx xx 32');
    const [otpSms] = messagesSent();
    expect(otpSms).toMatchObject({ form: { From: SMS_FROM, To: '+212612345632', StatusCallback: STATUS_URL } });

    const report = await server.status(statusForm(String(fake.messages[0]!.sid), 'undelivered', { ErrorCode: '30003', To: '+212612345632', From: SMS_FROM }));
    expect(report.status).toBe(204);
    const told = await user.say("j'attends toujours");
    expect(told.messages).toEqual([
      'Le SMS n\'a pas pu être livré au 06xx xx xx 32. Écrivez « renvoyer » pour réessayer. Ce numéro n\'est plus le vôtre ? Répondez « non ».',
    ]);
    // Another number typed is not where a code goes: nothing is sent.
    expect((await user.say('07 11 22 33 44')).text).toContain('le code va uniquement au numéro de votre compte');
    expect(messagesSent()).toHaveLength(1);

    const done = await user.say(codeIn(otpSms)!);
    expect(done.text).toContain('Votre nouveau mot de passe vous a été envoyé par SMS au 06xx xx xx 32');
    const passwordSms = messagesSent()[1];
    expect(passwordSms).toMatchObject({ form: { From: SMS_FROM, To: '+212612345632' } });
    const password = /nouveau mot de passe Ma CNSS est (\S+) \./.exec(String(passwordSms?.form.Body))?.[1];
    expect(password).toMatch(/^[A-Za-z0-9]{10}$/);
    expect(done.raw).not.toContain(password!);
  });
});
