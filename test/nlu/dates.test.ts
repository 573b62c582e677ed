import {
  addYears,
  formatDateDayFirst,
  formatDateForLocale,
  fullYearsBetween,
  isDateRecognizerWarm,
  parseDayFirstDate,
  warmUpDateRecognizer,
} from '../../src/nlu/dates';

const TODAY = '2026-11-25';

beforeAll(() => {
  // The recognizer's first call builds its French models (seconds); pay it once here.
  warmUpDateRecognizer();
});

describe('parseDayFirstDate reads every way of writing 15 March 1985', () => {
  it.each([
    '15/03/1985',
    '15-3-85',
    '15.03.1985',
    '15 3 1985',
    '١٥/٠٣/١٩٨٥',
    '۱۵/۰۳/۱۹۸۵',
    '15 mars 1985',
    '15 Mars 85',
    '15 march 1985',
    'March 15 1985',
    '15 مارس 1985',
    '15 آذار 1985',
    '15 mars, 1985',
    'le 15 mars 1985',
    'né le 15 mars 1985',
    '15/03/1985م',
    '15031985',
    '150385',
    '1985-03-15',
    '\u200e15/03/1985\u200f',
    '15 / 03 / 1985',
    '15mars1985',
  ])('%j', (text) => {
    expect(parseDayFirstDate(text, 'birth', TODAY)).toEqual({ ok: true, date: '1985-03-15', ambiguous: false });
  });
});

describe('parseDayFirstDate: month names of Morocco, the Mashreq, Egypt, Algeria, Darija and French', () => {
  it.each([
    ['15 غشت 2030', '2030-08-15'],
    ['1 يناير 2030', '2030-01-01'],
    ['1 يوليوز 2030', '2030-07-01'],
    ['1 شتنبر 2030', '2030-09-01'],
    ['1 نونبر 2030', '2030-11-01'],
    ['1 دجنبر 2030', '2030-12-01'],
    ['1 ماي 2030', '2030-05-01'],
    ['1 أغسطس 2030', '2030-08-01'],
    ['1 اغسطس 2030', '2030-08-01'],
    ['1 كانون الثاني 2030', '2030-01-01'],
    ['1 تشرين الأول 2030', '2030-10-01'],
    ['1 جانفي 2030', '2030-01-01'],
    ['1 جويلية 2030', '2030-07-01'],
    ['1 ghocht 2030', '2030-08-01'],
    ['1 chtenber 2030', '2030-09-01'],
    ['1 djenber 2030', '2030-12-01'],
    ['1 août 2030', '2030-08-01'],
    ['1 aout 2030', '2030-08-01'],
    ['1 févr. 2030', '2030-02-01'],
    ['1 déc 2030', '2030-12-01'],
    ['1 sept 2030', '2030-09-01'],
    ['1er mars 2030', '2030-03-01'],
    ['premier mars 2030', '2030-03-01'],
    ['3 fevrie 2030', '2030-02-03'],
    ['2 جوان 2030', '2030-06-02'],
  ])('%j → %s', (text, date) => {
    expect(parseDayFirstDate(text, 'expiry', TODAY)).toEqual({ ok: true, date, ambiguous: false });
  });
});

describe('parseDayFirstDate is always day first, never month first', () => {
  it.each([
    ['05/03/2027', '2027-03-05'],
    ['05/03/27', '2027-03-05'],
    ['12/03/2027', '2027-03-12'],
    ['01/02/2030', '2030-02-01'],
  ])('%j → %s', (text, date) => {
    expect(parseDayFirstDate(text, 'expiry', TODAY)).toEqual({ ok: true, date, ambiguous: false });
  });

  it('rejects a month-first date whose "month" is over 12', () => {
    expect(parseDayFirstDate('03/15/1985', 'birth', TODAY)).toEqual({ ok: false, error: 'impossible' });
  });
});

describe('parseDayFirstDate with two-digit years', () => {
  it.each([
    ['birth', '15/03/85', '1985-03-15', false],
    ['birth', '15/03/05', '2005-03-15', false],
    ['birth', '15/03/99', '1999-03-15', false],
    ['birth', '15/03/00', '2000-03-15', false],
    // 1925 (age 101) and 2025 (age 1) are both past dates: the older is likely, the dialog confirms.
    ['birth', '01/01/25', '1925-01-01', true],
    ['birth', '01/01/16', '1916-01-01', true],
    // 2026-12-01 is in the future: only 1926 remains.
    ['birth', '01/12/26', '1926-12-01', false],
    ['expiry', '15/03/30', '2030-03-15', false],
    ['expiry', '15/03/85', '2085-03-15', false],
    ['expiry', '01/01/25', '2025-01-01', false],
  ] as const)('%s %j → %s (ambiguous: %s)', (purpose, text, date, ambiguous) => {
    expect(parseDayFirstDate(text, purpose, TODAY)).toEqual({ ok: true, date, ambiguous });
  });

  it('picks the century by leap year when only one has 29 February', () => {
    // 2000 is a leap year, 1900 is not.
    expect(parseDayFirstDate('29/02/00', 'birth', TODAY)).toEqual({ ok: true, date: '2000-02-29', ambiguous: false });
  });
});

describe('parseDayFirstDate errors', () => {
  it.each([
    ['', 'empty'],
    ['   ', 'empty'],
    ['\u200e', 'empty'],
    ['31/02/1985', 'impossible'],
    ['30/02/1985', 'impossible'],
    ['29/02/1985', 'impossible'],
    ['31/04/1985', 'impossible'],
    ['15/13/1985', 'impossible'],
    ['00/03/1985', 'impossible'],
    ['32/01/1985', 'impossible'],
    ['29/02/01', 'impossible'],
    ['15 mars', 'missingYear'],
    ['15/03', 'missingYear'],
    ['15 مارس', 'missingYear'],
    ['mars 1985', 'unreadable'],
    ['1985', 'unreadable'],
    ['hello', 'unreadable'],
    ['👍', 'unreadable'],
    ['15/03/985', 'unreadable'],
    ['15 03 1985 16 04 1986', 'unreadable'],
    ['مرحبا', 'unreadable'],
  ])('%j → %s', (text, error) => {
    expect(parseDayFirstDate(text, 'birth', TODAY)).toEqual({ ok: false, error });
  });

  it('accepts 29 February of a leap year', () => {
    expect(parseDayFirstDate('29/02/1984', 'birth', TODAY)).toEqual({ ok: true, date: '1984-02-29', ambiguous: false });
  });
});

describe('parseDayFirstDate falls back to the French recognizer for other Latin text', () => {
  it.each([
    ['demain', '2026-11-26'],
    ["aujourd'hui", '2026-11-25'],
  ])('%j → %s', (text, date) => {
    expect(parseDayFirstDate(text, 'expiry', TODAY)).toEqual({ ok: true, date, ambiguous: false });
  });

  it.each([
    ['a time only', '10h'],
    ['a phrase that makes recognizers-text 1.1.4 throw', 'le quinze mars 1985'],
    ['a duration', 'il y a 30 ans'],
  ])('ignores %s', (_case, text) => {
    expect(parseDayFirstDate(text, 'birth', TODAY)).toEqual({ ok: false, error: 'unreadable' });
  });

  it('is warm after the warm-up', () => {
    expect(isDateRecognizerWarm()).toBe(true);
  });

  // Its cost is capped by normalizeInput's length cap (normalize.test.ts); how fast is the bench's business.
  it('reads a 5,000-character message as unreadable', () => {
    expect(parseDayFirstDate('mars '.repeat(1000), 'birth', TODAY)).toEqual({ ok: false, error: 'unreadable' });
    expect(parseDayFirstDate('1 '.repeat(2500), 'birth', TODAY)).toEqual({ ok: false, error: 'unreadable' });
  });
});

describe('date helpers', () => {
  it.each([
    ['1985-03-15', 'fr', '15 mars 1985'],
    ['2030-08-01', 'fr', '1 août 2030'],
    ['1985-03-15', 'ar', '15 مارس 1985'],
    ['2030-08-15', 'ar', '15 غشت 2030'],
  ] as const)('formatDateForLocale(%s, %s) → %s', (date, locale, expected) => {
    expect(formatDateForLocale(date, locale)).toBe(expected);
  });

  it('formats day first with two-digit day and month', () => {
    expect(formatDateDayFirst('1985-03-05')).toBe('05/03/1985');
  });

  it.each([
    ['1985-03-15', '2026-11-25', 41],
    ['1985-11-25', '2026-11-25', 41],
    ['1985-11-26', '2026-11-25', 40],
  ])('fullYearsBetween(%s, %s) = %i', (from, to, years) => {
    expect(fullYearsBetween(from, to)).toBe(years);
  });

  it('adds years, 29 February landing on 28 February', () => {
    expect(addYears('2024-02-29', 1)).toBe('2025-02-28');
    expect(addYears('2026-11-25', 20)).toBe('2046-11-25');
  });
});
