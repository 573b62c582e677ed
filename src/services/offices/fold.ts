/**
 * Folding of place names, so "Fès", "FES", "fes", "فاس" and "el-Jadida" / "الجديدة" / "ljadida"
 * compare equal to an alias however they were typed on a phone keyboard.
 */

const ARABIC_LETTER_VARIANTS: Record<string, string> = {
  // Alef wasla; alef maksura and Persian yeh typed for yeh; teh marbuta often typed as heh.
  'ٱ': 'ا',
  'ى': 'ي',
  'ی': 'ي',
  'ة': 'ه',
  // Moroccan spellings write /g/ as گ or ڭ (أگادير, خريبگة) where others write ك.
  'گ': 'ك',
  'ڭ': 'ك',
  'ک': 'ك',
  'ڤ': 'ف',
};
const ARABIC_VARIANT_PATTERN = new RegExp(`[${Object.keys(ARABIC_LETTER_VARIANTS).join('')}]`, 'g');

// After NFD, hamza and madda on alef/waw/yeh become combining marks (U+0653-0655) and go with the
// short vowels (U+064B-065F, U+0670); standalone hamza (ء) and tatweel (ـ) are often left out.
const ARABIC_MARKS = /[\u064B-\u065F\u0670\u0621\u0640]/g;
const LATIN_MARKS = /[\u0300-\u036F]/g;

/** Lower case, no accents or Arabic marks, one spelling per Arabic letter; words split on anything else. */
export function foldWords(text: string): string[] {
  const folded = text
    .normalize('NFD')
    .replace(LATIN_MARKS, '')
    .replace(ARABIC_MARKS, '')
    .replace(ARABIC_VARIANT_PATTERN, (letter) => ARABIC_LETTER_VARIANTS[letter] ?? letter)
    .toLowerCase()
    .replace(/œ/g, 'oe')
    .replace(/æ/g, 'ae');
  return folded
    .split(/[^\p{L}\p{N}]+/u)
    .filter((word) => word !== '')
    .map(withoutArticle)
    .filter((word) => word !== '');
}

const LATIN_ARTICLES = ['al', 'el', 'l'];
// A consonant (Arabizi digits included: 3 = ع, 7 = ح, 9 = ق); not "l", so "allal" keeps its article-like start.
const STARTS_WITH_CONSONANT = /^[bcdfghjkmnpqrstvwxz2-9]/;
// "in/and the …": بالرباط, فالرباط (Darija "f"), والرباط.
const ARABIC_PREFIXED_ARTICLE = /^[بفو]ال/;

/**
 * The definite article is optional: people write "dar el beida", "dar lbida", "الدار البيضاء" and
 * "البيضاء", or "Jadida" for "El Jadida". Darija glues "l" to the noun ("lqnitra", "ljadida"), so
 * a leading l/el/al before a consonant goes too; "Larache" and "Laayoune" keep theirs (a vowel
 * follows).
 */
function withoutArticle(word: string): string {
  if (LATIN_ARTICLES.includes(word)) return '';
  if (ARABIC_PREFIXED_ARTICLE.test(word) && word.length >= 5) return word.slice(3);
  if (word.startsWith('ال') && word.length >= 4) return word.slice(2);
  for (const article of LATIN_ARTICLES) {
    const rest = word.slice(article.length);
    if (word.startsWith(article) && rest.length >= 4 && STARTS_WITH_CONSONANT.test(rest)) return rest;
  }
  return word;
}

/** The comparison key of a name: its folded words, joined without spaces ("Dar el Beida" → "darbeida"). */
export function foldKey(text: string): string {
  return foldWords(text).join('');
}
