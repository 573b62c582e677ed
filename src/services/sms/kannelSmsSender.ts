import type { RetryPolicy } from 'cockatiel';
import type { Logger } from '../../log';
import { maskPhone } from '../../nlu/phone';
import { KannelSendError, type SendsmsClient } from '../../channels/kannel/sendsms';
import { sendsmsRetryPolicy, type ReplyRetry } from '../../channels/kannel/messenger';
import type { OutboundSms, SmsSender } from '../types';
import type { DeliveryTracker } from './deliveryTracker';
import { SmsSendError } from './twilioSmsSender';

/**
 * An OTP or a password is sent while the worker waits for the answer to their message: one quick
 * second try (Kannel restarting), then the failure goes back to the dialog, which tells the worker.
 */
export const OTP_SEND_RETRY: ReplyRetry = { maxAttempts: 1, initialDelayMs: 500, maxDelayMs: 500 };

/** OTP and password SMS through Kannel's sendsms, tracked for their delivery reports. */
export class KannelSmsSender implements SmsSender {
  private readonly policy: RetryPolicy;

  constructor(
    private readonly options: {
      client: SendsmsClient;
      tracker: DeliveryTracker;
      log: Logger;
      retry?: ReplyRetry;
      onResult?: (result: 'accepted' | 'queued' | 'refused' | 'unreachable' | 'unavailable') => void;
    },
  ) {
    this.policy = sendsmsRetryPolicy(options.retry ?? OTP_SEND_RETRY);
  }

  async send(sms: OutboundSms): Promise<{ id?: string }> {
    const { client, tracker, log, onResult = () => undefined } = this.options;
    const recipient = maskPhone(sms.to);
    let sent;
    try {
      sent = await this.policy.execute(() =>
        client.send(sms.to, sms.body).catch((error: unknown) => {
          if (error instanceof KannelSendError) onResult(error.kind);
          throw error;
        }),
      );
    } catch (error) {
      const status = error instanceof KannelSendError ? error.status : undefined;
      log.warn({ event: 'sms.failed', sender: 'kannel', recipient, purpose: sms.purpose, httpStatus: status }, 'Kannel did not take the SMS');
      throw new SmsSendError({ status });
    }
    onResult(sent.answer);
    try {
      await tracker.sent(sent.ref, { purpose: sms.purpose, conversationKey: sms.conversationKey, to: sms.to });
    } catch (error) {
      // The SMS is on its way: failing now would send a second code. Only its report goes unmatched.
      log.warn({ event: 'sms.trackingFailed', sender: 'kannel', error: error instanceof Error ? error.name : String(error) }, 'delivery tracking unavailable');
    }
    log.info({ event: 'sms.sent', sender: 'kannel', recipient, purpose: sms.purpose, ref: sent.ref, answer: sent.answer }, 'SMS taken by Kannel');
    return { id: sent.ref };
  }
}
