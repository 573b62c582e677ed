import { LOCALES, wordsInAnyLocale } from '../i18n';
import type { Locale } from '../services/types';
import { foldForMatching, normalizeInput } from './normalize';

/**
 * Commands that work at every step. A command is the WHOLE message, never a word inside it:
 * "3awd" is "repeat" while "3awd mn lowl" is "restart", and "je veux recommencer demain" or a
 * sentence containing "stop" is an answer, not a command.
 */

export type GlobalCommand = 'help' | 'back' | 'restart' | 'language' | 'repeat' | 'erase';

export const GLOBAL_COMMANDS: readonly GlobalCommand[] = ['help', 'back', 'restart', 'language', 'repeat', 'erase'];

export interface CommandMatch {
  command: GlobalCommand;
  /** Set when the user named a language ("Français", "العربية"); absent for "langue" (switch). */
  locale?: Locale;
}

interface CommandTables {
  phrases: Map<string, CommandMatch>;
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
  const built: CommandTables = { phrases: new Map(), symbols: new Map() };
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
  return match ? { ...match } : undefined;
}
