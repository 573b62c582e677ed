import { createHash, randomUUID, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { z } from 'zod';
import type { ReferenceData } from '../data/schemas';
import type { Logger } from '../log';
import { OfficeFinder } from '../services/offices/officeFinder';
import {
  API_KEY_HEADER,
  DEFAULT_OFFICE_LIMIT,
  IDEMPOTENCY_KEY_HEADER,
  IDEMPOTENCY_KEY_PATTERN,
  JSON_CONTENT_TYPE,
  MAX_REQUEST_BYTES,
  OPERATIONS,
  PROBLEM_CONTENT_TYPE,
  REQUEST_ID_HEADER,
  REQUEST_ID_PATTERN,
  type OperationId,
  type ProblemCode,
} from '../services/registry/contract';
import {
  ActivationRefusedError,
  IdempotencyKeyReusedError,
  PasswordResetRefusedError,
  type ActivationRefusal,
  type PasswordResetRefusal,
} from '../services/registry/rules';
import type { Registry } from '../services/types';
import { ProblemError } from './problems';
import { categoryView, cityView, nearbyOfficeView, nonSubjectReasonView } from './views';

/**
 * The reference registry (contract/registry.openapi.yaml) over node:http: small enough that
 * every answer, errors included, is exactly the contract's (problem+json everywhere, no
 * framework error pages). Decisions come from the same domain module as the embedded registry
 * (rules.ts through EmbeddedRegistry), so the two cannot drift apart.
 */

export interface RegistryServerOptions {
  /** Look-ups and activations: an EmbeddedRegistry over the people file. */
  registry: Registry;
  data: ReferenceData;
  /** Required on every request when set. */
  apiKey?: string;
  log: Logger;
}

interface RouteInput {
  body: unknown;
  query: URLSearchParams;
  headers: IncomingMessage['headers'];
}

type Handler = (input: RouteInput) => Promise<unknown>;

const REFUSAL_PROBLEMS: Record<ActivationRefusal, ProblemCode> = {
  unknownPerson: 'unknown-person',
  identityMismatch: 'identity-mismatch',
  notSubject: 'not-subject',
  alreadyHasAccount: 'already-has-account',
};

const RESET_REFUSAL_PROBLEMS: Record<PasswordResetRefusal, ProblemCode> = {
  unknownPerson: 'unknown-person',
  identityMismatch: 'identity-mismatch',
  notSubject: 'not-subject',
  noAccount: 'no-account',
  noAccountPhone: 'no-account-phone',
  accountPhoneChanged: 'account-phone-changed',
};

/** Answers that carry personal data (or a password) are never cached by anything in between. */
const NO_STORE: ReadonlySet<OperationId> = new Set(['lookUpPerson', 'activateAccount', 'lookUpAccountPhone', 'resetPassword']);

/** The Idempotency-Key header, when given, in the contract's shape. */
function idempotencyKeyOf(headers: IncomingMessage['headers']): string | undefined {
  const given = headers[IDEMPOTENCY_KEY_HEADER];
  if (given !== undefined && (typeof given !== 'string' || !IDEMPOTENCY_KEY_PATTERN.test(given))) {
    throw new ProblemError('invalid-request', { fields: ['Idempotency-Key'] });
  }
  return given;
}

/** A refused reset as its problem; anything else as it was. */
function resetProblem(error: unknown): unknown {
  if (error instanceof PasswordResetRefusedError) return new ProblemError(RESET_REFUSAL_PROBLEMS[error.reason]);
  if (error instanceof IdempotencyKeyReusedError) return new ProblemError('idempotency-key-reused');
  return error;
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

/** Compares keys in constant time (hashes first, so lengths do not leak either). */
function sameKey(given: string | undefined, expected: Buffer): boolean {
  return given !== undefined && timingSafeEqual(digest(given), expected);
}

function fieldsOf(error: z.ZodError): string[] {
  return [...new Set(error.issues.map((issue) => issue.path.join('.') || '(body)'))];
}

function parseWith<T>(schema: z.ZodType<T>, value: unknown): T {
  const result = schema.safeParse(value);
  if (!result.success) throw new ProblemError('invalid-request', { fields: fieldsOf(result.error) });
  return result.data;
}

/** The JSON body, read up to MAX_REQUEST_BYTES; a bigger one is refused without reading the rest. */
async function readBody(req: IncomingMessage): Promise<unknown> {
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== JSON_CONTENT_TYPE) throw new ProblemError('unsupported-media-type');
  const tooLarge = () => new ProblemError('payload-too-large', { headers: { connection: 'close' } });
  if (Number(req.headers['content-length'] ?? 0) > MAX_REQUEST_BYTES) throw tooLarge();
  const text = await new Promise<string>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_REQUEST_BYTES) {
        req.off('data', onData);
        req.pause();
        reject(tooLarge());
        return;
      }
      chunks.push(chunk);
    };
    req.on('data', onData);
    req.once('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.once('error', reject);
  });
  try {
    return JSON.parse(text);
  } catch {
    throw new ProblemError('malformed-json');
  }
}

function send(res: ServerResponse, status: number, contentType: string, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    ...headers,
    'content-type': `${contentType}; charset=utf-8`,
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

export function createRegistryServer(options: RegistryServerOptions): Server {
  const { registry, data, log } = options;
  const expectedKey = options.apiKey ? digest(options.apiKey) : undefined;
  const offices = new OfficeFinder(data);
  const categories = data.categories.map(categoryView);
  const reasons = data.nonSubjectReasons.map(nonSubjectReasonView);

  const handlers: Record<OperationId, Handler> = {
    lookUpPerson: async ({ body }) => registry.lookUp(parseWith(OPERATIONS.lookUpPerson.request, body)),

    activateAccount: async ({ body, headers }) => {
      const given = idempotencyKeyOf(headers);
      try {
        return await registry.activateAccount(parseWith(OPERATIONS.activateAccount.request, body), { idempotencyKey: given });
      } catch (error) {
        if (error instanceof ActivationRefusedError) throw new ProblemError(REFUSAL_PROBLEMS[error.reason]);
        if (error instanceof IdempotencyKeyReusedError) throw new ProblemError('idempotency-key-reused');
        throw error;
      }
    },

    lookUpAccountPhone: async ({ body }) => {
      try {
        return await registry.lookUpAccountPhone(parseWith(OPERATIONS.lookUpAccountPhone.request, body));
      } catch (error) {
        throw resetProblem(error);
      }
    },

    resetPassword: async ({ body, headers }) => {
      const idempotencyKey = idempotencyKeyOf(headers);
      try {
        return await registry.resetPassword(parseWith(OPERATIONS.resetPassword.request, body), { idempotencyKey });
      } catch (error) {
        throw resetProblem(error);
      }
    },

    listCategories: async () => ({ categories }),

    findOffices: async ({ query }) => {
      // An empty parameter is an absent one: coerced, `lat=` would be 0, a point in the Gulf of Guinea.
      const given = [...query].filter(([, value]) => value.trim() !== '');
      const params = parseWith(OPERATIONS.findOffices.query, Object.fromEntries(given));
      const limit = params.limit ?? DEFAULT_OFFICE_LIMIT;
      if (params.city !== undefined) {
        const city = offices.city(params.city.trim().toLowerCase()) ?? offices.findCity(params.city);
        if (!city) throw new ProblemError('unknown-city');
        return { city: cityView(city), offices: offices.nearestOffices(city, limit).map(nearbyOfficeView) };
      }
      return { offices: offices.nearestOffices({ lat: params.lat!, lon: params.lon! }, limit).map(nearbyOfficeView) };
    },

    listNonSubjectReasons: async () => ({ reasons }),

    getHealth: async () => ({ status: 'ok' }),
  };

  const operationByPath = new Map<string, OperationId>(
    (Object.keys(OPERATIONS) as OperationId[]).map((id) => [OPERATIONS[id].path, id]),
  );

  /** Answers one request; `seen.operation` is set as soon as the route is known (for the log line). */
  async function handle(req: IncomingMessage, res: ServerResponse, requestId: string, seen: { operation?: OperationId }): Promise<void> {
    // The path only: a query never matters for routing (and is never logged).
    const url = new URL(req.url ?? '/', 'http://registry.invalid');
    if (expectedKey && !sameKey(req.headers[API_KEY_HEADER] as string | undefined, expectedKey)) {
      throw new ProblemError('unauthorized');
    }
    const operation = operationByPath.get(url.pathname.replace(/\/+$/, ''));
    if (!operation) throw new ProblemError('not-found');
    seen.operation = operation;
    const spec = OPERATIONS[operation];
    if (req.method !== spec.method) {
      throw new ProblemError('method-not-allowed', { headers: { allow: spec.method } });
    }
    const body = spec.method === 'POST' ? await readBody(req) : undefined;
    const result = await handlers[operation]({ body, query: url.searchParams, headers: req.headers });
    // The answer goes through the contract too: a server bug shows as a 500, not as a wrong answer.
    const checked = spec.success.schema.safeParse(result);
    if (!checked.success) {
      log.error({ event: 'registry.server.bad_answer', operation, requestId, fields: fieldsOf(checked.error) }, 'answer does not follow the contract');
      throw new ProblemError('internal-error');
    }
    send(res, spec.success.status, JSON_CONTENT_TYPE, checked.data, {
      [REQUEST_ID_HEADER]: requestId,
      ...(NO_STORE.has(operation) ? { 'cache-control': 'no-store' } : {}),
    });
  }

  return createServer((req, res) => {
    const given = req.headers[REQUEST_ID_HEADER];
    const requestId = typeof given === 'string' && REQUEST_ID_PATTERN.test(given) ? given : randomUUID();
    const started = performance.now();
    const seen: { operation?: OperationId } = {};
    handle(req, res, requestId, seen)
      .catch((error: unknown) => {
        const problem = error instanceof ProblemError ? error : new ProblemError('internal-error');
        if (!(error instanceof ProblemError)) {
          // Name and message only: our errors carry no personal data, and bodies are never logged.
          log.error({ event: 'registry.server.error', requestId, error: { name: (error as Error).name, message: (error as Error).message } }, 'request failed');
        }
        if (res.headersSent) {
          res.destroy();
          return;
        }
        send(res, problem.status, PROBLEM_CONTENT_TYPE, problem.body(requestId), {
          [REQUEST_ID_HEADER]: requestId,
          ...problem.extra.headers,
        });
      })
      .finally(() => {
        log.info(
          { event: 'registry.server.request', requestId, operation: seen.operation ?? 'none', method: req.method, status: res.statusCode, ms: Math.round(performance.now() - started) },
          'registry request',
        );
      });
  });
}
