import type { Request, Response } from 'restify';
import twilio from 'twilio';
import type { Clock } from '../../clock';
import type { Logger } from '../../log';
import type { RejectionLabel, WebhookRouteLabel } from '../../metrics/labels';
import { errorName, type ChatChannel, type MessagePipeline } from '../../pipeline/messagePipeline';
import type { DeliveryTracker } from '../../services/sms/deliveryTracker';
import { StateUnavailableError } from '../../state/redis';
import { TwilioInboundSchema, TwilioStatusSchema, bareAddress, channelOf, parseFormBody, type TwilioStatus } from './inbound';
import { twilioToActivity } from './toActivity';

/** Twilio error 21610: the recipient replied STOP to our sender. */
const TWILIO_ERROR_UNSUBSCRIBED = '21610';

/** What the webhook answers one message: TwiML message bodies, or a refusal. */
export type WebhookAnswer = { status: 200; messages: string[] } | WebhookRefusal;
export type WebhookRefusal = { status: 400 | 403; error: string };

export interface TwilioWebhookOptions {
  /** Unset: unsigned requests are accepted (never in production: config refuses it). */
  authToken?: string;
  /** The exact URLs configured at Twilio; signatures are computed over them, not over what a proxy forwarded. */
  messagesUrl?: string;
  statusUrl?: string;
}

export interface TwilioWebhookDeps {
  options: TwilioWebhookOptions;
  log: Logger;
  clock: Clock;
  /** Requests refused before any turn, by route and reason. */
  metrics: { webhookRejected(route: WebhookRouteLabel, reason: RejectionLabel): void };
  /** Everything after authentication and parsing: the same for any provider. */
  pipeline: MessagePipeline;
  delivery: DeliveryTracker;
}

/**
 * The Twilio webhooks, in a fixed order: authenticate (403), parse (400), then route. A message
 * is handled once (MessageSid), one at a time per sender, and answered with TwiML.
 */
export class TwilioWebhook {
  constructor(private readonly deps: TwilioWebhookDeps) {}

  /** POST /api/twilio/messages. Never a 500: Twilio would retry, and the user would hear nothing. */
  async messages(req: Request, res: Response): Promise<void> {
    const params = this.authenticate(req, res, 'twilio_messages', this.deps.options.messagesUrl);
    if (!params) return;
    await this.receive(params, (answer) => {
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
    await this.receive(params, answer);
  }

  /** Erases a conversation as an opt-out does, after the turns of that sender already queued. */
  async eraseTrusted(channel: ChatChannel, contact: string): Promise<void> {
    await this.deps.pipeline.erase(channel, contact);
  }

  private async receive(params: Record<string, string | string[]>, answer: (answer: WebhookAnswer) => void): Promise<void> {
    const parsed = TwilioInboundSchema.safeParse(params);
    if (!parsed.success) return answer(this.rejection('twilio_messages', 400, 'malformed', parsed.error.issues[0]?.path.join('.')));
    const inbound = parsed.data;
    const message = {
      id: inbound.MessageSid,
      channel: channelOf(inbound.From),
      contact: bareAddress(inbound.From),
      ourAddress: bareAddress(inbound.To),
      text: inbound.Body,
      activity: twilioToActivity(inbound, new Date(this.deps.clock.now())),
    };
    // Content templates (buttons) cannot travel in TwiML: the pipeline sends such a turn by REST.
    await this.deps.pipeline.receive(message, (rendered) => answer({ status: 200, messages: rendered.map((m) => m.body) }), { inlineTemplates: false });
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
    if (ErrorCode === TWILIO_ERROR_UNSUBSCRIBED && recipient) await this.deps.pipeline.optOutReported(recipient);
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
