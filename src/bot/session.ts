import type { TurnContext } from 'botbuilder';
import type { FunnelProgress } from '../metrics/funnel';
import type { IdentityQuery, IdTypeCode, IsoDate, Locale, LookupResult } from '../services/types';

/** The portal's form, in its order (guide: "Personal information"). */
export const FORM_FIELDS = [
  'documentType',
  'documentNumber',
  'expiryDate',
  'birthDate',
  'phone',
  'operator',
  'email',
] as const;
export type FormField = (typeof FORM_FIELDS)[number];

/**
 * What a forgotten password asks: the identity the registry checks, nothing more. No phone: the
 * code and the new password go only to the phone the account was created with, never to one typed
 * in the chat; the operator and e-mail serve no purpose there.
 */
export const IDENTITY_FIELDS = ['documentType', 'documentNumber', 'expiryDate', 'birthDate'] as const satisfies readonly FormField[];

/** The fields this conversation asks, in order: the whole form, or only the identity for a forgotten password. */
export function fieldsToAsk(session: Pick<Session, 'intent'>): readonly FormField[] {
  return session.intent === 'passwordReset' ? IDENTITY_FIELDS : FORM_FIELDS;
}

export interface FormAnswers {
  documentType?: IdTypeCode;
  documentNumber?: string;
  expiryDate?: IsoDate;
  birthDate?: IsoDate;
  /** E.164. */
  phone?: string;
  operator?: string;
  /** null: the user chose to give none. */
  email?: string | null;
}

/**
 * Everything one conversation keeps between turns. It expires with the conversation
 * (CONVERSATION_TTL_SECONDS of silence) and "erase" deletes it at once. Never an OTP or a password.
 */
export interface Session {
  locale: Locale;
  /** An explicit choice by the user ("Français", "العربية") always wins over guessing. */
  localeChosen: boolean;
  welcomed: boolean;
  form: FormAnswers;
  /** The registry's answer for the confirmed form, kept so a retry never calls the registry twice. */
  lookup?: LookupResult;
  /** Which steps this conversation reached, for the metrics funnel (step names only). */
  funnel?: FunnelProgress;
  /** The worker asked for a new password ("mot de passe oublié"), or said yes to it at outcome A. */
  intent?: 'passwordReset';
  /**
   * A forgotten password under way: the phone the account was created with, as the registry gave
   * it (E.164). Personal data: encrypted at rest with the state, forgotten at the outcome.
   */
  passwordReset?: { accountPhone: string };
}

export function newSession(locale: Locale): Session {
  return { locale, localeChosen: false, welcomed: false, form: {} };
}

const SESSION_KEY = Symbol('tasjil.session');
const ERASED_KEY = Symbol('tasjil.erased');

export function attachSession(context: TurnContext, session: Session): void {
  context.turnState.set(SESSION_KEY, session);
}

/**
 * The identity as the registry checks it, from the confirmed form: every call that names a person
 * (look-up, activation, forgotten password, follow-up) sends all of it.
 */
export function identityQueryOf(form: FormAnswers): IdentityQuery {
  return { idType: form.documentType as IdTypeCode, idNumber: form.documentNumber!, birthDate: form.birthDate!, idExpiryDate: form.expiryDate! };
}

/** The session of this turn, loaded by the bot before any dialog runs. */
export function sessionOf(context: TurnContext): Session {
  const session = context.turnState.get(SESSION_KEY) as Session | undefined;
  if (!session) throw new Error('session not loaded for this turn');
  return session;
}

/** Marks the conversation for deletion at the end of the turn ("erase my data"). */
export function markErased(context: TurnContext): void {
  context.turnState.set(ERASED_KEY, true);
}

export function isErased(context: TurnContext): boolean {
  return context.turnState.get(ERASED_KEY) === true;
}

/** Forgets the personal answers once an outcome is delivered; the language stays. */
export function forgetPersonalData(session: Session): void {
  session.form = {};
  session.lookup = undefined;
  session.intent = undefined;
  session.passwordReset = undefined;
}
