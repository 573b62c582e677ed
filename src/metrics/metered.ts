import type { ChannelRenderer, OutgoingMessage, RenderedMessage } from '../channels/render/types';
import type { OtpSendResult, OtpService, OtpVerifyResult } from '../services/otp/otpService';
import {
  RegistryUnavailableError,
  type ActivationOptions,
  type ActivationRequest,
  type ActivationResult,
  type IdentityQuery,
  type Locale,
  type LookupResult,
  type OutboundSms,
  type PasswordResetQuery,
  type PasswordResetRequest,
  type PasswordResetResult,
  type Registry,
  type SmsSender,
} from '../services/types';
import { ActivationRefusedError, PasswordResetRefusedError } from '../services/registry/rules';
import type { OtpCheckLabel, OtpSendLabel, RegistryOperationLabel } from './labels';
import type { Metrics } from './metrics';

/*
 * Decorators the composition root puts around the services: each implementation (embedded, HTTP,
 * Twilio, Verify, a future SMPP gateway) is measured the same way without knowing of metrics.
 */

/** Latency and failures of every registry call. */
export class MeteredRegistry implements Registry {
  constructor(
    private readonly inner: Registry,
    private readonly metrics: Metrics,
  ) {}

  lookUp(query: IdentityQuery): Promise<LookupResult> {
    return this.timed('lookup', () => this.inner.lookUp(query));
  }

  activateAccount(request: ActivationRequest, options?: ActivationOptions): Promise<ActivationResult> {
    return this.timed('activate', () => this.inner.activateAccount(request, options));
  }

  lookUpAccountPhone(query: PasswordResetQuery): Promise<{ phone: string }> {
    return this.timed('account_phone', () => this.inner.lookUpAccountPhone(query));
  }

  resetPassword(request: PasswordResetRequest, options?: ActivationOptions): Promise<PasswordResetResult> {
    return this.timed('password_reset', () => this.inner.resetPassword(request, options));
  }

  /** Readiness probes are not registry traffic: not measured. */
  isReady(): Promise<boolean> {
    return this.inner.isReady();
  }

  private async timed<T>(operation: RegistryOperationLabel, call: () => Promise<T>): Promise<T> {
    // Wall time, not the app's Clock: a test's manual clock does not move while the call runs.
    const started = process.hrtime.bigint();
    const seconds = () => Number(process.hrtime.bigint() - started) / 1e9;
    try {
      const result = await call();
      this.metrics.registryCall(operation, 'ok', seconds());
      return result;
    } catch (error) {
      // A refused activation or reset is the registry's answer (the account exists, no phone known), not a failure.
      if (error instanceof ActivationRefusedError || error instanceof PasswordResetRefusedError) {
        this.metrics.registryCall(operation, 'ok', seconds());
        throw error;
      }
      const unavailable = error instanceof RegistryUnavailableError;
      const kind = unavailable ? ((error as { kind?: string }).kind ?? 'unavailable') : 'other';
      this.metrics.registryCall(operation, unavailable ? 'unavailable' : 'error', seconds(), kind);
      throw error;
    }
  }
}

/** Codes sent and checked, whoever generates them (our own service or Twilio Verify). */
export class MeteredOtpService implements OtpService {
  constructor(
    private readonly inner: OtpService,
    private readonly metrics: Metrics,
  ) {}

  async send(conversationKey: string, phone: string, locale: Locale): Promise<OtpSendResult> {
    let result: OtpSendResult;
    try {
      result = await this.inner.send(conversationKey, phone, locale);
    } catch (error) {
      this.metrics.otpSend('error');
      throw error;
    }
    this.metrics.otpSend(sendLabel(result));
    return result;
  }

  async verify(conversationKey: string, code: string): Promise<OtpVerifyResult> {
    let result: OtpVerifyResult;
    try {
      result = await this.inner.verify(conversationKey, code);
    } catch (error) {
      this.metrics.otpCheck('error');
      throw error;
    }
    this.metrics.otpCheck(checkLabel(result));
    return result;
  }

  forget(conversationKey: string): Promise<void> {
    return this.inner.forget(conversationKey);
  }
}

/** SMS we hand to the provider ourselves (codes from Twilio Verify are Verify's: counted as OTP sends only). */
export class MeteredSmsSender implements SmsSender {
  constructor(
    private readonly inner: SmsSender,
    private readonly metrics: Metrics,
  ) {}

  async send(sms: OutboundSms): Promise<{ id?: string }> {
    try {
      const accepted = await this.inner.send(sms);
      this.metrics.smsAccepted(sms.purpose, sms.body);
      return accepted;
    } catch (error) {
      this.metrics.smsFailed(sms.purpose);
      throw error;
    }
  }
}

/**
 * Chat replies on the SMS channel are SMS too, billed per segment: counted as the renderer makes
 * them, each body one SMS (sent in the TwiML answer or by REST right after).
 */
export class MeteredSmsRenderer implements ChannelRenderer {
  constructor(
    private readonly inner: ChannelRenderer,
    private readonly metrics: Metrics,
  ) {}

  render(messages: OutgoingMessage[], locale: Locale): RenderedMessage[] {
    const rendered = this.inner.render(messages, locale);
    for (const message of rendered) this.metrics.smsAccepted('reply', message.body);
    return rendered;
  }
}

function sendLabel(result: OtpSendResult): OtpSendLabel {
  if (result.ok) return 'sent';
  return result.reason === 'cooldown' ? 'cooldown' : 'hourly_limit';
}

function checkLabel(result: OtpVerifyResult): OtpCheckLabel {
  if (result.ok) return 'verified';
  return result.reason === 'noCode' ? 'no_code' : result.reason;
}
