import { ActivityTypes, type ConversationState, type StatePropertyAccessor, type TurnContext } from 'botbuilder';
import { DialogSet, DialogTurnStatus, type DialogContext, type DialogState } from 'botbuilder-dialogs';
import { t } from '../i18n';
import type { Logger } from '../log';
import type { ConversationMetrics } from '../metrics/funnel';
import { readGlobalCommand } from '../nlu/commands';
import { detectLocale } from '../nlu/normalize';
import type { Locale } from '../services/types';
import { conversationKey } from '../../dialogs/deps';
import { REGISTRATION_DIALOG, type RegistrationDialog } from '../../dialogs/registrationDialog';
import { StaleWriteError } from '../state/errors';
import { attachSession, forgetPersonalData, isErased, markErased, newSession, type Session } from './session';

/**
 * One turn of the conversation: load the session, run the registration dialog (which checks the
 * global commands first), then save — or delete everything when the user asked to erase.
 */
export class TasjilBot {
  private readonly sessions: StatePropertyAccessor<Session>;
  private readonly dialogs: DialogSet;

  constructor(
    private readonly conversationState: ConversationState,
    registration: RegistrationDialog,
    private readonly defaultLocale: Locale,
    private readonly log: Logger,
    private readonly metrics: ConversationMetrics,
    /** What else goes with an erased conversation (its follow-up), by channel and contact. */
    private readonly onErased?: (channel: string, contact: string) => Promise<void>,
  ) {
    this.sessions = conversationState.createProperty<Session>('session');
    this.dialogs = new DialogSet(conversationState.createProperty<DialogState>('dialogState'));
    this.dialogs.add(registration);
  }

  async onTurn(turn: TurnContext): Promise<void> {
    const { type } = turn.activity;
    if (type === ActivityTypes.ConversationUpdate) return this.greetNewMembers(turn);
    if (type !== ActivityTypes.Message) return;

    const started = Date.now();
    const session = await this.loadSession(turn);
    attachSession(turn, session);
    // Each reply says its language (the session's when it is sent: a switch applies at once), so
    // whoever renders it needs not read the conversation back from storage.
    turn.onSendActivities(async (_turn, activities, next) => {
      for (const activity of activities) activity.locale ??= session.locale;
      return next();
    });
    const dc = await this.dialogs.createContext(turn);
    const result = await dc.continueDialog();
    if (result.status === DialogTurnStatus.empty) await this.startConversation(turn, session, dc);
    // Which question the conversation waits on, never what was answered. Only when asked for:
    // finding it builds a dialog context per level of nesting, on every turn.
    if (this.log.isLevelEnabled('debug')) {
      this.log.debug({ event: 'turn', channel: turn.activity.channelId, locale: session.locale, waitingOn: waitingOn(dc), ms: Date.now() - started }, 'turn done');
    }

    if (isErased(turn)) {
      await this.conversationState.delete(turn);
      await this.onErased?.(turn.activity.channelId, turn.activity.conversation?.id ?? '');
    }
    // Written even when unchanged: the TTL counts from the user's last message, not from the last change.
    else if (!(await this.save(turn, session))) return;
    this.countTurn(turn, session);
  }

  /** After the save: the metrics' expiry watch must not run ahead of the state's own TTL. */
  private countTurn(turn: TurnContext, session: Session): void {
    const key = conversationKey(turn);
    this.metrics.turn(turn.activity.channelId, session.locale);
    this.metrics.turnEnded(key, session);
    if (isErased(turn)) this.metrics.conversationErased(key);
  }

  /**
   * Another turn of this conversation saved first (only possible when a turn outlived its lock):
   * this turn's answers are not applied, so its replies must not be sent either — the user is asked
   * to write again, and the conversation stays as the other turn left it. False when discarded.
   */
  private async save(turn: TurnContext, session: Session): Promise<boolean> {
    try {
      await this.conversationState.saveChanges(turn, true);
      return true;
    } catch (error) {
      if (!(error instanceof StaleWriteError)) throw error;
      this.log.warn({ event: 'state.stale_write', channel: turn.activity.channelId }, 'turn discarded: the conversation changed meanwhile');
      turn.bufferedReplyActivities.splice(0);
      await turn.sendActivity(t(session.locale, 'common.error'));
      return false;
    }
  }

  /** A new session speaks the language of the first message, or the default. */
  private async loadSession(turn: TurnContext): Promise<Session> {
    const existing = await this.sessions.get(turn);
    if (existing) return existing;
    const session = newSession(detectLocale(turn.activity.text ?? '') ?? this.defaultLocale);
    await this.sessions.set(turn, session);
    this.log.info({ event: 'conversation.start', channel: turn.activity.channelId, locale: session.locale }, 'conversation started');
    return session;
  }

  /** No dialog running: a first message, or the first after an outcome. Commands still apply. */
  private async startConversation(turn: TurnContext, session: Session, dc: Awaited<ReturnType<DialogSet['createContext']>>) {
    const command = readGlobalCommand(turn.activity.text ?? '');
    if (command?.command === 'erase') {
      markErased(turn);
      await turn.sendActivity(t(session.locale, 'commands.erased'));
      return;
    }
    if (command?.command === 'language') {
      session.locale = command.locale ?? (session.locale === 'ar' ? 'fr' : 'ar');
      session.localeChosen = true;
    }
    // After a way-out the answers are still here: "recommencer" means a blank form, not a resume.
    if (command?.command === 'restart') forgetPersonalData(session);
    // "Mot de passe oublié" as the first message: the identity check, then a new password.
    if (command?.command === 'forgotPassword') session.intent = 'passwordReset';
    await dc.beginDialog(REGISTRATION_DIALOG);
    // "aide" or "retour" as the first message: once a question is asked, the command applies to it.
    if (command?.command === 'help' || command?.command === 'back') await dc.continueDialog();
  }

  /** The Emulator and web chats open with a conversation update: say hello in both languages. */
  private async greetNewMembers(turn: TurnContext): Promise<void> {
    const added = turn.activity.membersAdded ?? [];
    if (added.some((member) => member.id !== turn.activity.recipient?.id)) {
      await turn.sendActivity(`${t('ar', 'welcome.hello')}\n${t('fr', 'welcome.hello')}`);
    }
  }
}

/** The id of the innermost active dialog: the question being asked. */
function waitingOn(dc: DialogContext): string | undefined {
  let current: DialogContext | undefined = dc;
  while (current?.child) current = current.child;
  return current?.activeDialog?.id;
}
