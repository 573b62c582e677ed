import {
  GSM7_PART,
  GSM7_SINGLE,
  SMS_BODY_MAX,
  UCS2_PART,
  UCS2_SINGLE,
  countSmsSegments,
  isGsm7,
  toGsm7French,
} from '../../src/channels/sms/encoding';
import { loadCatalogue } from '../../src/i18n';

describe('SMS limits (Twilio international SMS guide, error 21617)', () => {
  it('are the GSM-7 and UCS-2 single and per-part sizes, and the 1,600-character body', () => {
    expect([GSM7_SINGLE, GSM7_PART, UCS2_SINGLE, UCS2_PART, SMS_BODY_MAX]).toEqual([160, 153, 70, 67, 1600]);
  });
});

describe('isGsm7', () => {
  it.each([
    ['Écrivez votre date : 15/03/1985', true],
    ['é è ù à ì ò É Ä Ö Ñ Ü ä ö ñ ü', true],
    ['€ [ ] { } ^ ~ | \\', true],
    ['', true],
    ['ça', false],
    ['fenêtre', false],
    ['c’est', false],
    ['« oui »', false],
    ['اكتب', false],
    ['ok 👍', false],
    ['`', false],
  ])('%j → %s', (text, expected) => {
    expect(isGsm7(text)).toBe(expected);
  });
});

describe('countSmsSegments', () => {
  const gsm = (n: number) => 'a'.repeat(n);
  const arabic = (n: number) => 'ب'.repeat(n);

  it.each([
    ['GSM-7, 160: one SMS', gsm(160), 'GSM-7', 160, 1],
    ['GSM-7, 161: two parts of 153', gsm(161), 'GSM-7', 161, 2],
    ['GSM-7, 306: two full parts', gsm(306), 'GSM-7', 306, 2],
    ['GSM-7, 307: three parts', gsm(307), 'GSM-7', 307, 3],
    ['UCS-2, 70: one SMS', arabic(70), 'UCS-2', 70, 1],
    ['UCS-2, 71: two parts of 67', arabic(71), 'UCS-2', 71, 2],
    ['UCS-2, 134: two full parts', arabic(134), 'UCS-2', 134, 2],
    ['UCS-2, 135: three parts', arabic(135), 'UCS-2', 135, 3],
    ['one Arabic letter makes French UCS-2', `${gsm(69)}ب`, 'UCS-2', 70, 1],
    ['one ç makes French UCS-2', `${gsm(70)}ç`, 'UCS-2', 71, 2],
    ['€ counts 2 septets', `${gsm(158)}€`, 'GSM-7', 160, 1],
    ['€ tips 159 characters over one SMS', `${gsm(159)}€`, 'GSM-7', 161, 2],
    ['[ and ] count 2 each', '[ok]', 'GSM-7', 6, 1],
    ['an emoji is 2 UTF-16 units', '👍', 'UCS-2', 2, 1],
    ['35 emoji fill one UCS-2 SMS', '👍'.repeat(35), 'UCS-2', 70, 1],
    ['empty text still travels as one SMS', '', 'GSM-7', 0, 1],
  ])('%s', (_case, text, encoding, characters, segments) => {
    expect(countSmsSegments(text)).toEqual({ encoding, characters, segments });
  });

  it('never cuts an extension character between two parts', () => {
    // 152 septets then € (ESC + e): the pair does not fit the first part's 153, so it opens the second.
    expect(countSmsSegments(`${gsm(152)}€${gsm(152)}`)).toEqual({ encoding: 'GSM-7', characters: 306, segments: 3 });
    expect(countSmsSegments(`${gsm(151)}€${gsm(153)}`)).toEqual({ encoding: 'GSM-7', characters: 306, segments: 2 });
  });

  it('never cuts a surrogate pair between two parts', () => {
    expect(countSmsSegments(`${arabic(66)}👍${arabic(66)}`)).toEqual({ encoding: 'UCS-2', characters: 134, segments: 3 });
    expect(countSmsSegments(`${arabic(65)}👍${arabic(67)}`)).toEqual({ encoding: 'UCS-2', characters: 134, segments: 2 });
  });
});

describe('toGsm7French', () => {
  it.each([
    ['c’est l‘heure', "c'est l'heure"],
    ['“oui” ou «\u00a0non\u00a0»', '"oui" ou "non"'],
    ['écrivez « renvoyer »', 'écrivez "renvoyer"'],
    ['9 h – 17 h — sauf le dimanche', '9 h - 17 h - sauf le dimanche'],
    ['Patientez…', 'Patientez...'],
    ['Date\u00a0: 15/03/1985\u202f!', 'Date : 15/03/1985 !'],
    ['Ça, ça', 'Ca, ca'],
    ['âge, fenêtre, île, hôtel, sûr', 'age, fenetre, ile, hotel, sur'],
    ['Noël, naïf', 'Noel, naif'],
    ['ÂÊÎÔÛËÏ', 'AEIOUEI'],
    ['• Formulaire', '- Formulaire'],
    ['cœur, Œuvre', 'coeur, OEuvre'],
    ['n° 3', 'no 3'],
    ['é è ù à ì ò É Ä Ö Ñ Ü ä ö ñ ü', 'é è ù à ì ò É Ä Ö Ñ Ü ä ö ñ ü'],
    ['À bientôt, Èva', 'A bientot, Eva'],
    ['José Martí', 'José Marti'],
    ['merci 👍', 'merci '],
    ['a\u200bb\ufeff', 'ab'],
  ])('%j → %j', (text, expected) => {
    expect(toGsm7French(text)).toBe(expected);
    expect(isGsm7(toGsm7French(text))).toBe(true);
  });

  it('drops no character of the French catalogue (Arabic-script words aside)', () => {
    // Emoji accepted as a yes or a no are read from workers, never sent to them.
    const sent = [...loadCatalogue('fr').entries()].filter(([key]) => !/^answers\.\w+Emoji$/.test(key)).map(([, value]) => value);
    const french = sent.flat().join('\n').replace(/\p{Script=Arabic}/gu, '');
    const dropped = [...new Set(french)].filter((char) => toGsm7French(char) === '');
    expect(dropped).toEqual([]);
  });
});
