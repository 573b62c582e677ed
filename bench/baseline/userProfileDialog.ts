import type { StatePropertyAccessor, TurnContext } from 'botbuilder';
import {
  ComponentDialog,
  DialogSet,
  DialogTurnStatus,
  TextPrompt,
  WaterfallDialog,
  type DialogState,
  type WaterfallStepContext,
} from 'botbuilder-dialogs';

/**
 * The shape of Microsoft's "multi-turn prompt" sample (samples/javascript_nodejs/05.multi-turn-prompt):
 * a ComponentDialog holding one WaterfallDialog whose steps ask with TextPrompts, the answers kept
 * in the step values, a summary at the end. Nothing of Tasjil's: no NLU, no validation, no registry.
 */
const NAME_PROMPT = 'NAME_PROMPT';
const WATERFALL_DIALOG = 'WATERFALL_DIALOG';
export const USER_PROFILE_DIALOG = 'USER_PROFILE_DIALOG';

/** The questions, in order; the benchmark's virtual users check each reply against them. */
export const QUESTIONS = ['What is your name?', 'Which city do you live in?', 'What is your trade?', 'What is your mobile number?', 'Is this correct? (yes/no)'] as const;
export const DONE = 'Thank you, your profile is saved.';

export class UserProfileDialog extends ComponentDialog {
  constructor() {
    super(USER_PROFILE_DIALOG);
    this.addDialog(new TextPrompt(NAME_PROMPT));
    this.addDialog(
      new WaterfallDialog(WATERFALL_DIALOG, [
        async (step) => step.prompt(NAME_PROMPT, QUESTIONS[0]),
        async (step) => this.ask(step, 'name', QUESTIONS[1]),
        async (step) => this.ask(step, 'city', QUESTIONS[2]),
        async (step) => this.ask(step, 'trade', QUESTIONS[3]),
        async (step) => {
          const values = this.remember(step, 'mobile');
          return step.prompt(NAME_PROMPT, `${values.name}, ${values.trade} in ${values.city}, ${values.mobile}. ${QUESTIONS[4]}`);
        },
        async (step) => {
          await step.context.sendActivity(String(step.result).trim().toLowerCase().startsWith('y') ? DONE : 'Nothing saved.');
          return step.endDialog();
        },
      ]),
    );
    this.initialDialogId = WATERFALL_DIALOG;
  }

  /** As the sample's `run` helper: continue the active dialog, or begin this one. */
  async run(turnContext: TurnContext, accessor: StatePropertyAccessor<DialogState>): Promise<void> {
    const dialogSet = new DialogSet(accessor);
    dialogSet.add(this);
    const dialogContext = await dialogSet.createContext(turnContext);
    const results = await dialogContext.continueDialog();
    if (results.status === DialogTurnStatus.empty) await dialogContext.beginDialog(this.id);
  }

  private ask(step: WaterfallStepContext, field: string, question: string) {
    this.remember(step, field);
    return step.prompt(NAME_PROMPT, question);
  }

  private remember(step: WaterfallStepContext, field: string): Record<string, string> {
    const values = step.values as Record<string, string>;
    values[field] = String(step.result);
    return values;
  }
}
