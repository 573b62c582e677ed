import type { Activity, TurnContext } from 'botbuilder';
import type { Request, Response } from 'restify';
import twilio from 'twilio';
import type { Clock } from '../../clock';
import { t } from '../../i18n';
import { keywordSet } from '../../nlu/choices';
import type { Logger } from '../../log';
import type { RejectionLabel, WebhookRouteLabel } from '../../metrics/labels';
import { detectLocale, foldForMatching } from '../../nlu/normalize';
import type { ContactActivity, MessageDedupe, OptOuts } from '../../pipeline/contacts';
import type { TurnQueue } from '../../pipeline/turnQueue';
import type { DeliveryTracker } from '../../services/sms/deliveryTracker';
import type { Locale } from '../../services/types';
import { StateUnavailableError } from '../../state/redis';
import type { Presentation } from '../presentation';
import type { ChannelRenderer, OutgoingMessage, RenderedMessage } from '../render/types';
import { TwilioInboundSchema, TwilioStatusSchema, bareAddress, channelOf, parseFormBody, type TwilioInbound, type TwilioStatus } from './inbound';
import type { ChannelMessenger } from './messenger';
import { twilioToActivity } from './toActivity';
import type { TwilioAdapter } from './twilioAdapter';

/** Twilio gives up on a webhook after 15 s: answer well before, and send the rest by REST. */
export const DEFAULT_REPLY_BUDGET_MS = 8000;

/** Twilio error 21610: the recipient replied STOP to our sender. */
const TWILIO_ERROR_UNSUBSCRIBED = '21610';

type Channel = 'whatsapp' | 'sms';

/** What the webhook answers one message: TwiML message bodies, or a refusal. */
export type WebhookAnswer = { status: 200; messages: string[] } | WebhookRefusal;
export type WebhookRefusal = { status: 400 | 403; error: string };

export interface TwilioWebhookOptions {
  /** Unset: unsigned requests are accepted (never in production: config refuses it). */
  authToken?: string;
  /** The exact URLs configured at Twilio; signatures are computed over them, not over what a proxy forwarded. */
  messagesUrl?: string;
  statusUrl?: string;
  replyBudgetMs: number;
}

export interface TwilioWebhookDeps {
  options: TwilioWebhookOptions;
  log: Logger;
  clock: Clock;
  /** Requests refused before any turn, by route and reason. */
  metrics: { webhookRejected(route: WebhookRouteLabel, reason: RejectionLabel): void };
  adapter: TwilioAdapter;
  queue: TurnQueue;
  onTurn: (turn: TurnContext) => Promise<void>;
  dedupe: MessageDedupe;
  optOuts: OptOuts;
  contacts: ContactActivity;
  delivery: DeliveryTracker;
  renderers: Record<Channel, ChannelRenderer>;
  presentations: Record<Channel, Presentation>;
  messenger: ChannelMessenger;
  /** The conversation's language, for the few messages sent outside the dialogs (opt-out, "checking…"). */
  localeOf: (channel: Channel, contact: string) => Promise<Locale>;
  /** Deletes a conversation's state and pending codes at once (opt-out). */
  eraseConversation: (channel: Channel, contact: string) => Promise<void>;
}

/**
 * The Twilio webhooks, in a fixed order: authenticate (403), parse (400), then route. A message
 * is handled once (MessageSid), one at a time per sender, and answered with TwiML.
 */
export class TwilioWebhook {
  constructor(private readonly deps: TwilioWebhookDeps) {}

  /** POST /api/twilio/messages. Never a 500: Twilio would retry, and the user would hear nothing. */
  async messages(req: Request, res: Response): Promise<void> {
    await this.receive(() => this.authenticate(req, res, 'twilio_messages', this.deps.options.messagesUrl), (answer) => {
      if (res.headersSent) return;
      if (answer.status === 200) sendTwiml(res, answer.messages);
      else res.send(answer.status, { error: answer.error });
    });
  }

  /**
   * The same pipeline for a caller in this process that is not Twilio (the web simulator): only
   * the signature check is skipped, since there is no Twilio request to verify. Parsing, dedupe,
   * opt-outs, the per-sender queue, rendering and the reply budget are the ones real messages get.
   * `answer` is called once, as soon as the webhook would respond; later messages (buttons, a late
   * reply) still go through the messenger.
   */
  async receiveTrusted(params: Record<string, string | string[]>, answer: (answer: WebhookAnswer) => void): Promise<void> {
    await this.receive(() => params, answer);
  }

  /**
   * Erases a conversation (state and pending codes) as an opt-out does, after the turns of that
   * sender already queued: a reset must not race a turn that would save the state back.
   */
  async eraseTrusted(channel: Channel, contact: string): Promise<void> {
    await this.deps.queue.run(`${channel}:${contact}`, () => this.deps.eraseConversation(channel, contact));
  }

  /** `params` yields the posted parameters, or undefined once authentication refused them. */
  private async receive(params: () => Record<string, string | string[]> | undefined, answer: (answer: WebhookAnswer) => void): Promise<void> {
    let answered = false;
    const once = (a: WebhookAnswer) => {
      if (answered) return;
      answered = true;
      answer(a);
    };
    const seen: { inbound?: TwilioInbound } = {};
    try {
      const posted = params();
      if (posted) await this.handleMessage(posted, once, seen);
    } catch (error) {
      this.logTurnFailure(error);
      once({ status: 200, messages: this.renderApology(seen.inbound) });
    }
  }

  private async handleMessage(
    params: Record<string, string | string[]>,
    answer: (answer: WebhookAnswer) => void,
    seen: { inbound?: TwilioInbound },
  ): Promise<void> {
    const parsed = TwilioInboundSchema.safeParse(params);
    if (!parsed.success) return answer(this.rejection('twilio_messages', 400, 'malformed', parsed.error.issues[0]?.path.join('.')));
    const inbound = parsed.data;
    seen.inbound = inbound;
    if (!(await this.deps.dedupe.firstSeen(inbound.MessageSid))) {
      this.deps.log.info({ event: 'twilio.duplicate' }, 'message already handled (Twilio retry)');
      return answer({ status: 200, messages: [] });
    }
    const channel = channelOf(inbound.From);
    const contact = bareAddress(inbound.From);
    // The 24-hour window is WhatsApp's: an SMS from the same number does not open it.
    if (channel === 'whatsapp') await this.deps.contacts.recordInbound(contact);

    const word = foldForMatching(inbound.Body);
    if (await this.deps.optOuts.isOptedOut(contact)) {
      // Out means out: nothing is sent (not even a second confirmation of a repeated STOP) until
      // START. A repeated STOP erases again, quietly: the first erase may have failed (Redis down).
      if (matches(word, 'answers.optOut')) {
        await this.eraseEverywhere(contact);
        return answer({ status: 200, messages: [] });
      }
      if (!matches(word, 'answers.optIn')) return answer({ status: 200, messages: [] });
      await this.deps.optOuts.optIn(contact);
      this.deps.log.info({ event: 'twilio.opt_in', channel }, 'contact opted back in');
    } else if (matches(word, 'answers.optOut')) return this.optOut(answer, channel, contact);
    return this.converse(answer, inbound, channel, contact);
  }

  /** POST /api/twilio/status: delivery reports of what we sent. */
  async status(req: Request, res: Response): Promise<void> {
    const params = this.authenticate(req, res, 'twilio_status', this.deps.options.statusUrl);
    if (!params) return;
    const parsed = TwilioStatusSchema.safeParse(params);
    if (!parsed.success) {
      const rejected = this.rejection('twilio_status', 400, 'malformed', parsed.error.issues[0]?.path.join('.'));
      return void res.send(rejected.status, { error: rejected.error });
    }
    try {
      await this.recordStatus(parsed.data);
      res.send(204);
    } catch (error) {
      // Twilio retries a callback that failed: 503 says "later", and nothing of ours leaks out.
      if (error instanceof StateUnavailableError) this.deps.log.warn({ event: 'state.unavailable', route: 'twilio_status' }, 'state unavailable: delivery report refused for now');
      else this.deps.log.error({ event: 'twilio.status.failed', error: errorName(error) }, 'delivery report failed');
      res.send(503, { error: 'unavailable' });
    }
  }

  private async recordStatus({ MessageSid, MessageStatus, ErrorCode, To }: TwilioStatus): Promise<void> {
    const learnt = await this.deps.delivery.report(MessageSid, MessageStatus, ErrorCode);
    this.deps.log.info({ event: 'twilio.status', status: MessageStatus, errorCode: ErrorCode, purpose: learnt?.purpose }, 'delivery report');
    const recipient = learnt?.to ?? (To ? bareAddress(To) : undefined);
    if (ErrorCode === TWILIO_ERROR_UNSUBSCRIBED && recipient) {
      await this.deps.optOuts.optOut(recipient);
      await this.eraseEverywhere(recipient);
      this.deps.log.info({ event: 'twilio.opt_out', reason: 'error-21610' }, 'contact opted out');
    }
  }

  private async converse(answer: (answer: WebhookAnswer) => void, inbound: TwilioInbound, channel: Channel, contact: string): Promise<void> {
    const activity = twilioToActivity(inbound, new Date(this.deps.clock.now()));
    const conversationKey = `${channel}:${contact}`;
    const turn = this.deps.queue.run(conversationKey, () =>
      this.deps.adapter.runWebhookTurn(activity, this.deps.presentations[channel], this.deps.onTurn),
    );
    const inTime = await withinBudget(turn, this.deps.options.replyBudgetMs);
    if (inTime.done) {
      const rendered = await this.render(channel, contact, inTime.value);
      // Content templates (buttons) cannot travel in TwiML: then the whole turn goes by REST, in order.
      if (rendered.some((m) => m.contentSid)) {
        answer({ status: 200, messages: [] });
        return this.sendLater(channel, contact, inbound.To, rendered);
      }
      return answer({ status: 200, messages: rendered.map((m) => m.body) });
    }
    const locale = await this.deps.localeOf(channel, contact);
    answer({ status: 200, messages: this.renderText(channel, t(locale, 'common.checking'), locale).map((m) => m.body) });
    this.deps.log.warn({ event: 'twilio.reply_late', channel, budgetMs: this.deps.options.replyBudgetMs }, 'turn over budget: replying by REST');
    turn
      .then(
        async (replies) => this.sendLater(channel, contact, inbound.To, await this.render(channel, contact, replies)),
        // The user was told an answer is coming: a turn that failed late still owes them one.
        async (error: unknown) => {
          this.logTurnFailure(error);
          const { text, locale: written } = apologyFor(inbound);
          await this.sendLater(channel, contact, inbound.To, this.renderText(channel, text, written ?? locale));
        },
      )
      .catch((error: unknown) => this.deps.log.error({ event: 'twilio.reply_late.failed', error: errorName(error) }, 'late reply failed'));
  }

  private async optOut(answer: (answer: WebhookAnswer) => void, channel: Channel, contact: string): Promise<void> {
    const locale = await this.deps.localeOf(channel, contact);
    // Out first: from now on nothing is sent to the number, not even a late reply already on its way.
    await this.deps.optOuts.optOut(contact);
    // The number is out on both channels: its data goes on both too, as on error 21610. A turn
    // still running (a slow registry) goes first; past the reply budget the erase goes on alone.
    const erased = await withinBudget(this.eraseEverywhere(contact), this.deps.options.replyBudgetMs);
    if (!erased.done) this.deps.log.warn({ event: 'twilio.opt_out.erase_late', channel }, 'erase waits for a running turn: confirmed before it ends');
    this.deps.log.info({ event: 'twilio.opt_out', channel, reason: 'keyword' }, 'contact opted out');
    // One last message confirms it; nothing more is sent until the contact writes START.
    answer({ status: 200, messages: this.renderText(channel, t(locale, 'commands.optedOut'), locale).map((m) => m.body) });
  }

  /**
   * Erases the number's conversations on both channels, each after the turns already queued for
   * it: a turn running meanwhile would otherwise save the erased state back.
   */
  private eraseEverywhere(contact: string): Promise<void> {
    const erasing = Promise.all(
      (['whatsapp', 'sms'] as const).map((channel) => this.deps.queue.run(`${channel}:${contact}`, () => this.deps.eraseConversation(channel, contact))),
    ).then(() => undefined);
    // Awaited by the caller, or left to finish after the budget: a failure is logged either way.
    erasing.catch((error: unknown) => this.deps.log.error({ event: 'twilio.erase.failed', error: errorName(error) }, 'erasing a conversation failed'));
    return erasing;
  }

  private renderText(channel: Channel, text: string, locale: Locale): RenderedMessage[] {
    return this.deps.renderers[channel].render([{ text, choices: [] }], locale);
  }

  private renderApology(inbound: TwilioInbound | undefined): string[] {
    const { text, locale } = apologyFor(inbound);
    const channel = inbound ? channelOf(inbound.From) : 'whatsapp';
    return this.renderText(channel, text, locale ?? 'ar').map((m) => m.body);
  }

  private logTurnFailure(error: unknown): void {
    // Redis unreachable or a user's queue too long: expected now and then, and the user is told.
    if (error instanceof StateUnavailableError) this.deps.log.warn({ event: 'state.unavailable' }, 'state unavailable: user asked to try again');
    else this.deps.log.error({ event: 'twilio.error', error: errorName(error) }, 'Twilio message failed');
  }

  private async render(channel: Channel, contact: string, replies: Partial<Activity>[]): Promise<RenderedMessage[]> {
    const locale = await this.deps.localeOf(channel, contact);
    const messages: OutgoingMessage[] = replies
      .filter((a) => a.type === 'message' && typeof a.text === 'string' && a.text.length > 0)
      .map((a) => ({ text: a.text!, choices: a.suggestedActions?.actions.map((action) => String(action.title)) ?? [] }));
    return this.deps.renderers[channel].render(messages, locale);
  }

  private async sendLater(channel: Channel, contact: string, ourNumber: string, rendered: RenderedMessage[]): Promise<void> {
    // One after the other: Twilio does not keep the order of messages sent at once (platform.md §8.4).
    for (const message of rendered) {
      // A STOP may have come while this turn ran: then nothing more goes to the number.
      if (await this.deps.optOuts.isOptedOut(contact)) {
        this.deps.log.info({ event: 'twilio.reply_late.dropped', channel, reason: 'opted-out' }, 'no late reply to an opted-out contact');
        return;
      }
      await this.deps.messenger.send({ channel, to: contact, from: bareAddress(ourNumber), rendered: message });
    }
  }

  /** The posted parameters, or undefined once a 403 was sent. */
  private authenticate(req: Request, res: Response, route: WebhookRouteLabel, url: string | undefined): Record<string, string | string[]> | undefined {
    const raw = typeof req.body === 'string' ? req.body : Buffer.isBuffer(req.body) ? req.body.toString('utf8') : '';
    const params = parseFormBody(raw);
    const { authToken } = this.deps.options;
    if (!authToken) return params;
    const signature = req.header('x-twilio-signature');
    if (!signature || !url || !twilio.validateRequest(authToken, signature, url, params)) {
      const rejected = this.rejection(route, 403, signature ? 'bad-signature' : 'no-signature');
      res.send(rejected.status, { error: rejected.error });
      return undefined;
    }
    return params;
  }

  private rejection(route: WebhookRouteLabel, status: 400 | 403, reason: RejectionLabel, detail?: string): WebhookRefusal {
    this.deps.metrics.webhookRejected(route, reason);
    this.deps.log.warn({ event: 'twilio.rejected', status, reason, field: detail }, 'Twilio webhook rejected');
    return { status, error: reason };
  }
}

function matches(folded: string, key: string): boolean {
  return folded.length > 0 && keywordSet(key).has(folded);
}

/**
 * What XML 1.0 cannot carry: C0 controls but tab and line ends, U+FFFE/U+FFFF, lone surrogates.
 * The twilio library throws on them, which would leave Twilio without an answer.
 */
// eslint-disable-next-line no-control-regex
const XML_INVALID = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

function sendTwiml(res: Response, bodies: string[]): void {
  res.setHeader('content-type', 'text/xml; charset=utf-8');
  res.sendRaw(200, twimlResponse(bodies));
}

/** A TwiML `<Response>` with one `<Message>` per body, in order; never throws on odd characters. */
export function twimlResponse(bodies: string[]): string {
  const twiml = new twilio.twiml.MessagingResponse();
  for (const body of bodies) twiml.message(body.replace(XML_INVALID, ''));
  return twiml.toString();
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
function apologyFor(inbound: TwilioInbound | undefined): { text: string; locale?: Locale } {
  let locale = inbound ? detectLocale(inbound.Body) : undefined;
  // Latin-script Darija is guessed from word shapes that an id number ("AB123456") also has: too
  // weak a guess to answer in one language only.
  if (locale === 'ar' && !ARABIC_SCRIPT.test(inbound?.Body ?? '')) locale = undefined;
  return locale ? { text: t(locale, 'common.error'), locale } : { text: `${t('ar', 'common.error')}\n${t('fr', 'common.error')}` };
}

/**
 * What a log may say about an error: its class, and a Twilio error's numeric code. Never its
 * message: Twilio's (and Redis's) messages quote phone numbers and request bodies.
 */
function errorName(error: unknown): string {
  if (!(error instanceof Error)) return typeof error;
  const code = (error as { code?: unknown }).code;
  return typeof code === 'number' || (typeof code === 'string' && /^[A-Z0-9_]{1,32}$/.test(code)) ? `${error.name}:${code}` : error.name;
}

const ARABIC_SCRIPT = /[\u0600-\u06FF]/;
