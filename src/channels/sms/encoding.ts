/**
 * SMS encoding and segment arithmetic (3GPP TS 23.038, GSM 03.38). Channel-neutral: Twilio and an
 * operator SMPP gateway (Kannel) bill and split the same way, so nothing here knows Twilio.
 *
 * Sources: Twilio, "Sending international SMS" (platform.md §4.6,
 * https://static0.twilio.com/docs/messaging/guides/sending-international-sms-guide): any character
 * outside GSM-7 switches the whole message to UCS-2; GSM-7 160 characters single / 153 per part,
 * UCS-2 70 / 67 (a 6-byte concatenation header in every part). Twilio error 21617
 * (https://twilio.com/docs/api/errors/21617): a Body over 1,600 characters is refused.
 */

/** One GSM-7 SMS: 140 bytes of 7-bit characters. */
export const GSM7_SINGLE = 160;
/** One part of a concatenated GSM-7 SMS: 7 septets go to the concatenation header. */
export const GSM7_PART = 153;
/** One UCS-2 SMS: 140 bytes of 16-bit units (Arabic is always UCS-2). */
export const UCS2_SINGLE = 70;
/** One part of a concatenated UCS-2 SMS: 3 units go to the concatenation header. */
export const UCS2_PART = 67;
/** Twilio refuses a longer Body (error 21617); an SMPP gateway splits at most as much. */
export const SMS_BODY_MAX = 1600;

/**
 * The GSM 03.38 default alphabet, in table order. Position 0x09 is "Ç" in the current standard but
 * was "ç" in early editions, and handsets still disagree: toGsm7French never relies on it.
 */
const GSM7_BASIC =
  '@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ' + // 0x00–0x1A (0x1B is the escape to the extension table)
  'ÆæßÉ' +
  ' !"#¤%&\'()*+,-./0123456789:;<=>?' +
  '¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§' +
  '¿abcdefghijklmnopqrstuvwxyzäöñüà';

/** The extension table: each of these is sent as ESC + character, so it costs 2 septets. */
const GSM7_EXTENSION = '\f^{}\\[~]|€';

const BASIC = new Set(GSM7_BASIC);
const EXTENSION = new Set(GSM7_EXTENSION);

export type SmsEncoding = 'GSM-7' | 'UCS-2';

export interface SmsSegments {
  encoding: SmsEncoding;
  /** What the limits count: septets for GSM-7 (extension characters 2), UTF-16 code units for UCS-2. */
  characters: number;
  segments: number;
}

/** True when every character of `text` can be sent in the GSM-7 alphabet (basic or extension). */
export function isGsm7(text: string): boolean {
  for (const char of text) if (!BASIC.has(char) && !EXTENSION.has(char)) return false;
  return true;
}

/**
 * How many SMS `text` costs. Parts are filled the way the network splits: an extension character
 * (ESC + character) or a UTF-16 surrogate pair (an emoji) is never cut between two parts, so a
 * part may hold one unit less than GSM7_PART / UCS2_PART (Twilio's message-segment-calculator
 * builds segments the same way).
 *
 * Empty text counts as 1 segment: a message with no text still travels as one SMS, and a budget
 * check should never treat a send as free.
 */
export function countSmsSegments(text: string): SmsSegments {
  const encoding: SmsEncoding = isGsm7(text) ? 'GSM-7' : 'UCS-2';
  // The cost of each indivisible character in the units the limits count.
  const costs =
    encoding === 'GSM-7'
      ? [...text].map((char) => (EXTENSION.has(char) ? 2 : 1))
      : [...text].map((char) => char.length); // a code point is 1 or 2 UTF-16 units
  const characters = costs.reduce((sum, cost) => sum + cost, 0);
  const [single, part] = encoding === 'GSM-7' ? [GSM7_SINGLE, GSM7_PART] : [UCS2_SINGLE, UCS2_PART];
  if (characters <= single) return { encoding, characters, segments: 1 };

  let segments = 1;
  let used = 0;
  for (const cost of costs) {
    if (used + cost > part) {
      segments += 1;
      used = 0;
    }
    used += cost;
  }
  return { encoding, characters, segments };
}

/**
 * French typography and letters outside GSM-7, with the closest GSM-7 spelling. One of them in a
 * French SMS would make the whole message UCS-2: 70 characters a segment instead of 160
 * (platform.md §4.6 lists ç â ê î ô û ë ï and ’ as the usual culprits). Twilio's Smart Encoding
 * does the like for punctuation, but only on a Twilio Messaging Service; an SMPP route needs ours.
 * Guillemets « » ‹ › are handled apart, with the spaces they carry in French.
 */
const FRENCH_TO_GSM7 = new Map<string, string>(Object.entries({
  // Quotes: typographic apostrophes and quotation marks.
  '\u2019': "'", // ’
  '\u2018': "'", // ‘
  '\u201A': "'", // ‚
  '\u201B': "'", // ‛
  '\u2032': "'", // ′
  '\u00B4': "'", // ´
  '`': "'", // the grave accent is ASCII but not GSM-7
  '\u201C': '"', // “
  '\u201D': '"', // ”
  '\u201E': '"', // „
  '\u201F': '"', // ‟
  '\u2033': '"', // ″
  // Dashes, bullets, ellipsis.
  '\u2010': '-', // ‐
  '\u2011': '-', // non-breaking hyphen
  '\u2012': '-', // ‒
  '\u2013': '-', // –
  '\u2014': '-', // —
  '\u2015': '-', // ―
  '\u2212': '-', // minus sign
  '\u2022': '-', // •
  '\u00B7': '-', // · (middle dot, used as a separator)
  '\u2026': '...', // …
  // Letters: French accents that GSM-7 lacks (é è ù à and É are in it and stay).
  'ç': 'c',
  'Ç': 'C', // in GSM-7 at 0x09, but shown as "ç" or "Ç" depending on the handset
  'â': 'a',
  'ê': 'e',
  'î': 'i',
  'ô': 'o',
  'û': 'u',
  'ë': 'e',
  'ï': 'i',
  'ÿ': 'y',
  'Â': 'A',
  'Ê': 'E',
  'Î': 'I',
  'Ô': 'O',
  'Û': 'U',
  'Ë': 'E',
  'Ï': 'I',
  'Ÿ': 'Y',
  'À': 'A',
  'È': 'E',
  'Ù': 'U',
  'œ': 'oe',
  'Œ': 'OE',
  // Symbols.
  '\u00B0': 'o', // "n°" → "no", the French abbreviation without the degree sign
  '\u2116': 'No', // №
  '\t': ' ',
}));

/** Non-breaking, narrow and other typographic spaces (French puts one before : ; ? !). */
const SPACES = /[\u00A0\u2000-\u200A\u202F\u205F\u3000]/g;
/** Invisible characters that would still force UCS-2. */
const INVISIBLE = /[\u200B-\u200D\u2060\uFEFF]/g;
/** Combining accents left after NFD decomposition (á → a + ´). */
const COMBINING_MARKS = /\p{M}+/gu;

/**
 * French text in the GSM-7 alphabet, so a French SMS costs 160/153 characters a segment and not
 * 70/67. Typographic quotes become ' and ", « mot » becomes "mot", dashes and bullets -, … ...,
 * special spaces a space; ç â ê î ô û ë ï lose their accent; é è ù à É Ä Ö Ñ Ü ä ö ñ ü are GSM-7
 * and stay. Anything else outside GSM-7 becomes its unaccented letter, or is removed (an emoji, a
 * letter of another script): callers keep other scripts out of French SMS copy.
 */
export function toGsm7French(text: string): string {
  const spaced = text
    .normalize('NFC')
    .replace(SPACES, ' ')
    .replace(INVISIBLE, '')
    // French guillemets enclose their word with spaces: « renvoyer » → "renvoyer".
    .replace(/[«‹] ?/g, '"')
    .replace(/ ?[»›]/g, '"');
  let out = '';
  for (const char of spaced) {
    // The table first: it also replaces Ç, which is GSM-7 but ambiguous on handsets.
    const replacement = FRENCH_TO_GSM7.get(char);
    if (replacement !== undefined) out += replacement;
    else if (BASIC.has(char) || EXTENSION.has(char)) out += char;
    else out += closestGsm7(char);
  }
  return out;
}

/** The character without its accents if that is GSM-7 (á → a, Å stays), else nothing. */
function closestGsm7(char: string): string {
  const bare = char.normalize('NFD').replace(COMBINING_MARKS, '');
  return bare && isGsm7(bare) ? bare : '';
}
