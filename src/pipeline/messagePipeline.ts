import { ActivityTypes, type Activity, type TurnContext } from 'botbuilder';
import type { Presentation } from '../channels/presentation';
import type { ChannelRenderer, OutgoingMessage, RenderedMessage } from '../channels/render/types';
import type { ChannelMessenger } from '../channels/messenger';
import type { Clock } from '../clock';
import { t } from '../i18n';
import type { Logger } from '../log';
import { keywordSet } from '../nlu/choices';
import { detectLocale, foldForMatching } from '../nlu/normalize';
import type { Locale } from '../services/types';
import { StateUnavailableError } from '../state/redis';
import type { MessageArrivals, MessageClaim, OptOuts } from './contacts';
import type { InFlightWork, WorkKind } from './inFlight';
import type { TurnQueue } from './turnQueue';

/**
 * What happens to a chat message between its provider's webhook and the bot, whoever the
 * provider is: Twilio today, an operator's SMS gateway (SMPP through Kannel) later. The provider's
 * transport authenticates and parses its own requests, turns them into an InboundChatMessage and
 * delivers the answer its own way (TwiML for Twilio); everything else is here, once: dedupe,
 * opt-out words, the 24-hour window, one turn at a time per sender, the reply budget, rendering
 * per channel, late replies and apologies.
 */

export type ChatChannel = 'whatsapp' | 'sms';

export interface InboundChatMessage {
  /** The provider's id of the message (Twilio's MessageSid): a message is handled once. */
  id: string;
  channel: ChatChannel;
  /** The sender, E.164. */
  contact: string;
  /** The number (or short code) the sender wrote to: late replies come from it. */
  ourAddress: string;
  /** What the sender typed (opt-out words, the language of an apology). */
  text: string;
  /** The message as the bot reads it (text, media, location, greeting name). */
  activity: Partial<Activity>;
}

/**
 * The Activity of a plain text message, as any provider's transport builds it: the conversation is
 * the sender's number on that channel. A transport adds what its provider carries (media, a
 * location, a profile name) on top.
 */
export function chatActivity(message: { id: string; channel: ChatChannel; contact: string; ourAddress: string; text: string }, receivedAt: Date): Partial<Activity> {
  return {
    type: ActivityTypes.Message,
    id: message.id,
    channelId: message.channel,
    serviceUrl: 'chat://messages',
    // Providers' inbound forms carry no reliable timestamp: the arrival time stands for it.
    timestamp: receivedAt,
    from: { id: message.contact, name: '' },
    recipient: { id: message.ourAddress, name: '' },
    conversation: { id: message.contact, isGroup: false, conversationType: 'personal', name: '' },
    text: message.text,
  };
}

/** Runs one message through the bot and gives back its replies (TwilioAdapter.runWebhookTurn). */
export interface TurnRunner {
  runWebhookTurn(activity: Partial<Activity>, presentation: Presentation, logic: (turn: TurnContext) => Promise<void>): Promise<Partial<Activity>[]>;
}

export interface MessagePipelineDeps {
  log: Logger;
  clock: Clock;
  /** Past it, the sender hears "checking…" and the replies follow through the messenger. */
  replyBudgetMs: number;
  adapter: TurnRunner;
  queue: TurnQueue;
  onTurn: (turn: TurnContext) => Promise<void>;
  /** Dedupe, the 24-hour window and the opt-out check of each inbound message. */
  arrivals: MessageArrivals;
  optOuts: OptOuts;
  renderers: Record<ChatChannel, ChannelRenderer>;
  presentations: Record<ChatChannel, Presentation>;
  messenger: ChannelMessenger;
  /** The conversation's language, for the few messages sent outside the dialogs (opt-out, "checking…"). */
  localeOf: (channel: ChatChannel, contact: string) => Promise<Locale>;
  /** Deletes a conversation's state and pending codes at once (opt-out). */
  eraseConversation: (channel: ChatChannel, contact: string) => Promise<void>;
  /** Turns and late replies still running, for a restart to wait on (src/shutdown.ts). */
  inFlight?: InFlightWork;
}

export interface ReceiveOptions {
  inlineTemplates: boolean;
  /** Past it, "checking…" is answered and the replies follow through the messenger (default: the pipeline's). */
  replyBudgetMs?: number;
  /**
   * The provider retries until it is acknowledged (Kannel): the message is held under this claim
   * while it is handled, not marked handled on arrival. The transport then calls `handled` when it
   * acknowledges, or `release` when it does not: a retry after a crash mid-turn is handled again.
   */
  claim?: MessageClaim;
}

/**
 * What became of a message: answered (the `answer` callback has its replies); a duplicate of one
 * already handled (answered empty); or held by another delivery still handling it (a provider's
 * retry while the first try runs): nothing was done, and the transport must not acknowledge it.
 */
export type Receipt = 'answered' | 'duplicate' | 'in-progress';

/**
 * The answer to one message, for the transport to deliver in its response (or, without a
 * synchronous response, through the messenger). Empty: nothing to say (a retry, an opted-out sender).
 */
export type ChatAnswer = RenderedMessage[];

export class MessagePipeline {
  constructor(private readonly deps: MessagePipelineDeps) {}

  /**
   * Handles one message; `answer` is called exactly once, as soon as there is something to say
   * within the reply budget. Never throws: a failure is answered with the localized apology.
   * `inlineTemplates`: false when the transport's response cannot carry a content template
   * (TwiML): then a turn with buttons is answered empty and goes through the messenger, in order.
   * `replyBudgetMs`: this transport's own budget (Kannel waits minutes, Twilio 15 s).
   */
  async receive(message: InboundChatMessage, answer: (messages: ChatAnswer) => void, options: ReceiveOptions): Promise<Receipt> {
    let answered = false;
    const once = (messages: ChatAnswer) => {
      if (answered) return;
      answered = true;
      answer(messages);
    };
    try {
      return await this.handle(message, once, options);
    } catch (error) {
      this.logTurnFailure(error);
      once(this.apology(message.channel, message.text));
      return 'answered';
    }
  }

  /** A claimed message (ReceiveOptions.claim) is acknowledged: its turn has run and its state is saved. */
  handled(message: { id: string; contact: string }): Promise<void> {
    return this.deps.arrivals.handled(message);
  }

  /** A claimed message is not acknowledged (its provider will retry): the retry is handled as new. */
  release(message: { id: string; contact: string }, claim: MessageClaim): Promise<void> {
    return this.deps.arrivals.release(message, claim.token);
  }

  /**
   * The apology for a message the transport could not even read as one of ours (its language
   * guessed from the text alone): "please try again in a moment".
   */
  apology(channel: ChatChannel, text: string | undefined): ChatAnswer {
    const { text: apology, locale } = apologyFor(text);
    return this.renderText(channel, apology, locale ?? 'ar');
  }

  /** A number the provider reports as unsubscribed (Twilio's error 21610): out, and its data erased. */
  async optOutReported(contact: string): Promise<void> {
    await this.deps.optOuts.optOut(contact);
    await this.eraseEverywhere(contact);
    this.deps.log.info({ event: 'chat.opt_out', reason: 'provider-report' }, 'contact opted out');
  }

  /**
   * Erases one conversation (state and pending codes) after the turns of that sender already
   * queued: a reset must not race a turn that would save the state back.
   */
  async erase(channel: ChatChannel, contact: string): Promise<void> {
    await this.track('turns', this.deps.queue.run(`${channel}:${contact}`, () => this.deps.eraseConversation(channel, contact)));
  }

  private async handle(message: InboundChatMessage, answer: (messages: ChatAnswer) => void, options: ReceiveOptions): Promise<Receipt> {
    const { channel, contact } = message;
    const word = foldForMatching(message.text);
    const stop = matches(word, 'answers.optOut');
    // Dedupe, the 24-hour window (WhatsApp only) and the opt-out check, in one step. On WhatsApp
    // the user can only write to us, never be written to first: any message after a STOP (but
    // another STOP) is their choice to talk again, and opts them back in within the same step.
    // SMS keeps START: operators and Twilio keep blocking an opted-out number until it says so.
    const arrival = await this.deps.arrivals.arrive({ ...message, reopensOptOut: channel === 'whatsapp' && !stop, claim: options.claim });
    if (arrival.inProgress) {
      this.deps.log.info({ event: 'chat.in_progress', channel }, 'message still being handled (a provider retry)');
      answer([]);
      return 'in-progress';
    }
    if (!arrival.firstSeen) {
      this.deps.log.info({ event: 'chat.duplicate', channel }, 'message already handled (a provider retry)');
      answer([]);
      return 'duplicate';
    }

    if (arrival.optedOut && !arrival.optedBackIn) {
      // Out means out: nothing is sent (not even a second confirmation of a repeated STOP) until
      // START. A repeated STOP erases again, quietly: the first erase may have failed (Redis down).
      if (stop) {
        await this.eraseEverywhere(contact);
        answer([]);
        return 'answered';
      }
      if (!matches(word, 'answers.optIn')) {
        answer([]);
        return 'answered';
      }
      await this.deps.optOuts.optIn(contact);
    } else if (stop) {
      await this.optOut(answer, channel, contact, options.replyBudgetMs ?? this.deps.replyBudgetMs);
      return 'answered';
    }
    if (arrival.optedOut) {
      this.deps.log.info({ event: 'chat.opt_in', channel, reason: arrival.optedBackIn ? 'wrote-again' : 'keyword' }, 'contact opted back in');
      // On WhatsApp the welcome then says how to stop again (SMS users just typed START: they know).
      if (channel === 'whatsapp') message = { ...message, activity: { ...message.activity, channelData: { ...(message.activity.channelData as object), optedBackIn: true } } };
    }
    await this.converse(message, answer, options);
    return 'answered';
  }

  private async converse(message: InboundChatMessage, answer: (messages: ChatAnswer) => void, options: ReceiveOptions): Promise<void> {
    const { channel, contact, ourAddress } = message;
    const budgetMs = options.replyBudgetMs ?? this.deps.replyBudgetMs;
    const turn = this.track(
      'turns',
      this.deps.queue.run(`${channel}:${contact}`, () => this.deps.adapter.runWebhookTurn(message.activity, this.deps.presentations[channel], this.deps.onTurn)),
    );
    const inTime = await withinBudget(turn, budgetMs);
    if (inTime.done) {
      const rendered = await this.render(channel, contact, inTime.value);
      if (!options.inlineTemplates && rendered.some((m) => m.contentSid)) {
        answer([]);
        return this.track('lateReplies', this.sendLater(channel, contact, ourAddress, rendered));
      }
      return answer(rendered);
    }
    const locale = await this.deps.localeOf(channel, contact);
    answer(this.renderText(channel, t(locale, 'common.checking'), locale));
    this.deps.log.warn({ event: 'chat.reply_late', channel, budgetMs }, 'turn over budget: replying by message');
    // Tracked until sent: a restart waits for it, the user was promised this answer.
    void this.track(
      'lateReplies',
      turn
        .then(
          async (replies) => this.sendLater(channel, contact, ourAddress, await this.render(channel, contact, replies)),
          // The user was told an answer is coming: a turn that failed late still owes them one.
          async (error: unknown) => {
            this.logTurnFailure(error);
            const { text, locale: written } = apologyFor(message.text);
            await this.sendLater(channel, contact, ourAddress, this.renderText(channel, text, written ?? locale));
          },
        )
        .catch((error: unknown) => this.deps.log.error({ event: 'chat.reply_late.failed', error: errorName(error) }, 'late reply failed')),
    );
  }

  private async optOut(answer: (messages: ChatAnswer) => void, channel: ChatChannel, contact: string, budgetMs: number): Promise<void> {
    const locale = await this.deps.localeOf(channel, contact);
    // Out first: from now on nothing is sent to the number, not even a late reply already on its way.
    await this.deps.optOuts.optOut(contact);
    // The number is out on both channels: its data goes on both too, as on error 21610. A turn
    // still running (a slow registry) goes first; past the reply budget the erase goes on alone.
    const erased = await withinBudget(this.eraseEverywhere(contact), budgetMs);
    if (!erased.done) this.deps.log.warn({ event: 'chat.opt_out.erase_late', channel }, 'erase waits for a running turn: confirmed before it ends');
    this.deps.log.info({ event: 'chat.opt_out', channel, reason: 'keyword' }, 'contact opted out');
    // One last message confirms it; nothing more is sent until the contact writes START.
    answer(this.renderText(channel, t(locale, 'commands.optedOut'), locale));
  }

  /**
   * Erases the number's conversations on both channels, each after the turns already queued for
   * it: a turn running meanwhile would otherwise save the erased state back.
   */
  private eraseEverywhere(contact: string): Promise<void> {
    const erasing = Promise.all((['whatsapp', 'sms'] as const).map((channel) => this.erase(channel, contact))).then(() => undefined);
    // Awaited by the caller, or left to finish after the budget: a failure is logged either way.
    erasing.catch((error: unknown) => this.deps.log.error({ event: 'chat.erase.failed', error: errorName(error) }, 'erasing a conversation failed'));
    return erasing;
  }

  private async render(channel: ChatChannel, contact: string, replies: Partial<Activity>[]): Promise<RenderedMessage[]> {
    const said = replies.filter((a) => a.type === 'message' && typeof a.text === 'string' && a.text.length > 0);
    if (said.length === 0) return [];
    const messages: OutgoingMessage[] = said.map((a) => ({ text: a.text!, choices: a.suggestedActions?.actions.map((action) => String(action.title)) ?? [] }));
    // The bot marks each reply with the conversation's language; a reply without one (the turn
    // failed before the conversation was loaded) makes us look the language up.
    const locale = localeOfReplies(said) ?? (await this.deps.localeOf(channel, contact));
    return this.deps.renderers[channel].render(messages, locale);
  }

  private renderText(channel: ChatChannel, text: string, locale: Locale): RenderedMessage[] {
    return this.deps.renderers[channel].render([{ text, choices: [] }], locale);
  }

  private async sendLater(channel: ChatChannel, contact: string, ourAddress: string, rendered: RenderedMessage[]): Promise<void> {
    // One after the other: Twilio does not keep the order of messages sent at once (platform.md §8.4).
    for (const message of rendered) {
      // A STOP may have come while this turn ran: then nothing more goes to the number.
      if (await this.deps.optOuts.isOptedOut(contact)) {
        this.deps.log.info({ event: 'chat.reply_late.dropped', channel, reason: 'opted-out' }, 'no late reply to an opted-out contact');
        return;
      }
      await this.deps.messenger.send({ channel, to: contact, from: ourAddress, rendered: message });
    }
  }

  private track<T>(kind: WorkKind, work: Promise<T>): Promise<T> {
    return this.deps.inFlight ? this.deps.inFlight.track(kind, work) : work;
  }

  private logTurnFailure(error: unknown): void {
    // Redis unreachable or a user's queue too long: expected now and then, and the user is told.
    if (error instanceof StateUnavailableError) this.deps.log.warn({ event: 'state.unavailable' }, 'state unavailable: user asked to try again');
    else this.deps.log.error({ event: 'chat.error', error: errorName(error) }, 'message failed');
  }
}

/** The language of the last reply that states one ('ar' or 'fr'). */
export function localeOfReplies(replies: Partial<Activity>[]): Locale | undefined {
  for (let i = replies.length - 1; i >= 0; i--) {
    const locale = replies[i]!.locale;
    if (locale === 'ar' || locale === 'fr') return locale;
  }
  return undefined;
}

function matches(folded: string, key: string): boolean {
  return folded.length > 0 && keywordSet(key).has(folded);
}

async function withinBudget<T>(work: Promise<T>, budgetMs: number): Promise<{ done: true; value: T } | { done: false }> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<{ done: false }>((resolve) => {
    timer = setTimeout(() => resolve({ done: false }), budgetMs);
  });
  try {
    return await Promise.race([work.then((value) => ({ done: true as const, value })), late]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * "Please try again in a moment" when the conversation could not be reached (its language is in
 * the state that failed): in the language the message is written in, else in both.
 */
function apologyFor(written: string | undefined): { text: string; locale?: Locale } {
  let locale = written ? detectLocale(written) : undefined;
  // Latin-script Darija is guessed from word shapes that an id number ("AB123456") also has: too
  // weak a guess to answer in one language only.
  if (locale === 'ar' && !ARABIC_SCRIPT.test(written ?? '')) locale = undefined;
  return locale ? { text: t(locale, 'common.error'), locale } : { text: `${t('ar', 'common.error')}\n${t('fr', 'common.error')}` };
}

const ARABIC_SCRIPT = /[\u0600-\u06FF]/;

/**
 * What a log may say about an error: its class, and a provider error's numeric code. Never its
 * message: Twilio's (and Redis's) messages quote phone numbers and request bodies.
 */
export function errorName(error: unknown): string {
  if (!(error instanceof Error)) return typeof error;
  const code = (error as { code?: unknown }).code;
  return typeof code === 'number' || (typeof code === 'string' && /^[A-Z0-9_]{1,32}$/.test(code)) ? `${error.name}:${code}` : error.name;
}
