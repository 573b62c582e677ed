import {
  ComponentDialog,
  WaterfallDialog,
  type DialogTurnResult,
  type WaterfallStepContext,
} from 'botbuilder-dialogs';
import type { TurnContext } from 'botbuilder';
import { t } from '../src/i18n';
import { formatDateForLocale } from '../src/nlu/dates';
import type { ReferenceData } from '../src/data/load';
import type { ConversationMetrics } from '../src/metrics/funnel';
import { FORM_FIELDS, fieldsToAsk, sessionOf, type FormAnswers, type FormField } from '../src/bot/session';
import type { Answer, QuestionContext } from './question';
import { QuestionPrompt } from './questionPrompt';
import {
  birthDateQuestion,
  documentNumberQuestion,
  documentTypeQuestion,
  emailQuestion,
  expiryDateQuestion,
  nationalFormat,
  operatorQuestion,
  phoneQuestion,
  summaryQuestion,
  type SummaryDecision,
} from './identityQuestions';

export const IDENTITY_DIALOG = 'identityDialog';
const IDENTITY_WATERFALL = 'identityWaterfall';

export type IdentityResult = { confirmed: true } | { gaveUp: true };

/**
 * The portal's form, one step per field, then the summary that replaces its captcha.
 * A field already answered is skipped, so "back" and "change field N" only clear that field and
 * restart this dialog: the user is asked that one question again, then lands on the summary.
 */
export class IdentityDialog extends ComponentDialog {
  constructor(
    private readonly data: ReferenceData,
    contextFor: (turn: TurnContext) => QuestionContext,
    metrics: ConversationMetrics,
  ) {
    super(IDENTITY_DIALOG);
    const prompts = [
      documentTypeQuestion(data),
      documentNumberQuestion(data),
      expiryDateQuestion(),
      birthDateQuestion(),
      phoneQuestion(),
      operatorQuestion(data),
      emailQuestion(),
      summaryQuestion((ctx) => this.describeAnswers(ctx)),
    ];
    for (const question of prompts) this.addDialog(new QuestionPrompt<unknown>(question as never, contextFor, metrics));
    this.addDialog(
      new WaterfallDialog(IDENTITY_WATERFALL, [
        this.askDocumentTypeStep.bind(this),
        this.askDocumentNumberStep.bind(this),
        this.askExpiryDateStep.bind(this),
        this.askBirthDateStep.bind(this),
        this.askPhoneStep.bind(this),
        this.askOperatorStep.bind(this),
        this.askEmailStep.bind(this),
        this.confirmSummaryStep.bind(this),
        this.afterSummaryStep.bind(this),
      ]),
    );
    this.initialDialogId = IDENTITY_WATERFALL;
  }

  /** 1. Identity document type (CNIE, residence card). */
  private askDocumentTypeStep(step: WaterfallStepContext) {
    return this.askUnlessAnswered(step, 'documentType');
  }

  /** 2. Its number, normalized (upper case, no spaces). */
  private askDocumentNumberStep(step: WaterfallStepContext) {
    return this.recordThenAsk(step, 'documentNumber');
  }

  /** 3. Its expiry date, not in the past. */
  private askExpiryDateStep(step: WaterfallStepContext) {
    return this.recordThenAsk(step, 'expiryDate');
  }

  /** 4. Date of birth: a plausible age, before the expiry date. */
  private askBirthDateStep(step: WaterfallStepContext) {
    return this.recordThenAsk(step, 'birthDate');
  }

  /** 5. The mobile number that will receive the SMS (the sender's own is offered first). */
  private askPhoneStep(step: WaterfallStepContext) {
    return this.recordThenAsk(step, 'phone');
  }

  /** 6. The operator, asked and never guessed from the prefix: numbers are portable in Morocco. */
  private askOperatorStep(step: WaterfallStepContext) {
    return this.recordThenAsk(step, 'operator');
  }

  /** 7. E-mail, optional. */
  private askEmailStep(step: WaterfallStepContext) {
    return this.recordThenAsk(step, 'email');
  }

  /** 8. Summary: confirm, or name the line to change. */
  private async confirmSummaryStep(step: WaterfallStepContext): Promise<DialogTurnResult> {
    const gaveUp = this.record(step);
    if (gaveUp) return step.endDialog({ gaveUp: true } satisfies IdentityResult);
    return step.beginDialog('summary');
  }

  private async afterSummaryStep(step: WaterfallStepContext): Promise<DialogTurnResult> {
    const answer = step.result as Answer<SummaryDecision>;
    if (answer.gaveUp || !answer.value) return step.endDialog({ gaveUp: true } satisfies IdentityResult);
    if ('confirmed' in answer.value) return step.endDialog({ confirmed: true } satisfies IdentityResult);
    // A line the summary did not show (a forgotten password shows the identity only): the summary again.
    if (!fieldsToAsk(sessionOf(step.context)).includes(answer.value.change)) return step.replaceDialog(IDENTITY_WATERFALL);
    clearField(sessionOf(step.context).form, answer.value.change);
    return step.replaceDialog(IDENTITY_WATERFALL);
  }

  private async recordThenAsk(step: WaterfallStepContext, field: FormField): Promise<DialogTurnResult> {
    const gaveUp = this.record(step);
    if (gaveUp) return step.endDialog({ gaveUp: true } satisfies IdentityResult);
    return this.askUnlessAnswered(step, field);
  }

  private async askUnlessAnswered(step: WaterfallStepContext, field: FormField): Promise<DialogTurnResult> {
    const session = sessionOf(step.context);
    if (session.form[field] !== undefined || !fieldsToAsk(session).includes(field)) return step.next();
    return step.beginDialog(field);
  }

  /** Stores the previous question's answer in the form. Returns true when the user gave up. */
  private record(step: WaterfallStepContext): boolean {
    const answer = step.result as Answer<unknown> | undefined;
    if (!answer) return false;
    if (answer.gaveUp) return true;
    const form = sessionOf(step.context).form as Record<string, unknown>;
    form[answer.questionId] = answer.value;
    return false;
  }

  /** The numbered lines of the summary, in the conversation's language. */
  describeAnswers(ctx: QuestionContext): string {
    const { form } = ctx.session;
    const idType = this.data.idTypes.find((i) => i.code === form.documentType);
    const operator = this.data.operators.find((o) => o.code === form.operator);
    const date = (d?: string) => (d ? formatDateForLocale(d, ctx.locale) : '');
    const values: Record<FormField, string> = {
      documentType: idType ? idType[ctx.locale] : '',
      documentNumber: form.documentNumber ?? '',
      expiryDate: date(form.expiryDate),
      birthDate: date(form.birthDate),
      phone: form.phone ? nationalFormat(form.phone) : '',
      operator: operator ? operator[ctx.locale] : '',
      email: form.email ? form.email : t(ctx.locale, 'prompts.summary.noEmail'),
    };
    return fieldsToAsk(ctx.session)
      .map((field, i) => `${i + 1}. ${t(ctx.locale, `prompts.summary.fields.${field}`)} : ${values[field]}`)
      .join('\n');
  }
}

/** Clears a field so it is asked again; a new document type also needs its number again. */
export function clearField(form: FormAnswers, field: FormField): void {
  delete form[field];
  if (field === 'documentType') delete form.documentNumber;
}

/** The field asked before `field`, for "back". */
export function previousField(field: FormField): FormField | undefined {
  const index = FORM_FIELDS.indexOf(field);
  return index > 0 ? FORM_FIELDS[index - 1] : undefined;
}
