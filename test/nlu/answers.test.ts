import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { LOCALES, LOCALES_DIR, words } from '../../src/i18n';
import { foldForMatching } from '../../src/nlu/normalize';

type Tree = { [key: string]: string | string[] | Tree };

function keysOf(tree: Tree, prefix = ''): string[] {
  return Object.entries(tree).flatMap(([key, value]) =>
    typeof value === 'string' || Array.isArray(value) ? [`${prefix}${key}`] : keysOf(value, `${prefix}${key}.`),
  );
}

function read(locale: string, file: string): Tree {
  return JSON.parse(readFileSync(join(LOCALES_DIR, locale, file), 'utf8')) as Tree;
}

describe.each(['answers.json', 'errors.json'])('locales/*/%s', (file) => {
  it('has the same keys in every locale', () => {
    const [first, ...others] = LOCALES.map((locale) => keysOf(read(locale, file)).sort());
    for (const keys of others) expect(keys).toEqual(first);
  });
});

describe('answers.json word lists', () => {
  it.each(LOCALES)('%s: every entry is a non-empty list of words that still mean something once folded', (locale) => {
    const tree = read(locale, 'answers.json');
    for (const key of keysOf(tree)) {
      const list = words(locale, `answers.${key}`);
      expect(list.length).toBeGreaterThan(0);
      // "?" and "؟" fold to nothing on purpose: commands compare them as typed; so do emoji lists.
      if (/Emoji$/.test(key)) continue;
      const empty = list.filter((word) => !foldForMatching(word) && !/^[?؟]$/.test(word));
      expect(empty).toEqual([]);
    }
  });

  it.each(LOCALES)('%s: twelve month names for display', (locale) => {
    expect(words(locale, 'answers.monthNames')).toHaveLength(12);
  });

  it('never gives one month word two months', () => {
    const owner = new Map<string, string>();
    const clashes: string[] = [];
    for (let month = 1; month <= 12; month += 1) {
      const key = `answers.months.m${String(month).padStart(2, '0')}`;
      for (const word of LOCALES.flatMap((locale) => words(locale, key))) {
        const folded = foldForMatching(word);
        if (owner.has(folded) && owner.get(folded) !== key) clashes.push(word);
        owner.set(folded, key);
      }
    }
    expect(clashes).toEqual([]);
  });

  it('never gives one number word two numbers', () => {
    const owner = new Map<string, number>();
    const clashes: string[] = [];
    for (let n = 1; n <= 10; n += 1) {
      for (const word of LOCALES.flatMap((locale) => words(locale, `answers.numbers.n${n}`))) {
        const folded = foldForMatching(word);
        if (owner.has(folded) && owner.get(folded) !== n) clashes.push(word);
        owner.set(folded, n);
      }
    }
    expect(clashes).toEqual([]);
  });
});
