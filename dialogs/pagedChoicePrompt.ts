import { Dialog, type DialogContext, type DialogInstance, type DialogTurnResult } from 'botbuilder-dialogs';
import type { TurnContext } from 'botbuilder';
import { presentationOf } from '../src/channels/presentation';
import { keywordSet, matchChoice, type ChoiceOption } from '../src/nlu/choices';
import type { ConversationMetrics } from '../src/metrics/funnel';
import { stepLabel } from '../src/metrics/labels';
import { foldForMatching, isSymbolsOnly } from '../src/nlu/normalize';
import type { Answer, QuestionContext } from './question';
import { MAX_ATTEMPTS, MAX_ANSWER_LENGTH, hasOnlyAttachments } from './questionPrompt';
import { localize, message } from './say';

// Page size comes from the channel's presentation: eight lines fit a phone screen; an SMS page is shorter.

interface PagedState {
  page: number;
  attempts: number;
}

/**
 * A long list of choices (professional categories) shown a page at a time: numbers run on across
 * pages, "0" shows the next page, and a name or a close spelling works on any page.
 */
export class PagedChoicePrompt<T> extends Dialog {
  constructor(
    id: string,
    private readonly options: (ctx: QuestionContext) => ChoiceOption<T>[],
    private readonly contextFor: (turn: TurnContext) => QuestionContext,
    private readonly metrics: ConversationMetrics,
  ) {
    super(id);
  }

  override async beginDialog(dc: DialogContext): Promise<DialogTurnResult> {
    dc.activeDialog!.state = { page: 0, attempts: 0 } satisfies PagedState;
    this.metrics.stepReached(this.contextFor(dc.context).session, stepLabel(this.id));
    await this.showPage(dc.context, 0);
    return Dialog.EndOfTurn;
  }

  override async continueDialog(dc: DialogContext): Promise<DialogTurnResult> {
    const state = dc.activeDialog!.state as PagedState;
    const ctx = this.contextFor(dc.context);
    const text = (dc.context.activity.text ?? '').slice(0, MAX_ANSWER_LENGTH + 1);
    const folded = foldForMatching(text);
    const options = this.options(ctx);

    if (folded === '0' || keywordSet('answers.more').has(folded)) {
      state.page = (state.page + 1) % pageCount(options.length, pageSize(dc.context));
      await this.showPage(dc.context, state.page);
      return Dialog.EndOfTurn;
    }
    const value = text.length <= MAX_ANSWER_LENGTH ? matchChoice(text, options, { allowNumber: true }) : undefined;
    if (value !== undefined) return dc.endDialog({ questionId: this.id, value } satisfies Answer<T>);

    // A photo (a pin outside the city step) is a try to answer, not a wrong answer: no try used up.
    const mediaOnly = hasOnlyAttachments(dc.context);
    if (!mediaOnly) state.attempts += 1;
    if (state.attempts >= MAX_ATTEMPTS) {
      this.metrics.wayOut(stepLabel(this.id));
      await dc.context.sendActivity(message(localize(ctx.turn, 'common.wayOut')));
      return dc.endDialog({ questionId: this.id, gaveUp: true } satisfies Answer<T>);
    }
    if (!mediaOnly) this.metrics.reprompted(stepLabel(this.id));
    const error = mediaOnly || isSymbolsOnly(text)
      ? 'errors.common.notText'
      : text.length > MAX_ANSWER_LENGTH
        ? 'errors.common.tooLong'
        : 'errors.choice.unknownPaged';
    await dc.context.sendActivity(message(localize(ctx.turn, error)));
    await this.showPage(dc.context, state.page);
    return Dialog.EndOfTurn;
  }

  /** "Back": the page before the one shown; false on the first page (nothing of this list is before it). */
  async showPreviousPage(dc: DialogContext): Promise<boolean> {
    const state = dc.activeDialog!.state as PagedState;
    if (state.page === 0) return false;
    state.page -= 1;
    await this.showPage(dc.context, state.page);
    return true;
  }

  override async repromptDialog(turn: TurnContext, instance: DialogInstance): Promise<void> {
    await this.showPage(turn, (instance.state as PagedState).page);
  }

  private async showPage(turn: TurnContext, page: number): Promise<void> {
    const ctx = this.contextFor(turn);
    const options = this.options(ctx);
    const size = pageSize(turn);
    const first = page * size;
    const shown = options.slice(first, first + size);
    const lines = shown.map((o, i) => `${first + i + 1}. ${o.labels[0]}`);
    const pages = pageCount(options.length, size);
    // "0" turns the page; on the last one it goes back to the first, and says so.
    if (pages > 1) lines.push(localize(ctx.turn, page === pages - 1 ? 'prompts.paging.first' : 'prompts.paging.more'));
    await turn.sendActivity(message(`${localize(ctx.turn, `prompts.${this.id}.ask`)}\n${lines.join('\n')}`));
  }
}

function pageSize(turn: TurnContext): number {
  return presentationOf(turn).choicesPerPage;
}

function pageCount(items: number, size: number): number {
  return Math.max(1, Math.ceil(items / size));
}
