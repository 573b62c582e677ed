import { randomUUID } from 'node:crypto';
import { ComponentDialog, WaterfallDialog, type DialogTurnResult, type WaterfallStepContext } from 'botbuilder-dialogs';
import type { TurnContext } from 'botbuilder';
import { t } from '../src/i18n';
import { maskPhone } from '../src/nlu/phone';
import { identityQueryOf, sessionOf } from '../src/bot/session';
import { ActivationRefusedError } from '../src/services/registry/rules';
import { RegistryUnavailableError } from '../src/services/types';
import { conversationKey, type DialogDeps } from './deps';
import { OTP_PROMPT, OtpPrompt, type OtpOutcome } from './otpPrompt';
import type { Answer, QuestionContext } from './question';
import { QuestionPrompt } from './questionPrompt';
import { retryQuestion } from './retryQuestion';
import { say } from './say';

export const ACCOUNT_ACTIVATION_DIALOG = 'accountActivationDialog';
const ACTIVATION_WATERFALL = 'accountActivationWaterfall';
const ACTIVATE_WATERFALL = 'activateAccountWaterfall';
export const ACTIVATION_RETRY = 'activationRetry';

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

  /**
   * One activation per user action: a failure is never retried behind the user's back. The
   * user's own "1" reuses the action's idempotency key, so when the registry had acted but its
   * answer was lost, the retry gets that answer (and the password SMS) instead of a refusal.
   */
  private async callRegistryStep(step: WaterfallStepContext): Promise<DialogTurnResult> {
    const session = sessionOf(step.context);
    const { form } = session;
    const idempotencyKey = (step.options as ActivateOptions | undefined)?.idempotencyKey ?? randomUUID();
    (step.values as { idempotencyKey?: string }).idempotencyKey = idempotencyKey;
    let result;
    try {
      result = await this.deps.registry.activateAccount(
        { ...identityQueryOf(form), phone: form.phone! },
        { idempotencyKey },
      );
    } catch (error) {
      if (error instanceof RegistryUnavailableError) {
        this.deps.metrics.registryUnavailable(session);
        this.deps.log.warn({ event: 'registry.activation', result: 'unavailable' }, 'activation failed: registry unavailable');
        return step.beginDialog(ACTIVATION_RETRY);
      }
      if (error instanceof ActivationRefusedError) return this.refused(step, error);
      throw error;
    }
    this.deps.metrics.registryAnswered(session);
    this.deps.log.info({ event: 'registry.activation', result: 'activated' }, 'account activated');
    const done = { registrationNumber: result.registrationNumber, phone: maskPhone(form.phone!) };
    try {
      await this.deps.sms.send({
        to: form.phone!,
        body: t(session.locale, 'sms.password', { password: result.temporaryPassword }),
        locale: session.locale,
        purpose: 'password',
        conversationKey: conversationKey(step.context),
      });
    } catch (error) {
      // The account exists: the user still gets the number, and the portal's own way to a password.
      this.deps.log.warn({ event: 'sms.password', result: 'failed', error: (error as Error).name }, 'password SMS not sent');
      await say(step.context, 'outcomes.B.passwordNotSent', done);
      return step.endDialog({ activated: true } satisfies ActivationOutcome);
    }
    await say(step.context, 'outcomes.B.done', done);
    return step.endDialog({ activated: true } satisfies ActivationOutcome);
  }

  /**
   * The registry would not create the account. "Already has one" happens when it was made in the
   * meantime (on the portal, in an office): that is outcome A. Anything else means the registry
   * changed its mind since the look-up: only an agent can sort that out.
   */
  private async refused(step: WaterfallStepContext, error: ActivationRefusedError): Promise<DialogTurnResult> {
    const session = sessionOf(step.context);
    this.deps.metrics.registryAnswered(session);
    this.deps.log.info({ event: 'registry.activation', result: error.reason }, 'activation refused');
    const lookup = session.lookup;
    if (error.reason === 'alreadyHasAccount' && lookup?.kind === 'registered') {
      session.lookup = { ...lookup, hasAccount: true };
      await say(step.context, 'outcomes.B.alreadyActive', { registrationNumber: lookup.registrationNumber });
      return step.endDialog({ alreadyActive: true } satisfies ActivationOutcome);
    }
    await say(step.context, 'outcomes.B.refused');
    return step.endDialog({ gaveUp: true } satisfies ActivationOutcome);
  }

  private async afterRetryStep(step: WaterfallStepContext): Promise<DialogTurnResult> {
    const answer = step.result as Answer<true>;
    if (answer.gaveUp) return step.endDialog({ gaveUp: true } satisfies ActivationOutcome);
    return step.replaceDialog(ACTIVATE_WATERFALL, { idempotencyKey: (step.values as { idempotencyKey: string }).idempotencyKey } satisfies ActivateOptions);
  }
}

interface ActivateOptions {
  /** The key of the user action being retried. */
  idempotencyKey: string;
}
