import type { Locale } from '../../services/types';
import { SMS_BODY_MAX, toGsm7French } from '../sms/encoding';
import type { ChannelRenderer, OutgoingMessage, RenderedMessage } from './types';
// Line-boundary splitting is the same for every channel; it lives with the first renderer that needed it.
import { packWithinLimit, splitForLimit } from './whatsappRenderer';

/** Arabic letters in a French message: stripping them would lose words, so such a message stays UCS-2. */
const ARABIC_SCRIPT = /\p{Script=Arabic}/u;

/**
 * SMS: plain text, as few SMS as possible. Shared by Twilio and a future SMPP gateway: nothing
 * here is a provider's business.
 *
 * - French is kept in GSM-7 (toGsm7French): one ’ or ç would bill the whole turn at 70 characters
 *   a segment instead of 160 (platform.md §4.6). Arabic is UCS-2 whatever we do, and stays as is.
 * - The messages of one turn become one body when they fit in SMS_BODY_MAX together: every SMS is
 *   billed, and several SMS of one turn may arrive in any order (platform.md §8.4). Otherwise whole
 *   messages are packed into as few bodies as fit, a message too long by itself cut at line ends.
 * - Choices are already numbered lines in the text; SMS has no buttons, so `choices` is not used.
 */
export class SmsRenderer implements ChannelRenderer {
  render(messages: OutgoingMessage[], locale: Locale): RenderedMessage[] {
    const pieces = messages
      .map((message) => smsText(message.text, locale))
      .filter((text) => text.trim() !== '')
      .flatMap((text) => splitForLimit(text, SMS_BODY_MAX));
    return packWithinLimit(pieces, '\n', SMS_BODY_MAX).map((body) => ({ body }));
  }
}

/** The text of one message as it should travel by SMS in `locale`. */
export function smsText(text: string, locale: Locale): string {
  if (locale !== 'fr' || ARABIC_SCRIPT.test(text)) return text;
  return toGsm7French(text);
}
