import type { TurnContext } from 'botbuilder';
import type { ChoiceOption } from '../src/nlu/choices';
import type { Vars } from '../src/i18n';
import type { Session } from '../src/bot/session';
import type { Locale } from '../src/services/types';

/** What a question knows of the turn it is asked in. */
export interface QuestionContext {
  turn: TurnContext;
  session: Session;
  locale: Locale;
  /** Today in Morocco, `YYYY-MM-DD`. */
  today: string;
}

export type ReadResult<T> =
  /** `confirm`: the key of a yes/no question to ask before accepting (e.g. an ambiguous two-digit year). */
  | { ok: true; value: T; confirm?: string }
  /** `uncounted`: not a wrong answer but a step aside ("no" to an offered value, a photo): asked again without using up a try. */
  | { ok: false; error: string; vars?: Vars; uncounted?: boolean };

/**
 * One question of the conversation: how it is asked and how an answer is read. Reading is a pure
 * function of the text and the context, so every rule has its own unit test.
 */
export interface Question<T> {
  /** Dialog id, and the key prefix of its copy: `prompts.<id>.ask`, `.help`. */
  id: string;
  ask(ctx: QuestionContext): { key: string; vars?: Vars };
  read(text: string, ctx: QuestionContext): ReadResult<T>;
  /** Offered choices, rendered as a numbered list; a choice label is never taken for a command. */
  choices?(ctx: QuestionContext): ChoiceOption<T>[];
  /** True when a shared location (a WhatsApp pin) answers it: `read` then finds it on the turn. */
  acceptsLocation?: boolean;
  /** A value as the user reads it in the conversation's language, for a confirmation ({date}). */
  describe?(value: T, ctx: QuestionContext): Vars;
}

export interface Answer<T> {
  questionId: string;
  value?: T;
  /** The user failed MAX_ATTEMPTS times; the way out was shown. */
  gaveUp?: true;
}
