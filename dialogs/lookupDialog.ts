import { ComponentDialog, WaterfallDialog, type DialogTurnResult, type WaterfallStepContext } from 'botbuilder-dialogs';
import type { TurnContext } from 'botbuilder';
import { forgetPersonalData, identityQueryOf, sessionOf } from '../src/bot/session';
import { RegistryUnavailableError, type IdTypeCode, type LookupResult } from '../src/services/types';
import type { DialogDeps } from './deps';
import type { Answer, QuestionContext } from './question';
import { QuestionPrompt } from './questionPrompt';
import { retryQuestion } from './retryQuestion';
import { say } from './say';

export const LOOKUP_DIALOG = 'lookupDialog';
const LOOKUP_WATERFALL = 'lookupWaterfall';
export const REGISTRY_RETRY = 'registryRetry';

/**
 * Step 10: the registry look-up. Its answer is kept in the session, so a retried or replayed turn
 * never calls the registry twice for one confirmation. Ends with the LookupResult, or nothing when
 * the user gave up.
 */
export class LookupDialog extends ComponentDialog {
  constructor(
    private readonly deps: DialogDeps,
    contextFor: (turn: TurnContext) => QuestionContext,
  ) {
    super(LOOKUP_DIALOG);
    this.addDialog(new QuestionPrompt(retryQuestion(REGISTRY_RETRY), contextFor, deps.metrics));
    this.addDialog(new WaterfallDialog(LOOKUP_WATERFALL, [this.lookUpStep.bind(this), this.retryStep.bind(this)]));
    this.initialDialogId = LOOKUP_WATERFALL;
  }

  private async lookUpStep(step: WaterfallStepContext): Promise<DialogTurnResult> {
    const session = sessionOf(step.context);
    if (session.lookup) return step.endDialog(session.lookup);
    const { form } = session;
    this.deps.metrics.stepReached(session, 'lookup');
    // A document with too many mismatches is not looked up again for a while, from any conversation.
    if (await this.deps.lookupGuard.isLocked(form.documentType as IdTypeCode, form.documentNumber!)) {
      this.deps.log.warn({ event: 'registry.lookup_locked' }, 'look-up refused: too many mismatches for this document');
      await say(step.context, 'outcomes.mismatch.tooMany');
      this.deps.metrics.ended(session, 'mismatch');
      forgetPersonalData(session);
      return step.endDialog(undefined);
    }
    const started = this.deps.clock.now();
    try {
      const result: LookupResult = await this.deps.registry.lookUp(identityQueryOf(form));
      this.deps.log.info({ event: 'registry.lookup', outcome: result.kind, ms: this.deps.clock.now() - started }, 'registry look-up');
      session.lookup = result;
      this.deps.metrics.registryAnswered(session);
      return step.endDialog(result);
    } catch (error) {
      if (!(error instanceof RegistryUnavailableError)) throw error;
      this.deps.metrics.registryUnavailable(session);
      this.deps.log.warn({ event: 'registry.unavailable', ms: this.deps.clock.now() - started }, 'registry unavailable');
      return step.beginDialog(REGISTRY_RETRY);
    }
  }

  private async retryStep(step: WaterfallStepContext): Promise<DialogTurnResult> {
    const answer = step.result as Answer<true>;
    if (answer.gaveUp) return step.endDialog(undefined);
    return step.replaceDialog(LOOKUP_WATERFALL);
  }
}
