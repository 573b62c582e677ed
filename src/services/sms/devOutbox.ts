import type { Clock } from '../../clock';
import type { Logger } from '../../log';
import { maskPhone } from '../../nlu/phone';
import type { OutboundSms, SmsSender } from '../types';

export interface OutboxMessage {
  to: string;
  body: string;
  /** 'sms' for OTPs and passwords; a chat channel for replies sent outside a webhook response. */
  channel: 'sms' | 'whatsapp';
  at: string;
}

/** Keeps only the newest messages: a development aid, not an archive of OTPs. */
export const OUTBOX_CAPACITY = 200;

/**
 * Development SMS sender: messages are kept in memory for `GET /dev/outbox` and the terminal chat.
 * The log says that an SMS went out, to a masked number, never what it said (OTPs, passwords).
 */
export class DevOutbox implements SmsSender {
  private readonly messages: OutboxMessage[] = [];
  private readonly listeners = new Set<(message: OutboxMessage) => void>();
  private sequence = 0;

  constructor(
    private readonly clock: Clock,
    private readonly log: Logger,
  ) {}

  async send(sms: OutboundSms): Promise<{ id?: string }> {
    return this.record(sms.to, sms.body, 'sms');
  }

  /** Keeps a message the bot would have sent on `channel`; only a masked number is logged. */
  record(to: string, body: string, channel: OutboxMessage['channel']): { id: string } {
    const message: OutboxMessage = { to, body, channel, at: new Date(this.clock.now()).toISOString() };
    this.messages.push(message);
    if (this.messages.length > OUTBOX_CAPACITY) this.messages.shift();
    this.log.info({ event: 'outbox.sent', channel, recipient: maskPhone(to) }, 'message written to the dev outbox');
    for (const listener of this.listeners) listener(message);
    return { id: `dev-${++this.sequence}` };
  }

  list(): OutboxMessage[] {
    return [...this.messages];
  }

  onMessage(listener: (message: OutboxMessage) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
