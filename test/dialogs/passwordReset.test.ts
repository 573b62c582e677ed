import { createTestBot } from '../support/harness';
import { warmUpDateRecognizer } from '../../src/nlu/dates';

/**
 * What a transcript cannot show of a forgotten password: which registry calls were made, with
 * which idempotency keys, and where every SMS went.
 */

const ACCOUNT_PHONE = '+212612345632';
const TYPED_PHONE = '+212699887766';

beforeAll(() => warmUpDateRecognizer(), 30000);

async function reachCode(bot: ReturnType<typeof createTestBot>): Promise<string> {
  for (const text of ['mot de passe oublié', '1', 'AB123456', '30/06/2031', '14/03/1985', 'oui']) await bot.say(text);
  return /\b\d{6}\b/.exec(bot.lastSmsTo(ACCOUNT_PHONE) ?? '')![0];
}

describe('a forgotten password', () => {
  it('"1" after the registry failed retries the reset with the same idempotency key: one user action, one new password', async () => {
    const bot = createTestBot();
    const code = await reachCode(bot);
    bot.registry.down = true;
    expect((await bot.say(code)).join(' ')).toContain('Répondez 1 pour réessayer');
    expect((await bot.say('1')).join(' ')).toContain('Répondez 1 pour réessayer');
    bot.registry.down = false;
    expect((await bot.say('1')).join(' ')).toContain('Votre nouveau mot de passe vous a été envoyé');
    expect(bot.registry.resetKeys).toHaveLength(3);
    expect(new Set(bot.registry.resetKeys).size).toBe(1);
    expect(bot.registry.resetKeys[0]).toMatch(/^[0-9a-f-]{36}$/);
    // The account phone was asked once: kept in the conversation, never asked again on a retry.
    expect(bot.registry.accountPhoneLookUps).toBe(1);
  });

  it('a new request is a new user action: a new key', async () => {
    const bot = createTestBot();
    await bot.say(await reachCode(bot));
    bot.clock.advance(61_000);
    await bot.say(await reachCode(bot));
    expect(bot.registry.resetKeys).toHaveLength(2);
    expect(bot.registry.resetKeys[0]).not.toBe(bot.registry.resetKeys[1]);
  });

  it('sends nothing to a number typed in the chat, whatever is typed where', async () => {
    const bot = createTestBot({ channel: 'whatsapp', from: TYPED_PHONE });
    await bot.say('Bonjour');
    for (const text of ['1', 'AB123456', '30/06/2031', '14/03/1985', '1', '1', 'passer', 'oui', 'oui']) await bot.say(text);
    // The form took the sender's own number; the code went to the account's.
    expect(bot.app.outbox.list().map((m) => m.to)).toEqual([ACCOUNT_PHONE]);
    await bot.say('0611223344');
    await bot.say('renvoyer');
    bot.clock.advance(61_000);
    await bot.say('renvoyer');
    await bot.say(/\b\d{6}\b/.exec(bot.lastSmsTo(ACCOUNT_PHONE)!)![0]);
    expect(new Set(bot.app.outbox.list().map((m) => m.to))).toEqual(new Set([ACCOUNT_PHONE]));
    expect(bot.app.outbox.list()).toHaveLength(3); // two codes, one password
  });

  it('keeps the account phone in the conversation only until the outcome', async () => {
    const bot = createTestBot();
    const stored = () => [...(bot.app.storage as unknown as { items: Map<string, { json: string }> }).items.values()].map((i) => i.json).join('\n');
    const code = await reachCode(bot);
    expect(stored()).toContain('+212612345632'); // in memory mode, as the form's answers (Redis encrypts it)
    await bot.say(code);
    expect(stored()).toContain('"locale":"fr"');
    expect(stored()).not.toContain('612345632');
    expect(stored()).not.toContain('AB123456');
  });
});
