import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { z } from 'zod';
import { repoPath } from '../repoRoot';
import {
  CategoriesFileSchema,
  CitiesFileSchema,
  IdTypesFileSchema,
  NonSubjectReasonsFileSchema,
  OfficesFileSchema,
  OperatorsFileSchema,
  type ReferenceData,
} from './schemas';

export type { ReferenceData } from './schemas';

/** The repository's data/ folder. */
export const DATA_DIR = repoPath('data');

export const REFERENCE_FILES = {
  idTypes: 'id-types.json',
  categories: 'categories.json',
  nonSubjectReasons: 'non-subject-reasons.json',
  offices: 'offices.json',
  cities: 'cities.json',
  operators: 'operators.json',
} as const;

/** A reference file that cannot be used. The message names the file and the place in it. */
export class ReferenceDataError extends Error {
  constructor(
    readonly file: string,
    detail: string,
    options?: { cause?: unknown },
  ) {
    super(`${file}: ${detail}`, options);
    this.name = 'ReferenceDataError';
  }
}

type Path = readonly PropertyKey[];

/** `categories[3].documents.ar`: the way a data editor finds the spot in the file. */
export function formatPath(path: Path): string {
  return path
    .map((key, i) => (typeof key === 'number' ? `[${key}]` : `${i === 0 ? '' : '.'}${String(key)}`))
    .join('');
}

function parseFile<T>(dir: string, file: string, schema: z.ZodType<T>): T {
  const path = join(dir, file);
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new ReferenceDataError(path, `cannot read JSON (${(error as Error).message})`, { cause: error });
  }
  const result = schema.safeParse(json);
  if (!result.success) {
    const issues = result.error.issues.map((issue) => `${formatPath(issue.path) || '(root)'}: ${issue.message}`);
    throw new ReferenceDataError(path, issues.join('; '));
  }
  return result.data;
}

function requireUnique(path: string, listName: string, keys: readonly string[], keyName: string): void {
  const seen = new Map<string, number>();
  keys.forEach((key, index) => {
    const first = seen.get(key);
    if (first !== undefined) {
      throw new ReferenceDataError(
        path,
        `${listName}[${index}].${keyName}: "${key}" already used by ${listName}[${first}]`,
      );
    }
    seen.set(key, index);
  });
}

/** Checks that span entries or files: the schemas see one entry at a time. */
function crossCheck(dir: string, data: ReferenceData): void {
  const file = (name: keyof typeof REFERENCE_FILES) => join(dir, REFERENCE_FILES[name]);
  requireUnique(file('idTypes'), 'idTypes', data.idTypes.map((t) => t.code), 'code');
  requireUnique(file('categories'), 'categories', data.categories.map((c) => c.code), 'code');
  requireUnique(file('nonSubjectReasons'), 'reasons', data.nonSubjectReasons.map((r) => r.code), 'code');
  requireUnique(file('offices'), 'offices', data.offices.map((o) => o.id), 'id');
  requireUnique(file('cities'), 'cities', data.cities.map((c) => c.code), 'code');
  requireUnique(file('operators'), 'operators', data.operators.map((o) => o.code), 'code');

  const aliasOwner = new Map<string, string>();
  data.cities.forEach((city, i) => {
    for (const alias of [city.fr, city.ar, ...city.aliases]) {
      const key = alias.trim().toLowerCase();
      const owner = aliasOwner.get(key);
      if (owner !== undefined && owner !== city.code) {
        throw new ReferenceDataError(file('cities'), `cities[${i}].aliases: "${alias}" also names ${owner}`);
      }
      aliasOwner.set(key, city.code);
    }
  });

  const cityCodes = new Set(data.cities.map((c) => c.code));
  data.offices.forEach((office, i) => {
    if (!cityCodes.has(office.cityCode)) {
      throw new ReferenceDataError(
        file('offices'),
        `offices[${i}].cityCode: unknown city "${office.cityCode}" (not in ${REFERENCE_FILES.cities})`,
      );
    }
  });
}

/**
 * Reads and validates every reference file. Called once at start: a wrong file stops the bot with
 * a message naming the file and the place in it, rather than a worker meeting the bug mid-chat.
 */
export function loadReferenceData(dir: string = DATA_DIR): ReferenceData {
  const data: ReferenceData = {
    idTypes: parseFile(dir, REFERENCE_FILES.idTypes, IdTypesFileSchema).idTypes,
    categories: parseFile(dir, REFERENCE_FILES.categories, CategoriesFileSchema).categories,
    nonSubjectReasons: parseFile(dir, REFERENCE_FILES.nonSubjectReasons, NonSubjectReasonsFileSchema).reasons,
    offices: parseFile(dir, REFERENCE_FILES.offices, OfficesFileSchema).offices,
    cities: parseFile(dir, REFERENCE_FILES.cities, CitiesFileSchema).cities,
    operators: parseFile(dir, REFERENCE_FILES.operators, OperatorsFileSchema).operators,
  };
  crossCheck(dir, data);
  return data;
}
