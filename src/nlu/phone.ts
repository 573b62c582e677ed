import { parsePhoneNumberFromString } from 'libphonenumber-js/max';
import { normalizeInput } from './normalize';

export type PhoneParseResult =
  | { ok: true; e164: string; national: string }
  | { ok: false; error: 'unreadable' | 'notMoroccan' | 'notMobile' | 'wrongLength' };

const MOROCCO_CALLING_CODE = '212';
// Moroccan mobiles are 06… and 07… (domain.md §6). libphonenumber's "max" metadata also checks
// which blocks are allocated, and lags behind ANRT's new 07 blocks: a number with this shape is
// accepted as mobile even when the metadata does not know its block yet; the SMS code proves it.
const MOROCCAN_MOBILE_NSN = /^[67]\d{8}$/;

// Channel prefixes: Twilio sends WhatsApp senders as "whatsapp:+212…" (platform.md §4.1).
const CHANNEL_PREFIX = /^(whatsapp|tel|sms)\s*:\s*/i;

/** The digits of a phone answer, with a leading + and the common ways of writing 212 made uniform. */
function phoneDigits(text: string): string | undefined {
  const clean = normalizeInput(text).replace(CHANNEL_PREFIX, '');
  // "mon numéro est 06 12 34 56 78", "رقمي 0612345678": keep digits and one leading +.
  const plus = /^[^\d]*\+/.test(clean);
  const digits = clean.replace(/\D/g, '');
  if (!digits) return undefined;
  // 00212… is the international prefix dialled from Morocco; 212… is the same without it.
  if (digits.startsWith('00')) return `+${digits.slice(2)}`;
  if (plus) return `+${digits}`;
  if (digits.startsWith(MOROCCO_CALLING_CODE) && digits.length === 12) return `+${digits}`;
  return digits;
}

/** Reads a Moroccan mobile number written in any of the usual ways. */
export function parseMoroccanMobile(text: string): PhoneParseResult {
  let digits = phoneDigits(text);
  if (!digits) return { ok: false, error: 'unreadable' };
  // A mobile with a digit missing or one too many (061234567): say that, not "not a mobile".
  const local = digits.replace(/^\+2120?/, '0');
  if (/^0[67]\d*$/.test(local) && local.length !== 10 && Math.abs(local.length - 10) <= 2) return { ok: false, error: 'wrongLength' };
  // People keep the trunk 0 after the country code: +212 06 12 34 56 78.
  digits = digits.replace(/^\+2120(?=\d{9}$)/, '+212');
  const phone = parsePhoneNumberFromString(digits, 'MA');
  if (!phone) return { ok: false, error: 'unreadable' };
  if (phone.countryCallingCode !== MOROCCO_CALLING_CODE) {
    return { ok: false, error: 'notMoroccan' };
  }
  const nsn = phone.nationalNumber;
  if (nsn.length !== 9) return { ok: false, error: 'unreadable' };
  const type = phone.isValid() ? phone.getType() : undefined;
  const mobile = type === 'MOBILE' || MOROCCAN_MOBILE_NSN.test(nsn);
  if (!mobile) return { ok: false, error: 'notMobile' };
  return { ok: true, e164: `+${MOROCCO_CALLING_CODE}${nsn}`, national: `0${nsn}` };
}

// ASCII 'x', not '•' or '*': a bullet makes a French SMS UCS-2 (half the characters per segment,
// DESIGN §1) and '*' is bold markup on WhatsApp.
const MASK = 'x';

/**
 * A phone number with only its last 2 digits visible, for chat and logs: "06xx xx xx 78" for a
 * Moroccan number, "+33xxxxxxx78" otherwise.
 */
export function maskPhone(phone: string): string {
  const parsed = parseMoroccanMobile(phone);
  if (parsed.ok) {
    const { national } = parsed;
    return `${national.slice(0, 2)}${MASK.repeat(2)} ${MASK.repeat(2)} ${MASK.repeat(2)} ${national.slice(-2)}`;
  }
  const digits = phoneDigits(phone) ?? '';
  const bare = digits.replace(/^\+/, '');
  // The country code tells where a foreign number is from without identifying anyone.
  const showCountry = digits.startsWith('+') && bare.length >= 8;
  const country = showCountry ? bare.slice(0, 2) : '';
  const hidden = Math.max(bare.length - country.length - 2, 0);
  return `${showCountry ? '+' : ''}${country}${MASK.repeat(hidden)}${bare.slice(-2)}`;
}
