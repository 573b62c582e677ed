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
import type { QuestionContext } from './question';
import { resumeWithThisMessage } from './questionPrompt';
import { say } from './say';

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
    // A chat channel may know the user's first name (a WhatsApp profile): greet with it once.
    const name = (step.context.activity.channelData as { greetingName?: string } | undefined)?.greetingName;
    if (name && !session.welcomed) await say(step.context, 'welcome.named', { name });
    await say(step.context, resuming ? 'welcome.resume' : session.welcomed ? 'welcome.again' : 'welcome.first');
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
          return step.next({ done: true });
        }
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

  /** After an outcome: personal answers are forgotten; the language stays. */
  private async closeStep(step: WaterfallStepContext): Promise<DialogTurnResult> {
    const outcome = step.result as ActivationOutcome | NotRegisteredOutcome | { done: true } | undefined;
    if (outcome && 'gaveUp' in outcome) return step.endDialog();
    const session = sessionOf(step.context);
    this.deps.metrics.ended(session, outcomeOf(session.lookup));
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

interface RegistrationOptions {
  /** Back from a mismatch: no welcome again. */
  correcting?: boolean;
}
