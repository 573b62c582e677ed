import { Writable } from 'node:stream';
import { createApp, type App } from '../../src/app';
import { ManualClock } from '../../src/clock';
import { loadConfig } from '../../src/config';
import { createLogger } from '../../src/log';
import { InProcessAdapter } from '../../src/channels/inProcessAdapter';
import { InboundTextMiddleware } from '../../src/channels/inboundText';
import { turnErrorHandler } from '../../src/channels/turnError';
import { loadReferenceData } from '../../src/data/load';
import { EmbeddedRegistry } from '../../src/services/registry/embeddedRegistry';
import { loadPeopleFile } from '../../src/services/registry/peopleFile';
import {
  RegistryUnavailableError,
  type ActivationOptions,
  type ActivationRequest,
  type IdentityQuery,
  type PasswordResetRequest,
  type Registry,
} from '../../src/services/types';
import { DEFAULT_PEOPLE_FILE } from '../../src/config';
import { chatActivity, type ChatAnswer } from '../../src/pipeline/messagePipeline';
import { firstName } from '../../src/channels/twilio/toActivity';

/** The embedded registry, with a switch to make it unavailable. */
export class SwitchableRegistry implements Registry {
  down = false;
  /** The next activation is made, then its answer is lost (a timeout after the registry acted). */
  loseNextActivationAnswer = false;
  /** Before the next activation, the same person's account is created by another channel. */
  accountMadeElsewhere = false;
  /** While set, look-ups and activations wait for it before answering (a slow registry; one that never settles: a hung one). */
  hold?: Promise<unknown>;
  lookUps = 0;
  activations = 0;
  /** Calls of a forgotten password: the account phone's look-ups, then the resets. */
  accountPhoneLookUps = 0;
  passwordResets = 0;
  /** The idempotency key of each reset call, in order. */
  resetKeys: (string | undefined)[] = [];
  constructor(private readonly inner: Registry) {}
  async lookUp(query: IdentityQuery) {
    this.lookUps += 1;
    if (this.hold) await this.hold;
    if (this.down) throw new RegistryUnavailableError();
    return this.inner.lookUp(query);
  }
  async activateAccount(request: ActivationRequest, options?: ActivationOptions) {
    this.activations += 1;
    if (this.hold) await this.hold;
    if (this.down) throw new RegistryUnavailableError();
    if (this.accountMadeElsewhere) {
      this.accountMadeElsewhere = false;
      await this.inner.activateAccount(request);
    }
    const result = await this.inner.activateAccount(request, options);
    if (this.loseNextActivationAnswer) {
      this.loseNextActivationAnswer = false;
      throw new RegistryUnavailableError('answer lost');
    }
    return result;
  }
  async lookUpAccountPhone(query: IdentityQuery) {
    this.accountPhoneLookUps += 1;
    if (this.down) throw new RegistryUnavailableError();
    return this.inner.lookUpAccountPhone(query);
  }
  async resetPassword(request: PasswordResetRequest, options?: ActivationOptions) {
    this.passwordResets += 1;
    this.resetKeys.push(options?.idempotencyKey);
    if (this.down) throw new RegistryUnavailableError();
    return this.inner.resetPassword(request, options);
  }
  async isReady() {
    return !this.down;
  }
}

function sampleRegistry(clock: ManualClock): Registry {
  const data = loadReferenceData();
  const { people } = loadPeopleFile(DEFAULT_PEOPLE_FILE, {
    categories: data.categories.map((c) => c.code),
    nonSubjectReasons: data.nonSubjectReasons.map((r) => r.code),
  });
  return new EmbeddedRegistry(people, clock);
}

export interface TestBot {
  app: App;
  clock: ManualClock;
  registry: SwitchableRegistry;
  /** Every log line the app wrote, raw JSON text. */
  logLines: string[];
  /** Sends one message as `from` and returns the texts of the bot's replies. */
  say(text: string, options?: { from?: string; attachments?: { contentType: string; contentUrl: string }[] }): Promise<string[]>;
  /** The latest SMS sent to the given number (E.164). */
  lastSmsTo(phone: string): string | undefined;
}

export interface TestBotOptions {
  channel?: string;
  from?: string;
  env?: NodeJS.ProcessEnv;
  clock?: ManualClock;
  /** The registry behind the switch; default: the embedded registry over the sample people. */
  registry?: Registry;
  /** The sender's profile name (WhatsApp), which the bot may greet with. */
  name?: string;
  /** 'chat': every message goes through the app's chat pipeline (channel whatsapp or sms), as a provider's transport hands it over. */
  transport?: 'chat';
}

export function createTestBot(options: TestBotOptions = {}): TestBot {
  const clock = options.clock ?? new ManualClock();
  const logLines: string[] = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      logLines.push(String(chunk));
      done();
    },
  });
  const config = loadConfig({ NODE_ENV: 'test', ...options.env });
  const log = createLogger('trace', sink);
  const registry = new SwitchableRegistry(options.registry ?? sampleRegistry(clock));
  const app = createApp(config, log, { clock, registry });
  const adapter = new InProcessAdapter(options.channel ?? 'test');
  adapter.use(new InboundTextMiddleware());
  adapter.onTurnError = turnErrorHandler(log);
  const defaultFrom = options.from ?? 'test-user';
  return {
    app,
    clock,
    registry,
    logLines,
    async say(text, sayOptions = {}) {
      const from = sayOptions.from ?? defaultFrom;
      if (options.transport === 'chat') return throughChatPipeline(app, clock, { channel: options.channel, from, text, name: options.name, attachments: sayOptions.attachments });
      const replies = await adapter.process(
        { text, from, attachments: sayOptions.attachments, channelData: { greetingName: options.name && firstName(options.name) } },
        (turn) => app.runTurn(turn),
      );
      return replies.map((r) => r.text ?? '');
    },
    lastSmsTo(phone) {
      return app.outbox
        .list()
        .filter((m) => m.to === phone)
        .map((m) => m.body)
        .pop();
    },
  };
}

let chatMessageSeq = 0;

/** One message handed to the app's chat pipeline as a provider's transport would, and the bodies it answers. */
async function throughChatPipeline(
  app: App,
  clock: ManualClock,
  message: { channel?: string; from: string; text: string; name?: string; attachments?: { contentType: string; contentUrl: string }[] },
): Promise<string[]> {
  const { channel } = message;
  if (channel !== 'whatsapp' && channel !== 'sms') throw new Error('transport: chat needs channel: whatsapp or sms');
  const inbound = { id: `TEST${++chatMessageSeq}`, channel, contact: message.from, ourAddress: '+212500000000', text: message.text } as const;
  const activity = chatActivity(inbound, new Date(clock.now()));
  activity.channelData = { greetingName: message.name && firstName(message.name) };
  if (message.attachments) activity.attachments = message.attachments;
  let answer: ChatAnswer = [];
  await app.chat.receive({ ...inbound, activity }, (messages) => (answer = messages), { inlineTemplates: true });
  return answer.map((m) => m.body);
}
