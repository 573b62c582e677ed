import { words, wordsInAnyLocale } from '../../src/i18n';
import { foldForMatching, hasLetterOrDigit } from '../../src/nlu/normalize';
import { readYesNo } from '../../src/nlu/yesNo';

/**
 * Yes and no as workers write them (issue 16, "rough edges"): in a short sentence, in SMS
 * spelling, repeated, as an emoji, in either language whatever the conversation's. A message
 * with both a yes and a no, or a yes and a number, is not read.
 */

describe('readYesNo: a yes said the way people say it', () => {
  it.each([
    // one word, either language
    'oui', 'OK', 'wakha', 'نعم', 'iyeh', 'واخا',
    // a short sentence, SMS spelling
    "oui c'est bien ça", 'Oui, c’est bien ça !', "c'est bon", 'c bon', 'cé bon', 'tout est correct', 'oui merci beaucoup',
    'iyeh sahih', 'iyeh s7i7', 'نعم صحيح', 'واه صحيح شكرا', 'wakha 3afak', 'ah kolchi mzyan',
    // repeated, stretched
    'oui oui', 'ah ah', 'wakha wakha', 'ouiiii', 'نعم نعم',
    // an emoji, any skin tone, with or without words
    '👍', '👍🏽', '👍👍', '✅', '👌🏿', '✔️', '✔', '🙆‍♀️', '🙆🏻‍♂️', 'oui 👍', 'wakha 👌', '👍 merci',
  ])('%j → yes', (text) => {
    expect(readYesNo(text)).toBe('yes');
  });

  it.each([
    'non', 'non non', 'ah non', "c'est pas ça", 'la la', 'لا', 'ماشي صحيح', 'machi s7i7', 'non merci', 'لا شكرا',
    '👎', '👎🏾', '❌', '✖️', '🙅‍♂️', 'non ❌',
  ])('%j → no', (text) => {
    expect(readYesNo(text)).toBe('no');
  });

  it.each([
    // a yes and a no
    'oui non', "non c'est bon", 'oui 👎', '👍👎', 'iyeh la', 'نعم لا',
    // a yes and a line number (the summary must ask again)
    'oui 3', 'ok 5', 'نعم 2', '👍 3',
    // words that are not a yes or a no
    'oui mais changer le numéro', 'je dis oui', 'merci', "c'est", 'bien', 'peut-être', 'oui et non',
    // emoji that approve of nothing, an empty message
    '🙂', '🙏', '', '   ',
    // too long to be "a short sentence"
    'oui oui oui oui oui oui oui oui oui',
  ])('%j → not read', (text) => {
    expect(readYesNo(text)).toBeUndefined();
  });

  it('never reads a one-letter answer inside a sentence ("o", "n" alone only)', () => {
    expect(readYesNo('o')).toBe('yes');
    expect(readYesNo('n')).toBe('no');
    expect(readYesNo('oui n')).toBeUndefined();
  });
});

describe('the word lists behind it (locales/*/answers.json)', () => {
  const folded = (key: string) => new Set(wordsInAnyLocale(key).map(foldForMatching));

  it('no phrase is both a yes and a no', () => {
    const no = folded('answers.no');
    expect([...folded('answers.yes')].filter((word) => no.has(word))).toEqual([]);
  });

  it('a filler is neither a yes nor a no, and none is a negation that would turn a yes around', () => {
    const yesOrNo = new Set([...folded('answers.yes'), ...folded('answers.no')]);
    const fillers = [...folded('answers.yesNoFillers')];
    expect(fillers.filter((word) => yesOrNo.has(word))).toEqual([]);
    expect(fillers.filter((word) => /\b(pas|ne|n|ma|machi|mashi|la|non)\b|ماشي|لا|ما /.test(word))).toEqual([]);
  });

  it.each(['fr', 'ar'] as const)('%s: the emoji lists hold emoji only, the same in both languages', (locale) => {
    for (const key of ['answers.yesEmoji', 'answers.noEmoji']) {
      const list = words(locale, key);
      expect(list.filter((sign) => hasLetterOrDigit(sign))).toEqual([]);
      expect(list).toEqual(words('fr', key));
    }
  });
});
