import { ConversationState, type TurnContext } from 'botbuilder';
import type Twilio from 'twilio';
import { RegistrationDialog } from '../dialogs/registrationDialog';
import type { DialogDeps } from '../dialogs/deps';
import type { QuestionContext } from '../dialogs/question';
import { TasjilBot } from './bot/tasjilBot';
import { sessionOf, type Session } from './bot/session';
import { InboundTextMiddleware } from './channels/inboundText';
import { DEFAULT_PRESENTATION, SMS_PRESENTATION } from './channels/presentation';
import { SmsRenderer } from './channels/render/smsRenderer';
import type { ChannelRenderer } from './channels/render/types';
import { WhatsAppRenderer } from './channels/render/whatsappRenderer';
import { turnErrorHandler } from './channels/turnError';
import { OutboxMessenger, TwilioMessenger, type ChannelMessenger } from './channels/twilio/messenger';
import { ProactiveNotifier } from './channels/twilio/proactive';
import { TwilioAdapter } from './channels/twilio/twilioAdapter';
import { createTwilioClient } from './channels/twilio/twilioClient';
import { TwilioWebhook } from './channels/twilio/webhook';
import { systemClock, todayInMorocco, type Clock } from './clock';
import type { Config } from './config';
import { loadReferenceData, type ReferenceData } from './data/load';
import type { Logger } from './log';
import { InMemoryContactActivity, InMemoryMessageDedupe, InMemoryOptOuts } from './pipeline/contacts';
import { InProcessTurnQueue, type TurnQueue } from './pipeline/turnQueue';
import { InMemoryLookupGuard } from './services/lookupGuard';
import { OfficeFinder } from './services/offices/officeFinder';
import { InMemoryOtpService, type OtpService } from './services/otp/otpService';
import { TwilioVerifyOtpService } from './services/otp/twilioVerifyOtpService';
import { EmbeddedRegistry } from './services/registry/embeddedRegistry';
import { loadPeopleFile } from './services/registry/peopleFile';
import { InMemoryDeliveryTracker, type DeliveryTracker } from './services/sms/deliveryTracker';
import { DevOutbox } from './services/sms/devOutbox';
import { TwilioSmsSender } from './services/sms/twilioSmsSender';
import type { Locale, Registry, SmsSender } from './services/types';
import { SimulatorFeed } from './simulator/feed';
import { ExpiringMemoryStorage } from './state/expiringMemoryStorage';

export interface App {
  config: Config;
  log: Logger;
  clock: Clock;
  data: ReferenceData;
  registry: Registry;
  otp: OtpService;
  /** Development outbox: SMS (and late chat replies) when Twilio is not configured. */
  outbox: DevOutbox;
  delivery: DeliveryTracker;
  storage: ExpiringMemoryStorage;
  queue: TurnQueue;
  bot: TasjilBot;
  twilioWebhook: TwilioWebhook;
  notifier: ProactiveNotifier;
  /** What the bot sent to simulated phones; present when the web simulator is enabled. */
  simulator?: SimulatorFeed;
  /** Runs one turn, after the turns of the same conversation that arrived before it. */
  runTurn(turn: TurnContext): Promise<void>;
}

export interface AppOverrides {
  clock?: Clock;
  registry?: Registry;
  /** A Twilio client pointed elsewhere (tests: a local fake of Twilio's API). */
  twilioClient?: Twilio.Twilio;
}

/**
 * The composition root: picks each service's implementation from the configuration and wires the
 * bot and its channels. Nothing else constructs services.
 */
export function createApp(config: Config, log: Logger, overrides: AppOverrides = {}): App {
  const clock = overrides.clock ?? systemClock;
  const data = loadReferenceData();
  const registry = overrides.registry ?? createEmbeddedRegistry(config, data, log, clock);
  const outbox = new DevOutbox(clock, log);
  const delivery = new InMemoryDeliveryTracker(clock);
  const senders = createSenders(config, log, clock, outbox, delivery, overrides.twilioClient);
  const { sms, otp } = senders;
  // The simulator's conversations are answered into its feed, never sent to Twilio (simulator/feed.ts).
  const simulator = config.simulatorEnabled ? new SimulatorFeed(clock) : undefined;
  if (simulator) outbox.onMessage((message) => simulator.recordOutbox(message));
  const messenger = simulator ? simulator.messenger(senders.messenger) : senders.messenger;
  const storage = new ExpiringMemoryStorage(config.CONVERSATION_TTL_SECONDS, clock);
  const conversationState = new ConversationState(storage);

  const deps: DialogDeps = {
    data,
    registry,
    lookupGuard: new InMemoryLookupGuard(clock),
    otp,
    sms,
    smsDelivery: delivery,
    offices: new OfficeFinder(data),
    clock,
    log,
  };
  const contextFor = (turn: TurnContext): QuestionContext => {
    const session = sessionOf(turn);
    return { turn, session, locale: session.locale, today: todayInMorocco(clock) };
  };
  const bot = new TasjilBot(conversationState, new RegistrationDialog(deps, contextFor), config.DEFAULT_LOCALE, log);
  const queue = new InProcessTurnQueue();
  const runTurn = (turn: TurnContext) => queue.run(`${turn.activity.channelId}:${turn.activity.conversation?.id ?? ''}`, () => bot.onTurn(turn));

  // Chat channels through Twilio.
  const renderers: Record<'whatsapp' | 'sms', ChannelRenderer> = {
    whatsapp: new WhatsAppRenderer({ quickReply2: config.TWILIO_QUICK_REPLY_2_SID, quickReply3: config.TWILIO_QUICK_REPLY_3_SID }),
    sms: new SmsRenderer(),
  };
  const contacts = new InMemoryContactActivity(clock);
  const optOuts = new InMemoryOptOuts();
  const localeOf = async (channel: string, contact: string): Promise<Locale> => {
    const key = stateKey(channel, contact);
    const stored = (await storage.read([key]))[key] as { session?: Session } | undefined;
    return stored?.session?.locale ?? config.DEFAULT_LOCALE;
  };
  const notifier = new ProactiveNotifier({
    clock,
    log,
    contacts,
    optOuts,
    messenger,
    renderers,
    notificationTemplateSid: config.TWILIO_NOTIFICATION_TEMPLATE_SID,
  });
  const adapter = new TwilioAdapter(async (reference, activities) => {
    const channel = reference.channelId === 'sms' ? 'sms' : 'whatsapp';
    const contact = reference.conversation?.id ?? '';
    const locale = await localeOf(channel, contact);
    const results = [];
    for (const activity of activities) {
      if (activity.type !== 'message' || !activity.text) continue;
      results.push({ id: await notifier.notify(channel, contact, reference.bot?.id ?? '', activity.text, locale) });
    }
    return results;
  });
  adapter.use(new InboundTextMiddleware());
  adapter.onTurnError = turnErrorHandler(log);
  const twilioWebhook = new TwilioWebhook({
    options: {
      authToken: config.TWILIO_AUTH_TOKEN,
      messagesUrl: config.TWILIO_WEBHOOK_URL,
      statusUrl: config.twilioStatusUrl,
      replyBudgetMs: config.TWILIO_REPLY_BUDGET_MS,
    },
    log,
    clock,
    adapter,
    queue,
    onTurn: (turn) => bot.onTurn(turn),
    dedupe: new InMemoryMessageDedupe(clock),
    optOuts,
    contacts,
    delivery,
    renderers,
    presentations: { whatsapp: DEFAULT_PRESENTATION, sms: SMS_PRESENTATION },
    messenger,
    localeOf,
    eraseConversation: async (channel, contact) => {
      await storage.delete([stateKey(channel, contact)]);
      await otp.forget(`${channel}:${contact}`);
    },
  });

  return { config, log, clock, data, registry, otp, outbox, delivery, storage, queue, bot, twilioWebhook, notifier, simulator, runTurn };
}

/** ConversationState's key for a conversation: `<channel>/conversations/<id>/`. */
export function stateKey(channel: string, contact: string): string {
  return `${channel}/conversations/${contact}/`;
}

/**
 * With TWILIO_ACCOUNT_SID: SMS and late replies through Twilio, the OTP through Twilio Verify when
 * a service is configured. Without it (development): everything goes to the dev outbox.
 */
function createSenders(
  config: Config,
  log: Logger,
  clock: Clock,
  outbox: DevOutbox,
  delivery: DeliveryTracker,
  client?: Twilio.Twilio,
): { sms: SmsSender; otp: OtpService; messenger: ChannelMessenger } {
  if (!config.TWILIO_ACCOUNT_SID || !config.TWILIO_AUTH_TOKEN) {
    return { sms: outbox, otp: new InMemoryOtpService(outbox, clock), messenger: new OutboxMessenger(outbox) };
  }
  const twilioClient = client ?? createTwilioClient({ accountSid: config.TWILIO_ACCOUNT_SID, authToken: config.TWILIO_AUTH_TOKEN });
  const statusCallbackUrl = config.twilioStatusUrl!;
  const sms = new TwilioSmsSender({ client: twilioClient, from: config.TWILIO_SMS_FROM!, statusCallbackUrl, tracker: delivery, log });
  const otp = config.TWILIO_VERIFY_SERVICE_SID
    ? new TwilioVerifyOtpService({ client: twilioClient, serviceSid: config.TWILIO_VERIFY_SERVICE_SID, clock, log })
    : new InMemoryOtpService(sms, clock);
  return { sms, otp, messenger: new TwilioMessenger(twilioClient, log, statusCallbackUrl) };
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
