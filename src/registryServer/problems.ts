import { problemType, type Problem, type ProblemCode } from '../services/registry/contract';

/** Status and title of each problem code of the contract (the catalogue of errors, one place). */
export const PROBLEMS: Record<ProblemCode, { status: number; title: string }> = {
  'invalid-request': { status: 400, title: 'The request does not follow the contract' },
  'malformed-json': { status: 400, title: 'The body is not valid JSON' },
  unauthorized: { status: 401, title: 'Missing or wrong API key' },
  'not-found': { status: 404, title: 'No such path' },
  'method-not-allowed': { status: 405, title: 'This path does not take this method' },
  'payload-too-large': { status: 413, title: 'The body is too large' },
  'unsupported-media-type': { status: 415, title: 'The body must be application/json' },
  'unknown-person': { status: 404, title: 'No registered person has this document' },
  'not-subject': { status: 409, title: 'This person is not subject to the regime' },
  'already-has-account': { status: 409, title: 'This person already has a Ma CNSS account' },
  'idempotency-key-reused': { status: 422, title: 'This idempotency key was used for another request' },
  'identity-mismatch': { status: 409, title: 'The dates do not match this document' },
  'no-account': { status: 409, title: 'This person has no Ma CNSS account' },
  'no-account-phone': { status: 409, title: 'The registry holds no phone for this account' },
  'account-phone-changed': { status: 409, title: 'This phone is no longer the account phone' },
  'unknown-city': { status: 404, title: 'No city has this name' },
  'internal-error': { status: 500, title: 'The registry failed' },
  unavailable: { status: 503, title: 'The registry cannot answer now' },
};

/** Thrown by a route to answer with a problem. Its details never carry a request's values. */
export class ProblemError extends Error {
  constructor(
    readonly code: ProblemCode,
    readonly extra: { detail?: string; fields?: string[]; headers?: Record<string, string> } = {},
  ) {
    super(PROBLEMS[code].title);
    this.name = 'ProblemError';
  }

  get status(): number {
    return PROBLEMS[this.code].status;
  }

  body(requestId: string): Problem {
    const { detail, fields } = this.extra;
    return {
      type: problemType(this.code),
      title: PROBLEMS[this.code].title,
      status: this.status,
      code: this.code,
      ...(detail ? { detail } : {}),
      ...(fields?.length ? { fields } : {}),
      requestId,
    };
  }
}
