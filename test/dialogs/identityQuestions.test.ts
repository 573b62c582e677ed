import { readFieldNumber } from '../../dialogs/identityQuestions';

describe('readFieldNumber (summary: which line to change)', () => {
  it.each([
    ['3', 'expiryDate'],
    ['changer 3', 'expiryDate'],
    ['Modifier 4', 'birthDate'],
    ['بدل 5', 'phone'],
    ['٦', 'operator'],
    ['1', 'documentType'],
    ['7', 'email'],
  ])('"%s" → %s', (text, field) => {
    expect(readFieldNumber(text)).toBe(field);
  });

  it.each(['0', '8', '12', 'oui', 'je suis né en 3', 'changer', ''])('"%s" names no line', (text) => {
    expect(readFieldNumber(text)).toBeUndefined();
  });
});
