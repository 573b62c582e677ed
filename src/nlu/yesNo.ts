import { wordsInAnyLocale } from '../i18n';
import { foldForMatching, normalizeInput } from './normalize';

/**
 * Yes or no, as workers say it on a phone: one word ("oui", "wakha", "نعم"), a short sentence
 * ("oui c'est bien ça", "iyeh sahih", "نعم صحيح"), a word said twice ("oui oui", "ah ah"), an
 * approving or disapproving emoji (👍, 👎, with any skin tone), in either language whatever the
 * conversation's. Every word comes from locales/*\/answers.json: `yes`, `no`, `yesNoFillers`
 * (words that go with a yes or a no without changing it: "merci", "c'est", "عافاك"), `yesEmoji`,
 * `noEmoji`.
 *
 * A message is read only when every word of it is known: "oui mais changer le numéro" is not a
 * yes, and an unknown word is a reason to ask again, never to guess. A message that holds both a
 * yes and a no ("non c'est bon"), or a digit ("oui 3": a yes and a line number), is not read.
 */

export type YesNo = 'yes' | 'no';

/** Longer than this is not "a short sentence" any more: a real message deserves to be asked again. */
const MAX_WORDS = 8;

// Skin tones, the emoji and text presentation selectors, and the joiner with a gender sign
// (🙆‍♀️) only dress an emoji up: 👍🏽 is 👍.
const EMOJI_MODIFIERS = /\p{Emoji_Modifier}|\uFE0E|\uFE0F|\u200D|\u2640|\u2642/gu;

interface Vocabulary {
  /** Phrases as folded word sequences, by first word, longest first. */
  phrases: Map<string, { words: string[]; meaning: YesNo | 'filler' }[]>;
  /** One-letter answers ("o", "n"): too short to be read inside a sentence, only alone. */
  alone: Map<string, YesNo>;
  /** Emoji without modifiers, each with its meaning. */
  emoji: Map<string, YesNo>;
}

let vocabulary: Vocabulary | undefined;

function loadVocabulary(): Vocabulary {
  if (vocabulary) return vocabulary;
  const built: Vocabulary = { phrases: new Map(), alone: new Map(), emoji: new Map() };
  const yes = new Set(wordsInAnyLocale('answers.yes').map(foldForMatching));
  const no = new Set(wordsInAnyLocale('answers.no').map(foldForMatching));
  const add = (phrase: string, meaning: YesNo | 'filler') => {
    if (!phrase) return;
    const words = phrase.split(' ');
    if (words.length === 1 && phrase.length === 1) {
      if (meaning !== 'filler') built.alone.set(phrase, meaning);
      return;
    }
    const list = built.phrases.get(words[0]!) ?? [];
    if (!list.some((p) => p.words.join(' ') === phrase)) list.push({ words, meaning });
    list.sort((a, b) => b.words.length - a.words.length);
    built.phrases.set(words[0]!, list);
  };
  // A phrase in both lists would be a guess: left out (test/nlu/yesNo.test.ts keeps the lists apart).
  for (const phrase of yes) if (!no.has(phrase)) add(phrase, 'yes');
  for (const phrase of no) if (!yes.has(phrase)) add(phrase, 'no');
  for (const phrase of wordsInAnyLocale('answers.yesNoFillers').map(foldForMatching)) {
    if (!yes.has(phrase) && !no.has(phrase)) add(phrase, 'filler');
  }
  for (const sign of wordsInAnyLocale('answers.yesEmoji')) built.emoji.set(sign.replace(EMOJI_MODIFIERS, ''), 'yes');
  for (const sign of wordsInAnyLocale('answers.noEmoji')) built.emoji.set(sign.replace(EMOJI_MODIFIERS, ''), 'no');
  vocabulary = built;
  return vocabulary;
}

/** Yes or no, or undefined when the message is not (only) one of them. Digits are never read here: numbered choices belong to the dialog. */
export function readYesNo(text: string): YesNo | undefined {
  const { phrases, alone, emoji } = loadVocabulary();
  const heard = new Set<YesNo>();

  // The emoji first: folding turns every symbol into a space.
  let rest = normalizeInput(text).replace(EMOJI_MODIFIERS, '');
  for (const [sign, meaning] of emoji) {
    if (rest.includes(sign)) {
      heard.add(meaning);
      rest = rest.split(sign).join(' ');
    }
  }

  const folded = foldForMatching(rest);
  if (folded === '') return heard.size === 1 ? [...heard][0] : undefined;
  const single = alone.get(folded);
  if (single && heard.size === 0) return single;

  const words = folded.split(' ');
  if (words.length > MAX_WORDS) return undefined;
  // Every word must belong to a known phrase (an unknown word, a digit too: not only a yes or a
  // no). Longest phrases first, backing off when the rest cannot be read ("oui merci" + "beaucoup"
  // fails where "oui" + "merci beaucoup" reads).
  const segment = (at: number): (YesNo | 'filler')[] | undefined => {
    if (at === words.length) return [];
    for (const phrase of phrases.get(words[at]!) ?? []) {
      if (!phrase.words.every((word, i) => words[at + i] === word)) continue;
      const rest = segment(at + phrase.words.length);
      if (rest) return [phrase.meaning, ...rest];
    }
    return undefined;
  };
  const meanings = segment(0);
  if (!meanings) return undefined;
  for (const meaning of meanings) if (meaning !== 'filler') heard.add(meaning);
  return heard.size === 1 ? [...heard][0] : undefined;
}
