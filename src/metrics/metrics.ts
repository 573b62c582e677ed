import { Registry, collectDefaultMetrics } from 'prom-client';
import { countSmsSegments } from '../channels/sms/encoding';
import { isSimulatedTraffic } from '../pipeline/trafficSource';
import { ClosedCounter, ClosedHistogram } from './closed';
import { FunnelMetrics, type FunnelOptions } from './funnel';
import {
  closedLabel,
  FOLLOW_UP_CHECK_RESULTS,
  FOLLOW_UP_EVENTS,
  REGISTRY_ERROR_KINDS,
  OTP_CHECK_RESULTS,
  OTP_SEND_RESULTS,
  REGISTRY_OPERATIONS,
  REGISTRY_RESULTS,
  REJECTION_REASONS,
  REPLICATED_WRITE_RESULTS,
  SMS_ENCODINGS,
  SMS_GATEWAY_RESULTS,
  SMS_PROVIDERS,
  SMS_PURPOSES,
  WEBHOOK_ROUTES,
  type FollowUpCheckLabel,
  type FollowUpEventLabel,
  type OtpCheckLabel,
  type OtpSendLabel,
  type RegistryOperationLabel,
  type RegistryResultLabel,
  type RejectionLabel,
  type ReplicatedWriteLabel,
  type SmsGatewayResultLabel,
  type SmsProviderLabel,
  type SmsPurposeLabel,
  type WebhookRouteLabel,
} from './labels';

/** The registry results that count as errors. */
const REGISTRY_FAILURES = ['unavailable', 'error'] as const;

/**
 * Registry calls are expected well under REGISTRY_TIMEOUT_MS (4 s by default); the buckets resolve
 * the fast answers and still show a registry creeping towards the timeout.
 */
const REGISTRY_SECONDS_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8];

/**
 * The Prometheus metrics of one app instance: one prom-client Registry each, never the global
 * default registry (tests build several apps in one process, and each must count only its own).
 * Callers use the named methods; only this folder touches prom-client.
 */
export class Metrics {
  readonly register = new Registry();
  /** The bot and the dialogs record the conversation through this. */
  readonly funnel: FunnelMetrics;
  private readonly otpSends: ClosedCounter<{ result: typeof OTP_SEND_RESULTS }>;
  private readonly otpChecks: ClosedCounter<{ result: typeof OTP_CHECK_RESULTS }>;
  private readonly smsSent: ClosedCounter<{ purpose: typeof SMS_PURPOSES; encoding: typeof SMS_ENCODINGS }>;
  private readonly smsSegments: ClosedCounter<{ purpose: typeof SMS_PURPOSES; encoding: typeof SMS_ENCODINGS }>;
  private readonly smsFailures: ClosedCounter<{ purpose: typeof SMS_PURPOSES }>;
  private readonly registrySeconds: ClosedHistogram<{ operation: typeof REGISTRY_OPERATIONS; result: typeof REGISTRY_RESULTS }>;
  private readonly registryErrors: ClosedCounter<{ operation: typeof REGISTRY_OPERATIONS; result: typeof REGISTRY_FAILURES; kind: typeof REGISTRY_ERROR_KINDS }>;
  private readonly rejections: ClosedCounter<{ route: typeof WEBHOOK_ROUTES; reason: typeof REJECTION_REASONS }>;
  private readonly gatewayReceived: ClosedCounter<{ provider: typeof SMS_PROVIDERS }>;
  private readonly gatewaySends: ClosedCounter<{ provider: typeof SMS_PROVIDERS; result: typeof SMS_GATEWAY_RESULTS }>;
  private readonly followUps: ClosedCounter<{ event: typeof FOLLOW_UP_EVENTS }>;
  private readonly followUpChecks: ClosedCounter<{ result: typeof FOLLOW_UP_CHECK_RESULTS }>;
  private readonly replicatedWrites: ClosedCounter<{ result: typeof REPLICATED_WRITE_RESULTS }>;

  constructor(options: FunnelOptions) {
    const register = this.register;
    // CPU, memory, heap, event-loop lag, GC, handles: the process itself, prefixed as prom-client does.
    collectDefaultMetrics({ register });
    this.funnel = new FunnelMetrics(register, options);
    this.otpSends = new ClosedCounter(register, 'tasjil_otp_sends_total', 'Requests to send a one-time code, by result', { result: OTP_SEND_RESULTS });
    this.otpChecks = new ClosedCounter(register, 'tasjil_otp_checks_total', 'Codes typed back and checked, by result', { result: OTP_CHECK_RESULTS });
    this.smsSent = new ClosedCounter(register, 'tasjil_sms_sent_total', 'SMS handed to the provider, by purpose and encoding', { purpose: SMS_PURPOSES, encoding: SMS_ENCODINGS });
    this.smsSegments = new ClosedCounter(register, 'tasjil_sms_segments_total', 'Billed SMS segments of those SMS, by purpose and encoding', {
      purpose: SMS_PURPOSES,
      encoding: SMS_ENCODINGS,
    });
    this.smsFailures = new ClosedCounter(register, 'tasjil_sms_send_failures_total', 'SMS the provider refused or could not take, by purpose', { purpose: SMS_PURPOSES });
    this.registrySeconds = new ClosedHistogram(
      register,
      'tasjil_registry_request_duration_seconds',
      'Registry calls, by operation and result',
      { operation: REGISTRY_OPERATIONS, result: REGISTRY_RESULTS },
      REGISTRY_SECONDS_BUCKETS,
    );
    this.registryErrors = new ClosedCounter(register, 'tasjil_registry_errors_total', 'Registry calls that failed, by operation and kind', {
      operation: REGISTRY_OPERATIONS,
      result: REGISTRY_FAILURES,
      kind: REGISTRY_ERROR_KINDS,
    });
    this.rejections = new ClosedCounter(register, 'tasjil_webhook_rejections_total', 'Webhook requests refused before any turn, by route and reason', {
      route: WEBHOOK_ROUTES,
      reason: REJECTION_REASONS,
    });
    this.gatewayReceived = new ClosedCounter(register, 'tasjil_sms_gateway_received_total', 'SMS from workers accepted from an SMS gateway, by provider', { provider: SMS_PROVIDERS });
    this.gatewaySends = new ClosedCounter(register, 'tasjil_sms_gateway_sends_total', "Requests to an SMS gateway's send interface, by provider and answer (each retry counts)", {
      provider: SMS_PROVIDERS,
      result: SMS_GATEWAY_RESULTS,
    });
    this.followUps = new ClosedCounter(register, 'tasjil_follow_ups_total', 'Follow-ups after outcome C, by event (created, notified, cancelled, expired, not_subject)', {
      event: FOLLOW_UP_EVENTS,
    });
    this.followUpChecks = new ClosedCounter(register, 'tasjil_follow_up_checks_total', 'Scheduled registry checks of follow-ups, by what they found', {
      result: FOLLOW_UP_CHECK_RESULTS,
    });
    this.replicatedWrites = new ClosedCounter(
      register,
      'tasjil_redis_replicated_writes_total',
      'Writes of state that had to wait for a Redis switch before a replica confirmed them (retried), or were given up (unconfirmed: the worker was asked to try again)',
      { result: REPLICATED_WRITE_RESULTS },
    );
  }

  /** A write that did not get its replicas at the first try (REDIS_WAIT_REPLICAS): a failover, a stalled replica. */
  replicatedWrite(result: ReplicatedWriteLabel): void {
    this.replicatedWrites.inc({ result });
  }

  /** One worker's SMS taken from a gateway (before dedupe: a gateway's retry counts again). */
  smsGatewayReceived(provider: SmsProviderLabel): void {
    this.gatewayReceived.inc({ provider });
  }

  /** One request to a gateway's send interface and what it answered. */
  smsGatewaySend(provider: SmsProviderLabel, result: SmsGatewayResultLabel): void {
    if (isSimulatedTraffic()) return;
    this.gatewaySends.inc({ provider, result });
  }

  /** A follow-up's life (docs/follow-up.md): counted by events, never by person. */
  followUp(event: FollowUpEventLabel): void {
    if (isSimulatedTraffic()) return;
    this.followUps.inc({ event });
  }

  followUpCheck(result: FollowUpCheckLabel): void {
    if (isSimulatedTraffic()) return;
    this.followUpChecks.inc({ result });
  }

  otpSend(result: OtpSendLabel): void {
    if (isSimulatedTraffic()) return;
    this.otpSends.inc({ result });
  }

  otpCheck(result: OtpCheckLabel): void {
    if (isSimulatedTraffic()) return;
    this.otpChecks.inc({ result });
  }

  /** One SMS taken by the provider: its encoding and segments are computed from the body, which is not kept. */
  smsAccepted(purpose: SmsPurposeLabel, body: string): void {
    if (isSimulatedTraffic()) return;
    const { encoding, segments } = countSmsSegments(body);
    this.smsSent.inc({ purpose, encoding });
    this.smsSegments.inc({ purpose, encoding }, segments);
  }

  smsFailed(purpose: SmsPurposeLabel): void {
    if (isSimulatedTraffic()) return;
    this.smsFailures.inc({ purpose });
  }

  /** `kind` says why a failed call failed (a closed set: never a message, never data). */
  registryCall(operation: RegistryOperationLabel, result: RegistryResultLabel, seconds: number, kind?: string): void {
    if (isSimulatedTraffic()) return;
    this.registrySeconds.observe({ operation, result }, seconds);
    if (result !== 'ok') this.registryErrors.inc({ operation, result, kind: closedLabel(REGISTRY_ERROR_KINDS, kind) });
  }

  webhookRejected(route: WebhookRouteLabel, reason: RejectionLabel): void {
    this.rejections.inc({ route, reason });
  }

  get contentType(): string {
    return this.register.contentType;
  }

  /** The Prometheus text exposition, after counting the conversations that expired since the last scrape. */
  async render(): Promise<string> {
    await this.funnel.open.sweep();
    return this.register.metrics();
  }
}
