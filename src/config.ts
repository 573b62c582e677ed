import { existsSync, readFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { z } from 'zod';
import { repoPath } from './repoRoot';
import { parseStateKeys, type StateKeys } from './state/keys';

/**
 * Every setting of DESIGN §4, read once at start and validated. A wrong value stops the process
 * with a message naming the variable; development needs nothing set.
 */

const emptyAsUndefined = (v: unknown) => (typeof v === 'string' && v.trim() === '' ? undefined : v);
const optionalString = z.preprocess(emptyAsUndefined, z.string().optional());
const optionalUrl = z.preprocess(emptyAsUndefined, z.url().optional());
const contentSid = z.preprocess(emptyAsUndefined, z.string().regex(/^HX[0-9a-fA-F]{32}$/, 'a Content SID: HX + 32 hex characters').optional());
/**
 * The registry's base URL; the client adds the versioned paths (`/v1/...`). The key goes in
 * REGISTRY_API_KEY, never in the URL: URLs end up in logs.
 */
const registryUrl = z
  .url({ protocol: /^https?$/, error: 'an http:// or https:// URL, e.g. http://127.0.0.1:3980' })
  .refine(
    (value) => {
      const url = parsedUrl(value);
      return !url || (!url.username && !url.password && !url.search && !url.hash);
    },
    'the base URL only: no credentials (use REGISTRY_API_KEY), no query, no fragment',
  )
  .refine((value) => !FETCH_BLOCKED_PORTS.has(parsedUrl(value)?.port ?? ''), {
    message: 'this port is one that fetch refuses to call (the WHATWG "bad port" list): pick another, e.g. 3980',
  });

/** undefined when not a URL: the refinements run after z.url() failed too, and must not throw. */
function parsedUrl(value: string): URL | undefined {
  try {
    return new URL(value);
  } catch {
    return undefined;
  }
}

/**
 * Ports Node's fetch (undici) refuses with a bare "fetch failed", per the Fetch standard's "bad
 * port" list: a registry configured on one would look down forever, for no visible reason.
 */
const FETCH_BLOCKED_PORTS: ReadonlySet<string> = new Set(
  [
    1, 7, 9, 11, 13, 15, 17, 19, 20, 21, 22, 23, 25, 37, 42, 43, 53, 69, 77, 79, 87, 95, 101, 102, 103, 104, 109, 110, 111,
    113, 115, 117, 119, 123, 135, 137, 139, 143, 161, 179, 389, 427, 465, 512, 513, 514, 515, 526, 530, 531, 532, 540,
    548, 554, 556, 563, 587, 601, 636, 989, 990, 993, 995, 1719, 1720, 1723, 2049, 3659, 4045, 4190, 5060, 5061, 6000,
    6566, 6665, 6666, 6667, 6668, 6669, 6679, 6697, 10080,
  ].map(String),
);
/** `host:port,host:port`, e.g. `10.0.0.1:26379,10.0.0.2:26379`. */
const hostPortList = z
  .string()
  .transform((value) => value.split(',').map((item) => item.trim()).filter(Boolean))
  .pipe(
    z
      .array(
        z
          .string()
          .regex(/^[0-9A-Za-z.-]{1,253}:\d{1,5}$|^\[[0-9A-Fa-f:]+\]:\d{1,5}$/, 'host:port items, comma-separated, e.g. 10.0.0.1:26379,10.0.0.2:26379')
          .refine((item) => !/:\d+$/.test(item) || portInRange(item.slice(item.lastIndexOf(':') + 1)), 'ports from 1 to 65535'),
      )
      .min(1),
  )
  .transform((items) => items.map(parseHostPort));

function portInRange(port: string): boolean {
  return Number(port) >= 1 && Number(port) <= 65535;
}

export interface HostPort {
  host: string;
  port: number;
}

function parseHostPort(item: string): HostPort {
  const at = item.lastIndexOf(':');
  return { host: item.slice(0, at).replace(/^\[|\]$/g, ''), port: Number(item.slice(at + 1)) };
}

/**
 * Which Redis holds the shared state, if any: one server (REDIS_URL), a primary watched by
 * sentinels, or a cluster. Exactly one may be configured.
 */
export type RedisTopology =
  | { kind: 'single'; url: string; tlsCa?: string }
  | { kind: 'sentinel'; sentinels: HostPort[]; masterName: string; username?: string; password?: string; sentinelPassword?: string; tls: boolean; tlsCa?: string }
  | { kind: 'cluster'; nodes: HostPort[]; username?: string; password?: string; tls: boolean; tlsCa?: string };

const port = (fallback: number) =>
  z.preprocess(emptyAsUndefined, z.coerce.number().int().min(1).max(65535).default(fallback));

const schema = z.object({
  PORT: port(3978),
  // Unset: loopback only outside production (the dev outbox and the simulator show OTPs), every
  // interface in production (behind the load balancer).
  HOST: z.preprocess(emptyAsUndefined, z.string().regex(/^[0-9A-Za-z.:-]{1,253}$/, 'a host name or an IP address, e.g. 0.0.0.0').optional()),
  NODE_ENV: z.preprocess(emptyAsUndefined, z.enum(['development', 'production', 'test']).default('development')),
  LOG_LEVEL: z.preprocess(
    emptyAsUndefined,
    z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  ),
  DEFAULT_LOCALE: z.preprocess(emptyAsUndefined, z.enum(['ar', 'fr']).default('ar')),

  // Bot Framework's own names, read by its ConfigurationBotFrameworkAuthentication too.
  MicrosoftAppId: optionalString,
  MicrosoftAppPassword: optionalString,
  MicrosoftAppType: z.preprocess(emptyAsUndefined, z.enum(['MultiTenant', 'SingleTenant', 'UserAssignedMSI']).optional()),
  MicrosoftAppTenantId: optionalString,

  TWILIO_ACCOUNT_SID: z.preprocess(emptyAsUndefined, z.string().regex(/^AC[0-9a-fA-F]{32}$/, 'an Account SID: AC + 32 hex characters').optional()),
  TWILIO_AUTH_TOKEN: optionalString,
  TWILIO_WEBHOOK_URL: optionalUrl,
  TWILIO_SMS_FROM: optionalString,
  TWILIO_WHATSAPP_FROM: z.preprocess(emptyAsUndefined, z.string().regex(/^(whatsapp:)?\+[1-9]\d{6,14}$/, 'our WhatsApp number in E.164, e.g. whatsapp:+14155238886').optional()),
  TWILIO_STATUS_CALLBACK_URL: optionalUrl,
  TWILIO_VERIFY_SERVICE_SID: z.preprocess(emptyAsUndefined, z.string().regex(/^VA[0-9a-fA-F]{32}$/, 'a Verify service SID: VA + 32 hex characters').optional()),
  TWILIO_REPLY_BUDGET_MS: z.preprocess(emptyAsUndefined, z.coerce.number().int().min(500).max(14000).default(8000)),
  TWILIO_QUICK_REPLY_2_SID: contentSid,
  TWILIO_QUICK_REPLY_3_SID: contentSid,
  TWILIO_NOTIFICATION_TEMPLATE_SID: contentSid,

  // Two-way SMS in Morocco through Kannel (docs/sms-gateway-kannel.md).
  KANNEL_SENDSMS_URL: z.preprocess(emptyAsUndefined, z.url({ protocol: /^https?$/, error: 'an http(s) URL, e.g. http://127.0.0.1:13013/cgi-bin/sendsms' }).optional()),
  KANNEL_USERNAME: optionalString,
  KANNEL_PASSWORD: optionalString,
  KANNEL_FROM: z.preprocess(emptyAsUndefined, z.string().regex(/^\+?[0-9A-Za-z]{2,20}$/, 'our short code or number, e.g. 2020').optional()),
  KANNEL_SMSC: z.preprocess(emptyAsUndefined, z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, "a Kannel smsc-id, e.g. operator").optional()),
  // Kannel signs nothing: its get-url carries this shared secret (compared in constant time).
  KANNEL_INBOUND_TOKEN: z.preprocess(emptyAsUndefined, z.string().regex(/^[A-Za-z0-9._~-]{32,256}$/, 'at least 32 characters, letters, digits and . _ ~ - (it travels in a URL)').optional()),
  // Where Kannel calls back with delivery reports: GET /api/kannel/status as Kannel reaches it.
  KANNEL_STATUS_URL: z.preprocess(emptyAsUndefined, z.url({ protocol: /^https?$/, error: 'an http(s) URL, e.g. http://10.0.0.5:3978/api/kannel/status' }).optional()),
  // Who sends the OTP and password SMS; unset: Kannel when configured, else Twilio, else the dev outbox.
  SMS_PROVIDER: z.preprocess(emptyAsUndefined, z.enum(['kannel', 'twilio'], 'kannel or twilio').optional()),

  REDIS_URL: z.preprocess(emptyAsUndefined, z.string().regex(/^rediss?:\/\//, 'a redis:// or rediss:// URL').optional()),
  // A highly available Redis instead of REDIS_URL: Sentinel-managed (the sentinels and the name of
  // the primary they watch) or a Cluster (a few of its nodes; the client discovers the rest).
  REDIS_SENTINELS: z.preprocess(emptyAsUndefined, hostPortList.optional()),
  REDIS_SENTINEL_MASTER: z.preprocess(emptyAsUndefined, z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'the name the sentinels know the primary by, e.g. tasjil').optional()),
  REDIS_SENTINEL_PASSWORD: optionalString,
  REDIS_CLUSTER_NODES: z.preprocess(emptyAsUndefined, hostPortList.optional()),
  // For Sentinel and Cluster (with REDIS_URL they go in the URL): the data nodes' ACL user and password.
  REDIS_USERNAME: optionalString,
  REDIS_PASSWORD: optionalString,
  // How many replicas must hold a turn's writes before its answer goes out (WAIT); empty: 1 with
  // Sentinel (docs/redis.md sets it up with one replica and min-replicas-to-write 1), else 0.
  REDIS_WAIT_REPLICAS: z.preprocess(emptyAsUndefined, z.coerce.number().int().min(0).max(5).optional()),
  REDIS_TLS: z.preprocess(emptyAsUndefined, z.enum(['true', 'false'], 'true or false').optional()),
  // PEM file of the certificate authority that signed the Redis servers' certificates, when it is
  // not one the system trusts (a private CA): with rediss:// or REDIS_TLS=true.
  REDIS_TLS_CA_FILE: optionalString,
  STATE_ENCRYPTION_KEY: optionalString,
  REDIS_KEY_PREFIX: z.preprocess(emptyAsUndefined, z.string().regex(/^[A-Za-z0-9_:.-]{1,64}$/, 'letters, digits, and _ : . -').default('tasjil:')),
  CONVERSATION_TTL_SECONDS: z.preprocess(emptyAsUndefined, z.coerce.number().int().min(60).max(7 * 24 * 3600).default(1800)),

  REGISTRY_URL: z.preprocess(emptyAsUndefined, registryUrl.optional()),
  REGISTRY_API_KEY: optionalString,
  REGISTRY_TIMEOUT_MS: z.preprocess(emptyAsUndefined, z.coerce.number().int().min(100).max(60000).default(4000)),
  REGISTRY_PEOPLE_FILE: optionalString,
  REGISTRY_PORT: port(3980),

  // How long a stopping instance (SIGTERM) finishes the turns and late replies in flight before it
  // exits anyway: longer than the slowest turn, shorter than the orchestrator's own kill timer.
  SHUTDOWN_GRACE_MS: z.preprocess(emptyAsUndefined, z.coerce.number().int().min(1000).max(600_000).default(20_000)),
  // The follow-up after outcome C (docs/follow-up.md): how often the registry is asked again (±10 %),
  // and how long the worker's identity is kept at most (never more than the 90 days they are told).
  FOLLOW_UP_CHECK_INTERVAL_HOURS: z.preprocess(emptyAsUndefined, z.coerce.number().int().min(1).max(168).default(24)),
  FOLLOW_UP_RETENTION_DAYS: z.preprocess(emptyAsUndefined, z.coerce.number().int().min(1).max(90).default(90)),

  // Long enough not to be guessed; a token with spaces could not travel in one Authorization header.
  METRICS_TOKEN: z.preprocess(emptyAsUndefined, z.string().regex(/^\S{16,}$/, 'at least 16 characters, no spaces').optional()),
  // Unset: the web simulator is served outside production only (it skips Twilio's signature check).
  SIMULATOR_ENABLED: z.preprocess(emptyAsUndefined, z.enum(['true', 'false'], 'true or false').optional()),
});

export type RawConfig = z.infer<typeof schema>;

export interface Config extends RawConfig {
  /** Where the server listens: HOST, else 127.0.0.1 outside production and 0.0.0.0 in it. */
  host: string;
  /** Absolute path of the people file the embedded registry loads. */
  peopleFile: string;
  /** Parsed STATE_ENCRYPTION_KEY; unset outside production (a random key per process is used). */
  stateKeys?: StateKeys;
  /** REDIS_URL, REDIS_SENTINELS or REDIS_CLUSTER_NODES; undefined: state in memory, one instance. */
  redisTopology?: RedisTopology;
  /** REDIS_WAIT_REPLICAS, or its default for the topology: replicas that must hold a turn's writes. */
  redisWaitReplicas: number;
  /** Where Twilio posts delivery reports: configured, or the messages URL's sibling `/status`. */
  twilioStatusUrl?: string;
  /** KANNEL_SENDSMS_URL is set: chat replies on Kannel's short code and (by default) OTP and password SMS go through Kannel. */
  kannelConfigured: boolean;
  /** Who sends OTP and password SMS: SMS_PROVIDER, else Kannel when configured, else Twilio when configured, else the dev outbox. */
  smsProvider: 'kannel' | 'twilio' | 'outbox';
  isProduction: boolean;
  isDevelopment: boolean;
  /** GET /simulator is served: SIMULATOR_ENABLED, by default on outside production only. */
  simulatorEnabled: boolean;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

export const DEFAULT_PEOPLE_FILE = repoPath('data', 'sample-people.csv');

/** Reads and validates the environment. Throws ConfigError naming each wrong variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    // A list's items are named by the variable alone (REDIS_SENTINELS, not REDIS_SENTINELS.0), once per message.
    throw new ConfigError([...new Set(parsed.error.issues.map((i) => `${String(i.path[0] ?? '')}: ${i.message}`))]);
  }
  const raw = parsed.data;
  const problems: string[] = [];
  let stateKeys: StateKeys | undefined;
  if (raw.STATE_ENCRYPTION_KEY) {
    try {
      stateKeys = parseStateKeys(raw.STATE_ENCRYPTION_KEY);
    } catch (error) {
      problems.push((error as Error).message);
    }
  } else if (raw.NODE_ENV === 'production') {
    problems.push('STATE_ENCRYPTION_KEY: required in production (personal data is encrypted at rest)');
  }
  if (raw.REGISTRY_URL && !raw.REGISTRY_API_KEY && raw.NODE_ENV === 'production') {
    problems.push('REGISTRY_API_KEY: required in production with REGISTRY_URL (the registry serves personal data)');
  }
  if (raw.MicrosoftAppId && !raw.MicrosoftAppPassword && raw.MicrosoftAppType !== 'UserAssignedMSI') {
    problems.push('MicrosoftAppPassword: required when MicrosoftAppId is set');
  }
  if (raw.TWILIO_AUTH_TOKEN && !raw.TWILIO_WEBHOOK_URL) {
    problems.push('TWILIO_WEBHOOK_URL: required with TWILIO_AUTH_TOKEN (signatures are checked against the exact URL configured at Twilio)');
  }
  if (raw.TWILIO_WEBHOOK_URL && !raw.TWILIO_STATUS_CALLBACK_URL && !derivedStatusUrl(raw.TWILIO_WEBHOOK_URL)) {
    problems.push('TWILIO_STATUS_CALLBACK_URL: required when TWILIO_WEBHOOK_URL does not end in /messages (delivery reports need their own URL)');
  }
  if (raw.TWILIO_ACCOUNT_SID && !raw.TWILIO_AUTH_TOKEN) problems.push('TWILIO_AUTH_TOKEN: required with TWILIO_ACCOUNT_SID');
  if (raw.TWILIO_ACCOUNT_SID && !raw.TWILIO_SMS_FROM) problems.push('TWILIO_SMS_FROM: required with TWILIO_ACCOUNT_SID (the sender of OTP and password SMS)');
  const kannelConfigured = Boolean(raw.KANNEL_SENDSMS_URL);
  kannelProblems(raw, problems);
  if (raw.NODE_ENV === 'production' && !kannelConfigured) {
    // In production an OTP or a password must reach a phone, never a development outbox, and
    // every webhook must be signed: missing settings stop the start instead of falling back.
    // (With Kannel, SMS need no Twilio: a deployment may serve Moroccan SMS only.)
    for (const name of ['TWILIO_ACCOUNT_SID', 'TWILIO_AUTH_TOKEN', 'TWILIO_WEBHOOK_URL', 'TWILIO_SMS_FROM'] as const) {
      if (!raw[name]) problems.push(`${name}: required in production`);
    }
  }
  const redisTopology = redisTopologyOf(raw, problems);
  if (raw.REDIS_WAIT_REPLICAS !== undefined && !raw.REDIS_URL && !raw.REDIS_SENTINELS && !raw.REDIS_CLUSTER_NODES) {
    problems.push('REDIS_WAIT_REPLICAS: needs a Redis (REDIS_URL, REDIS_SENTINELS or REDIS_CLUSTER_NODES)');
  }
  const file = raw.REGISTRY_PEOPLE_FILE ?? DEFAULT_PEOPLE_FILE;
  const peopleFile = isAbsolute(file) ? file : join(process.cwd(), file);
  // Only the embedded registry (no REGISTRY_URL) and `npm run registry` read it; a file named but absent is a typo.
  if (raw.REGISTRY_PEOPLE_FILE && !existsSync(peopleFile)) problems.push(`REGISTRY_PEOPLE_FILE: no such file: ${peopleFile}`);
  if (problems.length) throw new ConfigError(problems);
  return {
    ...raw,
    host: raw.HOST ?? (raw.NODE_ENV === 'production' ? '0.0.0.0' : '127.0.0.1'),
    peopleFile,
    stateKeys,
    redisTopology,
    redisWaitReplicas: raw.REDIS_WAIT_REPLICAS ?? (redisTopology?.kind === 'sentinel' ? 1 : 0),
    twilioStatusUrl: raw.TWILIO_STATUS_CALLBACK_URL ?? (raw.TWILIO_WEBHOOK_URL ? derivedStatusUrl(raw.TWILIO_WEBHOOK_URL) : undefined),
    kannelConfigured,
    smsProvider: raw.SMS_PROVIDER ?? (kannelConfigured ? 'kannel' : raw.TWILIO_ACCOUNT_SID ? 'twilio' : 'outbox'),
    isProduction: raw.NODE_ENV === 'production',
    isDevelopment: raw.NODE_ENV === 'development',
    simulatorEnabled: raw.SIMULATOR_ENABLED ? raw.SIMULATOR_ENABLED === 'true' : raw.NODE_ENV !== 'production',
  };
}

/**
 * `…/messages` (a query kept) → `…/status`; undefined when the messages URL has another shape.
 * Text, not URL objects: Twilio signs the URL exactly as typed, and URL would normalize it.
 */
function derivedStatusUrl(messagesUrl: string): string | undefined {
  const queryAt = messagesUrl.indexOf('?');
  const path = queryAt === -1 ? messagesUrl : messagesUrl.slice(0, queryAt);
  if (!/\/messages\/?$/.test(path)) return undefined;
  return path.replace(/\/messages(\/?)$/, '/status$1') + (queryAt === -1 ? '' : messagesUrl.slice(queryAt));
}

/** Kannel's settings go together; in production its inbound route needs its token. */
function kannelProblems(raw: RawConfig, problems: string[]): void {
  if (raw.KANNEL_SENDSMS_URL) {
    for (const name of ['KANNEL_USERNAME', 'KANNEL_PASSWORD', 'KANNEL_FROM', 'KANNEL_STATUS_URL'] as const) {
      if (!raw[name]) problems.push(`${name}: required with KANNEL_SENDSMS_URL (the sendsms-user of kannel.conf, our short code, and where Kannel reports deliveries)`);
    }
    const url = parsedUrl(raw.KANNEL_SENDSMS_URL);
    if (url && (url.username || url.password || url.search)) problems.push('KANNEL_SENDSMS_URL: the URL only (http://host:13013/cgi-bin/sendsms): credentials go in KANNEL_USERNAME and KANNEL_PASSWORD');
  } else {
    for (const name of ['KANNEL_USERNAME', 'KANNEL_PASSWORD', 'KANNEL_FROM', 'KANNEL_SMSC', 'KANNEL_STATUS_URL'] as const) {
      if (raw[name]) problems.push(`KANNEL_SENDSMS_URL: required with ${name}`);
    }
  }
  if (raw.NODE_ENV === 'production' && (raw.KANNEL_SENDSMS_URL || raw.SMS_PROVIDER === 'kannel') && !raw.KANNEL_INBOUND_TOKEN) {
    problems.push('KANNEL_INBOUND_TOKEN: required in production with Kannel (anyone could otherwise write as any number)');
  }
  if (raw.NODE_ENV === 'production' && raw.KANNEL_INBOUND_TOKEN && !raw.KANNEL_SENDSMS_URL) {
    problems.push('KANNEL_SENDSMS_URL: required in production with KANNEL_INBOUND_TOKEN (replies to Kannel go through its sendsms)');
  }
  if (raw.SMS_PROVIDER === 'kannel' && !raw.KANNEL_SENDSMS_URL) problems.push('KANNEL_SENDSMS_URL: required with SMS_PROVIDER=kannel');
  if (raw.SMS_PROVIDER === 'twilio' && !raw.TWILIO_ACCOUNT_SID) problems.push('TWILIO_ACCOUNT_SID: required with SMS_PROVIDER=twilio');
}

function redisTopologyOf(raw: RawConfig, problems: string[]): RedisTopology | undefined {
  const chosen = [raw.REDIS_URL && 'REDIS_URL', raw.REDIS_SENTINELS && 'REDIS_SENTINELS', raw.REDIS_CLUSTER_NODES && 'REDIS_CLUSTER_NODES'].filter(Boolean);
  if (chosen.length > 1) {
    problems.push(`${chosen.join(', ')}: set only one (one Redis server, a Sentinel-managed primary, or a Cluster)`);
    return undefined;
  }
  const tls = raw.REDIS_TLS === 'true';
  const credentials = { username: raw.REDIS_USERNAME, password: raw.REDIS_PASSWORD };
  const tlsCa = tlsCaOf(raw, problems, raw.REDIS_URL ? raw.REDIS_URL.startsWith('rediss://') : tls);
  if (raw.REDIS_URL) {
    if (raw.REDIS_USERNAME || raw.REDIS_PASSWORD || raw.REDIS_TLS) {
      problems.push('REDIS_USERNAME, REDIS_PASSWORD, REDIS_TLS: with REDIS_URL, put them in the URL (rediss://user:password@host:port)');
    }
    return { kind: 'single', url: raw.REDIS_URL, ...tlsCa };
  }
  if (raw.REDIS_SENTINELS) {
    if (!raw.REDIS_SENTINEL_MASTER) {
      problems.push('REDIS_SENTINEL_MASTER: required with REDIS_SENTINELS (the name the sentinels know the primary by)');
      return undefined;
    }
    return { kind: 'sentinel', sentinels: raw.REDIS_SENTINELS, masterName: raw.REDIS_SENTINEL_MASTER, ...credentials, sentinelPassword: raw.REDIS_SENTINEL_PASSWORD, tls, ...tlsCa };
  }
  if (raw.REDIS_SENTINEL_MASTER) problems.push('REDIS_SENTINELS: required with REDIS_SENTINEL_MASTER');
  if (raw.REDIS_CLUSTER_NODES) return { kind: 'cluster', nodes: raw.REDIS_CLUSTER_NODES, ...credentials, tls, ...tlsCa };
  return undefined;
}

/** REDIS_TLS_CA_FILE read once at start (a PEM certificate); only where the connection is TLS. */
function tlsCaOf(raw: RawConfig, problems: string[], tls: boolean): { tlsCa?: string } {
  const file = raw.REDIS_TLS_CA_FILE;
  if (!file) return {};
  if (!tls) {
    problems.push('REDIS_TLS_CA_FILE: only with TLS (a rediss:// REDIS_URL, or REDIS_TLS=true)');
    return {};
  }
  let pem: string;
  try {
    pem = readFileSync(file, 'utf8');
  } catch {
    problems.push(`REDIS_TLS_CA_FILE: cannot read ${file}`);
    return {};
  }
  if (!pem.includes('-----BEGIN CERTIFICATE-----')) {
    problems.push(`REDIS_TLS_CA_FILE: ${file} holds no PEM certificate (-----BEGIN CERTIFICATE-----)`);
    return {};
  }
  return { tlsCa: pem };
}
