import { Dialog, DialogTurnStatus, type DialogContext, type DialogTurnResult } from 'botbuilder-dialogs';
import { hasKey } from '../src/i18n';
import type { GlobalCommand } from '../src/nlu/commands';
import { FORM_FIELDS, fieldsToAsk, forgetPersonalData, markErased, sessionOf, type FormField } from '../src/bot/session';
import type { Locale } from '../src/services/types';
import { conversationKey, type DialogDeps } from './deps';
import { IDENTITY_DIALOG, clearField, previousField } from './identityDialog';
import { NOT_REGISTERED_DIALOG, notRegisteredBackTarget, type NotRegisteredOptions } from './notRegisteredDialog';
import { requestPasswordReset } from './passwordResetDialog';
import { QuestionPrompt } from './questionPrompt';
import { PagedChoicePrompt } from './pagedChoicePrompt';
import { OTP_PROMPT } from './otpPrompt';
import { REGISTRY_RETRY } from './lookupDialog';
import { ACTIVATION_RETRY } from './accountActivationDialog';
import type { RegistrationOptions } from './registrationDialog';
import { say } from './say';

/**
 * Help, back, restart, language, repeat and erase, understood at every step. Returns undefined when
 * the message is not to be taken as a command here (it is one of the current question's choices).
 * `innerDc` is the registration dialog's own context: its active child is the current sub-dialog.
 */
export async function handleGlobalCommand(
  innerDc: DialogContext,
  { command, locale }: { command: GlobalCommand; locale?: Locale },
  deps: DialogDeps,
  restartDialogId: string,
): Promise<DialogTurnResult | undefined> {
  const leaf = deepest(innerDc);
  const questionId = leaf.activeDialog?.id;
  const prompt = questionId ? leaf.findDialog(questionId) : undefined;
  if (prompt instanceof QuestionPrompt && prompt.isChoiceLabel(innerDc.context.activity.text ?? '', innerDc.context)) {
    return undefined;
  }
  const session = sessionOf(innerDc.context);

  switch (command) {
    case 'help': {
      const key = questionId && hasKey(session.locale, `help.${questionId}`) ? `help.${questionId}` : 'help.general';
      await say(innerDc.context, key);
      await say(innerDc.context, 'help.commands');
      return Dialog.EndOfTurn;
    }
    case 'repeat':
      await innerDc.repromptDialog();
      return Dialog.EndOfTurn;
    case 'language':
      session.locale = locale ?? (session.locale === 'ar' ? 'fr' : 'ar');
      session.localeChosen = true;
      await say(innerDc.context, 'commands.languageChanged');
      await innerDc.repromptDialog();
      return Dialog.EndOfTurn;
    case 'back':
      return goBack(innerDc, questionId, restartDialogId);
    case 'restart':
      forgetPersonalData(session);
      await deps.otp.forget(conversationKey(innerDc.context));
      await innerDc.cancelAllDialogs();
      return innerDc.beginDialog(restartDialogId);
    case 'erase':
      await deps.otp.forget(conversationKey(innerDc.context));
      markErased(innerDc.context);
      await innerDc.cancelAllDialogs();
      await say(innerDc.context, 'commands.erased');
      return { status: DialogTurnStatus.cancelled };
    case 'forgotPassword':
      return requestPasswordReset(innerDc);
  }
}

/**
 * Back one question in the form; from the city question to the category list, and a page back
 * in that list (outcome C); from the questions after the look-up (the code, a registry retry, the
 * first page of the categories) to the summary, where any answer can be corrected and confirmed
 * again: a wrong phone number is why the code does not come, a mistyped card number why the
 * registry does not know the worker.
 */
async function goBack(innerDc: DialogContext, questionId: string | undefined, restartDialogId: string): Promise<DialogTurnResult> {
  const target = notRegisteredBackTarget(questionId);
  if (innerDc.activeDialog?.id === NOT_REGISTERED_DIALOG && target === 'categories') {
    return innerDc.replaceDialog(NOT_REGISTERED_DIALOG, { backToCategories: true } satisfies NotRegisteredOptions);
  }
  if (target === 'previousPage') {
    const leaf = deepest(innerDc);
    const prompt = leaf.findDialog(questionId!);
    if (prompt instanceof PagedChoicePrompt && (await prompt.showPreviousPage(leaf))) return Dialog.EndOfTurn;
  }
  if (target === 'previousPage' || AFTER_THE_LOOKUP.includes(questionId ?? '')) return backToSummary(innerDc, restartDialogId);
  const current = questionId as FormField | 'summary' | undefined;
  const asked = fieldsToAsk(sessionOf(innerDc.context));
  const field = current === 'summary' ? asked[asked.length - 1] : current && FORM_FIELDS.includes(current) ? previousField(current) : undefined;
  if (!field || innerDc.activeDialog?.id !== IDENTITY_DIALOG) {
    await say(innerDc.context, field === undefined && current === FORM_FIELDS[0] ? 'commands.backAtStart' : 'commands.backUnavailable');
    await innerDc.repromptDialog();
    return Dialog.EndOfTurn;
  }
  clearField(sessionOf(innerDc.context).form, field);
  return innerDc.replaceDialog(IDENTITY_DIALOG);
}

/** Questions asked once the registry has answered (or failed to): "back" from them is the summary. */
const AFTER_THE_LOOKUP: readonly string[] = [OTP_PROMPT, REGISTRY_RETRY, ACTIVATION_RETRY];

/**
 * The summary again, every answer kept: the look-up's answer is dropped (confirming asks the
 * registry again) but not a code already sent, which still works for the same number.
 */
async function backToSummary(innerDc: DialogContext, restartDialogId: string): Promise<DialogTurnResult> {
  sessionOf(innerDc.context).lookup = undefined;
  await innerDc.cancelAllDialogs();
  return innerDc.beginDialog(restartDialogId, { correcting: true } satisfies RegistrationOptions);
}

function deepest(dc: DialogContext): DialogContext {
  let current = dc;
  while (current.child) current = current.child;
  return current;
}
