import { loadReferenceData } from '../../src/data/load';
import { matchChoice, readLanguageChoice, readYesNo, type ChoiceOption } from '../../src/nlu/choices';

const operators: ChoiceOption<string>[] = [
  { value: 'IAM', labels: ['Maroc Telecom', 'اتصالات المغرب', 'IAM', 'itissalat'] },
  { value: 'ORANGE', labels: ['Orange', 'أورنج', 'Méditel'] },
  { value: 'INWI', labels: ['inwi', 'إنوي', 'wana'] },
];

const documents: ChoiceOption<string>[] = [
  { value: 'CNIE', labels: ["CNIE (carte d'identité)", 'البطاقة الوطنية', 'carte nationale'] },
  { value: 'CARTE_SEJOUR', labels: ['Carte de séjour (étrangers)', 'بطاقة الإقامة', 'carte de résidence'] },
];

describe('matchChoice by position', () => {
  it.each([
    ['1', 'IAM'],
    [' 2 ', 'ORANGE'],
    ['3.', 'INWI'],
    ['٢', 'ORANGE'],
    ['جوج', 'ORANGE'],
    ['zouj', 'ORANGE'],
    ['deux', 'ORANGE'],
    ['wa7d', 'IAM'],
    ['الأول', 'IAM'],
    ['tlata', 'INWI'],
    ['le premier', 'IAM'],
  ])('%j → %s', (text, value) => {
    expect(matchChoice(text, operators)).toBe(value);
  });

  it.each([['0'], ['4'], ['rb3a'], ['12']])('%j is out of range', (text) => {
    expect(matchChoice(text, operators)).toBeUndefined();
  });

  it('ignores numbers when told to', () => {
    expect(matchChoice('2', operators, { allowNumber: false })).toBeUndefined();
    expect(matchChoice('deux', operators, { allowNumber: false })).toBeUndefined();
  });
});

describe('matchChoice by label', () => {
  it.each([
    ['exact, any case', 'ORANGE', 'ORANGE'],
    ['without accents', 'meditel', 'ORANGE'],
    ['Arabic label', 'اتصالات المغرب', 'IAM'],
    ['Arabic label, hamza dropped', 'اورنج', 'ORANGE'],
    ['label inside the answer', 'orange maroc', 'ORANGE'],
    ['label inside a sentence', "j'ai inwi", 'INWI'],
    ['answer inside a label', 'telecom', 'IAM'],
    ['answer inside a label, Arabic', 'الإقامة', 'CARTE_SEJOUR'],
    ['typo in a short label', 'orang', 'ORANGE'],
    ['typo in a short label', 'inwii', 'INWI'],
    ['two typos in a long label', 'maroc telcome', 'IAM'],
    ['stretched letters', 'inwiiii', 'INWI'],
  ])('%s: %j → %s', (_case, text, value) => {
    const options = value === 'CARTE_SEJOUR' || value === 'CNIE' ? documents : operators;
    expect(matchChoice(text, options)).toBe(value);
  });

  it.each([
    ['names two options', 'orange ou inwi', operators],
    ['a word in both labels', 'carte', documents],
    ['too far from every label', 'bouygues', operators],
    ['too short for a typo', 'iw', operators],
    ['empty', '', operators],
    ['emoji', '👍', operators],
  ])('undefined when the answer %s', (_case, text, options) => {
    expect(matchChoice(text, options as ChoiceOption<string>[])).toBeUndefined();
  });

  it('prefers the longest label found in the answer', () => {
    const cities: ChoiceOption<string>[] = [
      { value: 'CASA', labels: ['Casablanca'] },
      { value: 'CASA_ANFA', labels: ['Casablanca Anfa'] },
    ];
    expect(matchChoice('agence casablanca anfa', cities)).toBe('CASA_ANFA');
  });

  it('reads a long list and a long message without a false match', () => {
    const many = Array.from({ length: 200 }, (_, i) => ({ value: i, labels: [`categorie numero ${i}`, `فئة ${i}`] }));
    expect(matchChoice('x'.repeat(5000), many)).toBeUndefined();
    expect(matchChoice('categorie numro 150', many)).toBe(150);
  });
});

describe('matchChoice on the professional categories of data/, as workers name their trade', () => {
  const { categories } = loadReferenceData();
  const options = categories.map((c) => ({ value: c.code, labels: [c.shortFr, ...c.aliases, c.fr, c.shortAr, c.ar] }));

  it.each([
    ['the Arabic article does not change the word', 'سائق الطاكسي', 'TAXI'],
    ['the article alone', 'الطاكسي', 'TAXI'],
    ['Darija, "the taxi man"', 'مول الطاكسي', 'TAXI'],
    ['a typo in a whole label beats a generic word inside it', 'chauffeur de taxy', 'TAXI'],
    ['a driver who is not a taxi driver', 'chauffeur', 'CONDUCTEUR_PRO'],
    ['the same, in Arabic', 'سائق', 'CONDUCTEUR_PRO'],
  ])('%s: %j → %s', (_case, text, code) => {
    expect(matchChoice(text, options)).toBe(code);
  });
});

describe('readYesNo', () => {
  it.each([
    'oui', 'Oui !', 'ouais', 'ok', "d'accord", 'o', 'yes',
    'نعم', 'واه', 'إييه', 'آه', 'واخا', 'wakha', 'Wakhaaa', 'wah', 'iyeh', 'iyyeh', 'na3am', 'ah',
  ])('%j → yes', (text) => {
    expect(readYesNo(text)).toBe('yes');
  });

  it.each(['non', 'Non.', 'n', 'no', 'لا', 'ماشي', 'la', 'lla', 'mashi', 'ما بغيتش'])('%j → no', (text) => {
    expect(readYesNo(text)).toBe('no');
  });

  it.each(['1', '2', 'peut-être', 'oui et non', 'je dis oui', '', '🙂'])('%j → undefined', (text) => {
    expect(readYesNo(text)).toBeUndefined();
  });
});

describe('readLanguageChoice', () => {
  it.each([
    ['العربية', 'ar'],
    ['عربية', 'ar'],
    ['بالعربية', 'ar'],
    ['الدارجة', 'ar'],
    ['darija', 'ar'],
    ['3arbia', 'ar'],
    ['arabe', 'ar'],
    ['Arabic', 'ar'],
    ['Français', 'fr'],
    ['francais', 'fr'],
    ['fransais', 'fr'],
    ['French', 'fr'],
    ['الفرنسية', 'fr'],
    ['fransawiya', 'fr'],
    ['en français svp', 'fr'],
  ])('%j → %s', (text, locale) => {
    expect(readLanguageChoice(text)).toBe(locale);
  });

  it.each(['1', 'anglais', 'bonjour', ''])('%j → undefined', (text) => {
    expect(readLanguageChoice(text)).toBeUndefined();
  });
});
