import { randomUUID, timingSafeEqual } from 'node:crypto';
import type { Request, Response } from 'restify';
import type { Clock } from '../../clock';
import type { Logger } from '../../log';
import type { RejectionLabel, SmsProviderLabel, WebhookRouteLabel } from '../../metrics/labels';
import { chatActivity, errorName, type ChatAnswer, type MessagePipeline, type Receipt } from '../../pipeline/messagePipeline';
import type { InFlightWork } from '../../pipeline/inFlight';
import type { DeliveryTracker } from '../../services/sms/deliveryTracker';
import { StateUnavailableError } from '../../state/redis';
import type { ChannelMessenger } from '../messenger';
import type { DlrSigner } from './dlrSigner';
import { KannelInboundSchema, KannelStatusSchema, kannelDeliveryStatus, paramsOf } from './inbound';

/**
 * How long Kannel's call waits for the worker's turn. Kannel waits up to its http-timeout (240 s
 * by default): the answer goes out only once the turn has run and its state is saved, so that a
 * crash after the 200 loses nothing. A turn slower than this (a hung registry) is answered
 * "checking…" and carries on, as on Twilio.
 */
export const KANNEL_TURN_BUDGET_MS = 60_000;

/**
 * How long a message's "in progress" mark outlives the turn budget: an instance that died during
 * the turn holds it no longer, and Kannel's next retry is handled as new. A live instance marks it
 * handled within the budget. It also outlives the turn queue's lease (15 s), so that by then the
 * dead instance's hold on the sender's queue has lapsed too.
 */
export const KANNEL_CLAIM_MARGIN_MS = 30_000;

export interface KannelWebhookDeps {
  /** KANNEL_INBOUND_TOKEN; unset (never in production: config refuses it), any caller is accepted. */
  token?: string;
  log: Logger;
  clock: Clock;
  metrics: { webhookRejected(route: WebhookRouteLabel, reason: RejectionLabel): void; smsGatewayReceived(provider: SmsProviderLabel): void };
  pipeline: MessagePipeline;
  /** Where the turn's replies go: Kannel's sendsms (the dev outbox when it is not configured). */
  messenger: ChannelMessenger;
  delivery: DeliveryTracker;
  signer: DlrSigner;
  turnBudgetMs?: number;
  /** How long a message stays "in progress" (default: the turn budget and KANNEL_CLAIM_MARGIN_MS). */
  claimLeaseMs?: number;
  /** Replies still to send count as late replies: a restart waits for them (src/shutdown.ts). */
  inFlight?: InFlightWork;
}

/**
 * Kannel's calls, in a fixed order: authenticate (403), parse (400), then route. A message is
 * handled once (Kannel's id), one at a time per sender, through the chat pipeline; its replies go
 * out through sendsms, never in the HTTP answer, which is empty. URLs are never logged: they
 * carry the token, the number and the text.
 *
 * Kannel tries a call again until it gets a 200 (http-request-retry): the message is claimed "in
 * progress" on arrival and marked handled only right before the 200. A retry while it is in
 * progress gets a 503 (never a second turn for it); one after the claim's lease (the instance
 * died mid-turn) is handled as new; one after the 200, an empty 200.
 */
export class KannelWebhook {
  /** The replies still being sent, per number: a sender's replies leave in the order of their turns. */
  private readonly sending = new Map<string, Promise<void>>();

  constructor(private readonly deps: KannelWebhookDeps) {}

  /** GET (sms-service get-url) or POST (post-url, a form) /api/kannel/messages. */
  async messages(req: Request, res: Response): Promise<void> {
    const params = { ...paramsOf(queryOf(req)), ...(req.method === 'POST' ? paramsOf(bodyOf(req)) : {}) };
    if (!this.authenticated(params.token)) {
      this.reject(res, 'kannel_messages', 403, params.token === undefined ? 'no-token' : 'bad-token');
      return;
    }
    const parsed = KannelInboundSchema.safeParse(params);
    if (!parsed.success) {
      this.reject(res, 'kannel_messages', 400, 'malformed', parsed.error.issues[0]?.path.join('.'));
      return;
    }
    const inbound = parsed.data;
    this.deps.metrics.smsGatewayReceived('kannel');
    const base = {
      // Its own namespace in the dedupe store: Kannel's ids and Twilio's never meet.
      id: `kannel:${inbound.id}`,
      channel: 'sms' as const,
      contact: inbound.from,
      // Without "+": replies from it go back through Kannel (SmsGatewayMessenger).
      ourAddress: inbound.to.replace(/^\+/, ''),
      text: inbound.text,
    };
    const message = { ...base, activity: chatActivity(base, new Date(this.deps.clock.now())) };
    const budgetMs = this.deps.turnBudgetMs ?? KANNEL_TURN_BUDGET_MS;
    const claim = { token: randomUUID(), leaseMs: this.deps.claimLeaseMs ?? budgetMs + KANNEL_CLAIM_MARGIN_MS };
    let replies: ChatAnswer = [];
    let receipt: Receipt;
    try {
      receipt = await this.deps.pipeline.receive(message, (answer) => (replies = answer), { inlineTemplates: false, replyBudgetMs: budgetMs, claim });
    } catch (error) {
      // The pipeline answers its own failures; anything else: Kannel tries again later, and that
      // retry is to be handled, not taken for a duplicate.
      this.deps.log.error({ event: 'kannel.message.failed', error: errorName(error) }, 'Kannel message failed');
      await this.deps.pipeline.release(base, claim).catch((releaseError: unknown) => {
        // Then the claim's lease runs out first, and a retry after it is handled.
        this.deps.log.warn({ event: 'kannel.message.release_failed', error: errorName(releaseError) }, 'claim not released');
      });
      res.send(503);
      return;
    }
    if (receipt === 'in-progress') {
      // Another call with this id is still running its turn: Kannel asks again later.
      res.send(503);
      return;
    }
    if (receipt === 'answered') {
      // The turn has run and its state is saved: from here the message cannot be lost.
      await this.deps.pipeline.handled(base).catch((error: unknown) => {
        // The 200 goes out all the same: the turn ran, and Kannel sends no retry after a 200. The
        // claim lapses with its lease.
        this.deps.log.warn({ event: 'kannel.message.mark_failed', error: errorName(error) }, 'message not marked handled');
      });
    }
    res.setHeader('content-type', 'text/plain; charset=utf-8');
    res.sendRaw(200, '');
    this.sendInOrder(base.contact, base.ourAddress, replies);
  }

  /** GET /api/kannel/status: a delivery report, on the signed URL given with the SMS. */
  async status(req: Request, res: Response): Promise<void> {
    const params = paramsOf(queryOf(req));
    const parsed = KannelStatusSchema.safeParse(params);
    if (!parsed.success) {
      const signed = typeof params.ref === 'string' && typeof params.sig === 'string';
      if (!signed) this.reject(res, 'kannel_status', 403, 'no-signature');
      else this.reject(res, 'kannel_status', 400, 'malformed', parsed.error.issues[0]?.path.join('.'));
      return;
    }
    const { ref, sig, type } = parsed.data;
    if (!this.deps.signer.verify(ref, sig)) {
      this.reject(res, 'kannel_status', 403, 'bad-signature');
      return;
    }
    const status = kannelDeliveryStatus(type);
    try {
      const learnt = status ? await this.deps.delivery.report(ref, status) : undefined;
      this.deps.log.info({ event: 'kannel.status', status: status ?? 'unknown', type, purpose: learnt?.purpose }, 'delivery report');
      res.setHeader('content-type', 'text/plain; charset=utf-8');
      res.sendRaw(200, '');
    } catch (error) {
      if (error instanceof StateUnavailableError) this.deps.log.warn({ event: 'state.unavailable', route: 'kannel_status' }, 'state unavailable: delivery report refused for now');
      else this.deps.log.error({ event: 'kannel.status.failed', error: errorName(error) }, 'delivery report failed');
      res.send(503);
    }
  }

  private sendInOrder(contact: string, ourAddress: string, replies: ChatAnswer): void {
    if (replies.length === 0) return;
    const previous = this.sending.get(contact) ?? Promise.resolve();
    const next = previous.then(async () => {
      for (const rendered of replies) await this.deps.messenger.send({ channel: 'sms', to: contact, from: ourAddress, rendered });
    });
    const tail = next.catch((error: unknown) => {
      // KannelMessenger has logged and retried: the worker's answers are saved, their next SMS gets the question again.
      this.deps.log.warn({ event: 'kannel.replies_dropped', error: errorName(error) }, 'replies not sent');
    });
    this.sending.set(contact, tail);
    this.deps.inFlight?.track('lateReplies', tail);
    void tail.then(() => {
      if (this.sending.get(contact) === tail) this.sending.delete(contact);
    });
  }

  /** Resolves once every reply handed to sendsms so far has been sent or given up (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.sending.size > 0) await Promise.all(this.sending.values());
  }

  private authenticated(given: string | string[] | undefined): boolean {
    const { token } = this.deps;
    if (!token) return true;
    if (typeof given !== 'string') return false;
    const expected = Buffer.from(token);
    const actual = Buffer.from(given);
    return expected.length === actual.length && timingSafeEqual(expected, actual);
  }

  private reject(res: Response, route: WebhookRouteLabel, status: 400 | 403, reason: RejectionLabel, field?: string): void {
    this.deps.metrics.webhookRejected(route, reason);
    this.deps.log.warn({ event: 'kannel.rejected', route, status, reason, field }, 'Kannel request rejected');
    res.send(status, { error: reason });
  }
}

function queryOf(req: Request): string {
  const url = req.url ?? '';
  const at = url.indexOf('?');
  return at === -1 ? '' : url.slice(at + 1);
}

function bodyOf(req: Request): string {
  return typeof req.body === 'string' ? req.body : Buffer.isBuffer(req.body) ? req.body.toString('utf8') : '';
}
