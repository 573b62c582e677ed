import { words } from '../i18n';
import type { Locale } from '../services/types';

/**
 * Text clean-up shared by every step. Two levels:
 * - `normalizeInput`: what steps work on (document numbers, e-mails, phones keep their case);
 * - `foldForMatching`: a key to compare words with our word lists, spelling noise removed.
 */

/**
 * Longest message we look at. Real answers are short (an e-mail is at most 254 characters); a pasted
 * text or an abusive 5,000-character message is cut first so every later step stays cheap.
 */
export const MAX_INPUT_CHARS = 1000;

// Phones in Morocco offer Arabic-Indic digits (٠-٩) on Arabic keyboards, and Persian-style
// digits (۰-۹) come from some Android keyboards; the recognizers and libphonenumber read ASCII only
// (platform.md §6.2: '٣' is not recognized).
const ARABIC_INDIC_ZERO = 0x0660;
const PERSIAN_ZERO = 0x06f0;

/** Arabic-Indic and Persian digits → ASCII digits. */
export function normalizeDigits(text: string): string {
  return text.replace(/[\u0660-\u0669\u06f0-\u06f9]/g, (digit) => {
    const code = digit.charCodeAt(0);
    const zero = code >= PERSIAN_ZERO ? PERSIAN_ZERO : ARABIC_INDIC_ZERO;
    return String(code - zero);
  });
}

// Bidi controls are inserted by keyboards and by copy-paste between Arabic and Latin text
// (WhatsApp adds U+200E/U+200F around numbers); zero-width characters and the BOM ride along;
// tatweel (ـ) only stretches a word for looks ("مـــارس"). Control characters (other than the
// white space that \s folds) are typing or copy-paste noise, and XML cannot carry them.
const INVISIBLE =
  // eslint-disable-next-line no-control-regex
  /[\u0000-\u0008\u000e-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\u061c\u00ad\ufeff\u0640]/g;

/** Removes control characters, bidi marks, zero-width characters, BOM, soft hyphen and tatweel. */
export function stripInvisible(text: string): string {
  return text.replace(INVISIBLE, '');
}

function capLength(text: string): string {
  if (text.length <= MAX_INPUT_CHARS) return text;
  const cut = text.slice(0, MAX_INPUT_CHARS);
  // Never leave half of a surrogate pair (an emoji) at the end.
  return /[\ud800-\udbff]$/.test(cut) ? cut.slice(0, -1) : cut;
}

/** The text steps work on: length capped, ASCII digits, no invisible marks, NFC, single spaces, trimmed. Case kept. */
export function normalizeInput(text: string): string {
  return stripInvisible(normalizeDigits(capLength(text)))
    .normalize('NFC')
    .replace(/\s+/g, ' ')
    .trim();
}

// Letters that Arabic keyboards of neighbouring countries type for the same sound (Persian yeh
// and kaf), and spelling variants people mix freely in chat: any alef → ا, ى → ي, ة → ه.
// أ إ آ ؤ ئ decompose under NFD into a base letter and a hamza/madda mark, removed with the marks.
const ARABIC_LETTER_VARIANTS: Record<string, string> = {
  'ٱ': 'ا',
  'ى': 'ي',
  'ی': 'ي',
  'ة': 'ه',
  'ک': 'ك',
};

/**
 * A comparison key: normalized input, lower case, no Latin accents, no Arabic diacritics,
 * one alef, punctuation and symbols (emoji too) as spaces, letters stretched for emphasis
 * ("wakhaaa", "ouiiii", "لاااا") shortened to one.
 */
export function foldForMatching(text: string): string {
  return (
    normalizeInput(text)
      .toLowerCase()
      .normalize('NFD')
      // Combining marks: Latin accents, Arabic harakat, shadda, hamza above/below, madda.
      .replace(/\p{M}/gu, '')
      .replace(/[ٱىیةک]/g, (letter) => ARABIC_LETTER_VARIANTS[letter] ?? letter)
      // ASCII and Arabic punctuation (، ؟ ؛), quotes, dashes, symbols and emoji.
      .replace(/[\p{P}\p{S}]/gu, ' ')
      .replace(/(\p{L})\1{2,}/gu, '$1')
      .replace(/\s+/g, ' ')
      .trim()
  );
}

/** Whether the text holds at least one letter or digit (of any script). */
export function hasLetterOrDigit(text: string): boolean {
  return /[\p{L}\p{N}]/u.test(text);
}

/**
 * A message with no letter or digit at all: emoji, punctuation, symbols ("👍", "🙏🙏", "...", "✔️").
 * It answers no question with words; a yes/no question may still read an approving emoji.
 */
export function isSymbolsOnly(text: string): boolean {
  const clean = normalizeInput(text);
  return clean !== '' && !hasLetterOrDigit(clean);
}

/** A message made only of emoji (and spaces or joiners), such as a 👍 sent instead of an answer. */
export function isEmojiOnly(text: string): boolean {
  const clean = normalizeInput(text);
  return clean !== '' && !hasLetterOrDigit(clean) && /\p{Extended_Pictographic}/u.test(clean);
}

const ARABIC_LETTER = /(?=\p{Script=Arabic})\p{L}/u;
const LATIN_LETTER = /\p{Script=Latin}/u;
// Letters with accents French uses and Latin-script Darija does not.
const FRENCH_ACCENT = /[àâçéèêëîïôûùüÿœæ]/i;
// Arabizi writes ع ح ق ء خ with 3 7 9 2 5 inside words ("3awni", "ma3ndich", "sa7bi").
const ARABIZI_WORD = /^(?=.*[a-z])(?=.*[23579])[a-z0-9]+$/;
// …but "2eme", "1er", "3e" are French ordinals.
const FRENCH_ORDINAL = /^\d+(er|re|ere|e|eme|em|nd|nde)$/;

type HintSets = Record<Locale, Set<string>>;
let hintSets: HintSets | undefined;

function latinHintWords(locale: Locale): Set<string> {
  // The opt-in words too: a French user told "Écrivez START pour revenir" must come back in French.
  const lists = ['answers.localeHints', 'answers.yes', 'answers.no', 'answers.optIn'].map((key) => words(locale, key));
  const set = new Set<string>();
  for (const entry of lists.flat()) {
    const folded = foldForMatching(entry);
    if (folded && !folded.includes(' ') && !ARABIC_LETTER.test(folded)) set.add(folded);
  }
  return set;
}

function loadHintSets(): HintSets {
  if (!hintSets) {
    const ar = latinHintWords('ar');
    const fr = latinHintWords('fr');
    // A word both languages use ("ok", "la") tells nothing.
    for (const word of [...ar]) {
      if (fr.has(word)) {
        ar.delete(word);
        fr.delete(word);
      }
    }
    hintSets = { ar, fr };
  }
  return hintSets;
}

/**
 * Guesses the language of a message: Arabic script → Arabic; Latin text → French or Darija in
 * Latin letters (Arabizi), by accents, Arabizi digits and known words. Undefined when unsure.
 */
export function detectLocale(text: string): Locale | undefined {
  const clean = normalizeInput(text);
  if (ARABIC_LETTER.test(clean)) return 'ar';
  if (!LATIN_LETTER.test(clean)) return undefined;
  let fr = FRENCH_ACCENT.test(clean) ? 1 : 0;
  let ar = 0;
  const hints = loadHintSets();
  for (const token of foldForMatching(clean).split(' ')) {
    if (hints.fr.has(token)) fr += 1;
    else if (hints.ar.has(token)) ar += 1;
    else if (ARABIZI_WORD.test(token) && !FRENCH_ORDINAL.test(token)) ar += 1;
  }
  if (fr > ar) return 'fr';
  if (ar > fr) return 'ar';
  return undefined;
}
