import type twilio from 'twilio';
import type { Logger } from '../../log';
import { maskPhone } from '../../nlu/phone';
import type { OutboundSms, SmsSender } from '../types';
import type { DeliveryTracker } from './deliveryTracker';

/** Twilio error codes the conversation acts on (https://www.twilio.com/docs/api/errors/<code>). */
export const TWILIO_ERROR = {
  /** The recipient replied STOP to this sender: Twilio refuses every message to it until START. */
  UNSUBSCRIBED: 21610,
  /** "To" is not a mobile number: Morocco's guideline says sending to a landline fails with 400/21614 (platform.md §4.8). */
  NOT_MOBILE: 21614,
  /** "To" is not a valid phone number. */
  INVALID_TO: 21211,
  /** Body over 1,600 characters (platform.md §4.6). */
  BODY_TOO_LONG: 21617,
} as const;

/**
 * The provider did not take the SMS. Carries Twilio's numeric error code and HTTP status, never
 * Twilio's own message: some of them quote the number ("The 'To' number +212… is not valid"),
 * and the request that failed, kept by the HTTP library on its error, holds the body (an OTP, a
 * password). That error is therefore not kept as `cause` either.
 */
export class SmsSendError extends Error {
  /** Twilio's error code (21610, 21614, 60203…); undefined when Twilio could not be reached. */
  readonly code?: number;
  /** HTTP status of Twilio's answer; undefined when it could not be reached. */
  readonly status?: number;
  /** Twilio's page about the error. */
  readonly moreInfo?: string;

  constructor(details: { code?: number; status?: number; moreInfo?: string }) {
    super(details.code !== undefined ? `SMS refused by the provider (error ${details.code})` : 'SMS provider unreachable');
    this.name = 'SmsSendError';
    this.code = details.code;
    this.status = details.status;
    this.moreInfo = details.moreInfo;
  }

  /** The recipient opted out (replied STOP): no SMS will reach it from this sender. */
  get optedOut(): boolean {
    return this.code === TWILIO_ERROR.UNSUBSCRIBED;
  }

  /** A typed error from what the twilio library threw (RestException or TwilioServiceException, both with `status` and `code`). */
  static fromTwilio(error: unknown): SmsSendError {
    return new SmsSendError(twilioErrorDetails(error));
  }
}

/** Code, status and documentation link of an error thrown by the twilio library; nothing else. */
export function twilioErrorDetails(error: unknown): { code?: number; status?: number; moreInfo?: string } {
  if (typeof error !== 'object' || error === null) return {};
  const { code, status, moreInfo } = error as { code?: unknown; status?: unknown; moreInfo?: unknown };
  return {
    // A network failure has a string `code` (ECONNREFUSED, ECONNABORTED…): not a Twilio error code.
    ...(typeof code === 'number' ? { code } : {}),
    ...(typeof status === 'number' ? { status } : {}),
    ...(typeof moreInfo === 'string' ? { moreInfo } : {}),
  };
}

export interface TwilioSmsSenderOptions {
  client: twilio.Twilio;
  /** `TWILIO_SMS_FROM`: the registered alphanumeric sender; Moroccan carriers do not carry numeric senders (platform.md §4.8). */
  from: string;
  /** Public URL of `POST /api/twilio/status`, where Twilio reports each message's delivery (platform.md §4.4). */
  statusCallbackUrl: string;
  tracker: DeliveryTracker;
  log: Logger;
}

/** Outbound SMS (OTP, password) through Twilio's Messages API. */
export class TwilioSmsSender implements SmsSender {
  constructor(private readonly options: TwilioSmsSenderOptions) {}

  async send(sms: OutboundSms): Promise<{ id?: string }> {
    const { client, from, statusCallbackUrl, tracker, log } = this.options;
    const recipient = maskPhone(sms.to);
    let sid: string;
    try {
      // statusCallback per message: Twilio posts queued → sent → delivered | undelivered | failed
      // to it, which is how a failed OTP is told to the user on the next turn.
      const message = await client.messages.create({ from, to: sms.to, body: sms.body, statusCallback: statusCallbackUrl });
      sid = message.sid;
    } catch (error) {
      const failure = SmsSendError.fromTwilio(error);
      log.warn(
        { event: 'sms.failed', sender: 'twilio', recipient, purpose: sms.purpose, errorCode: failure.code, httpStatus: failure.status },
        'Twilio did not accept the SMS',
      );
      throw failure;
    }
    try {
      await tracker.sent(sid, { purpose: sms.purpose, conversationKey: sms.conversationKey, to: sms.to });
    } catch (error) {
      // The SMS is on its way: failing now would make the caller send it again (a second OTP,
      // counted against the user's hourly limit). Only its delivery report will go unmatched.
      log.warn({ event: 'sms.trackingFailed', sid, error: error instanceof Error ? error.message : String(error) }, 'delivery tracking unavailable');
    }
    log.info({ event: 'sms.sent', sender: 'twilio', recipient, purpose: sms.purpose, sid }, 'SMS accepted by Twilio');
    return { id: sid };
  }
}
