import { warmUpDateRecognizer } from '../../src/nlu/dates';
import type { Storage } from 'botbuilder';
import { startTwilioServer, type Sender, type TwilioTestServer } from '../support/twilioServer';

/**
 * Exactly once, one at a time: Twilio retries a webhook it got no answer to (same MessageSid), and
 * a user may send two messages in the same instant. Neither may skip, repeat or lose an answer.
 */

/**
 * State reads and writes that take a few milliseconds, as they will over the network (Redis): the
 * in-memory store answers within the same tick, so without this two turns of one user could never
 * overlap, and a missing per-user queue would go unnoticed.
 */
function slowDown(storage: Storage, ms = 1): void {
  const pause = () => new Promise((resolve) => setTimeout(resolve, ms));
  const read = storage.read.bind(storage);
  const write = storage.write.bind(storage);
  storage.read = async (keys) => (await pause(), read(keys));
  storage.write = async (changes) => (await pause(), write(changes));
}

let server: TwilioTestServer;
beforeAll(async () => {
  warmUpDateRecognizer();
  server = await startTwilioServer();
  slowDown(server.app.storage);
}, 30000);
afterAll(() => server.close());

/** From the first message to the phone question (which offers the sender's own number, "1"). */
async function toPhoneQuestion(user: Sender): Promise<void> {
  for (const text of ['Bonjour', '1', 'AB123456', '30/06/2031']) expect((await user.say(text)).status).toBe(200);
  const reply = await user.say('14/03/1985');
  expect(reply.text).toContain('Recevoir les SMS sur ce numéro');
}

const EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>';

describe('the same MessageSid twice (a Twilio retry)', () => {
  it('the second answer is an empty <Response/> and the conversation does not advance', async () => {
    const user = server.whatsapp('+212630000001');
    await toPhoneQuestion(user);

    // "1" accepts the offered number. Handled again, it would also answer the operator question.
    const form = user.form('1');
    const first = await server.post(form);
    expect(first.text).toContain('Votre opérateur');
    const retry = await server.post(form);
    expect(retry.status).toBe(200);
    expect(retry.contentType).toMatch(/^text\/xml/);
    expect(retry.raw).toBe(EMPTY_TWIML);
    expect(retry.messages).toEqual([]);

    // The operator question is still the one waiting: "2" answers it.
    const next = await user.say('2');
    expect(next.text).toContain('Votre e-mail (facultatif)');
    const summary = await user.say('passer');
    expect(summary.text).toContain('6. Opérateur : Orange');
  });

  it('a retry arriving while the first delivery is still being handled gets the empty answer too', async () => {
    const user = server.whatsapp('+212630000002');
    await toPhoneQuestion(user);
    const form = user.form('1');
    const replies = await Promise.all([server.post(form), server.post(form)]);
    expect(replies.map((r) => r.status)).toEqual([200, 200]);
    const texts = replies.map((r) => r.text).sort();
    expect(texts[0]).toBe('');
    expect(texts[1]).toContain('Votre opérateur');
    expect((await user.say('3')).text).toContain('Votre e-mail');
  });

  it('the same text in two messages (two MessageSids) is two answers', async () => {
    const user = server.whatsapp('+212630000003');
    await toPhoneQuestion(user);
    expect((await user.say('1')).text).toContain('Votre opérateur');
    expect((await user.say('1')).text).toContain('Votre e-mail');
  });
});

describe('two messages of one user posted at the same moment', () => {
  const TRIALS = 20;

  it(`both are answered, one after the other, and neither answer is lost (${TRIALS} trials)`, async () => {
    for (let trial = 0; trial < TRIALS; trial++) {
      const user = server.whatsapp(`+2126310000${String(trial).padStart(2, '0')}`);
      await toPhoneQuestion(user);

      // "1" then "1": the first accepts the offered number, the second picks Maroc Telecom,
      // whichever of the two requests reaches the server first.
      const replies = await Promise.all([user.say('1'), user.say('1')]);
      expect(replies.map((r) => r.status)).toEqual([200, 200]);
      expect(replies.every((r) => r.messages.length > 0)).toBe(true);
      const texts = replies.map((r) => r.text);
      const askedOperator = texts.filter((t) => t.includes('Votre opérateur'));
      const askedEmail = texts.filter((t) => t.includes('Votre e-mail (facultatif)'));
      expect({ trial, operator: askedOperator.length, email: askedEmail.length }).toEqual({ trial, operator: 1, email: 1 });

      // Both answers are in the conversation's state.
      const summary = await user.say('passer');
      expect(summary.text).toContain('5. Mobile : 06 31 00 00');
      expect(summary.text).toContain('6. Opérateur : Maroc Telecom');
      expect(summary.text).toContain('7. E-mail : aucun');
    }
  });

  it('two first messages at once: one starts the conversation, the other answers its first question', async () => {
    for (let trial = 0; trial < TRIALS; trial++) {
      const user = server.whatsapp(`+2126320000${String(trial).padStart(2, '0')}`);
      const replies = await Promise.all([user.say('2'), user.say('2')]);
      expect(replies.map((r) => r.status)).toEqual([200, 200]);
      const started = replies.filter((r) => r.text.includes('1. البطاقة الوطنية'));
      const answered = replies.filter((r) => r.text.includes('اكتب رقم بطاقة الإقامة'));
      expect({ trial, started: started.length, answered: answered.length }).toEqual({ trial, started: 1, answered: 1 });
      expect((await user.say('E1234567')).text).toContain('تاريخ انتهاء صلاحية الوثيقة؟');
    }
  });
});
