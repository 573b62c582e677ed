import { z } from 'zod';
import { ID_TYPE_CODES, OFFICE_TYPES } from '../../data/schemas';

/**
 * The registry HTTP API (contract/registry.openapi.yaml), as zod schemas: the client validates
 * every answer with them and the reference server every request, so neither trusts the wire.
 * Each component of the OpenAPI file is registered here under the same name, and
 * test/registry/contract.test.ts proves the file and these schemas say the same thing.
 *
 * Identity numbers, dates and phone numbers travel only in JSON bodies, never in a URL: URLs end
 * up in access logs, proxies and browser histories.
 */

export const REGISTRY_API_VERSION = 'v1';
export const API_KEY_HEADER = 'x-api-key';
export const REQUEST_ID_HEADER = 'x-request-id';
export const JSON_CONTENT_TYPE = 'application/json';
export const PROBLEM_CONTENT_TYPE = 'application/problem+json';
/** A caller's request id is echoed only if it looks like one; otherwise the server makes its own. */
export const REQUEST_ID_PATTERN = /^[A-Za-z0-9._:-]{1,128}$/;
/**
 * Activation is not safe to repeat, but its answer can be lost (a timeout after the registry
 * acted). The client sends one key per user action; the registry answers a repeated key with the
 * first answer instead of acting twice.
 */
export const IDEMPOTENCY_KEY_HEADER = 'idempotency-key';
export const IDEMPOTENCY_KEY_PATTERN = /^[A-Za-z0-9._:-]{16,128}$/;
/** No request of this API comes near this size; a bigger body is refused before it is read. */
export const MAX_REQUEST_BYTES = 16 * 1024;
/** Offices returned when `limit` is not given, and the most a caller may ask for. */
export const DEFAULT_OFFICE_LIMIT = 3;
export const MAX_OFFICE_LIMIT = 20;

/** The component schemas of the OpenAPI file, by their name there. */
export const contractSchemas = z.registry<{ id: string }>();
function component<T extends z.ZodType>(id: string, schema: T): T {
  contractSchemas.add(schema, { id });
  return schema;
}

// --- Building blocks ------------------------------------------------------------------------

export const IdTypeSchema = component('IdType', z.enum(ID_TYPE_CODES));

/**
 * zod checks the calendar (no 31/02); JSON Schema says the same with `format: date`, so the
 * document shows a readable pattern instead of zod's leap-year regular expression.
 */
export const IsoDateSchema = component('IsoDate', z.iso.date().meta({ pattern: '^\\d{4}-\\d{2}-\\d{2}$' }));

/** Normalized as the card prints it: upper case, no spaces or dashes. Lenient: the registry decides. */
export const IdNumberSchema = component('IdNumber', z.string().regex(/^[A-Z0-9]{1,20}$/));

export const PhoneSchema = component('Phone', z.string().regex(/^\+[1-9]\d{6,14}$/));

/** 9 boxes on form 328-1-01 (domain.md §1c). */
export const RegistrationNumberSchema = component('RegistrationNumber', z.string().regex(/^\d{9}$/));

/** Category and non-subject reason codes of data/ (DESIGN §4: keep them as they are). */
export const CodeSchema = component('Code', z.string().regex(/^[A-Z][A-Z0-9_]*$/));

export const LocalizedTextSchema = component(
  'LocalizedText',
  z.object({ ar: z.string().min(1), fr: z.string().min(1) }),
);

// --- Look-up ----------------------------------------------------------------------------------

/** The identity as the registry checks it: every request that names a person carries all of it. */
const IDENTITY_FIELDS = {
  idType: IdTypeSchema,
  idNumber: IdNumberSchema,
  birthDate: IsoDateSchema,
  idExpiryDate: IsoDateSchema,
};

export const LookupRequestSchema = component('LookupRequest', z.object(IDENTITY_FIELDS));

export const RegisteredOutcomeSchema = component(
  'RegisteredOutcome',
  z.object({ kind: z.literal('registered'), hasAccount: z.boolean(), registrationNumber: RegistrationNumberSchema }),
);
export const NotRegisteredOutcomeSchema = component(
  'NotRegisteredOutcome',
  z.object({ kind: z.literal('notRegistered'), suggestedCategory: CodeSchema.optional() }),
);
export const NotSubjectOutcomeSchema = component(
  'NotSubjectOutcome',
  z.object({ kind: z.literal('notSubject'), reasonCode: CodeSchema }),
);
/** Which kinds of data differ, never the registry's values. */
export const MismatchOutcomeSchema = component(
  'MismatchOutcome',
  z.object({ kind: z.literal('mismatch'), fields: z.array(z.enum(['birthDate', 'idExpiryDate'])).min(1).max(2) }),
);

const schemaRef = (id: string) => `#/components/schemas/${id}`;

export const LookupResultSchema = component(
  'LookupResult',
  z
    .discriminatedUnion('kind', [
      RegisteredOutcomeSchema,
      NotRegisteredOutcomeSchema,
      NotSubjectOutcomeSchema,
      MismatchOutcomeSchema,
    ])
    .meta({
      discriminator: {
        propertyName: 'kind',
        mapping: {
          registered: schemaRef('RegisteredOutcome'),
          notRegistered: schemaRef('NotRegisteredOutcome'),
          notSubject: schemaRef('NotSubjectOutcome'),
          mismatch: schemaRef('MismatchOutcome'),
        },
      },
    }),
);

// --- Account activation -----------------------------------------------------------------------

export const ActivationRequestSchema = component(
  'ActivationRequest',
  z.object({ ...IDENTITY_FIELDS, phone: PhoneSchema }),
);

/** The temporary password is relayed by SMS only: never shown in chat, stored or logged. */
export const ActivationResultSchema = component(
  'ActivationResult',
  z.object({ registrationNumber: RegistrationNumberSchema, temporaryPassword: z.string().min(6).max(64) }),
);

// --- Forgotten password ----------------------------------------------------------------------

/**
 * The phone the account was created with, as the registry holds it: the only number a forgotten
 * password's code and new password go to. The bot sends both (it owns OTPs, their limits and
 * delivery reports); the registry owns the number (docs/forgotten-password.md).
 */
export const AccountPhoneSchema = component('AccountPhone', z.object({ phone: PhoneSchema }));

/** The identity checked again, and the account phone the worker proved to hold with a code. */
export const PasswordResetRequestSchema = component(
  'PasswordResetRequest',
  z.object({ ...IDENTITY_FIELDS, phone: PhoneSchema }),
);

/** The new temporary password is relayed by SMS to the account's phone only: never shown in chat, stored or logged. */
export const PasswordResetResultSchema = component(
  'PasswordResetResult',
  z.object({ registrationNumber: RegistrationNumberSchema, temporaryPassword: z.string().min(6).max(64) }),
);

// --- Reference data ---------------------------------------------------------------------------

export const CategorySchema = component(
  'Category',
  z.object({
    code: CodeSchema,
    name: LocalizedTextSchema,
    shortName: LocalizedTextSchema,
    documents: z.object({ ar: z.array(z.string().min(1)).min(1), fr: z.array(z.string().min(1)).min(1) }),
  }),
);
export const CategoryListSchema = component('CategoryList', z.object({ categories: z.array(CategorySchema) }));

export const NonSubjectReasonSchema = component(
  'NonSubjectReason',
  z.object({ code: CodeSchema, name: LocalizedTextSchema, coveredBy: LocalizedTextSchema }),
);
export const NonSubjectReasonListSchema = component(
  'NonSubjectReasonList',
  z.object({ reasons: z.array(NonSubjectReasonSchema) }),
);

const SlugSchema = z.string().regex(/^[a-z0-9]+(-[a-z0-9]+)*$/);

export const CitySchema = component('City', z.object({ code: SlugSchema, name: LocalizedTextSchema }));

export const OfficeSchema = component(
  'Office',
  z.object({
    id: SlugSchema,
    name: LocalizedTextSchema,
    address: LocalizedTextSchema,
    type: z.enum(OFFICE_TYPES),
    cityCode: SlugSchema,
    lat: z.number().min(-90).max(90),
    lon: z.number().min(-180).max(180),
    coordsApproximate: z.boolean(),
    sample: z.boolean(),
    verified: z.boolean(),
  }),
);
export const NearbyOfficeSchema = component(
  'NearbyOffice',
  z.object({ office: OfficeSchema, distanceKm: z.number().min(0), inCity: z.boolean() }),
);
export const OfficeSearchResultSchema = component(
  'OfficeSearchResult',
  z.object({ city: CitySchema.optional(), offices: z.array(NearbyOfficeSchema) }),
);

/**
 * The query of GET /v1/offices: `city` (a name as typed, or a city code) or `lat` and `lon`.
 * Parameters, not a component: the agreement test compares each with its OpenAPI parameter.
 */
export const OfficesQuerySchema = z
  .object({
    city: z.string().min(1).max(80).optional(),
    lat: z.coerce.number().min(-90).max(90).optional(),
    lon: z.coerce.number().min(-180).max(180).optional(),
    limit: z.coerce.number().int().min(1).max(MAX_OFFICE_LIMIT).optional(),
  })
  .refine((q) => (q.city !== undefined) !== (q.lat !== undefined || q.lon !== undefined), {
    message: 'give either city, or lat and lon',
    path: ['city'],
  })
  .refine((q) => (q.lat === undefined) === (q.lon === undefined), {
    message: 'lat and lon go together',
    path: ['lat'],
  });

// --- Health and problems ----------------------------------------------------------------------

export const HealthSchema = component('Health', z.object({ status: z.literal('ok') }));

export const PROBLEM_CODES = [
  'invalid-request',
  'malformed-json',
  'unauthorized',
  'not-found',
  'method-not-allowed',
  'payload-too-large',
  'unsupported-media-type',
  'unknown-person',
  'not-subject',
  'already-has-account',
  'idempotency-key-reused',
  'identity-mismatch',
  'no-account',
  'no-account-phone',
  'account-phone-changed',
  'unknown-city',
  'internal-error',
  'unavailable',
] as const;
export const ProblemCodeSchema = component('ProblemCode', z.enum(PROBLEM_CODES));
export type ProblemCode = z.infer<typeof ProblemCodeSchema>;

/** RFC 9457 problem details, with our code. Never echoes a request's personal data. */
export const ProblemSchema = component(
  'Problem',
  z.object({
    type: z.string().min(1),
    title: z.string().min(1),
    status: z.number().int().min(400).max(599),
    code: ProblemCodeSchema,
    detail: z.string().optional(),
    requestId: z.string().optional(),
    /** The request fields that failed validation, by name; never their values. */
    fields: z.array(z.string()).optional(),
  }),
);
export type Problem = z.infer<typeof ProblemSchema>;

/** Where a problem code is documented: `type` of every problem. */
export function problemType(code: ProblemCode): string {
  return `urn:tasjil:registry:problem:${code}`;
}

// --- Operations -------------------------------------------------------------------------------

export interface OperationSpec {
  method: 'GET' | 'POST';
  path: string;
  /** Safe to send again on a transient failure: no effect on the registry (look-ups and reads). */
  safe: boolean;
  request?: z.ZodType;
  query?: typeof OfficesQuerySchema;
  success: { status: 200 | 201; schema: z.ZodType };
  /** The problem statuses this operation may answer. */
  problems: readonly number[];
}

const path = (rest: string) => `/${REGISTRY_API_VERSION}/${rest}`;
const ALWAYS = [401, 500, 503] as const;
const WITH_BODY = [400, 401, 413, 415, 500, 503] as const;

/** Every operation of the API, keyed by its operationId. Routes of the server and calls of the client come from here. */
export const OPERATIONS = {
  lookUpPerson: {
    method: 'POST',
    path: path('people/lookup'),
    safe: true,
    request: LookupRequestSchema,
    success: { status: 200, schema: LookupResultSchema },
    problems: WITH_BODY,
  },
  activateAccount: {
    method: 'POST',
    path: path('accounts'),
    safe: false,
    request: ActivationRequestSchema,
    success: { status: 201, schema: ActivationResultSchema },
    problems: [400, 401, 404, 409, 413, 415, 422, 500, 503],
  },
  lookUpAccountPhone: {
    method: 'POST',
    path: path('accounts/phone/lookup'),
    safe: true,
    request: LookupRequestSchema,
    success: { status: 200, schema: AccountPhoneSchema },
    problems: [400, 401, 404, 409, 413, 415, 500, 503],
  },
  resetPassword: {
    method: 'POST',
    path: path('accounts/password-reset'),
    safe: false,
    request: PasswordResetRequestSchema,
    success: { status: 201, schema: PasswordResetResultSchema },
    problems: [400, 401, 404, 409, 413, 415, 422, 500, 503],
  },
  listCategories: {
    method: 'GET',
    path: path('categories'),
    safe: true,
    success: { status: 200, schema: CategoryListSchema },
    problems: ALWAYS,
  },
  findOffices: {
    method: 'GET',
    path: path('offices'),
    safe: true,
    query: OfficesQuerySchema,
    success: { status: 200, schema: OfficeSearchResultSchema },
    problems: [400, 401, 404, 500, 503],
  },
  listNonSubjectReasons: {
    method: 'GET',
    path: path('non-subject-reasons'),
    safe: true,
    success: { status: 200, schema: NonSubjectReasonListSchema },
    problems: ALWAYS,
  },
  getHealth: {
    method: 'GET',
    path: path('health'),
    safe: true,
    success: { status: 200, schema: HealthSchema },
    problems: ALWAYS,
  },
} as const satisfies Record<string, OperationSpec>;

export type OperationId = keyof typeof OPERATIONS;

export type LookupRequestBody = z.infer<typeof LookupRequestSchema>;
export type LookupResultBody = z.infer<typeof LookupResultSchema>;
export type ActivationRequestBody = z.infer<typeof ActivationRequestSchema>;
export type ActivationResultBody = z.infer<typeof ActivationResultSchema>;
export type AccountPhoneBody = z.infer<typeof AccountPhoneSchema>;
export type PasswordResetRequestBody = z.infer<typeof PasswordResetRequestSchema>;
export type PasswordResetResultBody = z.infer<typeof PasswordResetResultSchema>;
export type RegistryCategory = z.infer<typeof CategorySchema>;
export type RegistryNonSubjectReason = z.infer<typeof NonSubjectReasonSchema>;
export type RegistryOffice = z.infer<typeof OfficeSchema>;
export type OfficeSearchResult = z.infer<typeof OfficeSearchResultSchema>;
export type OfficesQuery = z.infer<typeof OfficesQuerySchema>;

/** The component schemas as JSON Schema (draft 2020-12, OpenAPI 3.1's dialect), refs between them as in the OpenAPI file. */
export function contractJsonSchemas(): Record<string, Record<string, unknown>> {
  const { schemas } = z.toJSONSchema(contractSchemas, {
    target: 'draft-2020-12',
    // Input: what a sender must write. (Outputs are the same: no defaults or transforms here.)
    io: 'input',
    uri: schemaRef,
  });
  return schemas as Record<string, Record<string, unknown>>;
}
