import { Dialog, type DialogContext, type DialogInstance, type DialogTurnResult } from 'botbuilder-dialogs';
import type { TurnContext } from 'botbuilder';
import { readYesNo } from '../src/nlu/choices';
import { foldForMatching, isSymbolsOnly } from '../src/nlu/normalize';
import { locationOf } from '../src/channels/location';
import type { ConversationMetrics } from '../src/metrics/funnel';
import { stepLabel } from '../src/metrics/labels';
import type { Answer, Question, QuestionContext, ReadResult } from './question';
import { localize, message, numberedList } from './say';

/** Three tries, then a way out (call centre, office): a worker must never be stuck in a loop. */
export const MAX_ATTEMPTS = 3;
/** Longer than any real answer (an e-mail is at most 254): a pasted essay is refused before parsing. */
export const MAX_ANSWER_LENGTH = 300;

/**
 * Set on the turn that resumes a conversation after a way-out: that message was typed to the
 * question being resumed (often its right answer, now), so the prompt reads it instead of
 * swallowing it. When it is not an answer (a "bonjour"), the question is simply asked.
 */
const RESUMING_WITH_THIS_MESSAGE = Symbol('resumingWithThisMessage');

export function resumeWithThisMessage(turn: TurnContext): void {
  turn.turnState.set(RESUMING_WITH_THIS_MESSAGE, true);
}

/** True once per turn: the first prompt to ask takes the message, no other. */
function takeResumingMessage(turn: TurnContext): boolean {
  if (!turn.turnState.get(RESUMING_WITH_THIS_MESSAGE)) return false;
  turn.turnState.delete(RESUMING_WITH_THIS_MESSAGE);
  return true;
}

interface PromptState {
  attempts: number;
  /** A value read but awaiting the user's yes (e.g. an ambiguous two-digit year). */
  pending?: { value: unknown; confirmKey: string };
}

/**
 * Asks one Question, re-asks with a specific, localized reason on a bad answer, confirms an
 * ambiguous one, and gives up after MAX_ATTEMPTS with the way out.
 */
export class QuestionPrompt<T> extends Dialog {
  constructor(
    private readonly question: Question<T>,
    private readonly contextFor: (turn: TurnContext) => QuestionContext,
    private readonly metrics: ConversationMetrics,
  ) {
    super(question.id);
  }

  override async beginDialog(dc: DialogContext): Promise<DialogTurnResult> {
    const state: PromptState = { attempts: 0 };
    dc.activeDialog!.state = state;
    const ctx = this.contextFor(dc.context);
    this.metrics.stepReached(ctx.session, stepLabel(this.id));
    if (takeResumingMessage(dc.context)) {
      const text = typeof dc.context.activity.text === 'string' ? dc.context.activity.text : '';
      const result = this.read(text, ctx, hasOnlyAttachments(dc.context));
      if (result.ok && !result.confirm) return this.finish(dc, { questionId: this.id, value: result.value });
      if (result.ok && result.confirm) {
        state.pending = { value: result.value, confirmKey: result.confirm };
        await this.askConfirmation(dc.context, state.pending);
        return Dialog.EndOfTurn;
      }
    }
    await this.ask(dc.context);
    return Dialog.EndOfTurn;
  }

  override async continueDialog(dc: DialogContext): Promise<DialogTurnResult> {
    const state = dc.activeDialog!.state as PromptState;
    const ctx = this.contextFor(dc.context);
    const text = typeof dc.context.activity.text === 'string' ? dc.context.activity.text : '';

    if (state.pending) {
      const yesNo = readYesNo(text);
      if (yesNo === 'yes') return this.finish(dc, { questionId: this.id, value: state.pending.value as T });
      state.pending = undefined;
      if (yesNo === 'no') {
        await this.ask(dc.context);
        return Dialog.EndOfTurn;
      }
      // Anything else is taken as a fresh answer: the user typed the corrected value straight away.
    }

    const result = this.read(text, ctx, hasOnlyAttachments(dc.context));
    if (result.ok) {
      if (result.confirm) {
        state.pending = { value: result.value, confirmKey: result.confirm };
        await this.askConfirmation(dc.context, state.pending);
        return Dialog.EndOfTurn;
      }
      return this.finish(dc, { questionId: this.id, value: result.value });
    }

    if (!result.uncounted) state.attempts += 1;
    if (state.attempts >= MAX_ATTEMPTS) {
      this.metrics.wayOut(stepLabel(this.id));
      await dc.context.sendActivity(message(localize(ctx.turn, 'common.wayOut')));
      return this.finish(dc, { questionId: this.id, gaveUp: true });
    }
    if (!result.uncounted) this.metrics.reprompted(stepLabel(this.id));
    await dc.context.sendActivity(message(localize(ctx.turn, result.error, result.vars)));
    await this.sendChoicesIfAny(dc.context);
    return Dialog.EndOfTurn;
  }

  override async repromptDialog(turn: TurnContext, instance: DialogInstance): Promise<void> {
    // Waiting on "did you mean…?": repeating (or switching language) asks that again, not the question.
    const { pending } = (instance.state ?? {}) as PromptState;
    if (pending) return this.askConfirmation(turn, pending);
    await this.ask(turn);
  }

  /** "Did you mean 1 January 1925?", worded in the conversation's current language. */
  private async askConfirmation(turn: TurnContext, pending: NonNullable<PromptState['pending']>): Promise<void> {
    const ctx = this.contextFor(turn);
    const vars = this.question.describe?.(pending.value as T, ctx) ?? {};
    await turn.sendActivity(message(localize(ctx.turn, pending.confirmKey, vars)));
  }

  /** True when `text` is one of this question's choices, so it must not be read as a command. */
  isChoiceLabel(text: string, turn: TurnContext): boolean {
    const folded = foldForMatching(text);
    const options = this.question.choices?.(this.contextFor(turn)) ?? [];
    return options.some((o) => o.labels.some((label) => foldForMatching(label) === folded));
  }

  private read(text: string, ctx: QuestionContext, attachmentsOnly: boolean): ReadResult<T> {
    if (attachmentsOnly && !(this.question.acceptsLocation && locationOf(ctx.turn.activity))) {
      // A photo of the card is a try to answer, not a wrong answer: it uses up no try.
      return { ok: false, error: 'errors.common.notText', uncounted: true };
    }
    if (text.length > MAX_ANSWER_LENGTH) return { ok: false, error: 'errors.common.tooLong' };
    if (isSymbolsOnly(text)) {
      // An emoji or a sticker-like "👍" answers a yes/no question (the summary, an offer); any
      // other question needs words: "please type your answer", never "this number is too long".
      // Typed, unlike a photo: it counts as a try, so three of them still lead to the way out.
      // A 👎 that a question takes as a step aside ("which line?", "which number then?") stands.
      const read = this.question.read(text, ctx);
      return read.ok || read.uncounted ? read : { ok: false, error: 'errors.common.notText' };
    }
    return this.question.read(text, ctx);
  }

  private async ask(turn: TurnContext): Promise<void> {
    const ctx = this.contextFor(turn);
    const { key, vars } = this.question.ask(ctx);
    const labels = this.displayLabels(ctx);
    const text = labels.length ? `${localize(ctx.turn, key, vars)}\n${numberedList(labels)}` : localize(ctx.turn, key, vars);
    await turn.sendActivity(message(text, labels));
  }

  private async sendChoicesIfAny(turn: TurnContext): Promise<void> {
    const labels = this.displayLabels(this.contextFor(turn));
    if (labels.length) await turn.sendActivity(message(numberedList(labels), labels));
  }

  /** By convention the first label of a choice is its display label in the conversation's language. */
  private displayLabels(ctx: QuestionContext): string[] {
    return (this.question.choices?.(ctx) ?? []).map((o) => o.labels[0]!);
  }

  private finish(dc: DialogContext, answer: Answer<T>): Promise<DialogTurnResult> {
    return dc.endDialog(answer);
  }
}

/**
 * A photo, a voice note, a document or a location pin, and no text: the user gets "text only",
 * not "not understood".
 */
export function hasOnlyAttachments(turn: TurnContext): boolean {
  const { text, attachments } = turn.activity;
  const hasMedia = Array.isArray(attachments) && attachments.length > 0;
  return (!text || !text.trim()) && (hasMedia || locationOf(turn.activity) !== undefined);
}
