import { warmUpDateRecognizer } from '../../src/nlu/dates';
import type { ActivationOptions, ActivationRequest, IdentityQuery, PasswordResetRequest, Registry } from '../../src/services/types';
import { FakeTwilio } from '../support/fakeTwilio';
import { OUR_WHATSAPP, STATUS_URL, eventually, sampleRegistry, startTwilioServer, type Sender, type TwilioTestServer } from '../support/twilioServer';
import { ManualClock } from '../../src/clock';
import { TEST_REDIS_URL, newTestPrefix } from '../support/redis';

/**
 * Twilio waits 15 s for a webhook's answer. A turn over TWILIO_REPLY_BUDGET_MS (here 500 ms, the
 * smallest allowed) is answered at once with "checking…", and its real replies follow through the
 * REST API: the dev outbox without Twilio, Twilio's Messages API with it.
 */

/** The sample registry, whose look-ups wait while held: a registry slower than the budget, without sleeping. */
class HeldRegistry implements Registry {
  private held?: { promise: Promise<void>; release: () => void };
  lookUps = 0;
  constructor(private readonly inner: Registry) {}

  hold(): void {
    let release!: () => void;
    const promise = new Promise<void>((resolve) => (release = resolve));
    this.held = { promise, release };
  }

  release(): void {
    this.held?.release();
    this.held = undefined;
  }

  async lookUp(query: IdentityQuery) {
    this.lookUps += 1;
    await this.held?.promise;
    return this.inner.lookUp(query);
  }

  activateAccount(request: ActivationRequest, options?: ActivationOptions) {
    return this.inner.activateAccount(request, options);
  }

  lookUpAccountPhone(query: IdentityQuery) {
    return this.inner.lookUpAccountPhone(query);
  }

  resetPassword(request: PasswordResetRequest, options?: ActivationOptions) {
    return this.inner.resetPassword(request, options);
  }

  isReady() {
    return this.inner.isReady();
  }
}

const BUDGET_MS = 500;
const CHECKING_FR = 'Je vérifie, un instant… La réponse arrive dans un message.';

let server: TwilioTestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});
beforeAll(() => warmUpDateRecognizer(), 30000);

async function start(fake?: FakeTwilio): Promise<{ server: TwilioTestServer; registry: HeldRegistry }> {
  const clock = new ManualClock();
  const registry = new HeldRegistry(sampleRegistry(clock));
  server = await startTwilioServer({ clock, registry, fake, env: { TWILIO_REPLY_BUDGET_MS: String(BUDGET_MS) } });
  return { server, registry };
}

/** Outcome A's answers up to the summary. */
async function toSummary(user: Sender): Promise<void> {
  for (const text of ['Bonjour', '1', 'AB123456', '30/06/2031', '14/03/1985', '1', '1']) await user.say(text);
  expect((await user.say('passer')).text).toContain('Vérifiez vos réponses');
}

describe('a turn over the reply budget, Twilio not configured', () => {
  it('answers "checking…" at once, then the result goes to the dev outbox as a WhatsApp message', async () => {
    const { server, registry } = await start();
    const user = server.whatsapp('+212660000001');
    await toSummary(user);

    registry.hold();
    const startedAt = Date.now();
    const reply = await user.say('oui');
    const tookMs = Date.now() - startedAt;
    expect(reply.status).toBe(200);
    expect(reply.messages).toEqual([CHECKING_FR]);
    // Not answered before the budget; the tolerance covers Node timers starting from the event
    // loop's cached clock, which lags the wall clock on a busy machine.
    expect(tookMs).toBeGreaterThanOrEqual(BUDGET_MS * 0.75);
    expect(tookMs).toBeLessThan(BUDGET_MS + 1500);
    expect(registry.lookUps).toBe(1);
    expect(server.app.outbox.list()).toEqual([]);

    registry.release();
    const late = await eventually(() => server.app.outbox.list().filter((m) => m.channel === 'whatsapp' && m.to === user.phone).length > 0 && server.app.outbox.list());
    expect(late).toHaveLength(1);
    expect(late[0]).toMatchObject({ channel: 'whatsapp', to: '+212660000001' });
    expect(late[0]!.body).toContain("Votre numéro d'immatriculation : 111222333");
    expect(late[0]!.body).toContain('Mot de passe oublié ?');

    // The development route shows it too.
    const outbox = (await (await fetch(`${server.base}/dev/outbox`)).json()) as { messages: { channel: string; body: string }[] };
    expect(outbox.messages.map((m) => m.channel)).toEqual(['whatsapp']);

    // The conversation went on from the late turn: the next message answers its question.
    expect((await user.say('non')).text).toContain('Vos réponses ont été effacées');
  });

  it('"checking…" speaks the conversation’s language', async () => {
    const { server, registry } = await start();
    const user = server.sms('+212660000002');
    for (const text of ['السلام عليكم', '1', 'AB123456', '30/06/2031', '14/03/1985', '1', '1', 'دوز']) await user.say(text);
    registry.hold();
    const reply = await user.say('نعم');
    expect(reply.messages).toEqual(['لحظة، أتحقق… سيصلك الجواب في رسالة.']);
    registry.release();
    const [late] = await eventually(() => {
      const sent = server.app.outbox.list().filter((m) => m.to === user.phone);
      return sent.length > 0 && sent;
    });
    expect(late).toMatchObject({ channel: 'sms' });
    expect(late!.body).toContain('111222333');
  });
});

describe('a turn over the reply budget, Twilio configured', () => {
  const fake = new FakeTwilio();
  beforeAll(() => fake.start());
  afterAll(() => fake.stop());
  beforeEach(() => fake.reset());

  it('the result goes through Twilio’s Messages API, from our WhatsApp number', async () => {
    const { server, registry } = await start(fake);
    const user = server.whatsapp('+212660000003');
    await toSummary(user);

    registry.hold();
    const reply = await user.say('oui');
    expect(reply.messages).toEqual([CHECKING_FR]);
    expect(fake.requestsTo('Messages.json')).toEqual([]);

    registry.release();
    const [late] = await eventually(() => fake.requestsTo('Messages.json').length > 0 && fake.requestsTo('Messages.json'));
    expect(late!.form).toMatchObject({ From: OUR_WHATSAPP, To: 'whatsapp:+212660000003', StatusCallback: STATUS_URL });
    expect(late!.form.Body).toContain("Votre numéro d'immatriculation : 111222333");
    expect(server.app.outbox.list()).toEqual([]);
  });

  it('a message sent while a late turn runs waits for it; both results then arrive in order', async () => {
    const { server, registry } = await start(fake);
    const user = server.whatsapp('+212660000004');
    await toSummary(user);

    registry.hold();
    const confirming = user.say('oui');
    // The next message arrives while the look-up still runs: it is queued behind it, not lost.
    await eventually(() => registry.lookUps === 1);
    const next = user.say('non');
    expect((await confirming).messages).toEqual([CHECKING_FR]);
    expect((await next).messages).toEqual([CHECKING_FR]);

    registry.release();
    const sent = await eventually(() => fake.requestsTo('Messages.json').length >= 2 && fake.requestsTo('Messages.json'));
    expect(sent.map((r) => r.form.To)).toEqual(['whatsapp:+212660000004', 'whatsapp:+212660000004']);
    expect(sent[0]!.form.Body).toContain('111222333');
    // "non" to outcome A's offer of a new password: the end.
    expect(sent[1]!.form.Body).toContain('Vos réponses ont été effacées');
  });
});

describe('a late turn and the user who left or was let down', () => {
  const STOP_FR = 'Vous ne recevrez plus de messages de Tasjil et vos données sont effacées. Écrivez START pour revenir.';

  it('STOP while a late turn runs: its result is not sent, and the conversation stays erased', async () => {
    const { server, registry } = await start();
    const user = server.whatsapp('+212660000005');
    await toSummary(user);

    registry.hold();
    expect((await user.say('oui')).messages).toEqual([CHECKING_FR]);
    // The erase waits for the running turn; the confirmation does not wait past the budget.
    expect((await user.say('STOP')).messages).toEqual([STOP_FR]);

    registry.release();
    await eventually(() => server.logLines.some((line) => line.includes('"event":"chat.reply_late.dropped"')));
    const key = `whatsapp/conversations/${user.phone}/`;
    // The erase ran after the turn, so the turn did not save the erased answers back.
    await eventually(async () => (await server.app.storage.read([key]))[key] === undefined);
    expect(await server.app.storage.read([key])).toEqual({});
    expect(server.app.outbox.list()).toEqual([]);
  });

  it('a late turn whose save is refused still gets an answer: the apology, by message', async () => {
    const { server, registry } = await start();
    const user = server.sms('+212660000006');
    await toSummary(user);

    registry.hold();
    expect((await user.say('oui')).messages).toEqual(['Je vérifie, un instant... La réponse arrive dans un message.']);
    // The conversation is erased under the running turn: its versioned save is refused.
    const key = `sms/conversations/${user.phone}/`;
    await server.app.storage.delete([key]);
    registry.release();

    const [late] = await eventually(() => {
      const sent = server.app.outbox.list().filter((m) => m.to === user.phone);
      return sent.length > 0 && sent;
    });
    expect(late).toMatchObject({ channel: 'sms', body: APOLOGY_FR_SMS });
  });

  it('Redis: a message that waited too long for the turn before it gets the apology by message, then that turn’s result', async () => {
    const clock = new ManualClock();
    const registry = new HeldRegistry(sampleRegistry(clock));
    server = await startTwilioServer({
      clock,
      registry,
      turnMaxWaitMs: 1500,
      env: { TWILIO_REPLY_BUDGET_MS: String(BUDGET_MS), REDIS_URL: TEST_REDIS_URL, REDIS_KEY_PREFIX: newTestPrefix() },
    });
    const user = server.sms('+212660000007');
    await toSummary(user);

    registry.hold();
    expect((await user.say('oui')).messages).toEqual(['Je vérifie, un instant... La réponse arrive dans un message.']);
    // Queued behind the held look-up, past the budget, then past the queue's wait.
    expect((await user.say('bonjour')).messages).toEqual(['Je vérifie, un instant... La réponse arrive dans un message.']);
    const sent = () => server!.app.outbox.list().filter((m) => m.to === user.phone);
    await eventually(() => sent().length === 1, 5000);
    expect(sent()[0]!.body).toBe(APOLOGY_FR_SMS);

    registry.release();
    await eventually(() => sent().length === 2);
    expect(sent()[1]!.body).toContain('111222333');
  });
});

const APOLOGY_FR_SMS = 'Désolé, un problème technique est survenu. Réessayez dans un instant : vos réponses sont gardées.';
