import { maskPhone, parseMoroccanMobile } from '../../src/nlu/phone';

describe('parseMoroccanMobile accepts the ways Moroccans write a mobile number', () => {
  it.each([
    '0612345678',
    '06 12 34 56 78',
    '06-12-34-56-78',
    '06.12.34.56.78',
    '+212612345678',
    '+212 6 12 34 56 78',
    '+212 (0)6 12 34 56 78',
    '+212 06 12 34 56 78',
    '00212612345678',
    '00 212 6 12 34 56 78',
    '212612345678',
    '612345678',
    '٠٦١٢٣٤٥٦٧٨',
    '۰۶۱۲۳۴۵۶۷۸',
    'whatsapp:+212612345678',
    '\u200e+212 612-345678\u200f',
    'mon numéro est le 06 12 34 56 78',
    'رقمي 0612345678',
  ])('%j', (text) => {
    expect(parseMoroccanMobile(text)).toEqual({ ok: true, e164: '+212612345678', national: '0612345678' });
  });

  it.each([
    ['0712345678', '+212712345678'],
    ['07 70 00 00 00', '+212770000000'],
    // A 07 block the phone metadata does not list yet: the shape is a mobile's, the SMS code will tell.
    ['0799999999', '+212799999999'],
  ])('07 numbers: %j', (text, e164) => {
    expect(parseMoroccanMobile(text)).toMatchObject({ ok: true, e164 });
  });
});

describe('parseMoroccanMobile errors', () => {
  it.each([
    ['landline in Casablanca', '0522123456', 'notMobile'],
    ['landline, international form', '+212 5 22 12 34 56', 'notMobile'],
    ['non-geographic 08', '0801234567', 'notMobile'],
    ['French mobile', '+33612345678', 'notMoroccan'],
    ['French mobile with 00', '0033612345678', 'notMoroccan'],
    ['Spanish mobile', '+34612345678', 'notMoroccan'],
    ['too short', '0612', 'unreadable'],
    ['far too long', '06123456789012', 'unreadable'],
    ['a mobile with a digit missing', '061234567', 'wrongLength'],
    ['a mobile with a digit too many', '06123456789', 'wrongLength'],
    ['two digits too many', '061234567890', 'wrongLength'],
    ['international form, a digit missing', '+212 6 1234567', 'wrongLength'],
    ['two numbers', '0612345678 ou 0698765432', 'unreadable'],
    ['no digits', 'je ne sais pas', 'unreadable'],
    ['empty', '', 'unreadable'],
    ['emoji', '📞', 'unreadable'],
  ])('%s: %j → %s', (_case, text, error) => {
    expect(parseMoroccanMobile(text)).toEqual({ ok: false, error });
  });
});

describe('maskPhone shows only the last two digits', () => {
  it.each([
    ['+212612345678', '06xx xx xx 78'],
    ['whatsapp:+212712345699', '07xx xx xx 99'],
    ['0612345678', '06xx xx xx 78'],
    ['+33612345678', '+33xxxxxxx78'],
    ['0522123456', 'xxxxxxxx56'],
    ['', ''],
  ])('%j → %j', (phone, masked) => {
    expect(maskPhone(phone)).toBe(masked);
  });

  it('never shows the middle digits', () => {
    expect(maskPhone('+212612345678')).not.toMatch(/2345/);
  });
});
