import type Twilio from 'twilio';
import type { Logger } from '../../log';
import { maskPhone } from '../../nlu/phone';
import type { ChannelMessage, ChannelMessenger } from '../messenger';

const address = (channel: ChannelMessage['channel'], number: string) => (channel === 'whatsapp' ? `whatsapp:${number}` : number);

/** Through Twilio's Messages API. */
export class TwilioMessenger implements ChannelMessenger {
  constructor(
    private readonly client: Twilio.Twilio,
    private readonly log: Logger,
    private readonly statusCallback?: string,
  ) {}

  async send({ channel, to, from, rendered }: ChannelMessage): Promise<{ id?: string }> {
    const message = await this.client.messages.create({
      to: address(channel, to),
      from: address(channel, from),
      ...(rendered.contentSid
        ? { contentSid: rendered.contentSid, contentVariables: JSON.stringify(rendered.contentVariables ?? {}) }
        : { body: rendered.body }),
      ...(this.statusCallback ? { statusCallback: this.statusCallback } : {}),
    });
    this.log.info({ event: 'channel.sent', channel, recipient: maskPhone(to), sid: message.sid, template: Boolean(rendered.contentSid) }, 'message sent through Twilio');
    return { id: message.sid };
  }
}
