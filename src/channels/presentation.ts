import type { TurnContext } from 'botbuilder';
import { WHATSAPP_LIST_MAX_ITEMS } from './render/constants';

/**
 * How much a channel can show at once, set by the channel adapter for each turn. Dialogs read
 * these capabilities, never the channel's name: a short-message channel (SMS) gets the compact
 * wording of a message and shorter pages of choices.
 */
export interface Presentation {
  /** Prefer `compact.<key>` wording where the catalogue has one (SMS: each segment costs). */
  compact: boolean;
  /** Choices shown per page of a long list. */
  choicesPerPage: number;
}

/** Chat apps (WhatsApp, the Emulator): eight lines fit a phone screen without scrolling. */
export const DEFAULT_PRESENTATION: Presentation = { compact: false, choicesPerPage: 8 };

/**
 * WhatsApp: the chat-app page, which with its "0." line stays within a WhatsApp list's
 * WHATSAPP_LIST_MAX_ITEMS, so a page could become a list picker as it is.
 */
export const WHATSAPP_PRESENTATION: Presentation = { ...DEFAULT_PRESENTATION, choicesPerPage: Math.min(DEFAULT_PRESENTATION.choicesPerPage, WHATSAPP_LIST_MAX_ITEMS - 1) };

/** SMS: every segment costs and is read on a small screen; four choices keep a page within 2 segments. */
export const SMS_PRESENTATION: Presentation = { compact: true, choicesPerPage: 4 };

const PRESENTATION_KEY = Symbol('tasjil.presentation');

export function setPresentation(turn: TurnContext, presentation: Presentation): void {
  turn.turnState.set(PRESENTATION_KEY, presentation);
}

export function presentationOf(turn: TurnContext): Presentation {
  return (turn.turnState.get(PRESENTATION_KEY) as Presentation | undefined) ?? DEFAULT_PRESENTATION;
}
