import { randomInt } from 'node:crypto';
import type { Clock } from '../../clock';
import type {
  ActivationOptions,
  ActivationRequest,
  ActivationResult,
  IdentityQuery,
  LookupResult,
  PasswordResetQuery,
  PasswordResetRequest,
  PasswordResetResult,
  Registry,
} from '../types';
import { loadPeopleFile, type KnownCodes, type PeopleFileProblem } from './peopleFile';
import {
  ActivationRefusedError,
  decideActivation,
  decideLookup,
  decidePasswordReset,
  IdempotencyKeyReusedError,
  identityMatches,
  PasswordResetRefusedError,
  personKey,
  type Person,
} from './rules';

/** Length of the temporary password sent by SMS. */
export const TEMPORARY_PASSWORD_LENGTH = 10;
/**
 * How long an activation's answer is kept for a repeated idempotency key: long enough for a user
 * to answer "1" after "the registry did not answer", short enough not to hold passwords for long.
 */
export const ACTIVATION_REPLAY_WINDOW_MS = 60 * 60 * 1000;

/** Letters and digits without look-alikes (0/O/o, 1/l/I/i): the password is copied from an SMS by hand. */
export const TEMPORARY_PASSWORD_ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZabcdefghjkmnpqrstuvwxyz23456789';

/** A fresh temporary password from the CSPRNG, with at least one letter and one digit. */
export function generateTemporaryPassword(length = TEMPORARY_PASSWORD_LENGTH): string {
  for (;;) {
    let password = '';
    for (let i = 0; i < length; i++) {
      password += TEMPORARY_PASSWORD_ALPHABET[randomInt(TEMPORARY_PASSWORD_ALPHABET.length)];
    }
    if (/\d/.test(password) && /[A-Za-z]/.test(password)) return password;
  }
}

/**
 * The registry of a people file (DESIGN §4), in memory: used when REGISTRY_URL is unset, and by the
 * reference registry server. Activations live only as long as the process, so restarting gives
 * testers their fixtures back.
 */
export class EmbeddedRegistry implements Registry {
  private readonly people = new Map<string, Person>();
  private readonly activatedAt = new Map<string, number>();
  /** Answers by idempotency key, oldest first (a Map keeps insertion order); a key belongs to one operation and one person. */
  private readonly answered = new Map<string, { operation: 'activate' | 'reset'; person: string; result: ActivationResult; at: number }>();

  constructor(
    people: readonly Person[],
    private readonly clock: Clock,
  ) {
    // Copies: activation must not change the caller's rows.
    for (const person of people) this.people.set(personKey(person.idType, person.idNumber), { ...person });
  }

  /** Loads REGISTRY_PEOPLE_FILE; the problems (bad rows, skipped) are for the caller to log. */
  static fromFile(
    path: string,
    clock: Clock,
    known?: KnownCodes,
  ): { registry: EmbeddedRegistry; problems: PeopleFileProblem[] } {
    const { people, problems } = loadPeopleFile(path, known);
    return { registry: new EmbeddedRegistry(people, clock), problems };
  }

  async lookUp(query: IdentityQuery): Promise<LookupResult> {
    return decideLookup(this.people.get(personKey(query.idType, query.idNumber)), query);
  }

  async activateAccount(request: ActivationRequest, options: ActivationOptions = {}): Promise<ActivationResult> {
    const key = personKey(request.idType, request.idNumber);
    const now = this.clock.now();
    const person = this.people.get(key);
    // Before any replay: an earlier answer carries a password, and goes only to who knows the dates.
    if (person && !identityMatches(person, request)) throw new ActivationRefusedError('identityMismatch');
    const earlier = this.earlierAnswer('activate', key, options.idempotencyKey, now);
    if (earlier) return earlier;
    const decision = decideActivation(person, request);
    if (decision.kind === 'refused') throw new ActivationRefusedError(decision.reason);
    if (person?.status === 'REGISTERED') {
      person.hasAccount = true;
      // The number the worker proved to hold with a code: a forgotten password goes to it, and only to it.
      person.accountPhone = request.phone;
    }
    this.activatedAt.set(key, now);
    const result = { registrationNumber: decision.registrationNumber, temporaryPassword: generateTemporaryPassword() };
    this.remember('activate', key, options.idempotencyKey, result, now);
    return { ...result };
  }

  async lookUpAccountPhone(query: PasswordResetQuery): Promise<{ phone: string }> {
    const decision = decidePasswordReset(this.people.get(personKey(query.idType, query.idNumber)), query);
    if (decision.kind === 'refused') throw new PasswordResetRefusedError(decision.reason);
    return { phone: decision.accountPhone };
  }

  async resetPassword(request: PasswordResetRequest, options: ActivationOptions = {}): Promise<PasswordResetResult> {
    const key = personKey(request.idType, request.idNumber);
    const now = this.clock.now();
    const person = this.people.get(key);
    // As for an activation: no replay of a password to someone who does not know the dates.
    if (person && !identityMatches(person, request)) throw new PasswordResetRefusedError('identityMismatch');
    const earlier = this.earlierAnswer('reset', key, options.idempotencyKey, now);
    if (earlier) return earlier;
    const decision = decidePasswordReset(person, request);
    if (decision.kind === 'refused') throw new PasswordResetRefusedError(decision.reason);
    if (decision.accountPhone !== request.phone) throw new PasswordResetRefusedError('accountPhoneChanged');
    const result = { registrationNumber: decision.registrationNumber, temporaryPassword: generateTemporaryPassword() };
    this.remember('reset', key, options.idempotencyKey, result, now);
    return { ...result };
  }

  /** The first answer to this idempotency key, when it was given for the same operation and person. */
  private earlierAnswer(operation: 'activate' | 'reset', person: string, idempotencyKey: string | undefined, now: number): ActivationResult | undefined {
    this.forgetOldAnswers(now);
    const earlier = idempotencyKey === undefined ? undefined : this.answered.get(idempotencyKey);
    if (!earlier) return undefined;
    if (earlier.person !== person || earlier.operation !== operation) throw new IdempotencyKeyReusedError();
    return { ...earlier.result };
  }

  private remember(operation: 'activate' | 'reset', person: string, idempotencyKey: string | undefined, result: ActivationResult, now: number): void {
    if (idempotencyKey !== undefined) this.answered.set(idempotencyKey, { operation, person, result, at: now });
  }

  private forgetOldAnswers(now: number): void {
    for (const [idempotencyKey, { at }] of this.answered) {
      if (now - at < ACTIVATION_REPLAY_WINDOW_MS) break;
      this.answered.delete(idempotencyKey);
    }
  }

  /** When the account of this person was activated here, in epoch ms; undefined if never. */
  activationTime(idType: Person['idType'], idNumber: string): number | undefined {
    return this.activatedAt.get(personKey(idType, idNumber));
  }

  async isReady(): Promise<boolean> {
    return true;
  }

  /** How many people the file gave (for the start-up log). */
  get size(): number {
    return this.people.size;
  }
}
