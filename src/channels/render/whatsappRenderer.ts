import type { Locale } from '../../services/types';
import {
  CONTENT_VARIABLE_MAX,
  WHATSAPP_BUTTON_LABEL_MAX,
  WHATSAPP_MAX_BUTTONS,
  WHATSAPP_MESSAGE_MAX,
  WHATSAPP_QUICK_REPLY_BODY_MAX,
} from './constants';
import type { ChannelRenderer, OutgoingMessage, RenderedMessage } from './types';

/**
 * Content API SIDs (HX…) of two generic `twilio/quick-reply` contents, created once per account,
 * one per button count, so that any question with 2 or 3 short choices shows tappable buttons:
 *
 *   quickReply2: body "{{1}}", actions [{ id: "1", title: "{{2}}" }, { id: "2", title: "{{3}}" }]
 *   quickReply3: body "{{1}}", actions [{ id: "1", title: "{{2}}" }, { id: "2", title: "{{3}}" },
 *                                       { id: "3", title: "{{4}}" }]
 *
 * {{1}} is the question, {{2}}… the button titles. The ids are the choice numbers: a tap comes back
 * as ButtonPayload "2", which the dialogs already read as "the second choice". These contents are
 * sent inside the 24-hour session only, where WhatsApp needs no approval (a body made of one
 * variable would not be approved) and allows at most 3 buttons (platform.md §4.5).
 */
export interface QuickReplyTemplates {
  quickReply2?: string;
  quickReply3?: string;
}

/**
 * WhatsApp through Twilio: a question with 2–3 short choices becomes quick-reply buttons when the
 * matching content is configured, with the numbered text as `body` for whoever sends it without
 * the content; everything else is the numbered text, split under Twilio's 1,600-character limit.
 * Our copy has no markdown, and WhatsApp's own `*bold*` passes through as typed.
 */
export class WhatsAppRenderer implements ChannelRenderer {
  constructor(private readonly templates: QuickReplyTemplates = {}) {}

  /**
   * The messages of a turn travel as few WhatsApp messages as fit: Twilio does not guarantee the
   * order of several messages (platform.md §8.4), and a welcome must not arrive after its question.
   */
  render(messages: OutgoingMessage[], _locale: Locale): RenderedMessage[] {
    const rendered: RenderedMessage[] = [];
    let texts: string[] = [];
    const flush = () => {
      const pieces = texts.flatMap((text) => splitForLimit(text, WHATSAPP_MESSAGE_MAX));
      rendered.push(...packWithinLimit(pieces, '\n\n', WHATSAPP_MESSAGE_MAX).map((body) => ({ body })));
      texts = [];
    };
    for (const message of messages) {
      const buttons = this.quickReply(message);
      if (!buttons) {
        texts.push(message.text);
        continue;
      }
      flush();
      rendered.push(buttons);
    }
    flush();
    return rendered;
  }

  /** The message as quick-reply buttons, or undefined when a limit or a missing content forbids it. */
  private quickReply({ text, choices }: OutgoingMessage): RenderedMessage | undefined {
    if (!fitsWhatsAppButtons(choices)) return undefined;
    const contentSid = choices.length === 2 ? this.templates.quickReply2 : choices.length === 3 ? this.templates.quickReply3 : undefined;
    if (!contentSid) return undefined;
    const question = withoutNumberedChoices(text, choices);
    // WhatsApp refuses an empty variable; a question over these limits is sent as numbered text.
    if (!question || question.length > Math.min(CONTENT_VARIABLE_MAX, WHATSAPP_QUICK_REPLY_BODY_MAX)) return undefined;
    if (text.length > WHATSAPP_MESSAGE_MAX) return undefined;
    const contentVariables: Record<string, string> = { '1': question };
    choices.forEach((label, i) => (contentVariables[String(i + 2)] = label));
    return { body: text, contentSid, contentVariables };
  }
}

/**
 * True when `labels` can be WhatsApp reply buttons: 1 to WHATSAPP_MAX_BUTTONS of them, each
 * non-empty and at most WHATSAPP_BUTTON_LABEL_MAX characters, all different (WhatsApp refuses
 * duplicate titles). Characters are counted as code points, as WhatsApp counts them.
 */
export function fitsWhatsAppButtons(labels: readonly string[]): boolean {
  if (labels.length < 1 || labels.length > WHATSAPP_MAX_BUTTONS) return false;
  if (new Set(labels).size !== labels.length) return false;
  return labels.every((label) => label.trim() !== '' && [...label].length <= WHATSAPP_BUTTON_LABEL_MAX);
}

/**
 * `text` in pieces of at most `max` UTF-16 units (never fewer than the characters Twilio counts),
 * cut at line ends, and a line too long by itself at spaces: never inside a word. Only a single
 * word longer than `max` (a pasted URL, not our copy) is cut, between characters.
 */
export function splitForLimit(text: string, max: number): string[] {
  if (max < 2) throw new RangeError(`splitForLimit: max must be at least 2, got ${max}`);
  if (text.length <= max) return [text];
  const lines = text.split('\n').flatMap((line) => (line.length <= max ? [line] : splitAtSpaces(line, max)));
  return packWithinLimit(lines, '\n', max)
    .map((part) => part.replace(/^\n+|\n+$/g, ''))
    .filter((part) => part.trim() !== '');
}

/** Joins pieces with `separator`, starting a new part whenever the next piece would exceed `max`. */
export function packWithinLimit(pieces: readonly string[], separator: string, max: number): string[] {
  const parts: string[] = [];
  let current: string | undefined;
  for (const piece of pieces) {
    if (current === undefined) current = piece;
    else if (current.length + separator.length + piece.length <= max) current += separator + piece;
    else {
      parts.push(current);
      current = piece;
    }
  }
  if (current !== undefined) parts.push(current);
  return parts;
}

function splitAtSpaces(line: string, max: number): string[] {
  const words = line.split(' ').flatMap((word) => (word.length <= max ? [word] : cutWord(word, max)));
  return packWithinLimit(words, ' ', max);
}

/** A word longer than the limit, cut between code points so no emoji or surrogate pair is broken. */
function cutWord(word: string, max: number): string[] {
  const pieces: string[] = [];
  let current = '';
  for (const char of word) {
    if (current.length + char.length > max) {
      pieces.push(current);
      current = '';
    }
    current += char;
  }
  if (current) pieces.push(current);
  return pieces;
}

/** The question alone: `text` without its "n. label" lines, which become the buttons. */
function withoutNumberedChoices(text: string, choices: readonly string[]): string {
  const numbered = new Set(choices.map((label, i) => `${i + 1}. ${label}`));
  return text
    .split('\n')
    .filter((line) => !numbered.has(line.trim()))
    .join('\n')
    .trim();
}
