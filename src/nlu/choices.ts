import { distance } from 'fastest-levenshtein';
import { LOCALES, wordsInAnyLocale } from '../i18n';
import type { Locale } from '../services/types';
import { foldForMatching } from './normalize';

/**
 * Reading a choice from free text. WhatsApp and SMS users mostly type a number or a word rather
 * than tap a button (buttons do not exist on SMS), in either script, with typos.
 */

export interface ChoiceOption<T> {
  value: T;
  /** Every way to name this option: Arabic, Darija in Latin letters, French… */
  labels: string[];
}

export interface MatchChoiceOptions {
  /** Accept "2", "جوج", "deux" for the second option. Default true. */
  allowNumber?: boolean;
}

const MAX_NUMBER_WORD = 10;
// Containment the other way ("séjour" for "Carte de séjour") needs a real word, not "de" or "la".
const MIN_PARTIAL_LENGTH = 3;
// Labels this short ("ok", "non") are too close to other words for a typo to be safe.
const MIN_FUZZY_LABEL_LENGTH = 3;

const keywordSets = new Map<string, ReadonlySet<string>>();

/**
 * The words of a catalogue key in every locale, folded for matching, once per process: the
 * catalogues do not change while it runs, and these are checked on every message.
 */
export function keywordSet(key: string): ReadonlySet<string> {
  let words = keywordSets.get(key);
  if (!words) {
    words = new Set(wordsInAnyLocale(key).map(foldForMatching));
    keywordSets.set(key, words);
  }
  return words;
}

let numberWords: Map<string, number> | undefined;

function loadNumberWords(): Map<string, number> {
  if (!numberWords) {
    numberWords = new Map();
    for (let n = 1; n <= MAX_NUMBER_WORD; n += 1) {
      for (const word of wordsInAnyLocale(`answers.numbers.n${n}`)) {
        const folded = foldChoiceText(word);
        if (folded) numberWords.set(folded, n);
      }
    }
  }
  return numberWords;
}

/** 1-based position typed as digits or as a number word; undefined if the text is not a number. */
function readPosition(folded: string): number | undefined {
  if (/^\d+$/.test(folded)) return Number(folded);
  return loadNumberWords().get(folded);
}

function fuzzyThreshold(label: string): number {
  if (label.length < MIN_FUZZY_LABEL_LENGTH) return 0;
  return label.length <= 5 ? 1 : 2;
}

/** ` a b ` contains ` b `: whole words, in order. */
function containsWords(text: string, part: string): boolean {
  return ` ${text} `.includes(` ${part} `);
}

/**
 * The folded text with the Arabic article taken off each word: "الطاكسي" and "طاكسي" name the same
 * thing, and an article must never tip a choice one way or the other.
 */
function foldChoiceText(text: string): string {
  return foldForMatching(text)
    .split(' ')
    .map((word) => (word.length > 3 && word.startsWith('ال') ? word.slice(2) : word))
    .join(' ');
}

/**
 * Folded labels: the labels come from data/ and the catalogues (categories, cities, operators),
 * the same few hundred strings on every message, while the option lists are rebuilt each turn.
 * Bounded anyway, so a caller passing user text as labels cannot grow it without limit.
 */
const foldedLabelCache = new Map<string, string>();
const MAX_CACHED_LABELS = 5000;

function foldLabel(label: string): string {
  let folded = foldedLabelCache.get(label);
  if (folded === undefined) {
    folded = foldChoiceText(label);
    if (foldedLabelCache.size >= MAX_CACHED_LABELS) foldedLabelCache.clear();
    foldedLabelCache.set(label, folded);
  }
  return folded;
}

function foldedLabels<T>(options: readonly ChoiceOption<T>[]): { value: T; label: string }[] {
  return options.flatMap((option) => option.labels.map((label) => ({ value: option.value, label: foldLabel(label) })).filter((l) => l.label));
}

/** The only value among the candidates, or undefined when there is none or more than one. */
function unique<T>(values: T[]): T | undefined {
  const distinct = new Set(values);
  return distinct.size === 1 ? values[0] : undefined;
}

/**
 * The option the user picked, or undefined when the answer names none or several. Tried in order:
 * position number, exact label, the whole answer as a label with a typo (1 edit up to 5 letters,
 * 2 beyond; the closest, if only one is closest), label inside the answer, answer inside a label.
 * The typo comes before containment: "chauffeur de taxy" is "chauffeur de taxi" mistyped, not
 * the generic "chauffeur" with something after it.
 */
export function matchChoice<T>(
  text: string,
  options: readonly ChoiceOption<T>[],
  { allowNumber = true }: MatchChoiceOptions = {},
): T | undefined {
  const answer = foldChoiceText(text);
  if (!answer) return undefined;
  const position = readPosition(answer);
  if (position !== undefined) {
    // A number is never a label: "3" with no third option is simply not a choice.
    return allowNumber && position >= 1 && position <= options.length ? options[position - 1].value : undefined;
  }
  const labelled = foldedLabels(options);

  const exact = labelled.filter((l) => l.label === answer);
  if (exact.length > 0) return unique(exact.map((l) => l.value));

  const typo = closestWithTypo(answer, labelled);
  if (typo.length > 0) return unique(typo);

  const inAnswer = labelled.filter((l) => containsWords(answer, l.label));
  if (inAnswer.length > 0) {
    // "agence casablanca anfa" names Casablanca Anfa, not Casablanca: a label found only as part of
    // a longer label found too does not count. Two separate names ("orange ou inwi") stay ambiguous.
    const outermost = inAnswer.filter(
      (l) => !inAnswer.some((m) => m.label.length > l.label.length && containsWords(m.label, l.label)),
    );
    return unique(outermost.map((l) => l.value));
  }

  if (answer.length >= MIN_PARTIAL_LENGTH) {
    const inLabel = labelled.filter((l) => containsWords(l.label, answer));
    if (inLabel.length > 0) return unique(inLabel.map((l) => l.value));
  }
  return undefined;
}

/** The values of the labels closest to the answer within their typo threshold (several on a tie). */
function closestWithTypo<T>(answer: string, labelled: readonly { value: T; label: string }[]): T[] {
  let best = Infinity;
  let closest: T[] = [];
  for (const { value, label } of labelled) {
    const threshold = fuzzyThreshold(label);
    // Cheap bound first: the length difference alone can exceed the threshold.
    if (threshold === 0 || Math.abs(label.length - answer.length) > threshold) continue;
    const d = distance(label, answer);
    if (d > threshold || d > best) continue;
    if (d < best) {
      best = d;
      closest = [];
    }
    closest.push(value);
  }
  return closest;
}

// ---------------------------------------------------------------------------------------------

/** Yes or no from free text: src/nlu/yesNo.ts (re-exported here, where the dialogs have always found it). */
export { readYesNo } from './yesNo';

let languageOptions: ChoiceOption<Locale>[] | undefined;

/** The languages as choice options, each named by the words of every locale. */
export function languageChoiceOptions(): ChoiceOption<Locale>[] {
  languageOptions ??= LOCALES.map((locale) => ({
    value: locale,
    labels: wordsInAnyLocale(`answers.languageNames.${locale}`),
  }));
  return languageOptions;
}

/** A language picked by name: "العربية", "darija", "arabe", "Français", "fransawiya"… (typos tolerated). */
export function readLanguageChoice(text: string): Locale | undefined {
  return matchChoice(text, languageChoiceOptions(), { allowNumber: false });
}
