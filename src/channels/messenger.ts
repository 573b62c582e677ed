import type { DevOutbox } from '../services/sms/devOutbox';
import type { RenderedMessage } from './render/types';

/**
 * The outbound side of a chat channel, whoever carries it (Twilio today, an operator's SMS
 * gateway later): what the pipeline and the notifier send outside a webhook's response.
 */

export interface ChannelMessage {
  channel: 'whatsapp' | 'sms';
  /** E.164, no channel prefix. */
  to: string;
  /** Our number on that channel (the inbound `To`), E.164. */
  from: string;
  rendered: RenderedMessage;
}

/** Sends a chat message outside a webhook response: a late reply, a proactive notice. */
export interface ChannelMessenger {
  send(message: ChannelMessage): Promise<{ id?: string }>;
}

/** Development: into the dev outbox, as SMS are. */
export class OutboxMessenger implements ChannelMessenger {
  constructor(private readonly outbox: DevOutbox) {}

  async send({ channel, to, rendered }: ChannelMessage): Promise<{ id?: string }> {
    return this.outbox.record(to, rendered.body, channel);
  }
}
