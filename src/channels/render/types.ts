import type { Locale } from '../../services/types';

/** One bot message as the dialogs produced it: its text, and the choices it offers (if any). */
export interface OutgoingMessage {
  text: string;
  /** Display labels of the offered choices, in order; the text already lists them numbered. */
  choices: string[];
}

/** One message as a channel will send it. */
export interface RenderedMessage {
  body: string;
  /** A Twilio Content API template (WhatsApp quick replies); then `body` is the fallback text. */
  contentSid?: string;
  contentVariables?: Record<string, string>;
}

/** One renderer per channel: the platform's limits are its business, not the dialogs'. */
export interface ChannelRenderer {
  render(messages: OutgoingMessage[], locale: Locale): RenderedMessage[];
}
