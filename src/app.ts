import { ConversationState, type TurnContext } from 'botbuilder';
import { RegistrationDialog } from '../dialogs/registrationDialog';
import type { DialogDeps } from '../dialogs/deps';
import type { QuestionContext } from '../dialogs/question';
import { TasjilBot } from './bot/tasjilBot';
import { sessionOf } from './bot/session';
import { systemClock, todayInMorocco, type Clock } from './clock';
import type { Config } from './config';
import { loadReferenceData, type ReferenceData } from './data/load';
import type { Logger } from './log';
import { InProcessTurnQueue, type TurnQueue } from './pipeline/turnQueue';
import { OfficeFinder } from './services/offices/officeFinder';
import { InMemoryLookupGuard } from './services/lookupGuard';
import { InMemoryOtpService, type OtpService } from './services/otp/otpService';
import { EmbeddedRegistry } from './services/registry/embeddedRegistry';
import { loadPeopleFile } from './services/registry/peopleFile';
import { DevOutbox } from './services/sms/devOutbox';
import type { Registry } from './services/types';
import { ExpiringMemoryStorage } from './state/expiringMemoryStorage';

export interface App {
  config: Config;
  log: Logger;
  clock: Clock;
  data: ReferenceData;
  registry: Registry;
  otp: OtpService;
  outbox: DevOutbox;
  storage: ExpiringMemoryStorage;
  queue: TurnQueue;
  bot: TasjilBot;
  /** Runs one turn, after the turns of the same conversation that arrived before it. */
  runTurn(turn: TurnContext): Promise<void>;
}

export interface AppOverrides {
  clock?: Clock;
  registry?: Registry;
}

/**
 * The composition root: picks each service's implementation from the configuration (embedded
 * defaults in this version) and wires the bot. Nothing else constructs services.
 */
export function createApp(config: Config, log: Logger, overrides: AppOverrides = {}): App {
  const clock = overrides.clock ?? systemClock;
  const data = loadReferenceData();
  const registry = overrides.registry ?? createEmbeddedRegistry(config, data, log, clock);
  const outbox = new DevOutbox(clock, log);
  const otp = new InMemoryOtpService(outbox, clock);
  const storage = new ExpiringMemoryStorage(config.CONVERSATION_TTL_SECONDS, clock);
  const conversationState = new ConversationState(storage);
  const deps: DialogDeps = { data, registry, lookupGuard: new InMemoryLookupGuard(clock), otp, sms: outbox, offices: new OfficeFinder(data), clock, log };
  const contextFor = (turn: TurnContext): QuestionContext => {
    const session = sessionOf(turn);
    return { turn, session, locale: session.locale, today: todayInMorocco(clock) };
  };
  const bot = new TasjilBot(conversationState, new RegistrationDialog(deps, contextFor), config.DEFAULT_LOCALE, log);
  const queue = new InProcessTurnQueue();
  const runTurn = (turn: TurnContext) => {
    const key = `${turn.activity.channelId}:${turn.activity.conversation?.id ?? ''}`;
    return queue.run(key, () => bot.onTurn(turn));
  };
  return { config, log, clock, data, registry, otp, outbox, storage, queue, bot, runTurn };
}

function createEmbeddedRegistry(config: Config, data: ReferenceData, log: Logger, clock: Clock): Registry {
  const { people, problems } = loadPeopleFile(config.peopleFile, {
    categories: data.categories.map((c) => c.code),
    nonSubjectReasons: data.nonSubjectReasons.map((r) => r.code),
  });
  // A bad row is skipped, not fatal: the line number and reason (never the row's content) are logged.
  for (const problem of problems) {
    log.warn({ event: 'registry.people_file.bad_row', line: problem.line, reason: problem.reason }, 'people file row skipped');
  }
  log.info({ event: 'registry.people_file.loaded', people: people.length, skipped: problems.length }, 'embedded registry loaded');
  return new EmbeddedRegistry(people, clock);
}
