import { Dialog, type DialogContext, type DialogInstance, type DialogTurnResult } from 'botbuilder-dialogs';
import type { TurnContext } from 'botbuilder';
import { keywordSet, readYesNo } from '../src/nlu/choices';
import { foldForMatching, isSymbolsOnly } from '../src/nlu/normalize';
import { maskPhone, parseMoroccanMobile } from '../src/nlu/phone';
import { sessionOf, type Session } from '../src/bot/session';
import type { StepLabel } from '../src/metrics/labels';
import { OTP_LENGTH, OTP_TTL_MS } from '../src/services/otp/otpService';
import { conversationKey, type DialogDeps } from './deps';
import { MAX_ANSWER_LENGTH, MAX_ATTEMPTS, hasOnlyAttachments } from './questionPrompt';
import { say } from './say';

export const OTP_PROMPT = 'otpPrompt';

interface OtpPromptState {
  /** Messages that were neither a code nor "resend": capped like any other question. */
  unreadable: number;
  /** The user was told the last code could not be delivered (told once per code). */
  failureTold?: boolean;
}

/** `notMyNumber`: the worker said the number the code went to is not theirs any more (a forgotten password). */
export type OtpOutcome = { verified: true } | { gaveUp: true } | { notMyNumber: true };

/** Where a code goes, and what the user may do about it. */
export interface OtpPromptSettings {
  /** Dialog id (and `help.<id>`). */
  id: string;
  /** Funnel step of this question. */
  step: StepLabel;
  /** The number the code goes to. */
  phoneOf(session: Session): string | undefined;
  /**
   * Outcome B: a mobile number typed here is the user's correction of their own answer, and the
   * code goes there. A forgotten password: never — the code goes only to the account's phone, and
   * a "no" means that number is not the worker's any more.
   */
  numberIsTheUsers: boolean;
  /** Said when the operator reported the code undelivered. */
  deliveryFailedKey: string;
}

/** Outcome B: the code goes to the number the user gave in the form. */
export const ACTIVATION_OTP: OtpPromptSettings = {
  id: OTP_PROMPT,
  step: 'otp',
  phoneOf: (session) => session.form.phone,
  numberIsTheUsers: true,
  deliveryFailedKey: 'otp.deliveryFailed',
};

/**
 * Reads the code the user received by SMS. The code is checked by the OTP service and is never
 * echoed, stored in the conversation, or logged. "Resend" asks for a new one, within the limits.
 */
export class OtpPrompt extends Dialog {
  constructor(
    private readonly deps: DialogDeps,
    private readonly settings: OtpPromptSettings = ACTIVATION_OTP,
  ) {
    super(settings.id);
  }

  override async beginDialog(dc: DialogContext): Promise<DialogTurnResult> {
    dc.activeDialog!.state = { unreadable: 0 } satisfies OtpPromptState;
    this.deps.metrics.stepReached(sessionOf(dc.context), this.settings.step);
    await this.ask(dc.context);
    return Dialog.EndOfTurn;
  }

  override async continueDialog(dc: DialogContext): Promise<DialogTurnResult> {
    const state = dc.activeDialog!.state as OtpPromptState;
    const text = foldForMatching(dc.context.activity.text ?? '');
    const key = conversationKey(dc.context);

    if (keywordSet('answers.resend').has(text)) {
      return this.resend(dc);
    }
    // A mobile number here (10 digits, never a 6-digit code): the user corrects where the code goes.
    const newPhone = parseMoroccanMobile(text);
    if (newPhone.ok && !this.settings.numberIsTheUsers) {
      // Someone who knows a card's number and dates must not choose where a new password goes.
      await say(dc.context, 'passwordReset.onlyAccountPhone', { phone: maskPhone(this.phone(dc.context)) });
      return Dialog.EndOfTurn;
    }
    if (newPhone.ok && newPhone.e164 !== sessionOf(dc.context).form.phone) {
      sessionOf(dc.context).form.phone = newPhone.e164;
      state.failureTold = false;
      return this.resend(dc);
    }
    if (!this.settings.numberIsTheUsers && readYesNo(text) === 'no') return dc.endDialog({ notMyNumber: true } satisfies OtpOutcome);
    // The operator reported the last code undelivered: say so once, instead of waiting for it.
    if (!state.failureTold && (await this.deps.smsDelivery.otpDeliveryFailed(key))) {
      state.failureTold = true;
      await say(dc.context, this.settings.deliveryFailedKey, { phone: maskPhone(this.phone(dc.context)) });
      return Dialog.EndOfTurn;
    }
    const code = text.replace(/[\s-]/g, '');
    if (!new RegExp(`^\\d{${OTP_LENGTH}}$`).test(code)) {
      state.unreadable += 1;
      if (state.unreadable >= MAX_ATTEMPTS) {
        this.deps.metrics.wayOut(this.settings.step);
        await say(dc.context, 'common.wayOut');
        return dc.endDialog({ gaveUp: true } satisfies OtpOutcome);
      }
      this.deps.metrics.reprompted(this.settings.step);
      await say(dc.context, notACodeError(dc.context, code), { length: OTP_LENGTH });
      return Dialog.EndOfTurn;
    }

    const verdict = await this.deps.otp.verify(key, code);
    this.deps.log.info({ event: 'otp.verify', result: verdict.ok ? 'verified' : verdict.reason }, 'OTP checked');
    if (verdict.ok) return dc.endDialog({ verified: true } satisfies OtpOutcome);
    if (verdict.reason === 'wrong') await say(dc.context, 'otp.wrong', { left: verdict.attemptsLeft });
    else if (verdict.reason === 'locked') await say(dc.context, 'otp.locked');
    else await say(dc.context, 'otp.expired');
    return Dialog.EndOfTurn;
  }

  override async repromptDialog(turn: TurnContext, _instance: DialogInstance): Promise<void> {
    await this.ask(turn);
  }

  /** Sends a code (first time or on request) to `phone` (default: the form's); false when the hourly limit forbids it. */
  static async sendCode(deps: DialogDeps, turn: TurnContext, phone = sessionOf(turn).form.phone!): Promise<'sent' | 'cooldown' | 'hourlyLimit'> {
    const session = sessionOf(turn);
    const result = await deps.otp.send(conversationKey(turn), phone, session.locale);
    deps.log.info({ event: 'otp.send', result: result.ok ? 'sent' : result.reason }, 'OTP requested');
    if (result.ok) return 'sent';
    if (result.reason === 'cooldown') {
      await say(turn, 'otp.cooldown', { seconds: result.retryInSeconds });
      return 'cooldown';
    }
    await say(turn, 'otp.hourlyLimit');
    return 'hourlyLimit';
  }

  private async resend(dc: DialogContext): Promise<DialogTurnResult> {
    const sent = await OtpPrompt.sendCode(this.deps, dc.context, this.phone(dc.context));
    if (sent === 'sent') (dc.activeDialog!.state as OtpPromptState).failureTold = false;
    // No new code, but the last one sent may still arrive and be valid: keep waiting for it.
    if (sent === 'hourlyLimit') await say(dc.context, 'otp.lastCodeStillValid', { minutes: OTP_TTL_MS / 60000 });
    if (sent === 'sent') await this.ask(dc.context, 'otp.resent');
    return Dialog.EndOfTurn;
  }

  private async ask(turn: TurnContext, key = 'prompts.otp.ask'): Promise<void> {
    await say(turn, key, { phone: maskPhone(this.phone(turn)), length: OTP_LENGTH });
  }

  private phone(turn: TurnContext): string {
    return this.settings.phoneOf(sessionOf(turn)) ?? '';
  }
}

/** Why a message is not a code: a picture, an essay, nothing at all, or the wrong shape. */
function notACodeError(turn: TurnContext, code: string): string {
  // An emoji is no code either, but "the code has 6 digits" would not tell its sender to type.
  if (hasOnlyAttachments(turn) || isSymbolsOnly(turn.activity.text ?? '')) return 'errors.common.notText';
  if ((turn.activity.text ?? '').length > MAX_ANSWER_LENGTH) return 'errors.common.tooLong';
  return code ? 'errors.otp.format' : 'errors.otp.empty';
}
