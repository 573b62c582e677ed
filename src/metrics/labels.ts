import { FORM_FIELDS } from '../bot/session';

/**
 * Every label value of every Tasjil metric comes from one of these closed sets. Callers pass a
 * typed value; `closedLabel` checks it again at run time, so a value that slipped past the types
 * (a dialog id built at run time, a provider's status) becomes "other" — a free string, such as a
 * phone number or an ID number, can never become a label.
 */

/** Channels we know by their Bot Framework channel id; anything else is "other". */
export const CHANNELS = ['whatsapp', 'sms', 'simulator', 'emulator', 'directline', 'webchat', 'chat', 'test', 'other'] as const;
export type ChannelLabel = (typeof CHANNELS)[number];

export const LOCALES = ['ar', 'fr'] as const;
export type LocaleLabel = (typeof LOCALES)[number];

/**
 * Steps of the funnel, in conversation order: the welcome, the portal's form and its summary, the
 * registry look-up (the summary was confirmed) and its "reply 1 to try again", then the questions
 * of outcomes B (the code) and C (category, city), then a forgotten password's (the offer at
 * outcome A, the code sent to the account's phone, its "reply 1 to try again"). Step ids are the
 * dialogs' own ids.
 */
export const STEPS = [
  'welcome',
  ...FORM_FIELDS,
  'summary',
  'lookup',
  'registryRetry',
  'otp',
  'activationRetry',
  'category',
  'city',
  'passwordResetOffer',
  'passwordReset',
  'passwordResetRetry',
  'followUp',
  'other',
] as const;
export type StepLabel = (typeof STEPS)[number];

/**
 * How a conversation ended. A–D are the guide's outcomes; "mismatch": stopped after too many
 * identity mismatches for one document; "abandoned": silent past CONVERSATION_TTL_SECONDS, erased,
 * opted out or restarted before any outcome; "registry_unavailable": the same, while the last
 * registry call had failed (the user was left with "reply 1 to try again"). A forgotten password
 * ends as "password_reset" (a new one sent by SMS to the account's phone) or "password_reset_agency"
 * (no phone known for the account, or not the worker's any more: sent to an agency); declined at
 * outcome A, it stays "A".
 */
export const OUTCOMES = ['A', 'B', 'C', 'D', 'mismatch', 'abandoned', 'registry_unavailable', 'password_reset', 'password_reset_agency'] as const;
export type OutcomeLabel = (typeof OUTCOMES)[number];

/** What the registry said did not match (never the value). */
export const MISMATCH_KINDS = ['birthDate', 'idExpiryDate', 'both'] as const;
export type MismatchLabel = (typeof MISMATCH_KINDS)[number];

export const OTP_SEND_RESULTS = ['sent', 'cooldown', 'hourly_limit', 'error'] as const;
export type OtpSendLabel = (typeof OTP_SEND_RESULTS)[number];

export const OTP_CHECK_RESULTS = ['verified', 'wrong', 'locked', 'expired', 'no_code', 'error'] as const;
export type OtpCheckLabel = (typeof OTP_CHECK_RESULTS)[number];

/** What an SMS carried: a code, a password, or a chat reply on the SMS channel. */
export const SMS_PURPOSES = ['otp', 'password', 'reply'] as const;
export type SmsPurposeLabel = (typeof SMS_PURPOSES)[number];

export const SMS_ENCODINGS = ['GSM-7', 'UCS-2'] as const;
export type SmsEncodingLabel = (typeof SMS_ENCODINGS)[number];

/** The look-up, the activation (outcome B), and a forgotten password's two calls: the account's phone, then the reset. */
export const REGISTRY_OPERATIONS = ['lookup', 'activate', 'account_phone', 'password_reset'] as const;
export type RegistryOperationLabel = (typeof REGISTRY_OPERATIONS)[number];

/** "unavailable": the registry said it cannot answer now (RegistryUnavailableError); "error": anything else. */
export const REGISTRY_RESULTS = ['ok', 'unavailable', 'error'] as const;
export type RegistryResultLabel = (typeof REGISTRY_RESULTS)[number];

/**
 * Why a registry call failed: the HTTP client's kinds (httpRegistry.ts), "unavailable" for any
 * other registry that says it cannot answer now, "other" for a bug.
 */
export const REGISTRY_ERROR_KINDS = [
  'timeout',
  'connection',
  'server-error',
  'unauthorized',
  'malformed-response',
  'rejected-request',
  'circuit-open',
  'unavailable',
  'other',
] as const;
export type RegistryErrorKindLabel = (typeof REGISTRY_ERROR_KINDS)[number];

/**
 * What happened to a follow-up after outcome C (docs/follow-up.md): made with the worker's yes,
 * the notice sent, cancelled by the worker (or STOP, erase), gone after its retention, or ended
 * because the registry now says the person is not subject to the regime.
 */
export const FOLLOW_UP_EVENTS = ['created', 'notified', 'cancelled', 'expired', 'not_subject'] as const;
export type FollowUpEventLabel = (typeof FOLLOW_UP_EVENTS)[number];

/** What one scheduled registry check of a follow-up found; "unavailable": retried at the next check. */
export const FOLLOW_UP_CHECK_RESULTS = ['registered', 'not_registered', 'not_subject', 'mismatch', 'unavailable'] as const;
export type FollowUpCheckLabel = (typeof FOLLOW_UP_CHECK_RESULTS)[number];

/** Writes that waited for a switch of the Redis primary: confirmed after retrying, or given up. */
export const REPLICATED_WRITE_RESULTS = ['retried', 'unconfirmed'] as const;
export type ReplicatedWriteLabel = (typeof REPLICATED_WRITE_RESULTS)[number];

export const WEBHOOK_ROUTES = ['twilio_messages', 'twilio_status', 'botframework', 'kannel_messages', 'kannel_status'] as const;
export type WebhookRouteLabel = (typeof WEBHOOK_ROUTES)[number];

/** Why a webhook was refused before any turn ran. */
export const REJECTION_REASONS = ['no-signature', 'bad-signature', 'malformed', 'caller-not-loopback', 'service-url-not-loopback', 'no-token', 'bad-token', 'other'] as const;
export type RejectionLabel = (typeof REJECTION_REASONS)[number];

/** Who carries an SMS: Twilio, an operator's SMSC through Kannel, or the development outbox. */
export const SMS_PROVIDERS = ['twilio', 'kannel', 'outbox'] as const;
export type SmsProviderLabel = (typeof SMS_PROVIDERS)[number];

/**
 * What an SMS gateway's send interface answered: taken (`accepted`, or `queued` until a link to
 * the SMSC is up), `refused` (4xx: never passes), `unavailable` (5xx: later), `unreachable`.
 */
export const SMS_GATEWAY_RESULTS = ['accepted', 'queued', 'refused', 'unavailable', 'unreachable'] as const;
export type SmsGatewayResultLabel = (typeof SMS_GATEWAY_RESULTS)[number];

/** What a label value is replaced with when it is not in its set. */
export const UNKNOWN_LABEL = 'other';

/** `value` if it belongs to `allowed`, else "other": the only way a label value is chosen. */
export function closedLabel<T extends string>(allowed: readonly T[], value: string | undefined): T | typeof UNKNOWN_LABEL {
  return value !== undefined && (allowed as readonly string[]).includes(value) ? (value as T) : UNKNOWN_LABEL;
}

export const channelLabel = (channelId: string | undefined): ChannelLabel => closedLabel(CHANNELS, channelId);
export const stepLabel = (dialogId: string | undefined): StepLabel => closedLabel(STEPS, dialogId);
