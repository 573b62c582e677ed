import { isIP } from 'node:net';
import { CloudAdapter, type ConfigurationBotFrameworkAuthenticationOptions, type TurnContext } from 'botbuilder';
import type { Request, Response } from 'restify';
import type { Config } from '../../config';
import type { Logger } from '../../log';
import type { RejectionLabel, WebhookRouteLabel } from '../../metrics/labels';
import { InboundTextMiddleware } from '../inboundText';
import { turnErrorHandler } from '../turnError';
import { InboundActivitySchema, isJsonContentType, type InboundActivity } from './activity';
import { BoundedReplyAuthentication, isReplyChannelUnavailable } from './boundedConnector';

/**
 * POST /api/messages, the Bot Framework channel (the Emulator, Direct Line, Azure Bot Service), in
 * a fixed order: who may call (without an app id: this machine only), what was posted (JSON, an
 * activity of the right shape: 415/400, never a 500 from deep inside botbuilder), where replies
 * may go, then botbuilder's CloudAdapter (JWT authentication, the turn). A connector that cannot
 * take the replies makes a 502, within a few seconds (boundedConnector.ts).
 */

export interface BotFrameworkEndpointDeps {
  config: Pick<Config, 'MicrosoftAppId' | 'MicrosoftAppPassword' | 'MicrosoftAppType' | 'MicrosoftAppTenantId'>;
  log: Logger;
  metrics: { webhookRejected(route: WebhookRouteLabel, reason: RejectionLabel): void };
  /** Runs the bot on one turn (after the earlier turns of its conversation). */
  runTurn: (turn: TurnContext) => Promise<void>;
}

/** What CloudAdapter.process writes its answer into (its `end(status, body)`), sent by us afterwards. */
interface RecordedAnswer {
  status: number;
  body?: unknown;
}

export class BotFrameworkEndpoint {
  private readonly adapter: CloudAdapter;

  constructor(private readonly deps: BotFrameworkEndpointDeps) {
    const { config } = deps;
    this.adapter = new CloudAdapter(
      new BoundedReplyAuthentication({
        MicrosoftAppId: config.MicrosoftAppId ?? '',
        MicrosoftAppPassword: config.MicrosoftAppPassword ?? '',
        MicrosoftAppType: config.MicrosoftAppType ?? '',
        MicrosoftAppTenantId: config.MicrosoftAppTenantId ?? '',
      } as ConfigurationBotFrameworkAuthenticationOptions),
    );
    this.adapter.use(new InboundTextMiddleware());
    this.adapter.onTurnError = turnErrorHandler(deps.log);
  }

  /** A body over the size limit, refused by the body reader before `handle`. */
  tooLarge(): void {
    this.reject(413, 'body too large');
  }

  /** `req.body`: the raw text (readRawBody). */
  async handle(req: Request, res: Response): Promise<void> {
    const localOnly = !this.deps.config.MicrosoftAppId;
    // With no app id botbuilder authenticates nobody and replies to whatever serviceUrl the
    // request names: an open relay. Serve only this machine, and reply only to this machine.
    if (localOnly && !isLoopbackAddress(req.socket.remoteAddress)) return this.refuse(res, 'caller-not-loopback', 'caller is not on this machine');
    if (!isJsonContentType(req.header('content-type'))) return this.answer(res, this.reject(415, 'content-type'), { error: 'unsupported media type', expected: 'application/json' });

    let json: unknown;
    try {
      json = JSON.parse(typeof req.body === 'string' ? req.body : '');
    } catch {
      return this.answer(res, this.reject(400, 'json'), { error: 'malformed', reason: 'the body is not JSON' });
    }
    if (typeof json !== 'object' || json === null || Array.isArray(json)) {
      return this.answer(res, this.reject(400, 'body'), { error: 'malformed', reason: 'the body is not an activity object' });
    }
    const parsed = InboundActivitySchema.safeParse(json);
    if (!parsed.success) {
      // Field names only: values may be what a user typed.
      const fields = [...new Set(parsed.error.issues.map((issue) => issue.path.join('.') || '(activity)'))];
      return this.answer(res, this.reject(400, fields.join(',')), { error: 'malformed', fields });
    }
    const activity = parsed.data;
    if (localOnly && activity.deliveryMode !== 'expectReplies' && !isLoopbackUrl(activity.serviceUrl)) {
      return this.refuse(res, 'service-url-not-loopback', 'serviceUrl is not on this machine');
    }
    await this.process(req, res, activity);
  }

  private async process(req: Request, res: Response, activity: InboundActivity): Promise<void> {
    const answer: RecordedAnswer = { status: 200 };
    const recorder = {
      socket: res.socket,
      status: (code: number) => {
        answer.status = code;
        return recorder;
      },
      header: () => recorder,
      send: (body: unknown) => {
        answer.body = body;
        return recorder;
      },
      end: () => recorder,
    };
    let replyFailed = false;
    await this.adapter.process({ method: 'POST', headers: req.headers, body: activity }, recorder, async (turn) => {
      try {
        await this.deps.runTurn(turn);
      } catch (error) {
        // The connector did not take the replies: an apology would go down the same road. The
        // turn's answers were not saved, so the same message, sent again, is answered afresh.
        if (!isReplyChannelUnavailable(error)) throw error;
        replyFailed = true;
      }
    });
    if (replyFailed) {
      this.deps.log.warn({ event: 'botframework.reply_failed', channel: activity.channelId }, 'the connector did not take the replies; the turn was not saved');
      res.send(502, { error: 'the channel connector did not take the replies' });
      return;
    }
    if (answer.body === undefined) res.send(answer.status);
    else res.send(answer.status, answer.body);
  }

  private refuse(res: Response, reason: RejectionLabel, message: string): void {
    this.deps.metrics.webhookRejected('botframework', reason);
    this.deps.log.warn({ event: 'botframework.refused', reason: message }, 'Bot Framework request refused');
    res.send(403, { error: 'forbidden', reason: message });
  }

  /** Counts and logs a malformed request; gives back its status. `detail` names fields, never values. */
  private reject<S extends number>(status: S, detail: string): S {
    this.deps.metrics.webhookRejected('botframework', 'malformed');
    this.deps.log.warn({ event: 'botframework.rejected', status, reason: 'malformed', detail }, 'Bot Framework request rejected');
    return status;
  }

  private answer(res: Response, status: number, body: unknown): void {
    res.send(status, body);
  }
}

export function isLoopbackAddress(address: string | undefined): boolean {
  if (!address) return false;
  const plain = address.replace(/^::ffff:/, '');
  if (isIP(plain) === 4) return plain.startsWith('127.');
  return plain === '::1';
}

function isLoopbackUrl(url: string | undefined): boolean {
  if (url === undefined) return false;
  try {
    const host = new URL(url).hostname.replace(/^\[|\]$/g, '');
    return host === 'localhost' || isLoopbackAddress(host);
  } catch {
    return false;
  }
}
