import type { ExpiringMemoryStorage } from '../src/state/expiringMemoryStorage';
import { createTestBot, type TestBot } from './support/harness';

/** Conversations kept in memory (the test bot runs without REDIS_URL). */
const kept = (bot: TestBot) => (bot.app.storage as ExpiringMemoryStorage).size();

/** How long a conversation, and the personal data in it, is kept. */
describe('conversation lifetime', () => {
  const TTL_MS = 1800 * 1000;

  it('a conversation silent past CONVERSATION_TTL_SECONDS is forgotten with its answers', async () => {
    const bot = createTestBot();
    await bot.say('bonjour');
    await bot.say('1');
    await bot.say('AB123456');
    bot.clock.advance(TTL_MS - 1000);
    expect((await bot.say('30/06/2031')).join('\n')).toContain('date de naissance');
    bot.clock.advance(TTL_MS);
    expect(kept(bot)).toBe(0);
    const replies = (await bot.say('bonjour')).join('\n');
    expect(replies).toContain('je suis Tasjil');
    expect(replies).toContain("Quelle pièce d'identité");
  });

  it('"supprimer" deletes the conversation at once', async () => {
    const bot = createTestBot();
    await bot.say('bonjour');
    await bot.say('1');
    await bot.say('AB123456');
    expect(kept(bot)).toBe(1);
    expect((await bot.say('supprimer')).join('\n')).toContain('effacées');
    expect(kept(bot)).toBe(0);
  });

  it('an outcome erases the answers but keeps the language', async () => {
    const bot = createTestBot();
    for (const line of ['السلام', '1', 'EF445566', '01/09/2029', '20/05/1965', '0611223344', '1', 'دوز']) await bot.say(line);
    await bot.say('نعم');
    // ConversationState keys are `<channelId>/conversations/<conversationId>/`.
    const stored = JSON.stringify(await bot.app.storage.read(['test/conversations/test-user/']));
    expect(stored).toContain('"locale":"ar"');
    expect(stored).not.toContain('EF445566');
    expect(stored).not.toContain('1965-05-20');
  });
});
