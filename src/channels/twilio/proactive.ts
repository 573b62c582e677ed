import type { Clock } from '../../clock';
import type { Logger } from '../../log';
import type { ContactActivity, OptOuts } from '../../pipeline/contacts';
import type { Locale } from '../../services/types';
import type { ChannelRenderer } from '../render/types';
import type { ChannelMessenger } from '../messenger';

/**
 * WhatsApp lets a business send free-form messages only within 24 hours of the user's last
 * message; later, only an approved template goes through (Twilio error 63016, platform.md §4.5).
 */
export const WHATSAPP_SESSION_WINDOW_MS = 24 * 60 * 60 * 1000;

export type NotifyResult = 'sent' | 'template' | 'refused';

/** Messages the bot starts itself ("your account is ready"), outside any webhook response. */
export class ProactiveNotifier {
  constructor(
    private readonly deps: {
      clock: Clock;
      log: Logger;
      contacts: ContactActivity;
      optOuts: OptOuts;
      messenger: ChannelMessenger;
      renderers: Record<'whatsapp' | 'sms', ChannelRenderer>;
      /** An approved utility template whose variable {{1}} is the message text. */
      notificationTemplateSid?: string;
    },
  ) {}

  async notify(channel: 'whatsapp' | 'sms', contact: string, ourNumber: string, text: string, locale: Locale): Promise<NotifyResult> {
    const { clock, log, contacts, optOuts, messenger, renderers, notificationTemplateSid } = this.deps;
    if (await optOuts.isOptedOut(contact)) {
      log.info({ event: 'notify.refused', channel, reason: 'opted-out' }, 'no message to an opted-out contact');
      return 'refused';
    }
    if (!ourNumber) {
      // No number the user wrote to, and no TWILIO_WHATSAPP_FROM / TWILIO_SMS_FROM: nobody to send as.
      log.warn({ event: 'notify.refused', channel, reason: 'no-sender' }, 'no sender configured for this channel');
      return 'refused';
    }
    const last = await contacts.lastInboundAt(contact);
    const inWindow = last !== undefined && clock.now() - last < WHATSAPP_SESSION_WINDOW_MS;
    if (channel === 'sms' || inWindow) {
      for (const rendered of renderers[channel].render([{ text, choices: [] }], locale)) {
        await messenger.send({ channel, to: contact, from: ourNumber, rendered });
      }
      return 'sent';
    }
    if (!notificationTemplateSid) {
      log.warn({ event: 'notify.refused', channel, reason: 'outside-24h-window-no-template' }, 'outside the WhatsApp window and no template configured');
      return 'refused';
    }
    await messenger.send({
      channel,
      to: contact,
      from: ourNumber,
      rendered: { body: text, contentSid: notificationTemplateSid, contentVariables: { '1': text } },
    });
    return 'template';
  }
}
