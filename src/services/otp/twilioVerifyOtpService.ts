import type twilio from 'twilio';
import type { Clock } from '../../clock';
import type { Logger } from '../../log';
import { maskPhone } from '../../nlu/phone';
import { SmsSendError, twilioErrorDetails } from '../sms/twilioSmsSender';
import type { Locale } from '../types';
import { OtpSendLimits, type OtpSendLimiter, type OtpSendResult } from './otpLimits';
import { OTP_LENGTH, OTP_MAX_ATTEMPTS, OTP_TTL_MS, type OtpService, type OtpVerifyResult } from './otpService';
import { InMemoryPendingVerifications, type PendingVerification, type PendingVerifications } from './pendingVerifications';

/** Verify errors we act on (https://www.twilio.com/docs/api/errors/<code>). */
export const VERIFY_ERROR = {
  /** 404 on a check: no pending verification for this number (expired after 10 min, or already approved). */
  NOT_FOUND: 20404,
  /** 429 on a check: Verify's own limit of 5 check attempts per verification was reached. */
  MAX_CHECK_ATTEMPTS: 60202,
} as const;

/** Twilio Verify could not check a code (unreachable, 5xx): the try was not counted; the user may try again. */
export class OtpCheckError extends Error {
  readonly code?: number;
  readonly status?: number;

  constructor(details: { code?: number; status?: number }) {
    super(details.code !== undefined ? `OTP check failed at the provider (error ${details.code})` : 'OTP provider unreachable');
    this.name = 'OtpCheckError';
    this.code = details.code;
    this.status = details.status;
  }
}

export interface TwilioVerifyOtpServiceOptions {
  client: twilio.Twilio;
  /** `TWILIO_VERIFY_SERVICE_SID` (VA…). */
  serviceSid: string;
  clock: Clock;
  log: Logger;
  /** Send limits per number; shared with whatever else sends codes, if anything. */
  limits?: OtpSendLimiter;
  /** Which number each conversation's code went to; default: this process's memory. */
  pending?: PendingVerifications;
}

/**
 * One-time codes through Twilio Verify (platform.md §4.9): Verify generates the code, sends it
 * (from its generic alphanumeric senders unless one is registered for the service) and checks
 * it; the code never passes through this process on the way out. Our own limits and counters sit in front of it, so the conversation
 * gets the same answers as from InMemoryOtpService (cool-down, hourly limit, tries left, locked,
 * expired). Verify's defaults match ours: the code lives 10 minutes and allows 5 checks.
 */
export class TwilioVerifyOtpService implements OtpService {
  private readonly pending: PendingVerifications;
  private readonly limits: OtpSendLimiter;

  constructor(private readonly options: TwilioVerifyOtpServiceOptions) {
    this.limits = options.limits ?? new OtpSendLimits(options.clock);
    this.pending = options.pending ?? new InMemoryPendingVerifications(options.clock);
  }

  private get service() {
    return this.options.client.verify.v2.services(this.options.serviceSid);
  }

  async send(conversationKey: string, phone: string, locale: Locale): Promise<OtpSendResult> {
    const allowed = await this.limits.take(phone);
    if (!allowed.ok) return allowed;
    const now = this.options.clock.now();
    const recipient = maskPhone(phone);
    let sid: string;
    try {
      // Verify otherwise picks the language from the number's country code (platform.md §4.9); the
      // language the user chose wins. 'ar' and 'fr' are both Verify locales (verify/supported-languages).
      const verification = await this.service.verifications.create({ to: phone, channel: 'sms', locale });
      sid = verification.sid;
    } catch (error) {
      const failure = SmsSendError.fromTwilio(error);
      this.options.log.warn(
        { event: 'otp.sendFailed', sender: 'twilio-verify', recipient, errorCode: failure.code, httpStatus: failure.status },
        'Twilio Verify did not send the code',
      );
      throw failure;
    }
    // A resend to the same number within 10 minutes is the same verification at Verify (same
    // code); counting tries afresh here is harmless: Verify still stops at its own 5 (60202).
    await this.pending.set(conversationKey, { phone, sentAt: now, attempts: 0, gone: false });
    this.options.log.info({ event: 'otp.sent', sender: 'twilio-verify', recipient, sid }, 'verification sent by Twilio Verify');
    return { ok: true };
  }

  async verify(conversationKey: string, code: string): Promise<OtpVerifyResult> {
    const pending = await this.pending.get(conversationKey);
    if (!pending) return { ok: false, reason: 'noCode' };
    const result = await this.check(pending, code);
    if (result.ok) await this.pending.delete(conversationKey);
    else await this.pending.set(conversationKey, pending);
    return result;
  }

  /** Checks the code with Verify, counting the try on `pending` (saved by the caller). */
  private async check(pending: PendingVerification, code: string): Promise<OtpVerifyResult> {
    if (pending.attempts >= OTP_MAX_ATTEMPTS) return { ok: false, reason: 'locked' };
    if (pending.gone || this.options.clock.now() >= pending.sentAt + OTP_TTL_MS) return { ok: false, reason: 'expired' };
    pending.attempts += 1;
    // Verify answers 400 (60200) to a malformed code without counting it; it is a wrong try for us,
    // as with our own service, and Twilio need not hear it.
    if (!new RegExp(`^\\d{${OTP_LENGTH}}$`).test(code)) return this.wrong(pending);

    let status: string;
    try {
      const check = await this.service.verificationChecks.create({ to: pending.phone, code });
      status = check.status;
    } catch (error) {
      const { code: errorCode, status: httpStatus } = twilioErrorDetails(error);
      // Verify deletes a verification once approved or expired, then answers 404 to any check.
      if (httpStatus === 404 || errorCode === VERIFY_ERROR.NOT_FOUND) {
        pending.gone = true;
        return { ok: false, reason: 'expired' };
      }
      if (errorCode === VERIFY_ERROR.MAX_CHECK_ATTEMPTS) {
        pending.attempts = OTP_MAX_ATTEMPTS;
        return { ok: false, reason: 'locked' };
      }
      // Twilio unreachable or failing: not the user's try.
      pending.attempts -= 1;
      this.options.log.warn({ event: 'otp.checkFailed', sender: 'twilio-verify', errorCode, httpStatus }, 'Twilio Verify could not check the code');
      throw new OtpCheckError({ code: errorCode, status: httpStatus });
    }

    switch (status) {
      case 'approved':
        return { ok: true };
      case 'max_attempts_reached':
        pending.attempts = OTP_MAX_ATTEMPTS;
        return { ok: false, reason: 'locked' };
      case 'expired':
      case 'canceled':
      case 'deleted':
        pending.gone = true;
        return { ok: false, reason: 'expired' };
      default: // 'pending': the code is wrong, the verification still open
        return this.wrong(pending);
    }
  }

  async forget(conversationKey: string): Promise<void> {
    // Local only: the verification at Verify expires by itself within 10 minutes.
    await this.pending.delete(conversationKey);
  }

  private wrong(pending: PendingVerification): OtpVerifyResult {
    const attemptsLeft = OTP_MAX_ATTEMPTS - pending.attempts;
    return attemptsLeft > 0 ? { ok: false, reason: 'wrong', attemptsLeft } : { ok: false, reason: 'locked' };
  }
}
