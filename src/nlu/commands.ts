import { distance } from 'fastest-levenshtein';
import { LOCALES, wordsInAnyLocale } from '../i18n';
import type { Locale } from '../services/types';
import { foldForMatching, normalizeInput } from './normalize';

/**
 * Commands that work at every step. A command is the WHOLE message, never a word inside it:
 * "3awd" is "repeat" while "3awd mn lowl" is "restart", and "je veux recommencer demain" or a
 * sentence containing "stop" is an answer, not a command.
 */

export type GlobalCommand = 'help' | 'back' | 'restart' | 'language' | 'repeat' | 'erase' | 'forgotPassword';

export const GLOBAL_COMMANDS: readonly GlobalCommand[] = ['help', 'back', 'restart', 'language', 'repeat', 'erase', 'forgotPassword'];

export interface CommandMatch {
  command: GlobalCommand;
  /** Set when the user named a language ("Français", "العربية"); absent for "langue" (switch). */
  locale?: Locale;
}

interface CommandTables {
  phrases: Map<string, CommandMatch>;
  /** "mot de passe oublié" and its kin, folded: also found inside a sentence or slightly misspelt. */
  forgotPassword: string[];
  /** Phrases made only of punctuation ("?", "؟") fold to nothing; they are compared as typed. */
  symbols: Map<string, CommandMatch>;
}

let tables: CommandTables | undefined;

/** "??" and "? ?" are "?". */
function symbolKey(text: string): string {
  return normalizeInput(text).replace(/\s+/g, '').replace(/(.)\1+/gu, '$1');
}

function loadTables(): CommandTables {
  if (tables) return tables;
  const built: CommandTables = { phrases: new Map(), symbols: new Map(), forgotPassword: [] };
  const add = (word: string, match: CommandMatch): void => {
    const folded = foldForMatching(word);
    const [table, key] = folded ? [built.phrases, folded] : [built.symbols, symbolKey(word)];
    // First list wins; test/nlu/commands.test.ts checks that no phrase is in two lists.
    if (key && !table.has(key)) table.set(key, match);
  };
  for (const command of GLOBAL_COMMANDS) {
    for (const word of wordsInAnyLocale(`answers.commands.${command}`)) add(word, { command });
  }
  for (const locale of LOCALES) {
    for (const word of wordsInAnyLocale(`answers.languageNames.${locale}`)) add(word, { command: 'language', locale });
  }
  built.forgotPassword = wordsInAnyLocale('answers.commands.forgotPassword').map(foldForMatching).filter(Boolean);
  tables = built;
  return tables;
}

/** The global command the message is, if it is one. */
export function readGlobalCommand(text: string): CommandMatch | undefined {
  const { phrases, symbols } = loadTables();
  const folded = foldForMatching(text);
  // A number is always an answer to the current question (a choice, a code, a date).
  if (/^[\d ]+$/.test(folded)) return undefined;
  const match = folded ? phrases.get(folded) : symbols.get(symbolKey(text));
  if (match) return { ...match };
  return mentionsForgottenPassword(folded) ? { command: 'forgotPassword' } : undefined;
}

/** Typos tolerated in a whole-message "mot de passe oublié": long phrases only, where 2 edits cannot make another answer. */
const FORGOT_PASSWORD_MAX_EDITS = 2;
const FORGOT_PASSWORD_MIN_FUZZY_LENGTH = 12;

/**
 * The one command also read inside a sentence: a worker's first message is often "bonjour, j'ai
 * oublié mon mot de passe" or "salam nsit lmot de passe dyali", and no answer to any question
 * contains these words (a "stop" inside a sentence, by contrast, is often not a command). Every
 * phrase of the list has several words, so a word of an answer alone never matches.
 */
function mentionsForgottenPassword(folded: string): boolean {
  if (!folded) return false;
  const { forgotPassword } = loadTables();
  return forgotPassword.some(
    (phrase) =>
      ` ${folded} `.includes(` ${phrase} `) ||
      (phrase.length >= FORGOT_PASSWORD_MIN_FUZZY_LENGTH && Math.abs(phrase.length - folded.length) <= FORGOT_PASSWORD_MAX_EDITS && distance(phrase, folded) <= FORGOT_PASSWORD_MAX_EDITS),
  );
}
