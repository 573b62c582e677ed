import { Dialog, type DialogContext, type DialogTurnResult } from 'botbuilder-dialogs';
import type { TurnContext } from 'botbuilder';
import { wordsInAnyLocale } from '../src/i18n';
import { readYesNo } from '../src/nlu/choices';
import { foldForMatching } from '../src/nlu/normalize';
import type { FollowUpAddress } from '../src/services/followUp/followUpService';
import type { DialogDeps } from './deps';
import type { Question } from './question';
import { say } from './say';

/** The question's id: its funnel step and the key of its help, if any. */
export const FOLLOW_UP_QUESTION = 'followUp';

/**
 * After the documents and offices (outcome C): "shall we tell you when your number is ready?".
 * Only an explicit yes makes a follow-up; a no, or a question left unanswered, keeps nothing.
 */
export function followUpQuestion(retentionDays: number): Question<boolean> {
  return {
    id: FOLLOW_UP_QUESTION,
    ask: () => ({ key: 'followUp.offer', vars: { days: retentionDays } }),
    read: (text) => {
      const folded = foldForMatching(text);
      const yesNo = folded === '1' ? 'yes' : folded === '2' ? 'no' : readYesNo(text);
      return yesNo ? { ok: true, value: yesNo === 'yes' } : { ok: false, error: 'followUp.unknown' };
    },
  };
}

/** Where the conversation is, for the notice: its channel, the worker's number, the number they wrote to. */
export function followUpAddressOf(turn: TurnContext): FollowUpAddress {
  const { channelId, conversation, recipient } = turn.activity;
  return { channel: channelId, contact: conversation?.id ?? '', ourAddress: recipient?.id ?? '' };
}

let cancelWords: ReadonlySet<string> | undefined;

/** "annuler le suivi", "إلغاء المتابعة", "7bes lmotaba3a"…: the whole message, in any language. */
export function isFollowUpCancel(text: string): boolean {
  cancelWords ??= new Set(wordsInAnyLocale('followUp.cancelWords').map(foldForMatching));
  const folded = foldForMatching(text);
  return folded !== '' && cancelWords.has(folded);
}

/**
 * "annuler le suivi" at any time: the follow-up of this conversation is deleted, and the worker
 * is told whether there was one. Undefined when the message is something else. During a question,
 * the question is asked again afterwards.
 */
export async function handleFollowUpCancel(dc: DialogContext, deps: DialogDeps): Promise<DialogTurnResult | undefined> {
  if (!isFollowUpCancel(dc.context.activity.text ?? '')) return undefined;
  const { channel, contact } = followUpAddressOf(dc.context);
  const cancelled = await deps.followUps.cancel(channel, contact);
  await say(dc.context, cancelled ? 'followUp.cancelled' : 'followUp.noneToCancel');
  if (dc.activeDialog) await dc.repromptDialog();
  return Dialog.EndOfTurn;
}
