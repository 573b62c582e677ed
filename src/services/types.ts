/**
 * The seams between the conversation and the outside world. Dialogs depend on these interfaces
 * only; the composition root (src/app.ts) picks the embedded or the real implementation.
 */

/** Identity document kinds, as registries and their files code them (DESIGN §4). */
export type IdTypeCode = 'CNIE' | 'CARTE_SEJOUR';

/** A calendar date as `YYYY-MM-DD`, with no time zone: birth and expiry dates are calendar facts. */
export type IsoDate = string;

export interface IdentityQuery {
  idType: IdTypeCode;
  idNumber: string;
  birthDate: IsoDate;
  idExpiryDate: IsoDate;
}

/** Which kind of data did not match the registry. Never the registry's own value. */
export type MismatchField = 'birthDate' | 'idExpiryDate';

export type LookupResult =
  | { kind: 'registered'; hasAccount: boolean; registrationNumber: string }
  | { kind: 'notRegistered'; suggestedCategory?: string }
  | { kind: 'notSubject'; reasonCode: string }
  | { kind: 'mismatch'; fields: MismatchField[] };

/**
 * The identity again (the registry checks it, as for a look-up: the caller's word that it checked
 * is not enough to create an account), and the phone the worker proved to hold with a code.
 */
export interface ActivationRequest extends IdentityQuery {
  phone: string; // E.164
}

export interface ActivationResult {
  registrationNumber: string;
  /** The registry's temporary password: relayed by SMS only, never shown in chat nor stored. */
  temporaryPassword: string;
}

/** Thrown by a registry that cannot answer now (down, slow, overloaded). Answers are kept; the user may retry. */
export class RegistryUnavailableError extends Error {
  constructor(message = 'registry unavailable', options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'RegistryUnavailableError';
  }
}

/**
 * A forgotten password: the identity is checked again by the registry, as for a look-up, on each
 * call (it never trusts an earlier answer the bot kept).
 */
export type PasswordResetQuery = IdentityQuery;

export interface PasswordResetRequest extends IdentityQuery {
  /**
   * The account's phone as the registry gave it, which the worker proved to hold with a code: the
   * registry refuses the reset when it is no longer the account's phone.
   */
  phone: string; // E.164
}

export interface PasswordResetResult {
  registrationNumber: string;
  /** The new temporary password: relayed by SMS to the account's phone only, never shown in chat nor stored. */
  temporaryPassword: string;
}

export interface ActivationOptions {
  /**
   * One per user action, the same on the user's own retry: a registry that acted but whose answer
   * was lost answers the retry with the first answer instead of "already has an account".
   */
  idempotencyKey?: string;
}

export interface Registry {
  lookUp(query: IdentityQuery): Promise<LookupResult>;
  activateAccount(request: ActivationRequest, options?: ActivationOptions): Promise<ActivationResult>;
  /**
   * The phone number the person's Ma CNSS account was created with, as the registry holds it: the
   * only number a forgotten password's code and new password may go to. Throws
   * PasswordResetRefusedError (no account, no phone known, identity not matching…).
   */
  lookUpAccountPhone(query: PasswordResetQuery): Promise<{ phone: string }>;
  /**
   * A new temporary password for the account, once the worker proved to hold `phone`. Not safe to
   * repeat: one call per user action, with its idempotency key (the same on the user's own retry).
   */
  resetPassword(request: PasswordResetRequest, options?: ActivationOptions): Promise<PasswordResetResult>;
  /** For /readyz. */
  isReady(): Promise<boolean>;
}

export type Locale = 'ar' | 'fr';

export interface OutboundSms {
  /** E.164 phone number. */
  to: string;
  body: string;
  locale: Locale;
  /** What the SMS carries, so a delivery report can be acted on (a failed OTP is told to the user). */
  purpose: 'otp' | 'password';
  /** The conversation it belongs to. */
  conversationKey: string;
}

/** Sends an SMS (OTP, password). Dev: the outbox; Twilio; later an operator's SMPP gateway. */
export interface SmsSender {
  /** Resolves once the provider accepted the message, with its id when it gives one. */
  send(sms: OutboundSms): Promise<{ id?: string }>;
}
