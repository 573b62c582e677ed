import { formatDateForLocale } from '../src/nlu/dates';
import { keywordSet, matchChoice, readYesNo, type ChoiceOption } from '../src/nlu/choices';
import { foldForMatching } from '../src/nlu/normalize';
import { parseMoroccanMobile } from '../src/nlu/phone';
import {
  validateBirthDate,
  validateDocumentNumber,
  validateEmail,
  validateExpiryDate,
  validatePhone,
} from '../src/validation/fields';
import type { ReferenceData } from '../src/data/load';
import { FORM_FIELDS, type FormField } from '../src/bot/session';
import type { IdTypeCode, IsoDate } from '../src/services/types';
import type { Question, QuestionContext, ReadResult } from './question';

/**
 * The questions of the portal's form (guide, "Personal information", items 1–7), each with its
 * reading rule. The rules themselves are the pure validators of src/validation/fields.ts.
 */

type Validation<T> = { ok: true; value: T; confirm?: boolean } | { ok: false; error: string };

/** Turns a validator's verdict into the prompt's: error codes become `errors.<field>.<code>` keys. */
function fromValidation<T>(field: string, result: Validation<T>): ReadResult<T> {
  if (!result.ok) return { ok: false, error: `errors.${field}.${result.error}` };
  if (result.confirm) return { ok: true, value: result.value, confirm: `prompts.${field}.confirm` };
  return { ok: true, value: result.value };
}

export function documentTypeQuestion(data: ReferenceData): Question<IdTypeCode> {
  const choices = (ctx: QuestionContext): ChoiceOption<IdTypeCode>[] =>
    data.idTypes.map((idType) => ({
      value: idType.code as IdTypeCode,
      labels: ctx.locale === 'ar' ? [idType.ar, idType.fr, ...idType.aliases] : [idType.fr, idType.ar, ...idType.aliases],
    }));
  return {
    id: 'documentType',
    ask: () => ({ key: 'prompts.documentType.ask' }),
    choices,
    read: (text, ctx) => {
      const value = matchChoice(text, choices(ctx), { allowNumber: true });
      return value ? { ok: true, value } : { ok: false, error: 'errors.documentType.unknown' };
    },
  };
}

export function documentNumberQuestion(data: ReferenceData): Question<string> {
  const example = (ctx: QuestionContext) => data.idTypes.find((i) => i.code === ctx.session.form.documentType)?.example ?? '';
  return {
    id: 'documentNumber',
    ask: (ctx) => ({ key: `prompts.documentNumber.ask.${ctx.session.form.documentType ?? 'CNIE'}`, vars: { example: example(ctx) } }),
    read: (text, ctx) => {
      const result = fromValidation('documentNumber', validateDocumentNumber(text, ctx.session.form.documentType ?? 'CNIE'));
      // The example shown is one of the chosen document's: a residence card number, not a CNIE's.
      return result.ok ? result : { ...result, vars: { example: example(ctx) } };
    },
  };
}

/** A date as the user reads it: "15 mars 1985", "15 مارس 1985". */
const describeDate = (value: IsoDate, ctx: QuestionContext) => ({ date: formatDateForLocale(value, ctx.locale) });

export function expiryDateQuestion(): Question<IsoDate> {
  return {
    id: 'expiryDate',
    describe: describeDate,
    ask: () => ({ key: 'prompts.expiryDate.ask' }),
    read: (text, ctx) => {
      const result = validateExpiryDate(text, ctx.today);
      // A new expiry date must still follow the birth date given earlier (changed from the summary).
      if (result.ok && ctx.session.form.birthDate && ctx.session.form.birthDate >= result.value) {
        return { ok: false, error: 'errors.expiryDate.beforeBirth' };
      }
      return fromValidation('expiryDate', result);
    },
  };
}

export function birthDateQuestion(): Question<IsoDate> {
  return {
    id: 'birthDate',
    ask: () => ({ key: 'prompts.birthDate.ask' }),
    read: (text, ctx) => fromValidation('birthDate', validateBirthDate(text, ctx.today, ctx.session.form.expiryDate)),
    describe: describeDate,
  };
}

/** The sender's own number on WhatsApp/SMS, offered first: most workers register the phone they write from. */
export function senderPhone(ctx: QuestionContext): string | undefined {
  const { channelId, from } = ctx.turn.activity;
  if (channelId !== 'whatsapp' && channelId !== 'sms') return undefined;
  const parsed = parseMoroccanMobile(from?.id ?? '');
  return parsed.ok ? parsed.e164 : undefined;
}

export function phoneQuestion(): Question<string> {
  return {
    id: 'phone',
    ask: (ctx) => {
      const suggested = senderPhone(ctx);
      return suggested
        ? { key: 'prompts.phone.askWithSuggestion', vars: { phone: nationalFormat(suggested) } }
        : { key: 'prompts.phone.ask' };
    },
    read: (text, ctx) => {
      const suggested = senderPhone(ctx);
      if (suggested && (readYesNo(text) === 'yes' || foldForMatching(text) === '1')) return { ok: true, value: suggested };
      // "No" to the offered number: ask for the other one rather than "not a phone number", and
      // keep the three tries for typing it.
      if (suggested && readYesNo(text) === 'no') return { ok: false, error: 'errors.phone.otherNumber', uncounted: true };
      const result = validatePhone(text);
      return result.ok ? { ok: true, value: result.value.e164 } : { ok: false, error: `errors.phone.${result.error}` };
    },
  };
}

export function operatorQuestion(data: ReferenceData): Question<string> {
  const choices = (ctx: QuestionContext): ChoiceOption<string>[] =>
    data.operators.map((operator) => ({
      value: operator.code,
      labels: ctx.locale === 'ar' ? [operator.ar, operator.fr, ...operator.aliases] : [operator.fr, operator.ar, ...operator.aliases],
    }));
  return {
    id: 'operator',
    ask: () => ({ key: 'prompts.operator.ask' }),
    choices,
    read: (text, ctx) => {
      const value = matchChoice(text, choices(ctx), { allowNumber: true });
      return value ? { ok: true, value } : { ok: false, error: 'errors.operator.unknown' };
    },
  };
}

export function emailQuestion(): Question<string | null> {
  return {
    id: 'email',
    ask: () => ({ key: 'prompts.email.ask' }),
    read: (text) => fromValidation('email', validateEmail(text)),
  };
}

export type SummaryDecision = { confirmed: true } | { change: FormField };

/** The summary replaces the portal's captcha: a person reads the answers back and confirms them. */
export function summaryQuestion(describe: (ctx: QuestionContext) => string): Question<SummaryDecision> {
  return {
    id: 'summary',
    ask: (ctx) => ({ key: 'prompts.summary.ask', vars: { lines: describe(ctx) } }),
    read: (text) => {
      const yesNo = readYesNo(text);
      if (yesNo === 'yes') return { ok: true, value: { confirmed: true } };
      // "No": something is wrong, but which line? Asked, without using up a try.
      if (yesNo === 'no') return { ok: false, error: 'errors.summary.whichLine', uncounted: true };
      const field = readFieldNumber(text);
      return field ? { ok: true, value: { change: field } } : { ok: false, error: 'errors.summary.unknown' };
    },
  };
}

/** "3", "changer 3", "بدل 3" → the third field. Any other words before the number are not a request to change. */
export function readFieldNumber(text: string): FormField | undefined {
  const match = /^(?:(.*\D)\s+)?(\d{1,2})$/.exec(foldForMatching(text));
  if (!match) return undefined;
  if (match[1] && !keywordSet('answers.change').has(match[1].trim())) return undefined;
  return FORM_FIELDS[Number(match[2]) - 1];
}

/** 0612345678 → "06 12 34 56 78", as Moroccans write their numbers. */
export function nationalFormat(e164: string): string {
  const parsed = parseMoroccanMobile(e164);
  const national = parsed.ok ? parsed.national : e164;
  return national.replace(/^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})$/, '$1 $2 $3 $4 $5');
}
