import { ComponentDialog, WaterfallDialog, type DialogTurnResult, type WaterfallStepContext } from 'botbuilder-dialogs';
import type { TurnContext } from 'botbuilder';
import { t } from '../src/i18n';
import { maskPhone } from '../src/nlu/phone';
import { sessionOf } from '../src/bot/session';
import { RegistryUnavailableError, type IdTypeCode } from '../src/services/types';
import { conversationKey, type DialogDeps } from './deps';
import { OTP_PROMPT, OtpPrompt, type OtpOutcome } from './otpPrompt';
import type { Answer, QuestionContext } from './question';
import { QuestionPrompt } from './questionPrompt';
import { retryQuestion } from './retryQuestion';
import { say } from './say';

export const ACCOUNT_ACTIVATION_DIALOG = 'accountActivationDialog';
const ACTIVATION_WATERFALL = 'accountActivationWaterfall';
const ACTIVATE_WATERFALL = 'activateAccountWaterfall';
const ACTIVATION_RETRY = 'activationRetry';

export type ActivationOutcome = { activated: true } | { alreadyActive: true } | { gaveUp: true };

/**
 * Outcome B (guide, case 1b): registered, no Ma CNSS account. An OTP goes by SMS to the phone the
 * user gave; once it is typed back the registry creates the account. The registration number is
 * shown in chat and the password goes ONLY by SMS.
 */
export class AccountActivationDialog extends ComponentDialog {
  constructor(
    private readonly deps: DialogDeps,
    contextFor: (turn: TurnContext) => QuestionContext,
  ) {
    super(ACCOUNT_ACTIVATION_DIALOG);
    this.addDialog(new OtpPrompt(deps));
    this.addDialog(new QuestionPrompt(retryQuestion(ACTIVATION_RETRY), contextFor, deps.metrics));
    this.addDialog(
      new WaterfallDialog(ACTIVATION_WATERFALL, [
        this.sendCodeStep.bind(this),
        this.activateStep.bind(this),
        this.doneStep.bind(this),
      ]),
    );
    this.addDialog(new WaterfallDialog(ACTIVATE_WATERFALL, [this.callRegistryStep.bind(this), this.afterRetryStep.bind(this)]));
    this.initialDialogId = ACTIVATION_WATERFALL;
  }

  /** Explains, sends the code, and waits for it. */
  private async sendCodeStep(step: WaterfallStepContext): Promise<DialogTurnResult> {
    await say(step.context, 'outcomes.B.intro');
    const sent = await OtpPrompt.sendCode(this.deps, step.context);
    if (sent === 'hourlyLimit') return step.endDialog({ gaveUp: true } satisfies ActivationOutcome);
    return step.beginDialog(OTP_PROMPT);
  }

  /** Code verified: ask the registry to create the account. */
  private async activateStep(step: WaterfallStepContext): Promise<DialogTurnResult> {
    const outcome = step.result as OtpOutcome;
    if ('gaveUp' in outcome) return step.endDialog(outcome);
    return step.beginDialog(ACTIVATE_WATERFALL);
  }

  private async doneStep(step: WaterfallStepContext): Promise<DialogTurnResult> {
    return step.endDialog(step.result as ActivationOutcome);
  }

  /** One activation per user action: a failure is never retried behind the user's back. */
  private async callRegistryStep(step: WaterfallStepContext): Promise<DialogTurnResult> {
    const session = sessionOf(step.context);
    const { form } = session;
    try {
      const result = await this.deps.registry.activateAccount({
        idType: form.documentType as IdTypeCode,
        idNumber: form.documentNumber!,
        phone: form.phone!,
      });
      await this.deps.sms.send({
        to: form.phone!,
        body: t(session.locale, 'sms.password', { password: result.temporaryPassword }),
        locale: session.locale,
        purpose: 'password',
        conversationKey: conversationKey(step.context),
      });
      this.deps.metrics.registryAnswered(session);
      this.deps.log.info({ event: 'registry.activation', result: 'activated' }, 'account activated');
      await say(step.context, 'outcomes.B.done', {
        registrationNumber: result.registrationNumber,
        phone: maskPhone(form.phone!),
      });
      return step.endDialog({ activated: true } satisfies ActivationOutcome);
    } catch (error) {
      if (!(error instanceof RegistryUnavailableError)) throw error;
      this.deps.metrics.registryUnavailable(session);
      this.deps.log.warn({ event: 'registry.activation', result: 'unavailable' }, 'activation failed: registry unavailable');
      return step.beginDialog(ACTIVATION_RETRY);
    }
  }

  private async afterRetryStep(step: WaterfallStepContext): Promise<DialogTurnResult> {
    const answer = step.result as Answer<true>;
    if (answer.gaveUp) return step.endDialog({ gaveUp: true } satisfies ActivationOutcome);
    return step.replaceDialog(ACTIVATE_WATERFALL);
  }
}
