import { DateTimeOptions, recognizeDateTime } from '@microsoft/recognizers-text-date-time';
import { distance } from 'fastest-levenshtein';
import { LOCALES, words } from '../i18n';
import type { IsoDate, Locale } from '../services/types';
import { foldForMatching, normalizeInput } from './normalize';

/**
 * Dates as Moroccans write them: always day first (15/03/1985, "15 mars 1985", "15 مارس 1985",
 * "15 غشت 2030"), never month first. Our own parser reads numbers and month words of every
 * locale; only Latin text it cannot read goes to Microsoft's French recognizer, because the
 * recognizers have no Arabic and read `ar-*` as US English, 05/03 becoming May 3 (platform.md §6.2).
 */

export type DatePurpose = 'birth' | 'expiry';
export type DateParseError = 'empty' | 'unreadable' | 'impossible' | 'missingYear';
export type DateParseResult =
  | { ok: true; date: IsoDate; ambiguous: boolean }
  | { ok: false; error: DateParseError };

/** Oldest plausible age, in years. Also picks the century of a two-digit birth year. */
export const MAX_AGE_YEARS = 110;

// A date answer is a few words; a longer text is not worth tokenizing (nor sending to the recognizer).
const MAX_DATE_TOKENS = 20;
const RECOGNIZER_MAX_CHARS = 80;
// Misspelt month names ("fevrie", "septambre") are read with one typo when the word is long enough
// that one edit cannot turn it into another month or a common word.
const FUZZY_MONTH_MIN_LENGTH = 5;

interface Ymd {
  year: number;
  month: number;
  day: number;
}

function isLeapYear(year: number): boolean {
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return isLeapYear(year) ? 29 : 28;
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
}

function isRealDate({ year, month, day }: Ymd): boolean {
  return month >= 1 && month <= 12 && day >= 1 && day <= daysInMonth(year, month);
}

function toIso({ year, month, day }: Ymd): IsoDate {
  return `${String(year).padStart(4, '0')}-${String(month).padStart(2, '0')}-${String(day).padStart(2, '0')}`;
}

function fromIso(date: IsoDate): Ymd | undefined {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(date);
  if (!match) return undefined;
  const ymd = { year: Number(match[1]), month: Number(match[2]), day: Number(match[3]) };
  return isRealDate(ymd) ? ymd : undefined;
}

/** Whole years from `earlier` to `later` (an age on a given day). */
export function fullYearsBetween(earlier: IsoDate, later: IsoDate): number {
  const years = Number(later.slice(0, 4)) - Number(earlier.slice(0, 4));
  return later.slice(5) < earlier.slice(5) ? years - 1 : years;
}

/** The same calendar day `years` later (29 February lands on 28 February), for range checks. */
export function addYears(date: IsoDate, years: number): IsoDate {
  const ymd = fromIso(date);
  if (!ymd) throw new Error(`not a date: ${date}`);
  const year = ymd.year + years;
  return toIso({ year, month: ymd.month, day: Math.min(ymd.day, daysInMonth(year, ymd.month)) });
}

// ---------------------------------------------------------------------------------------------
// Word lists from locales/*/answers.json, folded once.

interface Lexicon {
  months: Map<string, number>;
  longestMonthPhrase: number;
  fuzzyMonths: Array<[string, number]>;
  numberWords: Map<string, number>;
}

let lexicon: Lexicon | undefined;

function loadLexicon(): Lexicon {
  if (lexicon) return lexicon;
  const months = new Map<string, number>();
  let longestMonthPhrase = 1;
  for (let month = 1; month <= 12; month += 1) {
    const key = `answers.months.m${String(month).padStart(2, '0')}`;
    for (const locale of LOCALES) {
      for (const word of words(locale, key)) {
        const folded = foldForMatching(word);
        if (!folded) continue;
        months.set(folded, month);
        longestMonthPhrase = Math.max(longestMonthPhrase, folded.split(' ').length);
      }
    }
  }
  const fuzzyMonths = [...months].filter(([word]) => word.length >= FUZZY_MONTH_MIN_LENGTH);
  const numberWords = new Map<string, number>();
  for (let n = 1; n <= 10; n += 1) {
    for (const locale of LOCALES) {
      for (const word of words(locale, `answers.numbers.n${n}`)) {
        const folded = foldForMatching(word);
        // "sept" is September before it is 7: month words win.
        if (folded && !folded.includes(' ') && !months.has(folded)) numberWords.set(folded, n);
      }
    }
  }
  lexicon = { months, longestMonthPhrase, fuzzyMonths, numberWords };
  return lexicon;
}

function fuzzyMonth(word: string, lex: Lexicon): number | undefined {
  if (word.length < FUZZY_MONTH_MIN_LENGTH || /\d/.test(word)) return undefined;
  const found = new Set<number>();
  for (const [name, month] of lex.fuzzyMonths) {
    if (Math.abs(name.length - word.length) <= 1 && distance(name, word) <= 1) found.add(month);
  }
  return found.size === 1 ? [...found][0] : undefined;
}

// ---------------------------------------------------------------------------------------------
// Tokens: numbers as typed (their digit count matters: 85 vs 1985), number words, month words.

type Token =
  | { kind: 'digits'; text: string }
  | { kind: 'numberWord'; value: number }
  | { kind: 'month'; month: number };

function tokenize(folded: string, lex: Lexicon): Token[] | undefined {
  const raw = folded.split(' ').filter(Boolean);
  if (raw.length > MAX_DATE_TOKENS) return undefined;
  const tokens: Token[] = [];
  let i = 0;
  while (i < raw.length) {
    let matched = false;
    // Multi-word months first: "كانون الثاني", "تشرين الاول".
    for (let size = Math.min(lex.longestMonthPhrase, raw.length - i); size >= 1; size -= 1) {
      const month = lex.months.get(raw.slice(i, i + size).join(' '));
      if (month !== undefined) {
        tokens.push({ kind: 'month', month });
        i += size;
        matched = true;
        break;
      }
    }
    if (matched) continue;
    const word = raw[i];
    i += 1;
    if (/^\d+$/.test(word)) {
      tokens.push({ kind: 'digits', text: word });
      continue;
    }
    const numberWord = lex.numberWords.get(word);
    if (numberWord !== undefined) {
      tokens.push({ kind: 'numberWord', value: numberWord });
      continue;
    }
    const fuzzy = fuzzyMonth(word, lex);
    if (fuzzy !== undefined) {
      tokens.push({ kind: 'month', month: fuzzy });
      continue;
    }
    // Glued parts: "15mars1985", "1er" (French ordinal), "1985م" (م = ميلادي, Gregorian year).
    // Other words ("le", "né", "نهار") are filler and dropped.
    for (const part of word.match(/\d+|\D+/g) ?? []) {
      if (/^\d+$/.test(part)) tokens.push({ kind: 'digits', text: part });
      else {
        const month = lex.months.get(part);
        if (month !== undefined) tokens.push({ kind: 'month', month });
      }
    }
  }
  return tokens;
}

// ---------------------------------------------------------------------------------------------
// Day, month, year from the tokens.

interface Parts {
  day: number;
  month: number;
  year: number;
  twoDigitYear: boolean;
}

type Read = Parts | DateParseError;

function dayOf(token: Token | undefined): number | undefined {
  if (token?.kind === 'numberWord') return token.value;
  if (token?.kind === 'digits' && token.text.length <= 2) return Number(token.text);
  return undefined;
}

function monthOf(token: Token | undefined): number | undefined {
  if (token?.kind === 'month') return token.month;
  if (token?.kind === 'digits' && token.text.length <= 2) return Number(token.text);
  return undefined;
}

function yearOf(token: Token | undefined): { year: number; twoDigitYear: boolean } | undefined {
  if (token?.kind !== 'digits') return undefined;
  if (token.text.length === 4) return { year: Number(token.text), twoDigitYear: false };
  if (token.text.length === 2) return { year: Number(token.text), twoDigitYear: true };
  return undefined;
}

function readCompactDigits(text: string): Read {
  // 15031985 (ddmmyyyy) and 150385 (ddmmyy): forms that print the date without separators.
  const day = Number(text.slice(0, 2));
  const month = Number(text.slice(2, 4));
  return { day, month, year: Number(text.slice(4)), twoDigitYear: text.length === 6 };
}

function readParts(tokens: Token[]): Read {
  const [first, second, third] = tokens;
  if (tokens.length === 1 && first.kind === 'digits' && [6, 8].includes(first.text.length)) {
    return readCompactDigits(first.text);
  }
  if (tokens.length === 3) {
    // Day first: 15/03/1985, 15 mars 85, 1er mars 1985.
    const day = dayOf(first);
    const month = monthOf(second);
    const year = yearOf(third);
    if (day !== undefined && month !== undefined && year) return { day, month, ...year };
    // A month written as a word cannot be misread, so "march 15 1985" is safe to accept.
    const dayAfterMonth = dayOf(second);
    if (first.kind === 'month' && dayAfterMonth !== undefined && year) {
      return { day: dayAfterMonth, month: first.month, ...year };
    }
    // 1985-03-15: a four-digit first part cannot be a day.
    if (first.kind === 'digits' && first.text.length === 4) {
      const isoMonth = monthOf(second);
      const isoDay = dayOf(third);
      if (isoMonth !== undefined && isoDay !== undefined && third.kind === 'digits') {
        return { day: isoDay, month: isoMonth, year: Number(first.text), twoDigitYear: false };
      }
    }
    return 'unreadable';
  }
  if (tokens.length === 2) {
    const dayMonth = dayOf(first) !== undefined && monthOf(second) !== undefined;
    const monthDay = first.kind === 'month' && dayOf(second) !== undefined;
    return dayMonth || monthDay ? 'missingYear' : 'unreadable';
  }
  return 'unreadable';
}

function plausibleBirth(date: IsoDate, today: IsoDate): boolean {
  return date <= today && fullYearsBetween(date, today) <= MAX_AGE_YEARS;
}

function resolve(parts: Parts, purpose: DatePurpose, today: IsoDate): DateParseResult {
  const { day, month } = parts;
  if (!parts.twoDigitYear) {
    const ymd = { year: parts.year, month, day };
    return isRealDate(ymd) ? { ok: true, date: toIso(ymd), ambiguous: false } : { ok: false, error: 'impossible' };
  }
  // An expiry date is in the future: 30 → 2030, never 1930.
  const centuries = purpose === 'expiry' ? [2000] : [2000, 1900];
  const candidates = centuries
    .map((century) => ({ year: century + parts.year, month, day }))
    .filter(isRealDate)
    .map(toIso);
  if (candidates.length === 0) return { ok: false, error: 'impossible' };
  if (purpose === 'expiry') return { ok: true, date: candidates[0], ambiguous: false };
  // A birth date is in the past and at most MAX_AGE_YEARS ago: 85 → 1985, 05 → 2005. When both
  // centuries fit ("25" → 1925 or 2025), the older one is the likely worker (a 1-year-old does not
  // register), and the dialog asks to confirm.
  const plausible = candidates.filter((date) => plausibleBirth(date, today));
  if (plausible.length === 1) return { ok: true, date: plausible[0], ambiguous: false };
  const older = candidates[candidates.length - 1];
  return { ok: true, date: older, ambiguous: plausible.length > 1 };
}

// ---------------------------------------------------------------------------------------------
// Microsoft's French recognizer, for Latin text our parser cannot read ("demain", "mardi 3 mars 2027").

const ARABIC_LETTER = /(?=\p{Script=Arabic})\p{L}/u;
const FULL_DATE_TIMEX = /^\d{4}-\d{2}-\d{2}$/;

interface RecognizedValue {
  timex?: unknown;
  type?: unknown;
  value?: unknown;
}

function referenceDate(today: IsoDate): Date {
  const ymd = fromIso(today);
  // The recognizer reads the reference in the server's local time: noon keeps it on the same day.
  return ymd ? new Date(ymd.year, ymd.month - 1, ymd.day, 12) : new Date();
}

function recognizeFrenchDate(text: string, today: IsoDate): DateParseResult | undefined {
  if (text.length > RECOGNIZER_MAX_CHARS || ARABIC_LETTER.test(text) || !/\p{L}/u.test(text)) {
    return undefined;
  }
  let results;
  try {
    // Always 'fr-fr': never an ar-* culture, which falls back to US month-first (platform.md §6.2).
    results = recognizeDateTime(text, 'fr-fr', DateTimeOptions.None, referenceDate(today));
    recognizerWarm = true;
  } catch {
    // recognizers-text 1.1.4 throws on some French phrases ("le quinze mars 1985": TypeError in
    // mergeDateAndTime); for us that is just an unread answer.
    return undefined;
  }
  // Time-only ("10h"), ranges ("mars 1985") and date-times are not a calendar date.
  const dates = results.filter((result) => result.typeName === 'datetimeV2.date');
  if (dates.length !== 1 || results.length !== 1) return undefined;
  const values = (dates[0].resolution.values ?? []) as RecognizedValue[];
  // Several values mean a year was missing ("15 mars" → last March and next March).
  if (values.length !== 1 || typeof values[0].timex !== 'string' || !FULL_DATE_TIMEX.test(values[0].timex)) {
    return undefined;
  }
  const value = values[0].value;
  if (typeof value !== 'string' || !fromIso(value)) return { ok: false, error: 'impossible' };
  return { ok: true, date: value, ambiguous: false };
}

let recognizerWarm = false;

/** Builds the recognizer's French models (2-5 s on first use) so the first worker does not wait. */
export function warmUpDateRecognizer(): void {
  try {
    recognizeDateTime('15 mars 1985', 'fr-fr');
  } catch {
    // A failed warm-up only means the first real call is slow.
  }
  recognizerWarm = true;
}

/** Whether the recognizer's models are built (for /readyz). */
export function isDateRecognizerWarm(): boolean {
  return recognizerWarm;
}

/**
 * Reads a date written day first. Two-digit years: birth → the century that makes a plausible
 * past date (ambiguous when both do), expiry → 20yy.
 */
export function parseDayFirstDate(text: string, purpose: DatePurpose, today: IsoDate): DateParseResult {
  const clean = normalizeInput(text);
  if (!clean) return { ok: false, error: 'empty' };
  const lex = loadLexicon();
  const tokens = tokenize(foldForMatching(clean), lex);
  const read = tokens ? readParts(tokens) : 'unreadable';
  if (typeof read !== 'string') return resolve(read, purpose, today);
  if (read === 'unreadable') return recognizeFrenchDate(clean, today) ?? { ok: false, error: 'unreadable' };
  return { ok: false, error: read };
}

/** "15 mars 1985" / "15 مارس 1985": how the bot writes a date back to the worker. */
export function formatDateForLocale(date: IsoDate, locale: Locale): string {
  const ymd = fromIso(date);
  if (!ymd) return date;
  return `${ymd.day} ${words(locale, 'answers.monthNames')[ymd.month - 1]} ${ymd.year}`;
}

/** "15/03/1985": the day-first numeric form used in examples and confirmations, same in every locale. */
export function formatDateDayFirst(date: IsoDate): string {
  const ymd = fromIso(date);
  if (!ymd) return date;
  return `${String(ymd.day).padStart(2, '0')}/${String(ymd.month).padStart(2, '0')}/${ymd.year}`;
}
