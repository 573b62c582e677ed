import { countSmsSegments } from '../../src/channels/sms/encoding';
import { warmUpDateRecognizer } from '../../src/nlu/dates';
import type { Locale } from '../../src/services/types';
import { startTwilioServer, type TwilioTestServer } from '../support/twilioServer';

/**
 * What a whole SMS turn costs, not only each prompt (test/channels/smsPrompts.test.ts): every
 * segment of every SMS is billed, and one turn's messages travel together. Each turn of complete
 * SMS conversations is held to 2 segments, except the turns that carry what the user came for,
 * each held to what it costs today so that copy cannot grow unnoticed.
 */
const MAX_SEGMENTS = 2;

type Step = 'welcome' | 'question' | 'summary' | 'outcome' | 'documents' | 'offices';

/**
 * Turns allowed past 2 segments, and why:
 * - the Arabic welcome: the privacy notice, the way to French and "help", before the first question
 *   (Arabic is UCS-2: 134 characters in 2 segments);
 * - the Arabic summary reads back seven answers (smsPrompts.test.ts explains its 4);
 * - outcomes, the documents to bring and the offices are the answer itself, sent once: cut
 *   shorter, they would lose a document or an address;
 * - the offices come with the follow-up offer, whose consent must say what is kept and how long
 *   (docs/follow-up.md): one segment more in French, one in Arabic.
 */
const BUDGETS: Record<Locale, Partial<Record<Step, number>>> = {
  fr: { outcome: 3, offices: 4 },
  ar: { welcome: 3, summary: 4, outcome: 5, documents: 4, offices: 7 },
};

const OPENERS: Record<Locale, { hello: string; skip: string; yes: string; city: string }> = {
  fr: { hello: 'Bonjour', skip: 'passer', yes: 'oui', city: 'Casablanca' },
  ar: { hello: 'السلام عليكم', skip: 'دوز', yes: 'نعم', city: 'الدار البيضاء' },
};

/** Outcome A, C (the category list paged to its third page, a pharmacist, Casablanca) and D. */
function conversation(locale: Locale, outcome: 'A' | 'C' | 'D'): [string, Step][] {
  const o = OPENERS[locale];
  const identity = { A: ['AB123456', '30/06/2031', '14/03/1985'], C: ['ZZ999999', '15/08/2030', '15/03/1985'], D: ['EF445566', '01/09/2029', '20/05/1965'] }[outcome];
  const form: [string, Step][] = [
    [o.hello, 'welcome'],
    ['1', 'question'],
    ...identity.map((text): [string, Step] => [text, 'question']),
    ['1', 'question'],
    ['3', 'question'],
    [o.skip, 'summary'],
    [o.yes, 'outcome'],
  ];
  if (outcome !== 'C') return form;
  return [...form, ['0', 'question'], ['0', 'question'], ['11', 'documents'], [o.city, 'offices']];
}

let server: TwilioTestServer;
let phoneSeq = 0;
beforeAll(async () => {
  warmUpDateRecognizer();
  server = await startTwilioServer();
}, 30000);
afterAll(() => server.close());

describe.each(['fr', 'ar'] as const)('whole SMS turns in %s', (locale) => {
  it.each(['A', 'C', 'D'] as const)('outcome %s: each turn within its segment budget', async (outcome) => {
    const user = server.sms(`+2127123460${String(++phoneSeq).padStart(2, '0')}`);
    const costs: { step: Step; said: string; segments: number; budget: number }[] = [];
    for (const [said, step] of conversation(locale, outcome)) {
      const reply = await user.say(said);
      expect(reply.status).toBe(200);
      expect(reply.messages.length).toBeGreaterThan(0);
      const segments = reply.messages.reduce((total, body) => total + countSmsSegments(body).segments, 0);
      costs.push({ step, said, segments, budget: BUDGETS[locale][step] ?? MAX_SEGMENTS });
    }
    expect(costs.filter((c) => c.segments > c.budget)).toEqual([]);
  });
});
