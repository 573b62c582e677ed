import { isAbsolute, join } from 'node:path';
import { z } from 'zod';
import { ConfigError, DEFAULT_PEOPLE_FILE } from '../config';

/**
 * `npm run registry`'s settings (DESIGN §4): the same variable names as the bot, read on their
 * own, since the registry needs none of the bot's (Twilio, Bot Framework) to start in production.
 */

const emptyAsUndefined = (v: unknown) => (typeof v === 'string' && v.trim() === '' ? undefined : v);

const schema = z.object({
  NODE_ENV: z.preprocess(emptyAsUndefined, z.enum(['development', 'production', 'test']).default('development')),
  LOG_LEVEL: z.preprocess(
    emptyAsUndefined,
    z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  ),
  REGISTRY_PORT: z.preprocess(emptyAsUndefined, z.coerce.number().int().min(1).max(65535).default(3980)),
  REGISTRY_PEOPLE_FILE: z.preprocess(emptyAsUndefined, z.string().optional()),
  REGISTRY_API_KEY: z.preprocess(emptyAsUndefined, z.string().optional()),
});

export interface RegistryServerConfig {
  nodeEnv: 'development' | 'production' | 'test';
  logLevel: string;
  port: number;
  /** Absolute path of the people file served. */
  peopleFile: string;
  apiKey?: string;
}

export function loadRegistryServerConfig(env: NodeJS.ProcessEnv = process.env): RegistryServerConfig {
  const parsed = schema.safeParse(env);
  if (!parsed.success) throw new ConfigError(parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`));
  const raw = parsed.data;
  // The registry answers with registration numbers and creates accounts: only a developer's own
  // machine may serve it to anyone who asks.
  if (!raw.REGISTRY_API_KEY && raw.NODE_ENV !== 'development') {
    throw new ConfigError([`REGISTRY_API_KEY: required when NODE_ENV is ${raw.NODE_ENV} (without it anyone could look people up)`]);
  }
  const file = raw.REGISTRY_PEOPLE_FILE ?? DEFAULT_PEOPLE_FILE;
  return {
    nodeEnv: raw.NODE_ENV,
    logLevel: raw.LOG_LEVEL,
    port: raw.REGISTRY_PORT,
    peopleFile: isAbsolute(file) ? file : join(process.cwd(), file),
    apiKey: raw.REGISTRY_API_KEY,
  };
}
