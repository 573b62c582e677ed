import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoPath } from './repoRoot';
import type { Locale } from './services/types';

/**
 * Copy and accepted answers live in locales/<locale>/*.json, one file per area (prompts, errors,
 * answers…). A key is `<file>.<path>`, e.g. `prompts.documentNumber.ask`. Placeholders are `{name}`.
 * A tiny lookup of our own: the catalogue is flat JSON, we need no plural rules in these short
 * messages, and a missing key must fail loudly at start, not print a key to a worker.
 */

export const LOCALES: readonly Locale[] = ['ar', 'fr'];
export const LOCALES_DIR = repoPath('locales');

type Tree = { [key: string]: string | string[] | Tree };
export type Catalogue = Map<string, string | string[]>;

function flatten(tree: Tree, prefix: string, into: Catalogue): void {
  for (const [key, value] of Object.entries(tree)) {
    const path = prefix ? `${prefix}.${key}` : key;
    if (typeof value === 'string' || Array.isArray(value)) into.set(path, value);
    else flatten(value, path, into);
  }
}

export function loadCatalogue(locale: Locale, dir = LOCALES_DIR): Catalogue {
  const catalogue: Catalogue = new Map();
  const folder = join(dir, locale);
  for (const file of readdirSync(folder).filter((f) => f.endsWith('.json')).sort()) {
    const tree = JSON.parse(readFileSync(join(folder, file), 'utf8')) as Tree;
    flatten(tree, file.replace(/\.json$/, ''), catalogue);
  }
  return catalogue;
}

const catalogues = new Map<Locale, Catalogue>(LOCALES.map((l) => [l, loadCatalogue(l)]));

export type Vars = Record<string, string | number>;

function fill(template: string, vars: Vars): string {
  return template.replace(/\{(\w+)\}/g, (whole, name: string) =>
    name in vars ? String(vars[name]) : whole,
  );
}

/** The message `key` in `locale`, placeholders filled. Throws on an unknown key: a bug, never user input. */
export function t(locale: Locale, key: string, vars: Vars = {}): string {
  const value = catalogues.get(locale)?.get(key);
  const text = typeof value === 'string' ? value : Array.isArray(value) ? value.join('\n') : undefined;
  if (text === undefined) throw new Error(`missing message ${key} for ${locale}`);
  const filled = fill(text, vars);
  return locale === 'ar' ? isolateDigitGroups(filled) : filled;
}

/**
 * A number written in groups ("06 12 34 56 78", "06•• •• •• 78") inside Arabic text: the bidi
 * algorithm lays its groups out right to left ("78 56 34 12 06"), so a worker would read their
 * phone number backwards. A left-to-right isolate (U+2066 … U+2069) keeps the groups in order.
 */
const DIGIT_GROUPS = /(?<!\d)\+?\d[\d•*]*(?: [\d•*]+)+(?!\d)/g;
const ISOLATED = /(\u2066[^\u2069]*\u2069)/;
export function isolateDigitGroups(text: string): string {
  // What is already isolated (in the catalogue, or a message built from messages) is left as is.
  return text
    .split(ISOLATED)
    .map((part, i) => (i % 2 === 1 ? part : part.replace(DIGIT_GROUPS, (groups) => `\u2066${groups}\u2069`)))
    .join('');
}

/** A list of accepted answers (`answers.yes`…), for one locale. */
export function words(locale: Locale, key: string): string[] {
  const value = catalogues.get(locale)?.get(key);
  if (Array.isArray(value)) return value;
  throw new Error(`missing word list ${key} for ${locale}`);
}

/** Accepted answers of every locale together: a French speaker who types "oui" in Arabic mode is understood. */
export function wordsInAnyLocale(key: string): string[] {
  return LOCALES.flatMap((l) => words(l, key));
}

export function hasKey(locale: Locale, key: string): boolean {
  return catalogues.get(locale)?.has(key) ?? false;
}
