import { randomUUID } from 'node:crypto';
import {
  BrokenCircuitError,
  CircuitState,
  ConsecutiveBreaker,
  ExponentialBackoff,
  IsolatedCircuitError,
  TaskCancelledError,
  TimeoutStrategy,
  circuitBreaker,
  decorrelatedJitterGenerator,
  handleWhen,
  retry,
  timeout,
  wrap,
  type CircuitBreakerPolicy,
} from 'cockatiel';
import type { Logger } from '../../log';
import {
  RegistryUnavailableError,
  type ActivationOptions,
  type ActivationRequest,
  type ActivationResult,
  type IdentityQuery,
  type LookupResult,
  type PasswordResetQuery,
  type PasswordResetRequest,
  type PasswordResetResult,
  type Registry,
} from '../types';
import {
  API_KEY_HEADER,
  JSON_CONTENT_TYPE,
  OPERATIONS,
  PROBLEM_CONTENT_TYPE,
  ProblemSchema,
  IDEMPOTENCY_KEY_HEADER,
  REQUEST_ID_HEADER,
  type OfficeSearchResult,
  type OperationId,
  type Problem,
  type ProblemCode,
  type RegistryCategory,
  type RegistryNonSubjectReason,
} from './contract';
import {
  ActivationRefusedError,
  normalizeIdNumber,
  PasswordResetRefusedError,
  type ActivationRefusal,
  type PasswordResetRefusal,
} from './rules';

/**
 * The registry over HTTP (contract/registry.openapi.yaml), chosen when REGISTRY_URL is set.
 *
 * Resilience comes from cockatiel (timeout, retry with decorrelated-jitter backoff, circuit
 * breaker) rather than hand-written loops: its policies compose, are tested on their own, and
 * its breaker's half-open probing is the subtle part one gets wrong by hand.
 * - One budget per call, REGISTRY_TIMEOUT_MS, retries included: it is what the user waits for.
 * - Safe calls (look-up, the account phone's look-up, GETs) are retried after a transient failure
 *   (connection refused or reset, 5xx, 429) while a retry still fits in the budget. Activation
 *   and password reset are never retried here: one user action, one call (the user's own "1" is
 *   the retry, with the same idempotency key).
 * - The breaker opens after consecutive failures, so a dead registry fails fast and is not
 *   hammered; after a pause one call is let through to test it.
 * - Every failure becomes a RegistryCallError, a RegistryUnavailableError: the conversation says
 *   "registry unavailable", keeps the answers and offers to try again. Its kind is logged, with
 *   the request id; bodies never are (they carry personal data, or a password).
 */

export type RegistryFailureKind =
  /** The budget ran out. */
  | 'timeout'
  /** Refused, reset, DNS: nothing answered. */
  | 'connection'
  /** 5xx, or 429. */
  | 'server-error'
  /** 401/403: REGISTRY_API_KEY is wrong or missing. */
  | 'unauthorized'
  /** Not JSON, or not the contract's shape. */
  | 'malformed-response'
  /** The registry refused the request itself (400, 404 on a path, 405, 413, 415, a redirect): a bug or a wrong REGISTRY_URL. */
  | 'rejected-request'
  /** The breaker is open: not even tried. */
  | 'circuit-open';

const TRANSIENT: ReadonlySet<RegistryFailureKind> = new Set(['connection', 'server-error']);
/** What says the registry itself is in trouble (a rejected request says nothing about it). */
const BREAKS_CIRCUIT: ReadonlySet<RegistryFailureKind> = new Set([
  'timeout',
  'connection',
  'server-error',
  'unauthorized',
  'malformed-response',
]);

/** A failed registry call. Its message names the operation and the kind, never data. */
export class RegistryCallError extends RegistryUnavailableError {
  constructor(
    readonly kind: RegistryFailureKind,
    readonly operation: OperationId,
    readonly status?: number,
    options?: { cause?: unknown },
  ) {
    super(`registry ${operation} failed: ${kind}${status ? ` (HTTP ${status})` : ''}`, options);
    this.name = 'RegistryCallError';
  }
}

export interface RetrySettings {
  /** Retries after the first attempt, for safe calls. */
  maxRetries: number;
  initialDelayMs: number;
  maxDelayMs: number;
}

export interface BreakerSettings {
  /** Consecutive failed attempts that open the circuit. */
  consecutiveFailures: number;
  /** How long it stays open before one call is let through to test the registry. */
  halfOpenAfterMs: number;
}

export const DEFAULT_RETRY: RetrySettings = { maxRetries: 2, initialDelayMs: 100, maxDelayMs: 800 };
export const DEFAULT_BREAKER: BreakerSettings = { consecutiveFailures: 5, halfOpenAfterMs: 10_000 };
/** /readyz is probed often and must answer fast: its call gets at most this long. */
export const READY_TIMEOUT_MS = 2000;
/** A retry is worth it only if the attempt after the pause still has this long to run. */
const MIN_ATTEMPT_MS = 100;

export interface HttpRegistryOptions {
  /** REGISTRY_URL: the base URL; the versioned paths (`/v1/...`) are added to it. */
  url: string;
  /** REGISTRY_API_KEY, sent as X-Api-Key. */
  apiKey?: string;
  /** REGISTRY_TIMEOUT_MS: the budget of one call, retries included. */
  timeoutMs: number;
  log: Logger;
  retry?: Partial<RetrySettings>;
  breaker?: Partial<BreakerSettings>;
}

export interface OfficeSearch {
  city?: string;
  lat?: number;
  lon?: number;
  limit?: number;
}

/** One attempt's failure, before it becomes a RegistryCallError (the policies decide on its kind). */
class AttemptFailure extends Error {
  constructor(
    readonly kind: RegistryFailureKind,
    readonly status?: number,
    options?: { cause?: unknown },
  ) {
    super(kind, options);
    this.name = 'AttemptFailure';
  }
}

/** A documented business answer in problem+json (an activation refused, an unknown city). */
interface ProblemAnswer {
  problem: Problem;
}

const REFUSALS: Partial<Record<ProblemCode, ActivationRefusal>> = {
  'unknown-person': 'unknownPerson',
  'identity-mismatch': 'identityMismatch',
  'not-subject': 'notSubject',
  'already-has-account': 'alreadyHasAccount',
};
const RESET_REFUSALS: Partial<Record<ProblemCode, PasswordResetRefusal>> = {
  'unknown-person': 'unknownPerson',
  'identity-mismatch': 'identityMismatch',
  'not-subject': 'notSubject',
  'no-account': 'noAccount',
  'no-account-phone': 'noAccountPhone',
  'account-phone-changed': 'accountPhoneChanged',
};
const RESET_PROBLEMS: ReadonlySet<ProblemCode> = new Set(Object.keys(RESET_REFUSALS) as ProblemCode[]);
const BUSINESS_PROBLEMS: Partial<Record<OperationId, ReadonlySet<ProblemCode>>> = {
  activateAccount: new Set(Object.keys(REFUSALS) as ProblemCode[]),
  lookUpAccountPhone: RESET_PROBLEMS,
  resetPassword: RESET_PROBLEMS,
  findOffices: new Set(['unknown-city']),
};

const CIRCUIT_STATES: Record<CircuitState, 'closed' | 'open' | 'half-open' | 'isolated'> = {
  [CircuitState.Closed]: 'closed',
  [CircuitState.Open]: 'open',
  [CircuitState.HalfOpen]: 'half-open',
  [CircuitState.Isolated]: 'isolated',
};

/** About a kilometre: offices are ranked by the kilometre, and a pin is where someone is. */
function roundCoordinate(value: number): number {
  return Math.round(value * 100) / 100;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

export class HttpRegistry implements Registry {
  private readonly base: URL;
  private readonly retrySettings: RetrySettings;
  private readonly breaker: CircuitBreakerPolicy;

  constructor(private readonly options: HttpRegistryOptions) {
    const base = new URL(options.url);
    // `new URL('v1/x', base)` keeps a path prefix (https://gw.example/cnss/) only with a trailing slash.
    if (!base.pathname.endsWith('/')) base.pathname += '/';
    this.base = base;
    this.retrySettings = { ...DEFAULT_RETRY, ...options.retry };
    const breakerSettings = { ...DEFAULT_BREAKER, ...options.breaker };
    this.breaker = circuitBreaker(
      handleWhen((error) => error instanceof AttemptFailure && BREAKS_CIRCUIT.has(error.kind)),
      { halfOpenAfter: breakerSettings.halfOpenAfterMs, breaker: new ConsecutiveBreaker(breakerSettings.consecutiveFailures) },
    );
    const { log } = options;
    this.breaker.onBreak(() => log.error({ event: 'registry.circuit', state: 'open' }, 'registry circuit open: calls fail fast'));
    this.breaker.onHalfOpen(() => log.info({ event: 'registry.circuit', state: 'half-open' }, 'registry circuit half-open: testing'));
    this.breaker.onReset(() => log.info({ event: 'registry.circuit', state: 'closed' }, 'registry circuit closed'));
  }

  /** The breaker's state, for logs and tests. */
  get circuitState(): 'closed' | 'open' | 'half-open' | 'isolated' {
    return CIRCUIT_STATES[this.breaker.state];
  }

  async lookUp(query: IdentityQuery): Promise<LookupResult> {
    const result = await this.call('lookUpPerson', {
      body: { ...query, idNumber: normalizeIdNumber(query.idNumber) },
    });
    return result as LookupResult;
  }

  /**
   * Sent once: never retried here, whatever happens (a second activation is the user's choice).
   * The idempotency key makes the user's retry safe when the first answer was lost.
   */
  async activateAccount(request: ActivationRequest, options: ActivationOptions = {}): Promise<ActivationResult> {
    const result = await this.call('activateAccount', {
      body: { ...request, idNumber: normalizeIdNumber(request.idNumber) },
      headers: options.idempotencyKey === undefined ? undefined : { [IDEMPOTENCY_KEY_HEADER]: options.idempotencyKey },
    });
    if (isProblemAnswer(result)) throw new ActivationRefusedError(REFUSALS[result.problem.code]!);
    return result as ActivationResult;
  }

  /** Safe (it changes nothing): retried like the look-up. */
  async lookUpAccountPhone(query: PasswordResetQuery): Promise<{ phone: string }> {
    const result = await this.call('lookUpAccountPhone', { body: { ...query, idNumber: normalizeIdNumber(query.idNumber) } });
    if (isProblemAnswer(result)) throw new PasswordResetRefusedError(RESET_REFUSALS[result.problem.code]!);
    return result as { phone: string };
  }

  /**
   * Sent once, like an activation: a new password is one user action. The idempotency key makes
   * the user's own retry safe when the first answer was lost (the same password comes back).
   */
  async resetPassword(request: PasswordResetRequest, options: ActivationOptions = {}): Promise<PasswordResetResult> {
    const result = await this.call('resetPassword', {
      body: { ...request, idNumber: normalizeIdNumber(request.idNumber) },
      headers: options.idempotencyKey === undefined ? undefined : { [IDEMPOTENCY_KEY_HEADER]: options.idempotencyKey },
    });
    if (isProblemAnswer(result)) throw new PasswordResetRefusedError(RESET_REFUSALS[result.problem.code]!);
    return result as PasswordResetResult;
  }

  async listCategories(): Promise<RegistryCategory[]> {
    const result = (await this.call('listCategories', {})) as { categories: RegistryCategory[] };
    return result.categories;
  }

  async listNonSubjectReasons(): Promise<RegistryNonSubjectReason[]> {
    const result = (await this.call('listNonSubjectReasons', {})) as { reasons: RegistryNonSubjectReason[] };
    return result.reasons;
  }

  /** Offices in a city (a name as typed, or a code) or near a point; undefined when no city has that name. */
  async findOffices(search: OfficeSearch): Promise<OfficeSearchResult | undefined> {
    const query = new URLSearchParams();
    if (search.city !== undefined) query.set('city', search.city);
    if (search.lat !== undefined) query.set('lat', String(roundCoordinate(search.lat)));
    if (search.lon !== undefined) query.set('lon', String(roundCoordinate(search.lon)));
    if (search.limit !== undefined) query.set('limit', String(search.limit));
    const result = await this.call('findOffices', { query });
    return isProblemAnswer(result) ? undefined : (result as OfficeSearchResult);
  }

  /**
   * For /readyz: one cheap authenticated call, not retried, short. Through the breaker: while it
   * is open the answer is "not ready" at once, without a call; when it may test again, the probe
   * can be the test.
   */
  async isReady(): Promise<boolean> {
    try {
      await this.call('getHealth', {}, { timeoutMs: Math.min(this.options.timeoutMs, READY_TIMEOUT_MS), quiet: true });
      return true;
    } catch (error) {
      if (error instanceof RegistryUnavailableError) return false;
      throw error;
    }
  }

  private url(operation: OperationId, query?: URLSearchParams): URL {
    const url = new URL(OPERATIONS[operation].path.replace(/^\//, ''), this.base);
    if (query) url.search = query.toString();
    return url;
  }

  /** One call, as the user sees it: the policies around one or more attempts. */
  private async call(
    operation: OperationId,
    request: { body?: unknown; query?: URLSearchParams; headers?: Record<string, string> },
    settings: { timeoutMs?: number; quiet?: boolean } = {},
  ): Promise<unknown> {
    const spec = OPERATIONS[operation];
    const { log } = this.options;
    const budgetMs = settings.timeoutMs ?? this.options.timeoutMs;
    // One id for every attempt of this call, so the registry's logs show a retry as one call.
    const requestId = randomUUID();
    const started = Date.now();
    const deadline = started + budgetMs;
    let attempts = 0;

    if ('request' in spec && request.body !== undefined) {
      const checked = spec.request.safeParse(request.body);
      // A caller bug, not an outage: the dialogs validate every answer before a look-up.
      if (!checked.success) {
        const fields = [...new Set(checked.error.issues.map((issue) => issue.path.join('.')))];
        throw new Error(`registry ${operation}: the request does not follow the contract (${fields.join(', ')})`);
      }
    }

    const attempt = async ({ signal }: { signal: AbortSignal }) => {
      attempts += 1;
      return this.attempt(operation, request, requestId, signal);
    };
    const timeoutPolicy = timeout(budgetMs, TimeoutStrategy.Aggressive);
    let policy;
    if (spec.safe && !settings.quiet) {
      const retryPolicy = retry(
        handleWhen(
          (error) =>
            error instanceof AttemptFailure &&
            TRANSIENT.has(error.kind) &&
            deadline - Date.now() > this.retrySettings.maxDelayMs + MIN_ATTEMPT_MS,
        ),
        {
          maxAttempts: this.retrySettings.maxRetries,
          backoff: new ExponentialBackoff({
            initialDelay: this.retrySettings.initialDelayMs,
            maxDelay: this.retrySettings.maxDelayMs,
            generator: decorrelatedJitterGenerator,
          }),
        },
      );
      retryPolicy.onRetry(({ delay, attempt: retryNumber, ...reason }) => {
        const kind = 'error' in reason && reason.error instanceof AttemptFailure ? reason.error.kind : 'unknown';
        log.info({ event: 'registry.retry', operation, requestId, kind, retry: retryNumber, delayMs: Math.round(delay) }, 'registry call retried');
      });
      policy = wrap(timeoutPolicy, retryPolicy, this.breaker);
    } else {
      policy = wrap(timeoutPolicy, this.breaker);
    }

    try {
      const value = await policy.execute(attempt);
      log.debug({ event: 'registry.call', operation, requestId, attempts, ms: Date.now() - started }, 'registry call');
      return value;
    } catch (error) {
      const failure = this.toCallError(operation, error);
      const entry = { event: 'registry.call_failed', operation, requestId, kind: failure.kind, status: failure.status, attempts, ms: Date.now() - started };
      if (settings.quiet) log.debug(entry, 'registry call failed');
      else log.warn(entry, 'registry call failed');
      throw failure;
    }
  }

  private toCallError(operation: OperationId, error: unknown): RegistryCallError {
    if (error instanceof RegistryCallError) return error;
    if (error instanceof AttemptFailure) return new RegistryCallError(error.kind, operation, error.status, { cause: error.cause });
    if (error instanceof TaskCancelledError) return new RegistryCallError('timeout', operation);
    if (error instanceof BrokenCircuitError || error instanceof IsolatedCircuitError) {
      return new RegistryCallError('circuit-open', operation);
    }
    return new RegistryCallError('connection', operation, undefined, { cause: error });
  }

  /** One HTTP exchange: the answer in the contract's shape, a documented problem, or an AttemptFailure. */
  private async attempt(
    operation: OperationId,
    request: { body?: unknown; query?: URLSearchParams; headers?: Record<string, string> },
    requestId: string,
    signal: AbortSignal,
  ): Promise<unknown> {
    const spec = OPERATIONS[operation];
    const headers: Record<string, string> = {
      ...request.headers,
      accept: `${JSON_CONTENT_TYPE}, ${PROBLEM_CONTENT_TYPE}`,
      [REQUEST_ID_HEADER]: requestId,
    };
    if (this.options.apiKey) headers[API_KEY_HEADER] = this.options.apiKey;
    if (request.body !== undefined) headers['content-type'] = JSON_CONTENT_TYPE;

    let status: number;
    let text: string;
    try {
      const response = await fetch(this.url(operation, request.query), {
        method: spec.method,
        headers,
        body: request.body === undefined ? undefined : JSON.stringify(request.body),
        // A redirect could turn a POST into a GET elsewhere: the contract has none.
        redirect: 'manual',
        signal,
      });
      status = response.status;
      text = await response.text();
    } catch (error) {
      if (signal.aborted) throw new AttemptFailure('timeout');
      throw new AttemptFailure('connection', undefined, { cause: error });
    }

    if (status === spec.success.status) {
      const checked = spec.success.schema.safeParse(parseJson(text));
      if (!checked.success) throw new AttemptFailure('malformed-response', status);
      return checked.data;
    }
    if (status === 401 || status === 403) throw new AttemptFailure('unauthorized', status);
    if (status >= 500 || status === 429) throw new AttemptFailure('server-error', status);
    const problem = ProblemSchema.safeParse(parseJson(text));
    if (problem.success && BUSINESS_PROBLEMS[operation]?.has(problem.data.code)) {
      return { problem: problem.data } satisfies ProblemAnswer;
    }
    if (status >= 200 && status < 300) throw new AttemptFailure('malformed-response', status);
    throw new AttemptFailure('rejected-request', status);
  }
}

function isProblemAnswer(value: unknown): value is ProblemAnswer {
  return typeof value === 'object' && value !== null && 'problem' in value;
}
