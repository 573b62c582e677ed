import { z } from 'zod';
import { keywordSet } from '../nlu/choices';
import { addYears, fullYearsBetween, MAX_AGE_YEARS, parseDayFirstDate, type DateParseError } from '../nlu/dates';
import { foldForMatching, normalizeInput } from '../nlu/normalize';
import { parseMoroccanMobile } from '../nlu/phone';
import type { IdTypeCode, IsoDate } from '../services/types';

/**
 * One pure validator per form field. An error is a code; the message shown is
 * `errors.<field>.<code>` in locales/<locale>/errors.json.
 */

export type Validation<T, E extends string = string> =
  | { ok: true; value: T; confirm?: boolean }
  | { ok: false; error: E };

// ---------------------------------------------------------------------------------------------
// Identity document number

export type DocumentNumberError = 'empty' | 'tooLong' | 'onlyDigits' | 'patternCnie' | 'patternResidenceCard';

// No official CNIE number format was found (domain.md §1b, [NOT FOUND]); community validators agree
// on 1-2 letters then digits, at most 8 characters on CNSS forms. Older cards have short numbers
// (K45678), so 3-7 digits are accepted: the registry, not us, decides whether a number exists.
const CNIE_NUMBER = /^[A-Z]{1,2}\d{3,7}$/;
// Residence cards: no specification at all in the sources (domain.md §1a-1b); the same shape as the
// CNIE is assumed, with a little more room for digits. Lenient on purpose, like the CNIE rule.
const RESIDENCE_CARD_NUMBER = /^[A-Z]{1,2}\d{4,8}$/;
const DOCUMENT_NUMBER_MAX_LENGTH: Record<IdTypeCode, number> = { CNIE: 9, CARTE_SEJOUR: 10 };

// "CIN: BE123456", "N° BE 123 456": letters starting a word, then digits possibly spaced.
const NUMBER_IN_SENTENCE = /(?<![A-Z0-9])[A-Z]{1,2}[\s\-.]?\d(?:[\s\-.]?\d){2,7}(?![A-Z0-9])/g;

function compact(text: string): string {
  return text.replace(/[\s\-./_]/g, '');
}

function checkDocumentNumber(value: string, idType: IdTypeCode): Validation<string, DocumentNumberError> {
  if (!value) return { ok: false, error: 'empty' };
  if (value.length > DOCUMENT_NUMBER_MAX_LENGTH[idType]) return { ok: false, error: 'tooLong' };
  // The letters are easy to forget: people read out only the digits.
  if (/^\d+$/.test(value)) return { ok: false, error: 'onlyDigits' };
  if (idType === 'CNIE') return CNIE_NUMBER.test(value) ? { ok: true, value } : { ok: false, error: 'patternCnie' };
  return RESIDENCE_CARD_NUMBER.test(value) ? { ok: true, value } : { ok: false, error: 'patternResidenceCard' };
}

/** "be 123 456", "BE-123456", "CIN : BE123456" → "BE123456". */
export function validateDocumentNumber(text: string, idType: IdTypeCode): Validation<string, DocumentNumberError> {
  const upper = normalizeInput(text).toUpperCase();
  const whole = checkDocumentNumber(compact(upper), idType);
  if (whole.ok) return whole;
  // A number inside a short sentence is still the answer, if it is the only one.
  const found = upper.match(NUMBER_IN_SENTENCE) ?? [];
  if (found.length === 1) {
    const inside = checkDocumentNumber(compact(found[0]), idType);
    if (inside.ok) return inside;
  }
  return whole;
}

// ---------------------------------------------------------------------------------------------
// Dates

export type ExpiryDateError = DateParseError | 'past' | 'tooFar';
export type BirthDateError = DateParseError | 'future' | 'tooYoung' | 'tooOld' | 'afterExpiry';

// A CNIE is valid 10 years (loi 04-20, domain.md §1b); twice that leaves room for other documents
// while catching a mistyped year (2062 for 2026).
const MAX_EXPIRY_YEARS_AHEAD = 20;
// 15 is the minimum working age of the Moroccan Code du travail (loi 65-99, art. 143:
// https://fiscamaroc.com/fr/travail/conditions-de-travail-et-la-remuneration-du-salarie-788/lage-dadmission-au-travail-814.htm;
// an amendment to 16 was proposed); a younger "worker" is almost surely a typo in the year.
// No CNSS age rule for non-salaried workers was found.
export const MIN_AGE_YEARS = 15;

/** The document's expiry date: today or later, at most 20 years ahead. */
export function validateExpiryDate(text: string, today: IsoDate): Validation<IsoDate, ExpiryDateError> {
  const parsed = parseDayFirstDate(text, 'expiry', today);
  if (!parsed.ok) return parsed;
  if (parsed.date < today) return { ok: false, error: 'past' };
  if (parsed.date > addYears(today, MAX_EXPIRY_YEARS_AHEAD)) return { ok: false, error: 'tooFar' };
  return { ok: true, value: parsed.date, confirm: parsed.ambiguous };
}

/** The date of birth: in the past, an age from 15 to 110, before the document's expiry date. */
export function validateBirthDate(
  text: string,
  today: IsoDate,
  expiryDate?: IsoDate,
): Validation<IsoDate, BirthDateError> {
  const parsed = parseDayFirstDate(text, 'birth', today);
  if (!parsed.ok) return parsed;
  const date = parsed.date;
  if (date > today) return { ok: false, error: 'future' };
  const age = fullYearsBetween(date, today);
  if (age < MIN_AGE_YEARS) return { ok: false, error: 'tooYoung' };
  if (age > MAX_AGE_YEARS) return { ok: false, error: 'tooOld' };
  if (expiryDate && date >= expiryDate) return { ok: false, error: 'afterExpiry' };
  return { ok: true, value: date, confirm: parsed.ambiguous };
}

// ---------------------------------------------------------------------------------------------
// Phone, e-mail

export type PhoneError = 'empty' | 'unreadable' | 'notMoroccan' | 'notMobile' | 'wrongLength';

/** A Moroccan mobile number, as E.164 and national (0612345678) forms. */
export function validatePhone(text: string): Validation<{ e164: string; national: string }, PhoneError> {
  if (!normalizeInput(text)) return { ok: false, error: 'empty' };
  const parsed = parseMoroccanMobile(text);
  if (!parsed.ok) return parsed;
  return { ok: true, value: { e164: parsed.e164, national: parsed.national } };
}

export type EmailError = 'empty' | 'tooLong' | 'invalid';

// RFC 5321 limit on a forward path.
const EMAIL_MAX_LENGTH = 254;
const emailSchema = z.email();

function isSkipWord(text: string): boolean {
  return keywordSet('answers.skip').has(foldForMatching(text));
}

/** The e-mail address, lower case; a skip word ("passer", "ma3ndich", "لا") means none: `null`. */
export function validateEmail(text: string): Validation<string | null, EmailError> {
  const clean = normalizeInput(text);
  if (!clean) return { ok: false, error: 'empty' };
  if (isSkipWord(clean)) return { ok: true, value: null };
  // "mon email est nom@gmail.com." → the one word with an @, without the sentence's punctuation.
  const candidates = clean.split(' ').filter((word) => word.includes('@'));
  const address = (candidates.length === 1 ? candidates[0] : clean)
    .replace(/^mailto:/i, '')
    .replace(/[.,;:!?)»"']+$/, '')
    .replace(/^[(«"']+/, '')
    .toLowerCase();
  if (address.length > EMAIL_MAX_LENGTH) return { ok: false, error: 'tooLong' };
  return emailSchema.safeParse(address).success ? { ok: true, value: address } : { ok: false, error: 'invalid' };
}

// ---------------------------------------------------------------------------------------------
// SMS code

export type OtpError = 'empty' | 'format';

/** The digits of a code typed back from an SMS ("123 456", "١٢٣٤٥٦"); the OTP service checks the value. */
export function validateOtpFormat(text: string, length: number): Validation<string, OtpError> {
  const code = normalizeInput(text).replace(/[\s-]/g, '');
  if (!code) return { ok: false, error: 'empty' };
  return new RegExp(`^\\d{${length}}$`).test(code) ? { ok: true, value: code } : { ok: false, error: 'format' };
}
