import { readFileSync } from 'node:fs';
import { parse } from 'csv-parse/sync';
import { z } from 'zod';
import { loadReferenceData } from '../../data/load';
import { ID_TYPE_CODES, type ReferenceData } from '../../data/schemas';
import { parseMoroccanMobile } from '../../nlu/phone';
import type { IdTypeCode } from '../types';
import { normalizeIdNumber, personKey, type Person } from './rules';

/** The columns of REGISTRY_PEOPLE_FILE (DESIGN §4), in the order the file gives them. */
export const PEOPLE_COLUMNS = [
  'id_type',
  'id_number',
  'birth_date',
  'id_expiry_date',
  'status',
  'registration_number',
  'has_account',
  'non_subject_reason',
  'category',
] as const;
/**
 * Columns a file may add after DESIGN's nine: files made before them still load. `account_phone`:
 * the mobile the Ma CNSS account was created with, the only number a forgotten password goes to.
 */
export const OPTIONAL_PEOPLE_COLUMNS = ['account_phone'] as const;
const ALL_COLUMNS = [...PEOPLE_COLUMNS, ...OPTIONAL_PEOPLE_COLUMNS] as const;
type Column = (typeof ALL_COLUMNS)[number];

/** What a row is checked against: the codes of data/, so the file and the bot speak the same codes. */
export interface KnownCodes {
  nonSubjectReasons: Iterable<string>;
  categories: Iterable<string>;
  /** Default: the patterns of data/id-types.json. */
  idNumberPatterns?: ReadonlyMap<IdTypeCode, RegExp>;
}

interface CheckedCodes {
  nonSubjectReasons: ReadonlySet<string>;
  categories: ReadonlySet<string>;
  idNumberPatterns: ReadonlyMap<IdTypeCode, RegExp>;
}

function idNumberPatternsOf(data: Pick<ReferenceData, 'idTypes'>): ReadonlyMap<IdTypeCode, RegExp> {
  return new Map(data.idTypes.map((t) => [t.code, new RegExp(t.numberPattern)]));
}

export function knownCodesFrom(data: ReferenceData): KnownCodes {
  return {
    idNumberPatterns: idNumberPatternsOf(data),
    nonSubjectReasons: data.nonSubjectReasons.map((r) => r.code),
    categories: data.categories.map((c) => c.code),
  };
}

let referenceData: ReferenceData | undefined;
function defaultReferenceData(): ReferenceData {
  referenceData ??= loadReferenceData();
  return referenceData;
}

function checkedCodes(known: KnownCodes | undefined): CheckedCodes {
  const codes = known ?? knownCodesFrom(defaultReferenceData());
  return {
    nonSubjectReasons: new Set(codes.nonSubjectReasons),
    categories: new Set(codes.categories),
    idNumberPatterns: codes.idNumberPatterns ?? idNumberPatternsOf(defaultReferenceData()),
  };
}

export interface PeopleFileProblem {
  /** Physical line in the file; the header is line 1. */
  line: number;
  reason: string;
}

export interface PeopleFileResult {
  people: Person[];
  problems: PeopleFileProblem[];
}

/** The file as a whole is unusable (no header, wrong columns): nothing can be loaded from it. */
export class PeopleFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PeopleFileError';
  }
}

/** The registration number has 9 boxes on form 328-1-01 (domain.md §1c); no checksum: unconfirmed. */
const REGISTRATION_NUMBER = /^\d{9}$/;

// Reasons never repeat an id number or a date: problems end up in logs, and those are personal
// data. A value is quoted only when it is made of letters, like a code; a shifted row can put a
// date or a card number in a code column.
function shown(value: unknown): string {
  return typeof value === 'string' && /^[A-Za-z_ -]{1,40}$/.test(value) ? ` "${value}"` : '';
}

function rowSchema(known: CheckedCodes) {
  const isoDate = (column: Column) =>
    z.iso.date({ error: `${column} is not a valid YYYY-MM-DD calendar date` });
  const code = (column: Column, codes: ReadonlySet<string>) =>
    z.string().refine((v) => v === '' || codes.has(v), {
      error: (issue) => `unknown ${column}${shown(issue.input)}`,
    });

  return z
    .object({
      id_type: z.enum(ID_TYPE_CODES, {
        error: (issue) => `unknown id_type${shown(issue.input)} (expected ${ID_TYPE_CODES.join(' or ')})`,
      }),
      id_number: z.string().transform(normalizeIdNumber),
      birth_date: isoDate('birth_date'),
      id_expiry_date: isoDate('id_expiry_date'),
      status: z.enum(['REGISTERED', 'NOT_SUBJECT'], {
        error: (issue) => `unknown status${shown(issue.input)} (expected REGISTERED or NOT_SUBJECT)`,
      }),
      registration_number: z
        .string()
        .refine((v) => v === '' || REGISTRATION_NUMBER.test(v), 'registration_number must be 9 digits'),
      has_account: z
        .string()
        .transform((v) => v.toLowerCase())
        .refine((v) => v === '' || v === 'true' || v === 'false', {
          error: (issue) => `has_account must be true or false, not${shown(issue.input) || ' this'}`,
        }),
      non_subject_reason: code('non_subject_reason', known.nonSubjectReasons),
      category: code('category', known.categories),
      account_phone: z.string(),
    })
    .superRefine((row, ctx) => {
      const problem = (column: Column, message: string) => ctx.addIssue({ code: 'custom', path: [column], message });
      const pattern = known.idNumberPatterns.get(row.id_type);
      if (!pattern) problem('id_type', `id_type ${row.id_type} is not in id-types.json`);
      else if (!pattern.test(row.id_number)) {
        problem('id_number', `id_number does not match the ${row.id_type} pattern ${pattern.source}`);
      }
      if (row.birth_date >= row.id_expiry_date) problem('birth_date', 'birth_date must be before id_expiry_date');
      if (row.account_phone !== '') {
        if (!parseMoroccanMobile(row.account_phone).ok) problem('account_phone', 'account_phone is not a Moroccan mobile number');
        else if (row.status !== 'REGISTERED' || row.has_account !== 'true') {
          problem('account_phone', 'account_phone is for a REGISTERED person whose has_account is true');
        }
      }
      if (row.status === 'REGISTERED') {
        if (row.registration_number === '') {
          problem('registration_number', 'registration_number is required when status is REGISTERED');
        }
        if (row.has_account === '') problem('has_account', 'has_account is required when status is REGISTERED');
        if (row.non_subject_reason !== '') {
          problem('non_subject_reason', 'non_subject_reason must be empty when status is REGISTERED');
        }
      } else if (row.non_subject_reason === '') {
        problem('non_subject_reason', 'non_subject_reason is required when status is NOT_SUBJECT');
      }
    })
    .transform((row): Person => {
      const identity = {
        idType: row.id_type,
        idNumber: row.id_number,
        birthDate: row.birth_date,
        idExpiryDate: row.id_expiry_date,
        ...(row.category ? { category: row.category } : {}),
      };
      if (row.status === 'REGISTERED') {
        return {
          ...identity,
          status: 'REGISTERED',
          registrationNumber: row.registration_number,
          hasAccount: row.has_account === 'true',
          ...(row.account_phone ? { accountPhone: (parseMoroccanMobile(row.account_phone) as { e164: string }).e164 } : {}),
        };
      }
      return {
        ...identity,
        status: 'NOT_SUBJECT',
        nonSubjectReason: row.non_subject_reason,
        ...(row.registration_number ? { registrationNumber: row.registration_number } : {}),
      };
    });
}

const CSV_OPTIONS = { trim: true, skip_empty_lines: true, relax_column_count: true } as const;

const CSV_ERRORS: Record<string, string> = {
  CSV_QUOTE_NOT_CLOSED: 'malformed CSV: a quote is not closed',
  CSV_INVALID_CLOSING_QUOTE: 'malformed CSV: text after a closing quote',
  CSV_NON_TRIMABLE_CHAR_AFTER_CLOSING_QUOTE: 'malformed CSV: text after a closing quote',
};

function csvErrorReason(error: unknown): string {
  const code = (error as { code?: string }).code ?? 'unknown error';
  return CSV_ERRORS[code] ?? `malformed CSV (${code})`;
}

/**
 * Splits the text in physical lines and sets aside the lines csv-parse rejects. No field of this
 * format holds a line break, so a line is a record; and csv-parse stops at its first error, which
 * would silently drop every row after one stray quote. Only lines with a quote can fail, so only
 * those are parsed one by one; the rest goes through csv-parse in one pass.
 */
function splitLines(text: string): { lines: string[]; problems: PeopleFileProblem[] } {
  const problems: PeopleFileProblem[] = [];
  const lines = text
    .replace(/^\uFEFF/, '')
    .split(/\r\n|\n|\r/)
    .map((line, index) => {
      if (line.trim() === '') return '';
      if (!line.includes('"')) return line;
      try {
        parse(line, CSV_OPTIONS);
        return line;
      } catch (error) {
        problems.push({ line: index + 1, reason: csvErrorReason(error) });
        return '';
      }
    });
  return { lines, problems };
}

function columnIndexes(header: string[], line: number): Map<Column, number> {
  const where = `line ${line} (header)`;
  const known = new Set<string>(ALL_COLUMNS);
  // A file without its header starts with a person's row: say so without echoing the row.
  if (!header.some((name) => known.has(name))) {
    throw new PeopleFileError(`${where}: the header is missing, expected ${PEOPLE_COLUMNS.join(',')}`);
  }
  const unknown = header.filter((name) => !known.has(name));
  if (unknown.length > 0) {
    throw new PeopleFileError(`${where}: unknown column(s) ${unknown.join(', ')} (columns: ${PEOPLE_COLUMNS.join(',')}, optionally ${OPTIONAL_PEOPLE_COLUMNS.join(',')})`);
  }
  const missing = PEOPLE_COLUMNS.filter((name) => !header.includes(name));
  if (missing.length > 0) throw new PeopleFileError(`${where}: missing column(s) ${missing.join(', ')}`);
  if (new Set(header).size !== header.length) throw new PeopleFileError(`${where}: a column is repeated`);
  return new Map(ALL_COLUMNS.filter((name) => header.includes(name)).map((name) => [name, header.indexOf(name)]));
}

/**
 * Parses a people file (DESIGN §4): CSV, UTF-8 (a BOM is tolerated), header required, fields
 * trimmed. A malformed row is reported with its physical line and skipped; the others load.
 * Throws PeopleFileError when the header is missing or wrong.
 */
export function parsePeopleCsv(text: string, known?: KnownCodes): PeopleFileResult {
  const { lines, problems } = splitLines(text);
  const records = parse(lines.join('\n'), { ...CSV_OPTIONS, record_delimiter: '\n', info: true }) as unknown as {
    record: string[];
    info: { lines: number };
  }[];

  const [headerRecord, ...rows] = records;
  if (!headerRecord) {
    throw new PeopleFileError(`the file is empty: a header is required (${PEOPLE_COLUMNS.join(',')})`);
  }
  const columns = columnIndexes(
    headerRecord.record.map((name) => name.toLowerCase()),
    headerRecord.info.lines,
  );

  const schema = rowSchema(checkedCodes(known));
  const people: Person[] = [];
  const firstLineOf = new Map<string, number>();
  for (const { record, info } of rows) {
    const line = info.lines;
    if (record.length !== columns.size) {
      problems.push({ line, reason: `expected ${columns.size} fields, found ${record.length}` });
      continue;
    }
    const raw = Object.fromEntries(ALL_COLUMNS.map((name) => [name, record[columns.get(name) ?? -1] ?? '']));
    const result = schema.safeParse(raw);
    if (!result.success) {
      problems.push({ line, reason: result.error.issues.map((issue) => issue.message).join('; ') });
      continue;
    }
    const person = result.data;
    const key = personKey(person.idType, person.idNumber);
    const first = firstLineOf.get(key);
    if (first !== undefined) {
      problems.push({ line, reason: `duplicate of line ${first} (same id_type and id_number)` });
      continue;
    }
    firstLineOf.set(key, line);
    people.push(person);
  }

  problems.sort((a, b) => a.line - b.line);
  return { people, problems };
}

/** Reads a people file from disk (REGISTRY_PEOPLE_FILE). */
export function loadPeopleFile(path: string, known?: KnownCodes): PeopleFileResult {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new PeopleFileError(`${path}: cannot read (${(error as Error).message})`);
  }
  try {
    return parsePeopleCsv(text, known);
  } catch (error) {
    if (error instanceof PeopleFileError) throw new PeopleFileError(`${path}: ${error.message}`);
    throw error;
  }
}
