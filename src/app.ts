import { randomBytes } from 'node:crypto';
import type { Storage, TurnContext } from 'botbuilder';
import type Twilio from 'twilio';
import { RegistrationDialog } from '../dialogs/registrationDialog';
import type { DialogDeps } from '../dialogs/deps';
import type { QuestionContext } from '../dialogs/question';
import { TasjilBot } from './bot/tasjilBot';
import { sessionOf, type Session } from './bot/session';
import { InboundTextMiddleware } from './channels/inboundText';
import { SMS_PRESENTATION, WHATSAPP_PRESENTATION } from './channels/presentation';
import { SmsRenderer } from './channels/render/smsRenderer';
import type { ChannelRenderer } from './channels/render/types';
import { WhatsAppRenderer } from './channels/render/whatsappRenderer';
import { turnErrorHandler } from './channels/turnError';
import { OutboxMessenger, type ChannelMessenger } from './channels/messenger';
import { TwilioMessenger } from './channels/twilio/messenger';
import { DlrSigner } from './channels/kannel/dlrSigner';
import { DEFAULT_REPLY_RETRY, KannelMessenger, SmsGatewayMessenger, type ReplyRetry } from './channels/kannel/messenger';
import { SendsmsClient } from './channels/kannel/sendsms';
import { KannelWebhook } from './channels/kannel/webhook';
import { KannelSmsSender, OTP_SEND_RETRY } from './services/sms/kannelSmsSender';
import { ProactiveNotifier } from './channels/twilio/proactive';
import { localeOfReplies, MessagePipeline } from './pipeline/messagePipeline';
import { TwilioAdapter } from './channels/twilio/twilioAdapter';
import { createTwilioClient } from './channels/twilio/twilioClient';
import { TwilioWebhook } from './channels/twilio/webhook';
import { systemClock, todayInMorocco, type Clock } from './clock';
import type { Config } from './config';
import { loadReferenceData, type ReferenceData } from './data/load';
import type { Logger } from './log';
import {
  InMemoryContactActivity,
  InMemoryMessageDedupe,
  InMemoryOptOuts,
  SeparateArrivals,
  type ContactActivity,
  type MessageArrivals,
  type MessageDedupe,
  type OptOuts,
} from './pipeline/contacts';
import { RedisArrivals, RedisContactActivity, RedisMessageDedupe, RedisOptOuts } from './pipeline/redisContacts';
import { InFlightWork } from './pipeline/inFlight';
import { RedisTurnQueue } from './pipeline/redisTurnQueue';
import { MeteredOtpService, MeteredRegistry, MeteredSmsRenderer, MeteredSmsSender } from './metrics/metered';
import { Metrics } from './metrics/metrics';
import type { ReplicatedWriteLabel } from './metrics/labels';
import { InProcessTurnQueue, type TurnQueue } from './pipeline/turnQueue';
import { InMemoryLookupGuard, type LookupGuard } from './services/lookupGuard';
import { RedisLookupGuard } from './services/redisLookupGuard';
import { OfficeFinder } from './services/offices/officeFinder';
import { InMemoryOtpService, type OtpService } from './services/otp/otpService';
import { RedisPendingVerifications } from './services/otp/pendingVerifications';
import { RedisOtpSendLimits, RedisOtpService } from './services/otp/redisOtpService';
import { TwilioVerifyOtpService } from './services/otp/twilioVerifyOtpService';
import { EmbeddedRegistry } from './services/registry/embeddedRegistry';
import { HttpRegistry } from './services/registry/httpRegistry';
import { loadPeopleFile } from './services/registry/peopleFile';
import { InMemoryDeliveryTracker, type DeliveryTracker } from './services/sms/deliveryTracker';
import { RedisDeliveryTracker } from './services/sms/redisDeliveryTracker';
import { DevOutbox } from './services/sms/devOutbox';
import { TwilioSmsSender } from './services/sms/twilioSmsSender';
import type { Locale, Registry, SmsSender } from './services/types';
import { SimulatorFeed } from './simulator/feed';
import { SimulatorAwareOtpService, SimulatorAwareSmsSender } from './simulator/routing';
import { ExpiringMemoryStorage } from './state/expiringMemoryStorage';
import { ephemeralStateKeys, type StateKeys } from './state/keys';
import { BullScheduler } from './services/followUp/bullScheduler';
import { FollowUpService, type FollowUpServiceDeps } from './services/followUp/followUpService';
import { RedisFollowUpStore } from './services/followUp/redisFollowUpStore';
import { TimerScheduler } from './services/followUp/scheduler';
import { InMemoryFollowUpStore } from './services/followUp/store';
import { keyedId } from './state/redisHelpers';
import { createRedis, replicaWaitOf, type RedisConnection } from './state/redis';
import { ReplicatedWrites } from './state/replicatedWrites';
import { stateCall } from './state/redisHelpers';
import { RedisStorage } from './state/redisStorage';
import { VersionedConversationState } from './state/versionedConversationState';

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
  /** Conversation state: ExpiringMemoryStorage, or RedisStorage with a Redis (config.redisTopology). */
  storage: Storage;
  /** The bot's state over `storage`: saves with the version read, so a stale save is refused. */
  conversationState: VersionedConversationState;
  queue: TurnQueue;
  /** With a Redis (one server, Sentinel or Cluster): the connection every shared store uses. */
  redis?: RedisConnection;
  bot: TasjilBot;
  /** Every chat message after its provider's transport: where another SMS gateway plugs in. */
  chat: MessagePipeline;
  twilioWebhook: TwilioWebhook;
  /** GET /api/kannel/messages and /api/kannel/status: two-way SMS through an operator's short code. */
  kannelWebhook: KannelWebhook;
  /** With KANNEL_SENDSMS_URL: whether Kannel's sendsms answers and takes our credentials (/readyz). */
  isKannelReady?: () => Promise<boolean>;
  notifier: ProactiveNotifier;
  /** Prometheus metrics of this instance (GET /metrics). */
  metrics: Metrics;
  /** Follow-ups after outcome C; `startChecks()` at start-up runs this instance's share of the checks. */
  followUps: FollowUpService;
  /** What the bot sent to simulated phones; present when the web simulator is enabled. */
  simulator?: SimulatorFeed;
  /** Requests, turns and late replies running now: what a restart waits for (src/shutdown.ts). */
  inFlight: InFlightWork;
  /** Runs one turn, after the turns of the same conversation that arrived before it. */
  runTurn(turn: TurnContext): Promise<void>;
  /** Whether the shared state answers (always true in memory). */
  isStateReady(): Promise<boolean>;
  /**
   * At shutdown: lets go of the turns this instance holds or waits for in the shared turn queue,
   * so other instances need not wait for the leases to run out. Gives back how many (0 in memory).
   */
  releaseTurns(): Promise<number>;
  /** Closes connections (Redis), after releasing the turn queue; the HTTP server is closed by its owner. */
  close(): Promise<void>;
}

export interface AppOverrides {
  clock?: Clock;
  registry?: Registry;
  /** A Twilio client pointed elsewhere (tests: a local fake of Twilio's API). */
  twilioClient?: Twilio.Twilio;
  /** How long a message waits in Redis for its user's earlier turns (tests: shorter than the default 10 s). */
  turnMaxWaitMs?: number;
  /** How chat replies through Kannel are tried again (tests: shorter than the default minutes). */
  kannelReplyRetry?: ReplyRetry;
  /** How an OTP or password SMS through Kannel is tried again before the worker is told. */
  kannelOtpRetry?: ReplyRetry;
  /** How long a Kannel message stays "in progress" after its instance died (tests: shorter than the default 90 s). */
  kannelClaimLeaseMs?: number;
}

/**
 * The composition root: picks each service's implementation from the configuration and wires the
 * bot and its channels. Nothing else constructs services.
 */
export function createApp(config: Config, log: Logger, overrides: AppOverrides = {}): App {
  const clock = overrides.clock ?? systemClock;
  const data = loadReferenceData();
  // Called during turns only, once `metrics` below exists.
  const replicatedWrite = (outcome: ReplicatedWriteLabel) => {
    metrics.replicatedWrite(outcome);
    if (outcome === 'unconfirmed') log.warn({ event: 'redis.write_unconfirmed' }, 'no replica confirmed a write in time: the worker is asked to try again');
  };
  const stores = createStores(config, log, clock, overrides.turnMaxWaitMs, replicatedWrite);
  const { storage, delivery, queue } = stores;
  const metrics = new Metrics({
    clock,
    conversationTtlSeconds: config.CONVERSATION_TTL_SECONDS,
    // A conversation key is `<channel>:<conversation id>` (dialogs/deps.ts conversationKey).
    conversationAlive: async (conversationKey) => {
      const split = conversationKey.indexOf(':');
      const key = stateKey(conversationKey.slice(0, split), conversationKey.slice(split + 1));
      return (await storage.read([key]))[key] !== undefined;
    },
    onSweepError: (error) => log.warn({ event: 'metrics.sweep_failed', error: error.message }, 'expired conversations not counted this time'),
  });
  // Every registry implementation is timed the same way, at this one seam.
  const registry = new MeteredRegistry(overrides.registry ?? createRegistry(config, data, log, clock), metrics);
  const outbox = new DevOutbox(clock, log);
  const kannel = createKannel(config, log, metrics, stores.delivery, overrides);
  const senders = withKannel(config, clock, outbox, stores, metrics, kannel, createSenders(config, log, clock, outbox, stores, metrics, overrides.twilioClient));
  const { sms, otp } = senders;
  // The simulator's conversations are answered into its feed, never sent to Twilio (simulator/feed.ts).
  const simulator = config.simulatorEnabled ? new SimulatorFeed(clock) : undefined;
  if (simulator) outbox.onMessage((message) => simulator.recordOutbox(message));
  const messenger = simulator ? simulator.messenger(senders.messenger) : senders.messenger;
  const conversationState = new VersionedConversationState(storage);
  // The notice goes through the notifier (built below): template or free text by the 24-hour window.
  const followUps = createFollowUps(config, log, clock, stores, registry, metrics, (channel, contact, ourAddress, text, locale) =>
    notifier.notify(channel, contact, ourAddress || ourSender(channel), text, locale),
  );

  const deps: DialogDeps = {
    data,
    registry,
    lookupGuard: stores.lookupGuard,
    otp,
    sms,
    smsDelivery: delivery,
    offices: new OfficeFinder(data),
    clock,
    log,
    metrics: metrics.funnel,
    followUps,
  };
  const contextFor = (turn: TurnContext): QuestionContext => {
    const session = sessionOf(turn);
    return { turn, session, locale: session.locale, today: todayInMorocco(clock) };
  };
  const bot = new TasjilBot(conversationState, new RegistrationDialog(deps, contextFor), config.DEFAULT_LOCALE, log, metrics.funnel, (channel, contact) =>
    followUps.cancel(channel, contact).then(() => undefined),
  );
  const inFlight = new InFlightWork();
  const runTurn = (turn: TurnContext) =>
    inFlight.track('turns', queue.run(`${turn.activity.channelId}:${turn.activity.conversation?.id ?? ''}`, () => bot.onTurn(turn)));

  // Chat channels through Twilio.
  const renderers: Record<'whatsapp' | 'sms', ChannelRenderer> = {
    whatsapp: new WhatsAppRenderer({ quickReply2: config.TWILIO_QUICK_REPLY_2_SID, quickReply3: config.TWILIO_QUICK_REPLY_3_SID }),
    sms: new MeteredSmsRenderer(new SmsRenderer(), metrics),
  };
  const { contacts, optOuts } = stores;
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
  // A conversation's messages come from the number the user wrote to; a notice to someone who
  // never wrote to this deployment comes from our configured senders.
  const ourSender = (channel: 'whatsapp' | 'sms') => (channel === 'whatsapp' ? (config.TWILIO_WHATSAPP_FROM ?? '').replace(/^whatsapp:/, '') : (config.TWILIO_SMS_FROM ?? ''));
  const adapter = new TwilioAdapter(async (reference, activities) => {
    const channel = reference.channelId === 'sms' ? 'sms' : 'whatsapp';
    const contact = reference.conversation?.id ?? '';
    const locale = localeOfReplies(activities) ?? (await localeOf(channel, contact));
    const results = [];
    for (const activity of activities) {
      if (activity.type !== 'message' || !activity.text) continue;
      results.push({ id: await notifier.notify(channel, contact, reference.bot?.id || ourSender(channel), activity.text, locale) });
    }
    return results;
  });
  adapter.use(new InboundTextMiddleware());
  adapter.onTurnError = turnErrorHandler(log);
  // What every chat message goes through, whichever provider brought it (Twilio today).
  const chatPipeline = new MessagePipeline({
    log,
    clock,
    replyBudgetMs: config.TWILIO_REPLY_BUDGET_MS,
    adapter,
    queue,
    onTurn: (turn) => bot.onTurn(turn),
    arrivals: stores.arrivals,
    optOuts,
    renderers,
    presentations: { whatsapp: WHATSAPP_PRESENTATION, sms: SMS_PRESENTATION },
    messenger,
    localeOf,
    inFlight,
    eraseConversation: async (channel, contact) => {
      await storage.delete([stateKey(channel, contact)]);
      await otp.forget(`${channel}:${contact}`);
      // STOP (or Twilio's 21610) ends a follow-up too: its data goes with the conversation's.
      await followUps.cancel(channel, contact);
      metrics.funnel.conversationErased(`${channel}:${contact}`);
    },
  });
  const twilioWebhook = new TwilioWebhook({
    options: {
      authToken: config.TWILIO_AUTH_TOKEN,
      messagesUrl: config.TWILIO_WEBHOOK_URL,
      statusUrl: config.twilioStatusUrl,
    },
    log,
    clock,
    metrics,
    pipeline: chatPipeline,
    delivery,
  });
  const kannelWebhook = new KannelWebhook({
    token: config.KANNEL_INBOUND_TOKEN,
    log,
    clock,
    metrics,
    pipeline: chatPipeline,
    messenger,
    delivery,
    signer: kannel.signer,
    inFlight,
    claimLeaseMs: overrides.kannelClaimLeaseMs,
  });

  const redis = stores.redis;
  const releaseTurns = async () => (queue instanceof RedisTurnQueue ? queue.releaseAll() : 0);
  return {
    config,
    log,
    clock,
    data,
    registry,
    otp,
    outbox,
    delivery,
    storage,
    conversationState,
    queue,
    redis,
    bot,
    chat: chatPipeline,
    twilioWebhook,
    kannelWebhook,
    isKannelReady: kannel.client ? () => kannel.client!.isReady() : undefined,
    notifier,
    metrics,
    followUps,
    simulator,
    inFlight,
    runTurn,
    isStateReady: async () => (redis ? redis.isReady && (await stateCall(() => redis.ping()).then((pong) => pong === 'PONG', () => false)) : true),
    releaseTurns,
    close: async () => {
      await releaseTurns();
      await followUps.close();
      if (redis?.isReady) await redis.close().catch(() => redis.destroy());
      else if (redis?.isOpen) redis.destroy();
    },
  };
}

/** What holds a conversation and its user between turns: this process's memory, or Redis for every instance. */
interface Stores {
  storage: Storage;
  queue: TurnQueue;
  dedupe: MessageDedupe;
  optOuts: OptOuts;
  contacts: ContactActivity;
  /** The three above as one step per inbound message. */
  arrivals: MessageArrivals;
  delivery: DeliveryTracker;
  lookupGuard: LookupGuard;
  redis?: RedisConnection;
  /** Keys and the keyed-hash secret of everything kept in Redis. */
  keys?: StateKeys;
}

/**
 * Without a Redis (REDIS_URL, REDIS_SENTINELS or REDIS_CLUSTER_NODES) everything stays in memory
 * (one instance). With one, every store that a second instance must see is in Redis under
 * REDIS_KEY_PREFIX (docs/redis.md): conversation state (encrypted,
 * versioned), the turn queue, MessageSid dedupe, opt-outs, the 24-hour window, delivery reports,
 * mismatch counts, and (createSenders) OTP codes and send limits.
 */
function createStores(config: Config, log: Logger, clock: Clock, turnMaxWaitMs?: number, onReplicatedWrite?: (outcome: ReplicatedWriteLabel) => void): Stores {
  if (!config.redisTopology) {
    const contactStores = { dedupe: new InMemoryMessageDedupe(clock), optOuts: new InMemoryOptOuts(), contacts: new InMemoryContactActivity(clock) };
    return {
      storage: new ExpiringMemoryStorage(config.CONVERSATION_TTL_SECONDS, clock),
      queue: new InProcessTurnQueue(),
      ...contactStores,
      arrivals: new SeparateArrivals(contactStores),
      delivery: new InMemoryDeliveryTracker(clock),
      lookupGuard: new InMemoryLookupGuard(clock),
    };
  }
  // Outside production a missing key gets a random one per process (config refuses that in production).
  const keys = config.stateKeys ?? ephemeralStateKeys();
  if (!config.stateKeys) log.warn({ event: 'state.ephemeral_key' }, 'no STATE_ENCRYPTION_KEY: Redis state is readable by this process only');
  const redis = createRedis(config.redisTopology, log);
  const prefix = config.REDIS_KEY_PREFIX;
  const writes = new ReplicatedWrites({ replicas: config.redisWaitReplicas, wait: replicaWaitOf(config.redisTopology.kind, redis), onOutcome: onReplicatedWrite });
  const contactStores = {
    dedupe: new RedisMessageDedupe(redis, { prefix }),
    optOuts: new RedisOptOuts(redis, keys.hashSecret, { prefix, previousHashSecrets: keys.previousHashSecrets, untaggedNames: config.redisTopology.kind !== 'cluster', writes }),
    contacts: new RedisContactActivity(redis, keys.hashSecret, clock, { prefix }),
  };
  return {
    storage: new RedisStorage(redis, keys, config.CONVERSATION_TTL_SECONDS, prefix, writes),
    queue: new RedisTurnQueue(redis, keys.hashSecret, { prefix, log, maxWaitMs: turnMaxWaitMs }),
    ...contactStores,
    arrivals: new RedisArrivals(redis, contactStores),
    delivery: new RedisDeliveryTracker(redis, keys, clock, { prefix }),
    lookupGuard: new RedisLookupGuard(redis, keys.hashSecret, clock, { prefix }),
    redis,
    keys,
  };
}

/**
 * Follow-ups after outcome C: encrypted records under REDIS_KEY_PREFIX and checks as BullMQ jobs
 * shared by every instance; without Redis, a Map and timers in this process.
 */
function createFollowUps(
  config: Config,
  log: Logger,
  clock: Clock,
  stores: Stores,
  registry: Registry,
  metrics: Metrics,
  notify: FollowUpServiceDeps['notify'],
): FollowUpService {
  const { redis, keys } = stores;
  const shared = redis && keys && config.redisTopology;
  // The id names a conversation without naming the number: a keyed hash, as the other stores do.
  const secrets = keys ? [keys.hashSecret, ...keys.previousHashSecrets] : [randomBytes(32)];
  return new FollowUpService({
    store: redis && keys ? new RedisFollowUpStore(redis, keys, clock, { prefix: config.REDIS_KEY_PREFIX }) : new InMemoryFollowUpStore(clock),
    scheduler: shared ? new BullScheduler({ topology: config.redisTopology!, keyPrefix: config.REDIS_KEY_PREFIX, clock, log }) : new TimerScheduler(clock, log),
    registry,
    notify,
    idsOf: (channel, contact) => secrets.map((secret) => keyedId(secret, 'followup', `${channel}:${contact}`)),
    clock,
    log,
    metrics,
    checkIntervalHours: config.FOLLOW_UP_CHECK_INTERVAL_HOURS,
    retentionDays: config.FOLLOW_UP_RETENTION_DAYS,
  });
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
  stores: Stores,
  metrics: Metrics,
  client?: Twilio.Twilio,
): { sms: SmsSender; otp: OtpService; messenger: ChannelMessenger } {
  const { redis, keys } = stores;
  const prefix = config.REDIS_KEY_PREFIX;
  /** Our own codes: in memory, or in Redis so that any instance checks a code another one sent. */
  const ownOtp = (sms: SmsSender): OtpService =>
    redis && keys ? new RedisOtpService({ sms, redis, hashSecret: keys.hashSecret, clock, prefix }) : new InMemoryOtpService(sms, clock);
  if (!config.TWILIO_ACCOUNT_SID || !config.TWILIO_AUTH_TOKEN) {
    const sms = new MeteredSmsSender(outbox, metrics);
    return { sms, otp: new MeteredOtpService(ownOtp(sms), metrics), messenger: new OutboxMessenger(outbox) };
  }
  const twilioClient = client ?? createTwilioClient({ accountSid: config.TWILIO_ACCOUNT_SID, authToken: config.TWILIO_AUTH_TOKEN });
  const statusCallbackUrl = config.twilioStatusUrl!;
  const twilioSms = new MeteredSmsSender(
    new TwilioSmsSender({ client: twilioClient, from: config.TWILIO_SMS_FROM!, statusCallbackUrl, tracker: stores.delivery, log }),
    metrics,
  );
  // The simulator's conversations text its inbox, never a real phone (simulator/routing.ts).
  const sms = config.simulatorEnabled ? new SimulatorAwareSmsSender(twilioSms, outbox) : twilioSms;
  // Verify keeps the code; the send limits per number are ours, shared through Redis when there is one.
  const limits = redis && keys ? new RedisOtpSendLimits(redis, keys.hashSecret, clock, { prefix }) : undefined;
  const otp = config.TWILIO_VERIFY_SERVICE_SID
    ? new TwilioVerifyOtpService({
        client: twilioClient,
        serviceSid: config.TWILIO_VERIFY_SERVICE_SID,
        clock,
        log,
        limits,
        // The instance that gets the typed code must know where Verify sent it.
        pending: redis && keys ? new RedisPendingVerifications(redis, keys, { prefix }) : undefined,
      })
    : ownOtp(sms);
  const metered = new MeteredOtpService(otp, metrics);
  return {
    sms,
    otp: config.simulatorEnabled && config.TWILIO_VERIFY_SERVICE_SID ? new SimulatorAwareOtpService(metered, ownOtp(outbox)) : metered,
    messenger: new TwilioMessenger(twilioClient, log, statusCallbackUrl),
  };
}

interface KannelParts {
  /** Signs the delivery-report URLs we give Kannel, and checks them when Kannel calls. */
  signer: DlrSigner;
  /** With KANNEL_SENDSMS_URL. */
  client?: SendsmsClient;
  messenger?: KannelMessenger;
  sms?: KannelSmsSender;
}

/** Kannel's sendsms, when KANNEL_SENDSMS_URL is set (docs/sms-gateway-kannel.md). */
function createKannel(config: Config, log: Logger, metrics: Metrics, delivery: DeliveryTracker, overrides: AppOverrides): KannelParts {
  const signer = new DlrSigner(config.KANNEL_INBOUND_TOKEN);
  if (!config.KANNEL_SENDSMS_URL) return { signer };
  const client = new SendsmsClient({
    url: config.KANNEL_SENDSMS_URL,
    username: config.KANNEL_USERNAME!,
    password: config.KANNEL_PASSWORD!,
    from: config.KANNEL_FROM!,
    smsc: config.KANNEL_SMSC,
    statusUrl: config.KANNEL_STATUS_URL!,
    signer,
  });
  const onResult = (result: Parameters<Metrics['smsGatewaySend']>[1]) => metrics.smsGatewaySend('kannel', result);
  return {
    signer,
    client,
    messenger: new KannelMessenger(client, log, overrides.kannelReplyRetry ?? DEFAULT_REPLY_RETRY, onResult),
    sms: new KannelSmsSender({ client, tracker: delivery, log, retry: overrides.kannelOtpRetry ?? OTP_SEND_RETRY, onResult }),
  };
}

/**
 * With Kannel: chat replies on its short code go through it, and (SMS_PROVIDER, by default) the
 * OTP and password SMS too, with our own codes. Twilio keeps WhatsApp and its own SMS numbers.
 */
function withKannel(
  config: Config,
  clock: Clock,
  outbox: DevOutbox,
  stores: Stores,
  metrics: Metrics,
  kannel: KannelParts,
  senders: { sms: SmsSender; otp: OtpService; messenger: ChannelMessenger },
): { sms: SmsSender; otp: OtpService; messenger: ChannelMessenger } {
  if (!kannel.messenger || !kannel.sms) return senders;
  const messenger = new SmsGatewayMessenger(kannel.messenger, senders.messenger);
  if (config.smsProvider !== 'kannel') return { ...senders, messenger };
  const metered = new MeteredSmsSender(kannel.sms, metrics);
  // The simulator's conversations text its inbox, never a real phone (simulator/routing.ts).
  const sms = config.simulatorEnabled ? new SimulatorAwareSmsSender(metered, outbox) : metered;
  const { redis, keys } = stores;
  const otp =
    redis && keys ? new RedisOtpService({ sms, redis, hashSecret: keys.hashSecret, clock, prefix: config.REDIS_KEY_PREFIX }) : new InMemoryOtpService(sms, clock);
  return { sms, otp: new MeteredOtpService(otp, metrics), messenger };
}

/** With REGISTRY_URL: the registry over HTTP (contract/registry.openapi.yaml). Without: the people file, in process. */
function createRegistry(config: Config, data: ReferenceData, log: Logger, clock: Clock): Registry {
  if (!config.REGISTRY_URL) return createEmbeddedRegistry(config, data, log, clock);
  // The origin only: a path could one day carry something it should not, and logs keep everything.
  log.info({ event: 'registry.http', origin: new URL(config.REGISTRY_URL).origin, timeoutMs: config.REGISTRY_TIMEOUT_MS }, 'registry over HTTP');
  return new HttpRegistry({
    url: config.REGISTRY_URL,
    apiKey: config.REGISTRY_API_KEY,
    timeoutMs: config.REGISTRY_TIMEOUT_MS,
    log,
  });
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

/** ConversationState's key for a conversation: `<channel>/conversations/<id>/`. */
export function stateKey(channel: string, contact: string): string {
  return `${channel}/conversations/${contact}/`;
}
