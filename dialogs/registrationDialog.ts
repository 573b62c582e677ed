import {
  ComponentDialog,
  DialogTurnStatus,
  WaterfallDialog,
  type DialogContext,
  type DialogTurnResult,
  type WaterfallStepContext,
} from 'botbuilder-dialogs';
import type { TurnContext } from 'botbuilder';
import { forgetPersonalData, sessionOf } from '../src/bot/session';
import type { DeliveredOutcome } from '../src/metrics/funnel';
import { readGlobalCommand } from '../src/nlu/commands';
import { MAX_MISMATCHES_PER_DOCUMENT } from '../src/services/lookupGuard';
import type { LookupResult, MismatchField } from '../src/services/types';
import { ACCOUNT_ACTIVATION_DIALOG, AccountActivationDialog, type ActivationOutcome } from './accountActivationDialog';
import { conversationKey, type DialogDeps } from './deps';
import { handleFollowUpCancel } from './followUpOffer';
import { handleGlobalCommand } from './globalCommands';
import { IDENTITY_DIALOG, IdentityDialog, type IdentityResult } from './identityDialog';
import { LOOKUP_DIALOG, LookupDialog } from './lookupDialog';
import { NOT_REGISTERED_DIALOG, NotRegisteredDialog, type NotRegisteredOutcome } from './notRegisteredDialog';
import { PASSWORD_RESET_DIALOG, PasswordResetDialog, type PasswordResetOutcome } from './passwordResetDialog';
import type { QuestionContext } from './question';
import { resumeWithThisMessage } from './questionPrompt';
import { localize, say } from './say';

export const REGISTRATION_DIALOG = 'registrationDialog';
export const REGISTRATION_WATERFALL = 'registrationWaterfall';


/**
 * The whole check, as the portal runs it: welcome, the form, the registry look-up, then one of
 * the four outcomes of the guide (or a mismatch to correct). Global commands are checked here,
 * before any step reads the message.
 */
export class RegistrationDialog extends ComponentDialog {
  constructor(
    private readonly deps: DialogDeps,
    contextFor: (turn: TurnContext) => QuestionContext,
  ) {
    super(REGISTRATION_DIALOG);
    this.addDialog(new IdentityDialog(deps.data, contextFor, deps.metrics));
    this.addDialog(new LookupDialog(deps, contextFor));
    this.addDialog(new AccountActivationDialog(deps, contextFor));
    this.addDialog(new NotRegisteredDialog(deps, contextFor));
    this.addDialog(new PasswordResetDialog(deps, contextFor));
    this.addDialog(
      new WaterfallDialog(REGISTRATION_WATERFALL, [
        this.welcomeStep.bind(this),
        this.collectIdentityStep.bind(this),
        this.lookUpStep.bind(this),
        this.deliverOutcomeStep.bind(this),
        this.closeStep.bind(this),
      ]),
    );
    this.initialDialogId = REGISTRATION_WATERFALL;
  }

  /** "annuler le suivi" as the first message (no check under way): answered, and nothing starts. */
  protected override async onBeginDialog(innerDc: DialogContext, options?: object): Promise<DialogTurnResult> {
    const cancelled = await handleFollowUpCancel(innerDc, this.deps);
    if (cancelled) return { status: DialogTurnStatus.complete };
    return super.onBeginDialog(innerDc, options);
  }

  protected override async onContinueDialog(innerDc: DialogContext): Promise<DialogTurnResult> {
    const followUpCancelled = await handleFollowUpCancel(innerDc, this.deps);
    if (followUpCancelled) return followUpCancelled;
    const command = readGlobalCommand(innerDc.context.activity.text ?? '');
    if (command) {
      const handled = await handleGlobalCommand(innerDc, command, this.deps, REGISTRATION_WATERFALL);
      if (handled) return handled;
    }
    return super.onContinueDialog(innerDc);
  }

  /** 1. Welcome, with the privacy notice and how to switch language, once per conversation. */
  private async welcomeStep(step: WaterfallStepContext): Promise<DialogTurnResult> {
    const session = sessionOf(step.context);
    if ((step.options as RegistrationOptions | undefined)?.correcting) return step.next();
    // Answers still here after a way-out: the user is picking up where they stopped, not starting over.
    const resuming = session.welcomed && Object.keys(session.form).length > 0;
    if (!resuming) this.deps.metrics.conversationStarted(session);
    else resumeWithThisMessage(step.context);
    const hints = step.context.activity.channelData as ChatHints | undefined;
    if (resuming || session.welcomed) await say(step.context, resuming ? 'welcome.resume' : 'welcome.again');
    else {
      // A chat channel may know the user's first name (a WhatsApp profile): the one greeting uses it.
      const hello = hints?.greetingName ? localize(step.context, 'welcome.named', { name: hints.greetingName }) : localize(step.context, 'welcome.greeting');
      await say(step.context, 'welcome.first', { hello });
    }
    // Back after STOP by simply writing (chat/pipeline): they must know the way out is still there.
    if (hints?.optedBackIn) await say(step.context, 'welcome.stopAgain');
    // "Mot de passe oublié" as the first message: the identity check comes first, and says so
    // (not when resuming a reset whose identity was already checked).
    if (session.intent === 'passwordReset' && !session.lookup) await say(step.context, 'passwordReset.started');
    session.welcomed = true;
    return step.next();
  }

  /** 2–9. The portal's form and its summary. */
  private async collectIdentityStep(step: WaterfallStepContext): Promise<DialogTurnResult> {
    // Already confirmed and looked up (the user took the way out during an outcome): resume there.
    if (sessionOf(step.context).lookup) return step.next({ confirmed: true } satisfies IdentityResult);
    return step.beginDialog(IDENTITY_DIALOG);
  }

  /** 10. The registry look-up (with "reply 1 to try again" when it is down). */
  private async lookUpStep(step: WaterfallStepContext): Promise<DialogTurnResult> {
    const identity = step.result as IdentityResult;
    if ('gaveUp' in identity) return step.endDialog();
    return step.beginDialog(LOOKUP_DIALOG);
  }

  /** One of the guide's outcomes. */
  private async deliverOutcomeStep(step: WaterfallStepContext): Promise<DialogTurnResult> {
    const result = step.result as LookupResult | undefined;
    if (!result) return step.endDialog();
    const session = sessionOf(step.context);
    switch (result.kind) {
      case 'registered':
        if (result.hasAccount) {
          await say(step.context, 'outcomes.A', { registrationNumber: result.registrationNumber });
          // A forgotten password: offered here, or asked for earlier ("mot de passe oublié").
          return step.beginDialog(PASSWORD_RESET_DIALOG);
        }
        if (session.intent === 'passwordReset' && session.form.phone === undefined) return this.completeFormForAccount(step);
        return step.beginDialog(ACCOUNT_ACTIVATION_DIALOG);
      case 'notRegistered':
        return step.beginDialog(NOT_REGISTERED_DIALOG);
      case 'notSubject': {
        const reason = this.deps.data.nonSubjectReasons.find((r) => r.code === result.reasonCode);
        await say(step.context, 'outcomes.D', {
          reason: reason ? reason[session.locale] : '',
          coveredBy: reason ? reason.coveredBy[session.locale] : '',
        });
        return step.next({ done: true });
      }
      case 'mismatch':
        return this.correctMismatch(step, result.fields);
    }
  }

  /**
   * Asked for a new password, but the worker has no account yet: outcome B creates one, and needs
   * the rest of the form (the phone that will get the code and the password). Those questions,
   * the full summary, then the look-up again, for the form as confirmed.
   */
  private async completeFormForAccount(step: WaterfallStepContext): Promise<DialogTurnResult> {
    const session = sessionOf(step.context);
    session.intent = undefined;
    session.lookup = undefined;
    await say(step.context, 'passwordReset.noAccountYet');
    return step.replaceDialog(REGISTRATION_WATERFALL, { correcting: true } satisfies RegistrationOptions);
  }

  /** After an outcome: personal answers are forgotten; the language stays. */
  private async closeStep(step: WaterfallStepContext): Promise<DialogTurnResult> {
    const outcome = step.result as ActivationOutcome | PasswordResetOutcome | NotRegisteredOutcome | { done: true } | undefined;
    if (outcome && 'gaveUp' in outcome) return step.endDialog();
    const session = sessionOf(step.context);
    this.deps.metrics.ended(session, resetOutcomeOf(outcome) ?? outcomeOf(session.lookup));
    forgetPersonalData(session);
    await this.deps.otp.forget(conversationKey(step.context));
    // With a follow-up, the goodbye says what is still kept.
    await say(step.context, outcome && 'followUp' in outcome ? 'followUp.goodbye' : 'common.goodbye');
    return step.endDialog();
  }

  /** Says which kind of data did not match (never the registry's value), then asks it again. */
  private async correctMismatch(step: WaterfallStepContext, fields: MismatchField[]): Promise<DialogTurnResult> {
    const session = sessionOf(step.context);
    session.lookup = undefined;
    const { documentType, documentNumber } = session.form;
    const mismatches = await this.deps.lookupGuard.recordMismatch(documentType!, documentNumber!);
    const kind = fields.length > 1 ? 'both' : fields[0]!;
    this.deps.metrics.mismatched(kind);
    if (mismatches >= MAX_MISMATCHES_PER_DOCUMENT) {
      await say(step.context, 'outcomes.mismatch.tooMany');
      this.deps.metrics.ended(session, 'mismatch');
      forgetPersonalData(session);
      return step.endDialog();
    }
    await say(step.context, `outcomes.mismatch.${kind}`);
    if (fields.includes('birthDate')) delete session.form.birthDate;
    if (fields.includes('idExpiryDate')) delete session.form.expiryDate;
    return step.replaceDialog(REGISTRATION_WATERFALL, { correcting: true } satisfies RegistrationOptions);
  }
}

/** How a forgotten password ended, when one was asked for; declined, it is outcome A. */
function resetOutcomeOf(outcome: object | undefined): DeliveredOutcome | undefined {
  if (outcome && 'reset' in outcome) return 'password_reset';
  if (outcome && 'agency' in outcome) return 'password_reset_agency';
  return undefined;
}

/** The guide's outcome the close step follows: the look-up's answer tells which. */
function outcomeOf(lookup: LookupResult | undefined): DeliveredOutcome {
  switch (lookup?.kind) {
    case 'registered':
      return lookup.hasAccount ? 'A' : 'B';
    case 'notRegistered':
      return 'C';
    default: // notSubject: a mismatch never reaches the close step
      return 'D';
  }
}

/** What a chat transport tells the dialogs about a message, never what channel it came by. */
interface ChatHints {
  /** The first name of the sender's profile, to greet with. */
  greetingName?: string;
  /** The sender had opted out (STOP) and wrote again, which opted them back in. */
  optedBackIn?: boolean;
}

export interface RegistrationOptions {
  /** Back from a mismatch, "back" to the summary after the look-up, or completing the form for an account: no welcome again. */
  correcting?: boolean;
}
