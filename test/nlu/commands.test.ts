import { GLOBAL_COMMANDS, readGlobalCommand } from '../../src/nlu/commands';
import { wordsInAnyLocale } from '../../src/i18n';
import { foldForMatching } from '../../src/nlu/normalize';

describe('readGlobalCommand', () => {
  it.each([
    ['aide', 'help'],
    ['Aide ?', 'help'],
    ['?', 'help'],
    ['??', 'help'],
    ['؟', 'help'],
    ['مساعدة', 'help'],
    ['عاوني', 'help'],
    ['3awni', 'help'],
    ['3awnni', 'help'],
    ['mosa3ada', 'help'],
    ['retour', 'back'],
    ['Précédent', 'back'],
    ['رجوع', 'back'],
    ['rje3', 'back'],
    ['rjo3', 'back'],
    ['recommencer', 'restart'],
    ['reprendre à zéro', 'restart'],
    ['menu', 'restart'],
    ['من الأول', 'restart'],
    ['عاود من الأول', 'restart'],
    ['3awd mn lowl', 'restart'],
    ['mn lowl', 'restart'],
    ['bda mn jdid', 'restart'],
    ['répéter', 'repeat'],
    ['repete', 'repeat'],
    ['عاود', 'repeat'],
    ['3awd', 'repeat'],
    ['3awdi', 'repeat'],
    ['stop', 'erase'],
    ['STOP', 'erase'],
    ['supprimer', 'erase'],
    ['effacer mes données', 'erase'],
    ['امسح', 'erase'],
    ['mse7', 'erase'],
  ])('%j → %s', (text, command) => {
    expect(readGlobalCommand(text)).toEqual({ command });
  });

  it.each([
    ['langue', undefined],
    ['لغة', undefined],
    ['lougha', undefined],
    ['Français', 'fr'],
    ['francais', 'fr'],
    ['العربية', 'ar'],
    ['arabe', 'ar'],
    ['darija', 'ar'],
    ['الفرنسية', 'fr'],
  ])('%j → language %s', (text, locale) => {
    expect(readGlobalCommand(text)).toEqual(locale ? { command: 'language', locale } : { command: 'language' });
  });

  it.each([
    ['a sentence that mentions a command', 'je veux recommencer demain'],
    ['a sentence containing stop', 'je ne veux pas que ça stop'],
    ['a sentence containing aide', "merci pour l'aide"],
    ['a language name in a sentence', 'je parle arabe et français'],
    ['a digit', '1'],
    ['a number', '0612345678'],
    ['Arabic-Indic digits', '٣'],
    ['an answer', 'oui'],
    ['an answer in Darija', 'wakha'],
    ['empty', ''],
    ['emoji', '👍'],
  ])('is not a command: %s (%j)', (_case, text) => {
    expect(readGlobalCommand(text)).toBeUndefined();
  });
});

describe('a forgotten password', () => {
  it.each([
    ['the phrase', 'mot de passe oublié'],
    ['without accents, in capitals', 'MOT DE PASSE OUBLIE'],
    ['a typo', 'mot de pase oublié'],
    ['the infinitive people type', 'mot de passe oublier'],
    ['in a sentence', "Bonjour, j'ai oublié mon mot de passe svp"],
    ['an abbreviation', 'mdp oublié'],
    ['Arabic', 'نسيت كلمة السر'],
    ['Arabic, another word', 'السلام عليكم نسيت كلمة المرور ديالي'],
    ['Darija in Latin letters', 'nsit lmot de passe'],
    ['Darija in a sentence', 'salam khouya nsit lmot de passe dyali'],
    ['a Darija typo', 'nsit lmot de pase'],
  ])('is asked for: %s (%j)', (_case, text) => {
    expect(readGlobalCommand(text)).toEqual({ command: 'forgotPassword' });
  });

  it.each([
    ['the word password alone', 'mot de passe'],
    ['forgot alone', 'oublié'],
    ['an e-mail', 'motdepasse@gmail.com'],
    ['a resend', 'nouveau code'],
    ['a code', '123456'],
  ])('is not asked for: %s (%j)', (_case, text) => {
    expect(readGlobalCommand(text)).toBeUndefined();
  });
});

describe('command word lists', () => {
  it('put no phrase in two commands or in a command and a language name', () => {
    const owner = new Map<string, string>();
    const clashes: string[] = [];
    const lists = [
      ...GLOBAL_COMMANDS.map((command) => [command, wordsInAnyLocale(`answers.commands.${command}`)] as const),
      ['language:ar', wordsInAnyLocale('answers.languageNames.ar')] as const,
      ['language:fr', wordsInAnyLocale('answers.languageNames.fr')] as const,
    ];
    for (const [name, list] of lists) {
      for (const phrase of list) {
        const key = foldForMatching(phrase) || phrase;
        const previous = owner.get(key);
        if (previous && previous !== name) clashes.push(`${phrase}: ${previous} / ${name}`);
        owner.set(key, name);
      }
    }
    expect(clashes).toEqual([]);
  });

  it('hold no yes/no word, so an answer is never taken for a command', () => {
    const answers = new Set([...wordsInAnyLocale('answers.yes'), ...wordsInAnyLocale('answers.no')].map(foldForMatching));
    const commands = GLOBAL_COMMANDS.flatMap((command) => wordsInAnyLocale(`answers.commands.${command}`));
    expect(commands.filter((phrase) => answers.has(foldForMatching(phrase)))).toEqual([]);
  });
});
