import type { TwilioTestServer } from './twilioServer';

/**
 * Whole conversations over the signed Twilio route, as a worker types them, for the tests of a
 * highly available Redis: each message goes to the next instance in turn (a load balancer), and a
 * reply is checked against the question that must come next. A worker told "try again in a
 * moment" waits a little and sends the same answer again, as a person would; any other reply that
 * is not the expected question means an answer was lost or a message handled twice, and fails.
 */

/** The "try again in a moment" answer (locales/fr: errors of state). */
export const TRY_AGAIN_FR = 'Réessayez dans un instant';

/** [what the worker types, what the next reply must contain] — outcome A (AB123456, 111222333). */
export const OUTCOME_A_FR: readonly (readonly [string, string])[] = [
  ['Bonjour', 'Quelle pièce d’identité avez-vous'],
  ['1', 'Écrivez le numéro de votre CNIE'],
  ['AB123456', 'Date d’expiration de la pièce'],
  ['30/06/2031', 'Votre date de naissance'],
  ['14/03/1985', 'Recevoir les SMS sur ce numéro'],
  ['1', 'Votre opérateur'],
  ['2', 'Votre e-mail (facultatif)'],
  ['passer', 'Vérifiez vos réponses'],
  ['oui', '111222333'],
];

export interface ConversationResult {
  phone: string;
  /** Messages answered "try again" and sent again. */
  retries: number;
  transcript: string[];
}

export interface ConverseOptions {
  /** Pause between two messages of the worker (ms; a random part is added). */
  pauseMs?: number;
  /** How long one step may keep getting "try again" before the test gives up (ms). */
  stepBudgetMs?: number;
  /** Called after each step that got its expected reply. */
  onStep?: () => void;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const typographic = (text: string) => text.replace(/'/g, '’');

/**
 * Talks `script` through to its end, alternating between `servers`. Resolves with the number of
 * retries; rejects, with the transcript, at the first reply that is neither the expected one nor
 * "try again", or an HTTP status other than 200.
 */
export async function converse(servers: TwilioTestServer[], phone: string, script: readonly (readonly [string, string])[], options: ConverseOptions = {}): Promise<ConversationResult> {
  const pauseMs = options.pauseMs ?? 50;
  const stepBudgetMs = options.stepBudgetMs ?? 60_000;
  const transcript: string[] = [];
  let retries = 0;
  let next = Number(phone.slice(-1)) % servers.length;
  for (const [text, expected] of script) {
    const stepStarted = Date.now();
    for (;;) {
      const server = servers[next++ % servers.length]!;
      const reply = await replyOf(server, phone, text);
      transcript.push(`> ${text}`, `< ${reply}`);
      if (reply.includes(expected)) break;
      if (!reply.includes(TRY_AGAIN_FR) || Date.now() - stepStarted > stepBudgetMs) {
        throw new Error(`${phone}: expected "${expected}" after "${text}"\n${transcript.join('\n')}`);
      }
      retries++;
      await sleep(200 + Math.random() * 200);
    }
    options.onStep?.();
    await sleep(pauseMs / 2 + Math.random() * pauseMs);
  }
  return { phone, retries, transcript };
}

/** The answer to one message: the TwiML reply, or (a turn that outlived the reply budget) the late reply. */
async function replyOf(server: TwilioTestServer, phone: string, text: string): Promise<string> {
  const sentBefore = lateRepliesTo(server, phone).length;
  const reply = await server.whatsapp(phone).say(text);
  if (reply.status !== 200) throw new Error(`${phone}: HTTP ${reply.status} after "${text}": ${reply.raw}`);
  if (reply.messages.length > 0) return typographic(reply.text);
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    const late = lateRepliesTo(server, phone).slice(sentBefore);
    if (late.length > 0) return typographic(late.join('\n'));
    await sleep(50);
  }
  return '(no answer)';
}

function lateRepliesTo(server: TwilioTestServer, phone: string): string[] {
  return server.app.outbox
    .list()
    .filter((message) => message.channel === 'whatsapp' && message.to.endsWith(phone))
    .map((message) => message.body);
}

/**
 * `count` conversations at once, each on its own number (`+2126<prefix><nn>`), calling `during()`
 * once `startAfterSteps` steps are done in all; resolves when every conversation is done, with
 * their results and how many steps were completed after `during` began (more than 0: it ran while
 * they were still going).
 */
export async function concurrentConversations(
  servers: TwilioTestServer[],
  options: { count: number; numberPrefix: string; startAfterSteps: number; during: () => Promise<void>; script?: readonly (readonly [string, string])[] },
): Promise<{ results: ConversationResult[]; stepsAfterDuring: number }> {
  let steps = 0;
  let duringBegan = false;
  let stepsAfterDuring = 0;
  let startDuring: () => void = () => undefined;
  const reached = new Promise<void>((resolve) => (startDuring = resolve));
  const onStep = () => {
    steps++;
    if (duringBegan) stepsAfterDuring++;
    if (steps >= options.startAfterSteps) startDuring();
  };
  const conversations = Array.from({ length: options.count }, (_, i) =>
    converse(servers, `+2126${options.numberPrefix}${String(i).padStart(2, '0')}`, options.script ?? OUTCOME_A_FR, { onStep, pauseMs: 100 }),
  );
  const settled = Promise.allSettled(conversations);
  await Promise.race([reached, settled]);
  duringBegan = true;
  await options.during();
  const outcomes = await settled;
  const failures = outcomes.filter((outcome): outcome is PromiseRejectedResult => outcome.status === 'rejected').map((outcome) => String(outcome.reason));
  if (failures.length > 0) throw new Error(`${failures.length} of ${options.count} conversations went wrong:\n\n${failures.join('\n\n')}`);
  return { results: outcomes.map((outcome) => (outcome as PromiseFulfilledResult<ConversationResult>).value), stepsAfterDuring };
}
