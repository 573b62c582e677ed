import { ConfigurationBotFrameworkAuthentication } from 'botbuilder';

/**
 * Replies to a Bot Framework channel go back over HTTP to the activity's `serviceUrl` (the
 * connector). botbuilder's ConnectorClient inherits @azure/core-rest-pipeline's default retry
 * policy: 3 retries 1 s, 2 s, 4 s apart (±50 %), and no timeout at all, with no option to change
 * either (botbuilder-stdlib's ServiceClientContext passes no retryOptions). A connector answering
 * 500 held a request 12 s (the reply's series, then the apology's); one that never answers held it
 * for ever. Here every connector client gets instead: at most REPLY_ATTEMPTS attempts, all within
 * REPLY_DEADLINE_MS, and a distinct error when the connector cannot take the reply, so nobody tries
 * to send an apology down the same broken road.
 */

/** Attempts per reply: one retry covers a connector's passing hiccup. */
export const REPLY_ATTEMPTS = 2;
/** Every attempt of one reply, and the pause between them, fit in this. */
export const REPLY_DEADLINE_MS = 5000;
const RETRY_PAUSE_MS = 250;

/** The connector did not take a reply (5xx, 408, 429, no answer in time, connection refused). */
export class ReplyChannelUnavailableError extends Error {
  constructor(readonly reason: 'status' | 'timeout' | 'network', options?: { cause?: unknown }) {
    super(`the channel's connector did not take the reply (${reason})`, options);
    this.name = 'ReplyChannelUnavailableError';
  }
}

/** Whether `error`, or what it wraps (botbuilder-dialogs wraps in DialogContextError.error), is one. */
export function isReplyChannelUnavailable(error: unknown): boolean {
  for (let current = error, depth = 0; current instanceof Error && depth < 5; depth++) {
    if (current instanceof ReplyChannelUnavailableError) return true;
    current = (current as { error?: unknown }).error ?? current.cause;
  }
  return false;
}

export interface ReplyBounds {
  attempts: number;
  deadlineMs: number;
}

type Identity = Parameters<ConfigurationBotFrameworkAuthentication['createConnectorFactory']>[0];
type Factory = ReturnType<ConfigurationBotFrameworkAuthentication['createConnectorFactory']>;
type ConnectorClient = Awaited<ReturnType<Factory['create']>>;

/** Bot Framework authentication from its settings, whose connector clients have bounded replies. */
export class BoundedReplyAuthentication extends ConfigurationBotFrameworkAuthentication {
  /** The factory of an incoming request's replies (CloudAdapter.process). */
  override async authenticateRequest(...args: Parameters<ConfigurationBotFrameworkAuthentication['authenticateRequest']>): Promise<AuthenticateResult> {
    const result = await super.authenticateRequest(...args);
    if (result.connectorFactory) result.connectorFactory = bounded(result.connectorFactory);
    return result;
  }

  /** The factory of proactive messages (continueConversation, createConversation). */
  override createConnectorFactory(claimsIdentity: Identity): Factory {
    return bounded(super.createConnectorFactory(claimsIdentity));
  }
}

type AuthenticateResult = Awaited<ReturnType<ConfigurationBotFrameworkAuthentication['authenticateRequest']>>;

function bounded(inner: Factory): Factory {
  const bounds = { attempts: REPLY_ATTEMPTS, deadlineMs: REPLY_DEADLINE_MS };
  return {
    async create(serviceUrl: string, audience?: string): Promise<ConnectorClient> {
      return boundReplies(await inner.create(serviceUrl, audience), bounds);
    },
  };
}

/** The few parts of @azure/core-rest-pipeline's Pipeline and request used here. */
interface PipelineRequestLike {
  timeout: number;
  abortSignal?: AbortSignal;
}
interface PipelineResponseLike {
  status: number;
}
interface PipelinePolicyLike {
  name: string;
  sendRequest(request: PipelineRequestLike, next: (request: PipelineRequestLike) => Promise<PipelineResponseLike>): Promise<PipelineResponseLike>;
}
interface PipelineLike {
  removePolicy(options: { phase: 'Retry' }): unknown;
  addPolicy(policy: PipelinePolicyLike, options: { phase: 'Retry' }): void;
}

/**
 * Swaps the client's retry policies for the bounded one. The pipeline is private in botbuilder's
 * types (ServiceClientContext.client); botbuilder is archived at 4.23.3, so it will not move, and
 * the test of a failing connector fails loudly if it ever does.
 */
export function boundReplies(connector: ConnectorClient, bounds: ReplyBounds): ConnectorClient {
  const pipeline = (connector as unknown as { client?: { pipeline?: PipelineLike } }).client?.pipeline;
  if (!pipeline) throw new Error('botbuilder ConnectorClient without a pipeline: cannot bound its replies');
  pipeline.removePolicy({ phase: 'Retry' });
  pipeline.addPolicy(boundedRetryPolicy(bounds), { phase: 'Retry' });
  return connector;
}

function boundedRetryPolicy({ attempts, deadlineMs }: ReplyBounds): PipelinePolicyLike {
  return {
    name: 'tasjilBoundedReplyRetry',
    async sendRequest(request, next) {
      const deadline = Date.now() + deadlineMs;
      const overall = AbortSignal.timeout(deadlineMs);
      request.abortSignal = request.abortSignal ? AbortSignal.any([request.abortSignal, overall]) : overall;
      for (let attempt = 1; ; attempt++) {
        request.timeout = Math.max(1, deadline - Date.now());
        let response: PipelineResponseLike;
        try {
          response = await next(request);
        } catch (error) {
          const reason = overall.aborted || isTimeout(error) ? 'timeout' : 'network';
          if (attempt >= attempts || overall.aborted || !isTransient(error)) throw new ReplyChannelUnavailableError(reason, { cause: error });
          await pause(RETRY_PAUSE_MS, overall);
          continue;
        }
        if (!isRetryableStatus(response.status)) return response;
        if (attempt >= attempts || Date.now() + RETRY_PAUSE_MS >= deadline) throw new ReplyChannelUnavailableError('status');
        await pause(RETRY_PAUSE_MS, overall);
      }
    },
  };
}

function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 429 || (status >= 500 && status !== 501 && status !== 505);
}

function isTimeout(error: unknown): boolean {
  const { name, code } = error as { name?: string; code?: string };
  return name === 'AbortError' || name === 'TimeoutError' || code === 'ETIMEDOUT' || code === 'ESOCKETTIMEDOUT';
}

/** A connection-level failure worth one more try (refused, reset, timed out); anything else is not. */
function isTransient(error: unknown): boolean {
  const code = (error as { code?: string }).code;
  return isTimeout(error) || code === 'ECONNREFUSED' || code === 'ECONNRESET' || code === 'REQUEST_SEND_ERROR';
}

/** Waits `ms`, or less if the deadline passes first (then the next attempt fails at once). */
function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
