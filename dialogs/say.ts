import { ActivityTypes, type Activity, type TurnContext } from 'botbuilder';
import { hasKey, t, type Vars } from '../src/i18n';
import { presentationOf } from '../src/channels/presentation';
import { sessionOf } from '../src/bot/session';

/**
 * The message `key` in the conversation's language; on a short-message channel its compact
 * wording (`compact.<key>`) when the catalogue has one. Dialogs ask for "compact", never "SMS".
 */
export function localize(turn: TurnContext, key: string, vars: Vars = {}): string {
  const { locale } = sessionOf(turn);
  const compactKey = `compact.${key}`;
  return presentationOf(turn).compact && hasKey(locale, compactKey) ? t(locale, compactKey, vars) : t(locale, key, vars);
}

/** Sends the message `key` in the conversation's language. */
export async function say(turn: TurnContext, key: string, vars: Vars = {}): Promise<void> {
  await turn.sendActivity(message(localize(turn, key, vars)));
}

/** A message activity, with the choices as suggested actions (Emulator buttons; channels render their own). */
export function message(text: string, choices: string[] = []): Partial<Activity> {
  const activity: Partial<Activity> = { type: ActivityTypes.Message, text };
  if (choices.length > 0) {
    activity.suggestedActions = {
      to: [],
      actions: choices.map((title, i) => ({ type: 'imBack', title, value: String(i + 1) })),
    };
  }
  return activity;
}

/** "1. label" lines under a question. */
export function numberedList(labels: string[]): string {
  return labels.map((label, i) => `${i + 1}. ${label}`).join('\n');
}
