import { hasKey, LOCALES } from '../../src/i18n';
import {
  validateBirthDate,
  validateDocumentNumber,
  validateEmail,
  validateExpiryDate,
  validateOtpFormat,
  validatePhone,
} from '../../src/validation/fields';

const TODAY = '2026-11-25';

describe('validateDocumentNumber', () => {
  it.each([
    ['CNIE', 'BE123456', 'BE123456'],
    ['CNIE', 'be 123 456', 'BE123456'],
    ['CNIE', 'BE-123-456', 'BE123456'],
    ['CNIE', 'a.123.456', 'A123456'],
    ['CNIE', 'K45678', 'K45678'],
    ['CNIE', 'AB123', 'AB123'],
    ['CNIE', '\u200eBE123456\u200f', 'BE123456'],
    ['CNIE', 'BE١٢٣٤٥٦', 'BE123456'],
    ['CARTE_SEJOUR', 'E1234567', 'E1234567'],
    ['CARTE_SEJOUR', 'ab 12345678', 'AB12345678'],
    ['CNIE', 'ma carte est BE123456', 'BE123456'],
    ['CNIE', 'CIN : BE123456', 'BE123456'],
    ['CNIE', 'N° BE 123 456', 'BE123456'],
    ['CNIE', 'رقم البطاقة BE123456', 'BE123456'],
  ] as const)('%s %j → %s', (idType, text, value) => {
    expect(validateDocumentNumber(text, idType)).toEqual({ ok: true, value });
  });

  it.each([
    ['CNIE', '', 'empty'],
    ['CNIE', ' - ', 'empty'],
    ['CNIE', 'BE1234567890', 'tooLong'],
    ['CNIE', 'BE123456 ou BE654321', 'tooLong'],
    ['CARTE_SEJOUR', 'AB123456789', 'tooLong'],
    ['CNIE', '123456', 'onlyDigits'],
    ['CARTE_SEJOUR', '1234567', 'onlyDigits'],
    ['CNIE', 'ABC12345', 'patternCnie'],
    ['CNIE', 'BE12', 'patternCnie'],
    ['CNIE', '12BE3456', 'patternCnie'],
    ['CNIE', 'BE12345678', 'tooLong'],
    ['CNIE', 'ب123456', 'patternCnie'],
    ['CARTE_SEJOUR', 'E123', 'patternResidenceCard'],
    ['CARTE_SEJOUR', 'ABC1234', 'patternResidenceCard'],
  ] as const)('%s %j → %s', (idType, text, error) => {
    expect(validateDocumentNumber(text, idType)).toEqual({ ok: false, error });
  });
});

describe('validateExpiryDate (today is 25/11/2026)', () => {
  it.each([
    ['15/03/2031', '2031-03-15'],
    ['25/11/2026', '2026-11-25'],
    ['15/03/31', '2031-03-15'],
    ['15 غشت 2030', '2030-08-15'],
    ['25/11/2046', '2046-11-25'],
  ])('%j → %s', (text, value) => {
    expect(validateExpiryDate(text, TODAY)).toEqual({ ok: true, value, confirm: false });
  });

  it.each([
    ['', 'empty'],
    ['bientôt', 'unreadable'],
    ['31/02/2030', 'impossible'],
    ['15/03', 'missingYear'],
    ['24/11/2026', 'past'],
    ['15/03/2020', 'past'],
    ['26/11/2046', 'tooFar'],
    ['15/03/2062', 'tooFar'],
  ])('%j → %s', (text, error) => {
    expect(validateExpiryDate(text, TODAY)).toEqual({ ok: false, error });
  });
});

describe('validateBirthDate (today is 25/11/2026)', () => {
  it.each([
    ['15/03/1985', '1985-03-15', false],
    ['15/03/85', '1985-03-15', false],
    ['25/11/2011', '2011-11-25', false],
    ['25/11/1916', '1916-11-25', false],
    ['01/01/25', '1925-01-01', true],
  ])('%j → %s (confirm: %s)', (text, value, confirm) => {
    expect(validateBirthDate(text, TODAY)).toEqual({ ok: true, value, confirm });
  });

  it.each([
    ['', 'empty'],
    ['je sais pas', 'unreadable'],
    ['30/02/1985', 'impossible'],
    ['15 mars', 'missingYear'],
    ['26/11/2026', 'future'],
    ['15/03/2030', 'future'],
    ['26/11/2011', 'tooYoung'],
    ['15/03/2020', 'tooYoung'],
    ['25/11/1915', 'tooOld'],
    ['15/03/1900', 'tooOld'],
  ])('%j → %s', (text, error) => {
    expect(validateBirthDate(text, TODAY)).toEqual({ ok: false, error });
  });

  it('must come before the document expiry date', () => {
    expect(validateBirthDate('15/03/1985', TODAY, '1985-03-15')).toEqual({ ok: false, error: 'afterExpiry' });
    expect(validateBirthDate('15/03/1985', TODAY, '2031-03-15')).toEqual({ ok: true, value: '1985-03-15', confirm: false });
  });
});

describe('validatePhone', () => {
  it.each(['06 12 34 56 78', '+212612345678', 'whatsapp:+212612345678', '٠٦١٢٣٤٥٦٧٨'])('%j', (text) => {
    expect(validatePhone(text)).toEqual({ ok: true, value: { e164: '+212612345678', national: '0612345678' } });
  });

  it.each([
    ['', 'empty'],
    ['abc', 'unreadable'],
    ['+33612345678', 'notMoroccan'],
    ['0522123456', 'notMobile'],
  ])('%j → %s', (text, error) => {
    expect(validatePhone(text)).toEqual({ ok: false, error });
  });
});

describe('validateEmail', () => {
  it.each([
    ['nom@gmail.com', 'nom@gmail.com'],
    ['  Nom.Prenom@Gmail.COM ', 'nom.prenom@gmail.com'],
    ['mon email est nom@gmail.com.', 'nom@gmail.com'],
    ['mailto:nom@example.ma', 'nom@example.ma'],
  ])('%j → %s', (text, value) => {
    expect(validateEmail(text)).toEqual({ ok: true, value });
  });

  it.each([
    'passer', 'Non', 'aucun', "pas d'email", 'rien', 'skip',
    'دوز', 'ماعنديش', 'ماعنديش إيميل', 'لا يوجد', 'لا', 'ma3ndich', 'douz', 'zid', 'makaynch',
  ])('%j means no e-mail', (text) => {
    expect(validateEmail(text)).toEqual({ ok: true, value: null });
  });

  it.each([
    ['', 'empty'],
    ['nom@', 'invalid'],
    ['nom gmail.com', 'invalid'],
    ['nom@gmail', 'invalid'],
    ['a@b.com ou c@d.com', 'invalid'],
    [`${'a'.repeat(250)}@gmail.com`, 'tooLong'],
  ])('%j → %s', (text, error) => {
    expect(validateEmail(text)).toEqual({ ok: false, error });
  });
});

describe('validateOtpFormat', () => {
  it.each([
    ['123456', '123456'],
    ['123 456', '123456'],
    ['١٢٣٤٥٦', '123456'],
  ])('%j → %s', (text, value) => {
    expect(validateOtpFormat(text, 6)).toEqual({ ok: true, value });
  });

  it.each([
    ['', 'empty'],
    ['12345', 'format'],
    ['12345a', 'format'],
  ])('%j → %s', (text, error) => {
    expect(validateOtpFormat(text, 6)).toEqual({ ok: false, error });
  });
});

describe('every error code has a message in every locale', () => {
  const codes: Record<string, string[]> = {
    documentNumber: ['empty', 'tooLong', 'onlyDigits', 'patternCnie', 'patternResidenceCard'],
    expiryDate: ['empty', 'unreadable', 'impossible', 'missingYear', 'past', 'tooFar', 'beforeBirth'],
    birthDate: ['empty', 'unreadable', 'impossible', 'missingYear', 'future', 'tooYoung', 'tooOld', 'afterExpiry'],
    phone: ['empty', 'unreadable', 'notMoroccan', 'notMobile'],
    email: ['empty', 'tooLong', 'invalid'],
    otp: ['empty', 'format'],
    documentType: ['unknown'],
    operator: ['unknown'],
    choice: ['unknown', 'unknownPaged'],
    yesNo: ['unknown'],
    city: ['unknown'],
    confirmDate: ['unknown'],
  };
  const keys = Object.entries(codes).flatMap(([field, list]) => list.map((code) => `errors.${field}.${code}`));
  it.each(LOCALES.flatMap((locale) => keys.map((key) => [locale, key] as const)))('%s %s', (locale, key) => {
    expect(hasKey(locale, key)).toBe(true);
  });
});
