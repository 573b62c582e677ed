import { randomUUID } from 'node:crypto';
import {
  ComponentDialog,
  Dialog,
  WaterfallDialog,
  type DialogContext,
  type DialogTurnResult,
  type WaterfallStepContext,
} from 'botbuilder-dialogs';
import type { TurnContext } from 'botbuilder';
import { t } from '../src/i18n';
import { readYesNo } from '../src/nlu/choices';
import { maskPhone } from '../src/nlu/phone';
import { identityQueryOf, sessionOf } from '../src/bot/session';
import { PasswordResetRefusedError } from '../src/services/registry/rules';
import { RegistryUnavailableError } from '../src/services/types';
import { conversationKey, type DialogDeps } from './deps';
import { IDENTITY_DIALOG } from './identityDialog';
import { OtpPrompt, type OtpOutcome, type OtpPromptSettings } from './otpPrompt';
import type { Answer, Question, QuestionContext } from './question';
import { QuestionPrompt } from './questionPrompt';
import { retryQuestion } from './retryQuestion';
import { say } from './say';

export const PASSWORD_RESET_DIALOG = 'passwordResetDialog';
const RESET_WATERFALL = 'passwordResetWaterfall';
const FIND_PHONE_WATERFALL = 'passwordResetFindPhoneWaterfall';
const RESET_CALL_WATERFALL = 'passwordResetCallWaterfall';
/** Question ids: also funnel steps (src/metrics/labels.ts) and `help.<id>` keys. */
const OFFER = 'passwordResetOffer';
const CODE = 'passwordReset';
const RETRY = 'passwordResetRetry';

/**
 * `reset`: a new password went by SMS to the account's phone; `agency`: only an agency can help
 * (no phone known for the account, not the worker's any more, refused); `declined`: "no" to the
 * offer at outcome A; `gaveUp`: the way out was shown, the next message resumes here.
 */
export type PasswordResetOutcome = { reset: true } | { agency: true } | { declined: true } | { gaveUp: true };

export interface PasswordResetOptions {
  /** The worker asked for it ("mot de passe oublié"): no offer to answer first. */
  requested?: boolean;
}

/** The code goes only to the account's phone as the registry gave it; a typed number never replaces it. */
const RESET_OTP: OtpPromptSettings = {
  id: CODE,
  step: 'passwordReset',
  phoneOf: (session) => session.passwordReset?.accountPhone,
  numberIsTheUsers: false,
  deliveryFailedKey: 'passwordReset.deliveryFailed',
};

/** "Forgot your password? Shall I send a new one?" at outcome A: a yes/no question. */
function offerQuestion(): Question<boolean> {
  return {
    id: OFFER,
    ask: () => ({ key: 'passwordReset.offer' }),
    read: (text) => {
      const yesNo = readYesNo(text);
      return yesNo ? { ok: true, value: yesNo === 'yes' } : { ok: false, error: 'errors.yesNo.unknown' };
    },
  };
}

/**
 * A forgotten password (issue 16), for a registered worker with a Ma CNSS account whose identity
 * the look-up confirmed. The registry gives the phone the account was created with; a code goes
 * to that number (the same OTP rules as outcome B); once it is typed back, the registry sets a new
 * temporary password, which goes by SMS to that same number. The worker sees the number masked,
 * and never chooses it: someone who knows a card's number and dates must not take the account
 * over. When the number is unknown or no longer theirs, the way out is an agency.
 */
export class PasswordResetDialog extends ComponentDialog {
  constructor(
    private readonly deps: DialogDeps,
    contextFor: (turn: TurnContext) => QuestionContext,
  ) {
    super(PASSWORD_RESET_DIALOG);
    this.addDialog(new QuestionPrompt(offerQuestion(), contextFor, deps.metrics));
    this.addDialog(new QuestionPrompt({ ...retryQuestion(RETRY), ask: () => ({ key: 'passwordReset.retry' }) }, contextFor, deps.metrics));
    this.addDialog(new OtpPrompt(deps, RESET_OTP));
    this.addDialog(
      new WaterfallDialog(RESET_WATERFALL, [
        this.offerStep.bind(this),
        this.findPhoneStep.bind(this),
        this.sendCodeStep.bind(this),
        this.resetStep.bind(this),
        this.doneStep.bind(this),
      ]),
    );
    this.addDialog(new WaterfallDialog(FIND_PHONE_WATERFALL, [this.askAccountPhoneStep.bind(this), this.afterPhoneRetryStep.bind(this)]));
    this.addDialog(new WaterfallDialog(RESET_CALL_WATERFALL, [this.callResetStep.bind(this), this.afterResetRetryStep.bind(this)]));
    this.initialDialogId = RESET_WATERFALL;
  }

  /** At outcome A, offered; asked for ("mot de passe oublié"), straight on. */
  private async offerStep(step: WaterfallStepContext): Promise<DialogTurnResult> {
    const requested = (step.options as PasswordResetOptions | undefined)?.requested || sessionOf(step.context).intent === 'passwordReset';
    if (requested) return step.next({ questionId: OFFER, value: true } satisfies Answer<boolean>);
    return step.beginDialog(OFFER);
  }

  /** Yes: which phone the account was created with (the registry checks the identity again). */
  private async findPhoneStep(step: WaterfallStepContext): Promise<DialogTurnResult> {
    const answer = step.result as Answer<boolean>;
    if (answer.gaveUp) return step.endDialog({ gaveUp: true } satisfies PasswordResetOutcome);
    if (!answer.value) return step.endDialog({ declined: true } satisfies PasswordResetOutcome);
    // A resume after a way out goes straight to the reset, not to the offer again.
    sessionOf(step.context).intent = 'passwordReset';
    return step.beginDialog(FIND_PHONE_WATERFALL);
  }

  /** Says where the code goes (masked), sends it, and waits for it. */
  private async sendCodeStep(step: WaterfallStepContext): Promise<DialogTurnResult> {
    const found = step.result as { phone: string } | PasswordResetOutcome;
    if (!('phone' in found)) return step.endDialog(found);
    await say(step.context, 'passwordReset.codeSent', { phone: maskPhone(found.phone) });
    const sent = await OtpPrompt.sendCode(this.deps, step.context, found.phone);
    if (sent === 'hourlyLimit') return step.endDialog({ gaveUp: true } satisfies PasswordResetOutcome);
    return step.beginDialog(CODE);
  }

  /** Code verified: ask the registry for the new password. */
  private async resetStep(step: WaterfallStepContext): Promise<DialogTurnResult> {
    const outcome = step.result as OtpOutcome;
    if ('gaveUp' in outcome) return step.endDialog({ gaveUp: true } satisfies PasswordResetOutcome);
    if ('notMyNumber' in outcome) {
      this.deps.log.info({ event: 'password_reset.not_my_number' }, 'password reset: the account phone is not the worker\'s any more');
      await say(step.context, 'passwordReset.notMyNumber');
      return step.endDialog({ agency: true } satisfies PasswordResetOutcome);
    }
    return step.beginDialog(RESET_CALL_WATERFALL);
  }

  private async doneStep(step: WaterfallStepContext): Promise<DialogTurnResult> {
    return step.endDialog(step.result as PasswordResetOutcome);
  }

  /** Kept in the session once known, so a retried or resumed turn never asks the registry twice. */
  private async askAccountPhoneStep(step: WaterfallStepContext): Promise<DialogTurnResult> {
    const session = sessionOf(step.context);
    if (session.passwordReset) return step.endDialog({ phone: session.passwordReset.accountPhone });
    try {
      const { phone } = await this.deps.registry.lookUpAccountPhone(identityQueryOf(session.form));
      session.passwordReset = { accountPhone: phone };
      this.deps.metrics.registryAnswered(session);
      this.deps.log.info({ event: 'registry.account_phone', result: 'found' }, 'account phone found');
      return step.endDialog({ phone });
    } catch (error) {
      return this.failed(step, error, 'registry.account_phone');
    }
  }

  private async afterPhoneRetryStep(step: WaterfallStepContext): Promise<DialogTurnResult> {
    const answer = step.result as Answer<true>;
    if (answer.gaveUp) return step.endDialog({ gaveUp: true } satisfies PasswordResetOutcome);
    return step.replaceDialog(FIND_PHONE_WATERFALL);
  }

  /**
   * One reset per user action: never retried behind the user's back. The user's own "1" reuses the
   * action's idempotency key, so when the registry acted but its answer was lost, the retry gets
   * the same password instead of making another.
   */
  private async callResetStep(step: WaterfallStepContext): Promise<DialogTurnResult> {
    const session = sessionOf(step.context);
    const accountPhone = session.passwordReset!.accountPhone;
    const idempotencyKey = (step.options as ResetCallOptions | undefined)?.idempotencyKey ?? randomUUID();
    (step.values as ResetCallOptions).idempotencyKey = idempotencyKey;
    let result;
    try {
      result = await this.deps.registry.resetPassword({ ...identityQueryOf(session.form), phone: accountPhone }, { idempotencyKey });
    } catch (error) {
      return this.failed(step, error, 'registry.password_reset');
    }
    this.deps.metrics.registryAnswered(session);
    this.deps.log.info({ event: 'registry.password_reset', result: 'reset' }, 'password reset');
    const done = { registrationNumber: result.registrationNumber, phone: maskPhone(accountPhone) };
    try {
      await this.deps.sms.send({
        to: accountPhone,
        body: t(session.locale, 'passwordReset.sms', { password: result.temporaryPassword }),
        locale: session.locale,
        purpose: 'password',
        conversationKey: conversationKey(step.context),
      });
    } catch (error) {
      this.deps.log.warn({ event: 'sms.password', result: 'failed', error: (error as Error).name }, 'new password SMS not sent');
      await say(step.context, 'passwordReset.notSent', done);
      return step.endDialog({ reset: true } satisfies PasswordResetOutcome);
    }
    await say(step.context, 'passwordReset.done', done);
    return step.endDialog({ reset: true } satisfies PasswordResetOutcome);
  }

  private async afterResetRetryStep(step: WaterfallStepContext): Promise<DialogTurnResult> {
    const answer = step.result as Answer<true>;
    if (answer.gaveUp) return step.endDialog({ gaveUp: true } satisfies PasswordResetOutcome);
    return step.replaceDialog(RESET_CALL_WATERFALL, { idempotencyKey: (step.values as ResetCallOptions).idempotencyKey } satisfies ResetCallOptions);
  }

  /**
   * The registry could not answer ("reply 1 to try again"), or refused: no phone known for the
   * account, or the identity or the account changed since the look-up. Only an agency can help then.
   */
  private async failed(step: WaterfallStepContext, error: unknown, event: string): Promise<DialogTurnResult> {
    const session = sessionOf(step.context);
    if (error instanceof RegistryUnavailableError) {
      this.deps.metrics.registryUnavailable(session);
      this.deps.log.warn({ event, result: 'unavailable' }, 'password reset: registry unavailable');
      return step.beginDialog(RETRY);
    }
    if (!(error instanceof PasswordResetRefusedError)) throw error;
    this.deps.metrics.registryAnswered(session);
    this.deps.log.info({ event, result: error.reason }, 'password reset refused');
    await say(step.context, error.reason === 'noAccountPhone' ? 'passwordReset.noPhone' : 'passwordReset.refused');
    return step.endDialog({ agency: true } satisfies PasswordResetOutcome);
  }
}

interface ResetCallOptions {
  /** The key of the user action being retried. */
  idempotencyKey?: string;
}

/**
 * "Mot de passe oublié" at any step. At outcome A's offer it is a yes; before the look-up the
 * identity check under way leads to the reset (the form then asks the identity only); after
 * another outcome there is no account whose password could be renewed.
 * `innerDc` is the registration dialog's own context, as for the other global commands.
 */
export async function requestPasswordReset(innerDc: DialogContext): Promise<DialogTurnResult> {
  const session = sessionOf(innerDc.context);
  if (innerDc.activeDialog?.id === PASSWORD_RESET_DIALOG) {
    if (session.intent !== 'passwordReset') return innerDc.replaceDialog(PASSWORD_RESET_DIALOG, { requested: true } satisfies PasswordResetOptions);
    await innerDc.repromptDialog();
    return Dialog.EndOfTurn;
  }
  if (session.lookup) {
    await say(innerDc.context, 'passwordReset.noAccount');
    await innerDc.repromptDialog();
    return Dialog.EndOfTurn;
  }
  session.intent = 'passwordReset';
  await say(innerDc.context, 'passwordReset.started');
  // In the form: on to the next identity question (the phone, operator and e-mail are not asked).
  if (innerDc.activeDialog?.id === IDENTITY_DIALOG) return innerDc.replaceDialog(IDENTITY_DIALOG);
  await innerDc.repromptDialog();
  return Dialog.EndOfTurn;
}
