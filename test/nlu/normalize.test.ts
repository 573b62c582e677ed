import {
  detectLocale,
  foldForMatching,
  hasLetterOrDigit,
  isEmojiOnly,
  MAX_INPUT_CHARS,
  normalizeDigits,
  normalizeInput,
  stripInvisible,
} from '../../src/nlu/normalize';

describe('normalizeDigits', () => {
  it.each([
    ['Arabic-Indic digits', '٠٦١٢٣٤٥٦٧٨', '0612345678'],
    ['Persian digits', '۱۵/۰۳/۱۹۸۵', '15/03/1985'],
    ['mixed with text', 'رقمي ٠٦ 12', 'رقمي 06 12'],
    ['ASCII unchanged', 'A123456', 'A123456'],
  ])('%s', (_case, input, expected) => {
    expect(normalizeDigits(input)).toBe(expected);
  });
});

describe('stripInvisible', () => {
  it.each([
    ['left-to-right marks WhatsApp puts around numbers', '\u200e0612345678\u200f', '0612345678'],
    ['bidi embeddings and isolates', '\u202bنعم\u202c \u2066oui\u2069', 'نعم oui'],
    ['zero-width space and joiners', 'wa\u200bkha\u200c\u200d', 'wakha'],
    ['byte order mark', '\ufeffoui', 'oui'],
    ['tatweel', 'مـــارس', 'مارس'],
    ['control characters (escape, bell, NUL, C1)', '\u001bAB\u0007123\u0000456\u0085', 'AB123456'],
  ])('removes %s', (_case, input, expected) => {
    expect(stripInvisible(input)).toBe(expected);
  });
});

describe('normalizeInput', () => {
  it.each([
    ['trims and collapses spaces, keeps case', '  Be 123\t456 \n', 'Be 123 456'],
    ['no-break spaces of French typing', 'oui\u00a0!', 'oui !'],
    ['composes accents (NFC)', 'Franc\u0327ais', 'Français'],
    ['digits and marks together', '\u200e١٥/٠٣/١٩٨٥', '15/03/1985'],
  ])('%s', (_case, input, expected) => {
    expect(normalizeInput(input)).toBe(expected);
  });

  it('caps a 5,000-character message before anything reads it', () => {
    expect(normalizeInput('a'.repeat(5000))).toHaveLength(MAX_INPUT_CHARS);
  });

  it('never cuts an emoji in half', () => {
    const text = `${'a'.repeat(MAX_INPUT_CHARS - 1)}👍`;
    expect(normalizeInput(text)).toBe('a'.repeat(MAX_INPUT_CHARS - 1));
  });
});

describe('foldForMatching', () => {
  it.each([
    ['lower case and Latin accents', 'Français DÉCEMBRE', 'francais decembre'],
    ['Arabic harakat and shadda', 'نَعَمْ بَدِّلْ', 'نعم بدل'],
    ['alef variants', 'أ إ آ ٱ', 'ا ا ا ا'],
    ['alef maqsura, teh marbuta, hamza carriers', 'على مساعدة مؤمن قائمة', 'علي مساعده مومن قايمه'],
    ['Arabic punctuation', 'واش؟ لا، شكرا؛', 'واش لا شكرا'],
    ['ASCII punctuation and apostrophes', "D'accord!!! c’est ça.", 'd accord c est ca'],
    ['emoji', 'wakha 👍', 'wakha'],
    ['letters stretched for emphasis', 'Ouiiii wakhaaa لاااا', 'oui wakha لا'],
    ['Arabic-Indic digits and tatweel', 'جـوج ٢', 'جوج 2'],
    ['Arabizi digits kept', '3awd mn lowl', '3awd mn lowl'],
  ])('%s', (_case, input, expected) => {
    expect(foldForMatching(input)).toBe(expected);
  });
});

describe('emoji-only messages', () => {
  it.each([
    ['👍', true],
    ['👍🏽 🙏', true],
    ['👨‍👩‍👧', true],
    ['oui 👍', false],
    ['?', false],
    ['', false],
    ['٣', false],
  ])('isEmojiOnly(%j) is %s', (input, expected) => {
    expect(isEmojiOnly(input)).toBe(expected);
  });

  it.each([
    ['نعم', true],
    ['3', true],
    ['!!!', false],
    ['🙂', false],
  ])('hasLetterOrDigit(%j) is %s', (input, expected) => {
    expect(hasLetterOrDigit(input)).toBe(expected);
  });
});

describe('detectLocale', () => {
  it.each([
    ['Arabic script', 'السلام عليكم', 'ar'],
    ['Darija in Arabic script', 'بغيت نتسجل', 'ar'],
    ['Arabizi greeting', 'salam', 'ar'],
    ['Arabizi sentence', 'slm bghit ntsjel f cnss', 'ar'],
    ['Arabizi digits in words', '3awni 3afak', 'ar'],
    ['French greeting', 'Bonjour', 'fr'],
    ['French sentence', 'je veux m’inscrire à la CNSS', 'fr'],
    ['French accents alone', 'immatriculé', 'fr'],
    ['French ordinal is not Arabizi', 'le 2eme', 'fr'],
    // After an opt-out the conversation is erased: the opt-in word alone tells the language back.
    ['the opt-in word a French opt-out confirmation asks for', 'START', 'fr'],
    ['the opt-in word in Arabizi', 'bda', 'ar'],
  ])('%s → %s', (_case, input, expected) => {
    expect(detectLocale(input)).toBe(expected);
  });

  it.each([
    ['a word both use', 'ok'],
    ['digits only', '0612345678'],
    ['emoji', '👍'],
    ['an unknown word', 'hello'],
    ['empty', ''],
  ])('is unsure for %s', (_case, input) => {
    expect(detectLocale(input)).toBeUndefined();
  });
});
