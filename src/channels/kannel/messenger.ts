import { ExponentialBackoff, handleWhen, retry, type RetryPolicy } from 'cockatiel';
import type { Logger } from '../../log';
import { maskPhone } from '../../nlu/phone';
import { errorName } from '../../pipeline/messagePipeline';
import type { ChannelMessage, ChannelMessenger } from '../messenger';
import { KannelSendError, type SendsmsClient } from './sendsms';

/**
 * How long a chat reply is tried again while Kannel's sendsms is down or restarting: 1 s, then
 * doubling up to a minute between tries, 10 more tries (several minutes). A worker waiting for the
 * next question gets it once Kannel is back; past that, the reply is dropped (logged), and the
 * worker's next SMS is answered as usual: their answers were saved before we replied.
 */
export interface ReplyRetry {
  maxAttempts: number;
  initialDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_REPLY_RETRY: ReplyRetry = { maxAttempts: 10, initialDelayMs: 1000, maxDelayMs: 60_000 };

/** Retries Kannel's temporary failures (unreachable, 5xx), never a 4xx. */
export function sendsmsRetryPolicy(bounds: ReplyRetry): RetryPolicy {
  return retry(
    handleWhen((error) => error instanceof KannelSendError && error.retryable),
    { maxAttempts: bounds.maxAttempts, backoff: new ExponentialBackoff({ initialDelay: bounds.initialDelayMs, maxDelay: bounds.maxDelayMs }) },
  );
}

/** Chat replies on SMS through Kannel's sendsms, each SMS tried again within ReplyRetry's bounds. */
export class KannelMessenger implements ChannelMessenger {
  private readonly policy: RetryPolicy;

  constructor(
    private readonly client: SendsmsClient,
    private readonly log: Logger,
    bounds: ReplyRetry = DEFAULT_REPLY_RETRY,
    private readonly onResult: (result: 'accepted' | 'queued' | 'refused' | 'unreachable' | 'unavailable') => void = () => undefined,
  ) {
    this.policy = sendsmsRetryPolicy(bounds);
    this.policy.onRetry(() => this.log.warn({ event: 'kannel.retry', purpose: 'reply' }, 'Kannel sendsms unavailable: trying the reply again'));
  }

  async send({ to, from, rendered }: ChannelMessage): Promise<{ id?: string }> {
    try {
      const { ref, answer } = await this.policy.execute(() =>
        this.client.send(to, rendered.body, from || undefined).catch((error: unknown) => {
          if (error instanceof KannelSendError) this.onResult(error.kind);
          throw error;
        }),
      );
      this.onResult(answer);
      this.log.info({ event: 'channel.sent', channel: 'sms', provider: 'kannel', recipient: maskPhone(to), ref, answer }, 'message sent through Kannel');
      return { id: ref };
    } catch (error) {
      this.log.error({ event: 'kannel.reply_failed', recipient: maskPhone(to), error: errorName(error) }, 'reply not sent: Kannel did not take it');
      throw error;
    }
  }
}

/**
 * Chat messages on SMS whose sender is one of Kannel's addresses (a short code, written without
 * "+") go through Kannel; everything else (WhatsApp, SMS from a Twilio number, which Twilio
 * always writes in E.164) through `other`.
 */
export class SmsGatewayMessenger implements ChannelMessenger {
  constructor(
    private readonly kannel: ChannelMessenger,
    private readonly other: ChannelMessenger,
  ) {}

  send(message: ChannelMessage): Promise<{ id?: string }> {
    return isKannelAddress(message.channel, message.from) ? this.kannel.send(message) : this.other.send(message);
  }
}

export function isKannelAddress(channel: string, ourAddress: string): boolean {
  return channel === 'sms' && !ourAddress.startsWith('+');
}
