import type { IdentityQuery, IdTypeCode, IsoDate, LookupResult, MismatchField } from '../types';

/**
 * The registry's decisions (DESIGN §4), with no I/O: the embedded registry and the reference HTTP
 * registry both answer through these functions, so they cannot drift apart.
 */

export type PersonStatus = 'REGISTERED' | 'NOT_SUBJECT';

interface PersonIdentity {
  idType: IdTypeCode;
  /** Normalized: see normalizeIdNumber. */
  idNumber: string;
  birthDate: IsoDate;
  idExpiryDate: IsoDate;
  /** The person's category code, when the liaison body's list gives it. */
  category?: string;
}

/** One row of a liaison body's list after CNSS processing. */
export type Person = PersonIdentity &
  (
    | {
        status: 'REGISTERED';
        registrationNumber: string;
        hasAccount: boolean;
        /** The phone the Ma CNSS account was created with (E.164), when the registry knows it. */
        accountPhone?: string;
      }
    | { status: 'NOT_SUBJECT'; nonSubjectReason: string; registrationNumber?: string }
  );

/**
 * Card numbers are typed with spaces and dashes and in lower case; the card prints them upper case
 * with none (domain.md §1b).
 */
export function normalizeIdNumber(raw: string): string {
  return raw.replace(/[\s-]+/g, '').toUpperCase();
}

/** The registry's key: the same number on two kinds of document is two different people. */
export function personKey(idType: IdTypeCode, idNumber: string): string {
  return `${idType}:${normalizeIdNumber(idNumber)}`;
}

/**
 * Outcome of a look-up. Identity comes first: when the number is known but the dates differ, the
 * answer says which kind of data differs and nothing else (not the status, not the registry's
 * value), so a number typed by someone else reveals nothing about its owner.
 */
export function decideLookup(person: Person | undefined, query: IdentityQuery): LookupResult {
  // Absent from the liaison lists: subject but not registered, register in person (portal case 2).
  if (!person) return { kind: 'notRegistered' };

  const fields: MismatchField[] = [];
  if (person.birthDate !== query.birthDate) fields.push('birthDate');
  if (person.idExpiryDate !== query.idExpiryDate) fields.push('idExpiryDate');
  if (fields.length > 0) return { kind: 'mismatch', fields };

  if (person.status === 'NOT_SUBJECT') return { kind: 'notSubject', reasonCode: person.nonSubjectReason };
  return { kind: 'registered', hasAccount: person.hasAccount, registrationNumber: person.registrationNumber };
}

export type ActivationRefusal = 'unknownPerson' | 'identityMismatch' | 'notSubject' | 'alreadyHasAccount';

/** The dates match the registry's: what the card's number alone does not prove. */
export function identityMatches(person: Person, query: IdentityQuery): boolean {
  return person.birthDate === query.birthDate && person.idExpiryDate === query.idExpiryDate;
}

export type ActivationDecision =
  | { kind: 'activate'; registrationNumber: string }
  | { kind: 'refused'; reason: ActivationRefusal };

/**
 * Only a registered person without a Ma CNSS account can get one (portal case 1b), and only for
 * someone who knows the card's dates as well as its number.
 */
export function decideActivation(person: Person | undefined, query: IdentityQuery): ActivationDecision {
  if (!person) return { kind: 'refused', reason: 'unknownPerson' };
  if (!identityMatches(person, query)) return { kind: 'refused', reason: 'identityMismatch' };
  if (person.status === 'NOT_SUBJECT') return { kind: 'refused', reason: 'notSubject' };
  if (person.hasAccount) return { kind: 'refused', reason: 'alreadyHasAccount' };
  return { kind: 'activate', registrationNumber: person.registrationNumber };
}

export type PasswordResetRefusal =
  | 'unknownPerson'
  | 'identityMismatch'
  | 'notSubject'
  | 'noAccount'
  /** The account exists but the registry holds no phone for it: only an agency can help. */
  | 'noAccountPhone'
  /** The phone the worker proved to hold is no longer the account's (changed in between). */
  | 'accountPhoneChanged';

export type PasswordResetDecision =
  | { kind: 'allowed'; registrationNumber: string; accountPhone: string }
  | { kind: 'refused'; reason: PasswordResetRefusal };

/**
 * Whether a forgotten password may be reset, and to which phone. The identity is checked as for a
 * look-up (all of it: someone who knows a card's number must also know its dates), and the answer
 * is only ever the number the account was created with, never one the caller names.
 */
export function decidePasswordReset(person: Person | undefined, query: IdentityQuery): PasswordResetDecision {
  if (!person) return { kind: 'refused', reason: 'unknownPerson' };
  if (!identityMatches(person, query)) return { kind: 'refused', reason: 'identityMismatch' };
  if (person.status === 'NOT_SUBJECT') return { kind: 'refused', reason: 'notSubject' };
  if (!person.hasAccount) return { kind: 'refused', reason: 'noAccount' };
  if (!person.accountPhone) return { kind: 'refused', reason: 'noAccountPhone' };
  return { kind: 'allowed', registrationNumber: person.registrationNumber, accountPhone: person.accountPhone };
}

/** Thrown when a password reset is refused: a business answer (no phone known…), not an outage. */
export class PasswordResetRefusedError extends Error {
  constructor(readonly reason: PasswordResetRefusal) {
    super(`password reset refused: ${reason}`);
    this.name = 'PasswordResetRefusedError';
  }
}

/** Thrown when an activation is refused. A caller bug or a race (two activations), not user input. */
export class ActivationRefusedError extends Error {
  constructor(readonly reason: ActivationRefusal) {
    super(`account activation refused: ${reason}`);
    this.name = 'ActivationRefusedError';
  }
}

/** An idempotency key sent again for another person: a caller bug, never answered with the first answer. */
export class IdempotencyKeyReusedError extends Error {
  constructor() {
    super('idempotency key reused for another request');
    this.name = 'IdempotencyKeyReusedError';
  }
}
