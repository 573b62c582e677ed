import { DEFAULT_PRESENTATION, SMS_PRESENTATION } from '../../src/channels/presentation';
import { numberedList } from '../../dialogs/say';
import { nationalFormat } from '../../dialogs/identityQuestions';
import { FORM_FIELDS } from '../../src/bot/session';
import { countSmsSegments } from '../../src/channels/sms/encoding';
import { SmsRenderer, smsText } from '../../src/channels/render/smsRenderer';
import { loadReferenceData } from '../../src/data/load';
import { LOCALES, hasKey, loadCatalogue, t, type Vars } from '../../src/i18n';
import { formatDateForLocale } from '../../src/nlu/dates';
import { maskPhone } from '../../src/nlu/phone';
import { OTP_LENGTH } from '../../src/services/otp/otpService';
import type { Locale } from '../../src/services/types';

/**
 * Every question the bot asks on the SMS channel fits in 2 SMS: rendered as the SMS channel sends it
 * (compact wording where the catalogue has one, choices as "n. label" lines, the category list in
 * pages of SMS_CHOICES_PER_PAGE plus the "more" line, then SmsRenderer, so French is GSM-7).
 * Two segments is 306 GSM-7 characters, or 134 UTF-16 units in Arabic (UCS-2).
 */
const MAX_SEGMENTS = 2;
/**
 * The one exception: the summary reads back the user's seven answers. In Arabic the answers alone
 * (document, number, two dates in words, phone, operator, e-mail) take about 136 UTF-16 units, more
 * than 2 UCS-2 segments (134) before any wording, so it is held to what it costs with real values.
 */
const SEGMENT_EXCEPTIONS: Partial<Record<string, Partial<Record<Locale, number>>>> = {
  'prompts.summary.ask': { ar: 4 },
};
/** The SMS presentation's page of choices: 4 lines keep an Arabic page within 2 segments. */
const SMS_CHOICES_PER_PAGE = SMS_PRESENTATION.choicesPerPage;

const WELCOMES = ['welcome.first', 'welcome.again', 'welcome.resume'];
/** Compact keys one language needs shorter and the other cannot shorten. */
const SAME_LENGTH_IN_ONE_LANGUAGE = ['compact.welcome.greeting'];

const data = loadReferenceData();
const renderer = new SmsRenderer();
const SENDER = '+212612345678';
const BIRTH_DATE = '1985-03-15';

/** The wording the SMS channel shows: `compact.<key>` when it exists (Presentation.compact). */
function smsWording(locale: Locale, key: string, vars: Vars = {}): string {
  const compact = `compact.${key}`;
  return t(locale, hasKey(locale, compact) ? compact : key, vars);
}

/** A welcome as the SMS channel says it: the first one opens with the (compact) greeting. */
function welcomeWording(locale: Locale, key: string): string {
  const text = smsWording(locale, key, { hello: smsWording(locale, 'welcome.greeting') });
  expect(text).not.toMatch(/\{\w+\}/);
  return text;
}

/** Realistic values for every placeholder a prompt may carry. */
function varsFor(locale: Locale, key: string): Vars {
  const idType = data.idTypes.find((i) => key.endsWith(`.${i.code}`)) ?? data.idTypes[0]!;
  return {
    example: idType.example,
    length: OTP_LENGTH,
    // The OTP prompt shows the masked number; the suggestion shows the sender's own number in full.
    phone: key === 'prompts.otp.ask' ? maskPhone(SENDER) : nationalFormat(SENDER),
    date: formatDateForLocale(BIRTH_DATE, locale),
    lines: summaryLines(locale),
  };
}

/** The summary's lines as the identity dialog writes them, with a full set of realistic answers. */
function summaryLines(locale: Locale): string {
  const values: Record<(typeof FORM_FIELDS)[number], string> = {
    documentType: data.idTypes[0]![locale],
    documentNumber: 'BE123456',
    expiryDate: formatDateForLocale('2031-03-15', locale),
    birthDate: formatDateForLocale(BIRTH_DATE, locale),
    phone: nationalFormat(SENDER),
    operator: data.operators[0]![locale],
    email: 'nom@gmail.com',
  };
  return FORM_FIELDS.map((field, i) => `${i + 1}. ${smsWording(locale, `prompts.summary.fields.${field}`)} : ${values[field]}`).join('\n');
}

/** The choices a question offers, by question id, as the dialogs label them in `locale`. */
function choicesOf(locale: Locale, questionId: string): string[] {
  if (questionId === 'documentType') return data.idTypes.map((i) => i[locale]);
  if (questionId === 'operator') return data.operators.map((o) => o[locale]);
  return [];
}

interface SmsPrompt {
  name: string;
  text: string;
}

/** One SMS text per question (one per page for the paged category list). */
function promptsOf(locale: Locale): SmsPrompt[] {
  const keys = [...loadCatalogue(locale).keys()].filter((key) =>
    /^prompts\.[^.]+\.(ask(\.[A-Z_]+)?|askWithSuggestion|confirm)$/.test(key),
  );
  return keys.flatMap((key): SmsPrompt[] => {
    const questionId = key.split('.')[1]!;
    const question = smsWording(locale, key, varsFor(locale, key));
    if (questionId === 'category') return categoryPages(locale, question);
    const choices = choicesOf(locale, questionId);
    return [{ name: key, text: choices.length ? `${question}\n${numberedList(choices)}` : question }];
  });
}

/** The category question page by page, numbers running on across pages, as PagedChoicePrompt shows it. */
function categoryPages(locale: Locale, question: string): SmsPrompt[] {
  const labels = data.categories.map((c) => (locale === 'ar' ? c.shortAr : c.shortFr));
  const pages: SmsPrompt[] = [];
  for (let first = 0; first < labels.length; first += SMS_CHOICES_PER_PAGE) {
    const lines = labels.slice(first, first + SMS_CHOICES_PER_PAGE).map((label, i) => `${first + i + 1}. ${label}`);
    lines.push(smsWording(locale, 'prompts.paging.more'));
    pages.push({ name: `prompts.category.ask (page ${first / SMS_CHOICES_PER_PAGE + 1})`, text: `${question}\n${lines.join('\n')}` });
  }
  return pages;
}

/** 'fits', or what the SMS would cost and its text, so a failure shows the copy to shorten. */
function verdict(locale: Locale, text: string, max = MAX_SEGMENTS): string {
  const bodies = renderer.render([{ text, choices: [] }], locale);
  const { segments, encoding, characters } = countSmsSegments(bodies[0]!.body);
  if (bodies.length === 1 && segments <= max) return 'fits';
  return `${segments} segments (${encoding}, ${characters} units):\n${bodies.map((b) => b.body).join('\n---\n')}`;
}

describe.each(LOCALES)('SMS-channel prompts in %s fit in 2 segments', (locale) => {
  const prompts = promptsOf(locale);

  it('covers every question of the catalogue', () => {
    const names = prompts.map((p) => p.name);
    for (const key of ['prompts.documentType.ask', 'prompts.documentNumber.ask.CNIE', 'prompts.phone.askWithSuggestion', 'prompts.otp.ask', 'prompts.city.ask']) {
      expect(names).toContain(key);
    }
    expect(names.filter((n) => n.startsWith('prompts.category.ask'))).toHaveLength(Math.ceil(data.categories.length / SMS_CHOICES_PER_PAGE));
    // A page of the SMS list is shorter than the default page, or paging would not save anything.
    expect(SMS_CHOICES_PER_PAGE).toBeLessThan(DEFAULT_PRESENTATION.choicesPerPage);
  });

  it.each(prompts.map((p) => [p.name, p.text] as const))('%s', (name, text) => {
    expect(text).not.toMatch(/\{\w+\}/);
    expect(verdict(locale, text, SEGMENT_EXCEPTIONS[name]?.[locale] ?? MAX_SEGMENTS)).toBe('fits');
  });

  it.each(WELCOMES)('%s', (key) => {
    expect(verdict(locale, welcomeWording(locale, key))).toBe('fits');
  });
});

describe('SMS-channel wording', () => {
  it('keeps every French prompt and welcome in GSM-7 once rendered', () => {
    const texts = [...promptsOf('fr'), ...WELCOMES.map((key) => ({ name: key, text: welcomeWording('fr', key) }))];
    for (const { name, text } of texts) {
      const body = renderer.render([{ text, choices: [] }], 'fr')[0]!.body;
      expect({ name, encoding: countSmsSegments(body).encoding }).toEqual({ name, encoding: 'GSM-7' });
    }
  });

  it.each(LOCALES)('has a compact key only where a full key exists, with the same placeholders (%s)', (locale) => {
    const catalogue = loadCatalogue(locale);
    const compactKeys = [...catalogue.keys()].filter((key) => key.startsWith('compact.'));
    expect(compactKeys.length).toBeGreaterThan(0);
    for (const compact of compactKeys) {
      const full = compact.slice('compact.'.length);
      expect({ compact, fullExists: catalogue.has(full) }).toEqual({ compact, fullExists: true });
      expect({ compact, placeholders: placeholders(catalogue.get(compact)!) }).toEqual({ compact, placeholders: placeholders(catalogue.get(full)!) });
    }
  });

  it('is shorter than the full wording it replaces', () => {
    for (const locale of LOCALES) {
      const catalogue = loadCatalogue(locale);
      for (const compact of [...catalogue.keys()].filter((key) => key.startsWith('compact.'))) {
        const full = compact.slice('compact.'.length);
        const length = (key: string) => smsText(t(locale, key), locale).length;
        // Keys stay in step across languages: one language may need no shorter word ("Bonjour")
        // where the other does ("سلام" for "السلام عليكم"); never longer, though.
        const shorter = SAME_LENGTH_IN_ONE_LANGUAGE.includes(compact) ? length(compact) <= length(full) : length(compact) < length(full);
        expect({ compact, shorter }).toEqual({ compact, shorter: true });
      }
    }
  });
});

function placeholders(value: string | string[]): string[] {
  return [...new Set((Array.isArray(value) ? value.join('\n') : value).match(/\{\w+\}/g) ?? [])].sort();
}
