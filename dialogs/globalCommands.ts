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
      return goBack(innerDc, questionId);
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
 * Back one question in the form, or from the city question to the category list (outcome C);
 * elsewhere (the code, a registry retry) there is no previous question to go to.
 */
async function goBack(innerDc: DialogContext, questionId: string | undefined): Promise<DialogTurnResult> {
  if (innerDc.activeDialog?.id === NOT_REGISTERED_DIALOG && notRegisteredBackTarget(questionId) === 'categories') {
    return innerDc.replaceDialog(NOT_REGISTERED_DIALOG, { backToCategories: true } satisfies NotRegisteredOptions);
  }
  const current = questionId as FormField | 'summary' | undefined;
  const asked = fieldsToAsk(sessionOf(innerDc.context));
  const target = current === 'summary' ? asked[asked.length - 1] : current && FORM_FIELDS.includes(current) ? previousField(current) : undefined;
  if (!target || innerDc.activeDialog?.id !== IDENTITY_DIALOG) {
    await say(innerDc.context, target === undefined && current === FORM_FIELDS[0] ? 'commands.backAtStart' : 'commands.backUnavailable');
    await innerDc.repromptDialog();
    return Dialog.EndOfTurn;
  }
  clearField(sessionOf(innerDc.context).form, target);
  return innerDc.replaceDialog(IDENTITY_DIALOG);
}

function deepest(dc: DialogContext): DialogContext {
  let current = dc;
  while (current.child) current = current.child;
  return current;
}
