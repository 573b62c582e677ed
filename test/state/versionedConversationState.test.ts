import { randomBytes } from 'node:crypto';
import { TestAdapter, TurnContext, type Activity } from 'botbuilder';
import { createClient } from 'redis';
import { ManualClock } from '../../src/clock';
import { StaleWriteError } from '../../src/state/errors';
import { ExpiringMemoryStorage } from '../../src/state/expiringMemoryStorage';
import { parseStateKeys } from '../../src/state/keys';
import { RedisStorage } from '../../src/state/redisStorage';
import { VersionedConversationState } from '../../src/state/versionedConversationState';
import { createApp } from '../../src/app';
import { loadConfig } from '../../src/config';
import { createLogger } from '../../src/log';

/**
 * Two turns of one user, read at the same moment, both saved: botbuilder's own ConversationState
 * saves with eTag '*' and the second save silently wins (the first turn's answer is lost). Ours
 * refuses it, on either storage the app uses.
 */

const URL = 'redis://127.0.0.1:6379';
const client = createClient({ url: URL });
const prefix = `tasjil-test:${randomBytes(4).toString('hex')}:`;

beforeAll(async () => {
  await client.connect();
});
afterAll(async () => {
  const names = await client.keys(`${prefix}*`);
  if (names.length) await client.del(names);
  await client.quit();
});

function turnOf(adapter: TestAdapter, text: string): TurnContext {
  const activity: Partial<Activity> = {
    type: 'message',
    text,
    channelId: 'whatsapp',
    conversation: { id: 'whatsapp:+212600000009', isGroup: false, conversationType: 'personal', name: '' },
    from: { id: 'whatsapp:+212600000009', name: '' },
    recipient: { id: 'bot', name: '' },
  };
  return new TurnContext(adapter, activity);
}

describe.each([
  ['in memory', () => new ExpiringMemoryStorage(1800, new ManualClock())],
  ['in Redis', () => new RedisStorage(client as never, parseStateKeys(`k1:${randomBytes(32).toString('base64')}`), 1800, prefix)],
])('VersionedConversationState %s', (_where, makeStorage) => {
  it('refuses the second of two overlapping turns instead of losing the first one\'s answer', async () => {
    const state = new VersionedConversationState(makeStorage());
    const answers = state.createProperty<string[]>('answers');
    const adapter = new TestAdapter();

    const setup = turnOf(adapter, 'start');
    await answers.set(setup, []);
    await state.saveChanges(setup);

    const first = turnOf(adapter, 'BE654321');
    const second = turnOf(adapter, '15/11/2030');
    const [a, b] = [await answers.get(first, []), await answers.get(second, [])];
    a.push('BE654321');
    b.push('15/11/2030');
    await state.saveChanges(first);
    await expect(state.saveChanges(second)).rejects.toBeInstanceOf(StaleWriteError);

    const after = turnOf(adapter, 'check');
    expect(await answers.get(after)).toEqual(['BE654321']);
  });
});

it('is the conversation state the app runs on (one construction for both storages)', async () => {
  const app = createApp(loadConfig({ NODE_ENV: 'test' }), createLogger('silent'));
  expect(app.conversationState).toBeInstanceOf(VersionedConversationState);
  await app.close();
});
