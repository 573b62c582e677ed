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

export interface ActivationRequest {
  idType: IdTypeCode;
  idNumber: string;
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
