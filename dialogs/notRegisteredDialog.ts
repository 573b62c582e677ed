import { ComponentDialog, WaterfallDialog, type DialogTurnResult, type WaterfallStepContext } from 'botbuilder-dialogs';
import type { TurnContext } from 'botbuilder';
import { t } from '../src/i18n';
import { identityQueryOf, sessionOf } from '../src/bot/session';
import { locationOf } from '../src/channels/location';
import type { Locale } from '../src/services/types';
import type { DialogDeps } from './deps';
import { FOLLOW_UP_QUESTION, followUpAddressOf, followUpQuestion } from './followUpOffer';
import { PagedChoicePrompt } from './pagedChoicePrompt';
import type { Answer, Question, QuestionContext } from './question';
import { QuestionPrompt } from './questionPrompt';
import { say } from './say';

export const NOT_REGISTERED_DIALOG = 'notRegisteredDialog';
const NOT_REGISTERED_WATERFALL = 'notRegisteredWaterfall';
const CATEGORY_PROMPT = 'category';
const CITY_PROMPT = 'city';

/** Where the user is: a city, or a point they shared. */
type WhereFrom = { cityCode: string } | { lat: number; lon: number };

/** `followUp`: the worker said yes to being told when their number is ready. */
export type NotRegisteredOutcome = { done: true; followUp?: true } | { gaveUp: true };

/** How the dialog begins: from the start, or ("back" at the city question) at the category list. */
export interface NotRegisteredOptions {
  backToCategories?: boolean;
}

/**
 * Where a "back" at `questionId` goes within outcome C: from the city to the category list; in the
 * list, to its previous page (from the first one, out of outcome C: see globalCommands).
 */
export function notRegisteredBackTarget(questionId: string | undefined): 'categories' | 'previousPage' | undefined {
  if (questionId === CITY_PROMPT) return 'categories';
  return questionId === CATEGORY_PROMPT ? 'previousPage' : undefined;
}

/**
 * Outcome C (guide, case 2): subject to the regime but not on the liaison body's list. The user
 * picks a professional category, gets the documents to bring, then the nearest offices.
 */
export class NotRegisteredDialog extends ComponentDialog {
  constructor(
    private readonly deps: DialogDeps,
    contextFor: (turn: TurnContext) => QuestionContext,
  ) {
    super(NOT_REGISTERED_DIALOG);
    this.addDialog(
      new PagedChoicePrompt<string>(
        CATEGORY_PROMPT,
        (ctx) =>
          deps.data.categories.map((c) => ({
            value: c.code,
            labels: ctx.locale === 'ar' ? [c.shortAr, ...c.aliases, c.ar, c.shortFr, c.fr] : [c.shortFr, ...c.aliases, c.fr, c.shortAr, c.ar],
          })),
        contextFor,
        deps.metrics,
      ),
    );
    this.addDialog(new QuestionPrompt(this.cityQuestion(), contextFor, deps.metrics));
    this.addDialog(new QuestionPrompt(followUpQuestion(deps.followUps.retentionDays), contextFor, deps.metrics));
    this.addDialog(
      new WaterfallDialog(NOT_REGISTERED_WATERFALL, [
        this.chooseCategoryStep.bind(this),
        this.listDocumentsStep.bind(this),
        this.listOfficesStep.bind(this),
        this.followUpStep.bind(this),
      ]),
    );
    this.initialDialogId = NOT_REGISTERED_WATERFALL;
  }

  /** Explains the case and offers the category list (without the explanation again on "back"). */
  private async chooseCategoryStep(step: WaterfallStepContext): Promise<DialogTurnResult> {
    if (!(step.options as NotRegisteredOptions | undefined)?.backToCategories) await say(step.context, 'outcomes.C.intro');
    return step.beginDialog(CATEGORY_PROMPT);
  }

  /** The documents for that category, then where to take them. */
  private async listDocumentsStep(step: WaterfallStepContext): Promise<DialogTurnResult> {
    const answer = step.result as Answer<string>;
    if (answer.gaveUp) return step.endDialog({ gaveUp: true } satisfies NotRegisteredOutcome);
    const locale = sessionOf(step.context).locale;
    const category = this.deps.data.categories.find((c) => c.code === answer.value)!;
    const documents = category.documents[locale].map((d) => `• ${d}`).join('\n');
    await say(step.context, 'outcomes.C.documents', { category: label(category, locale), documents });
    return step.beginDialog(CITY_PROMPT);
  }

  /** The nearest approved offices or agencies, by city name. */
  private async listOfficesStep(step: WaterfallStepContext): Promise<DialogTurnResult> {
    const answer = step.result as Answer<WhereFrom>;
    if (answer.gaveUp) return step.endDialog({ gaveUp: true } satisfies NotRegisteredOutcome);
    const locale = sessionOf(step.context).locale;
    const from = answer.value!;
    const nearest = this.deps.offices.nearestOffices(from, 3);
    const lines = nearest.map(({ office, distanceKm, inCity }) => {
      const key = office.sample ? 'outcomes.C.officeLineSample' : 'outcomes.C.officeLine';
      // From a shared location every distance helps; from a city name, only for offices elsewhere.
      const showDistance = 'lat' in from || !inCity;
      const where = showDistance ? t(locale, 'outcomes.C.distance', { km: Math.max(1, Math.round(distanceKm)) }) : '';
      // No distance for an office in the city itself: close the gap its placeholder leaves.
      return t(locale, key, { name: office.name[locale], address: office.address[locale], distance: where }).replace(/ {2,}/g, ' ').trim();
    });
    // Named back, the city shows the worker they were understood, above all when its nearest
    // offices are in another town ("Près de Tiznit : … Agadir").
    const city = 'cityCode' in from ? this.deps.offices.city(from.cityCode) : undefined;
    const heading = city ? t(locale, cityHeadingKey(city[locale]), { city: city[locale] }) : t(locale, 'outcomes.C.headingPin');
    await say(step.context, 'outcomes.C.offices', { heading, offices: lines.join('\n') });
    // Offered only where a notice can reach the worker later (WhatsApp, SMS), never in a web chat.
    if (!this.deps.followUps.canReach(step.context.activity.channelId)) return step.endDialog({ done: true } satisfies NotRegisteredOutcome);
    return step.beginDialog(FOLLOW_UP_QUESTION);
  }

  /** With an explicit yes only, the identity is kept (encrypted, for a limited time) to check again. */
  private async followUpStep(step: WaterfallStepContext): Promise<DialogTurnResult> {
    const answer = step.result as Answer<boolean>;
    if (answer.gaveUp) return step.endDialog({ gaveUp: true } satisfies NotRegisteredOutcome);
    if (!answer.value) {
      await say(step.context, 'followUp.declined');
      return step.endDialog({ done: true } satisfies NotRegisteredOutcome);
    }
    const { form, locale } = sessionOf(step.context);
    await this.deps.followUps.create({
      address: followUpAddressOf(step.context),
      identity: identityQueryOf(form),
      locale,
    });
    await say(step.context, 'followUp.accepted');
    return step.endDialog({ done: true, followUp: true } satisfies NotRegisteredOutcome);
  }

  /** By city name, or by a shared location (a WhatsApp pin): then offices come by distance. */
  private cityQuestion(): Question<WhereFrom> {
    return {
      id: CITY_PROMPT,
      acceptsLocation: true,
      ask: () => ({ key: 'prompts.city.ask' }),
      read: (text, ctx) => {
        const pin = locationOf(ctx.turn.activity);
        if (pin) return { ok: true, value: { lat: pin.latitude, lon: pin.longitude } };
        const city = this.deps.offices.findCity(text);
        return city ? { ok: true, value: { cityCode: city.code } } : { ok: false, error: 'errors.city.unknown' };
      },
    };
  }
}

/** French elides before a vowel ("Près d'Agadir"); each locale words both cases its own way. */
export function cityHeadingKey(cityName: string): string {
  return /^[aeiouyàâéèêîôû]/i.test(cityName) ? 'outcomes.C.headingCityBeforeVowel' : 'outcomes.C.headingCity';
}

function label(category: { fr: string; ar: string }, locale: Locale): string {
  return category[locale];
}
