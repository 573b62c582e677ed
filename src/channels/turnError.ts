import type { TurnContext } from 'botbuilder';
import { t } from '../i18n';
import type { Logger } from '../log';
import { sessionOf } from '../bot/session';

/**
 * A turn that throws is logged (the error's name and message: our errors never carry personal
 * data) and the user gets a localized apology instead of silence. State of the failed turn is not
 * saved, so the conversation resumes where it was; the replies it had made so far are withdrawn
 * (those not yet sent: a webhook's buffered answer), as they speak of a state that was not kept
 * (a save refused by Redis during a failover: the next question, then "try again", would have the
 * worker answer a question the conversation never reached).
 */
export function turnErrorHandler(log: Logger) {
  return async (turn: TurnContext, error: Error): Promise<void> => {
    log.error({ event: 'turn.error', channel: turn.activity.channelId, error: { name: error.name, message: error.message, stack: error.stack } }, 'turn failed');
    let text: string;
    try {
      text = t(sessionOf(turn).locale, 'common.error');
    } catch {
      text = `${t('ar', 'common.error')}\n${t('fr', 'common.error')}`;
    }
    turn.bufferedReplyActivities.splice(0);
    try {
      await turn.sendActivity(text);
    } catch (sendError) {
      log.error({ event: 'turn.error.reply_failed', error: (sendError as Error).message }, 'could not send the apology');
    }
  };
}
