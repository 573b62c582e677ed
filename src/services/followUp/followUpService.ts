import { randomInt } from 'node:crypto';
import type { Clock } from '../../clock';
import { t } from '../../i18n';
import type { Logger } from '../../log';
import type { FollowUpCheckLabel, FollowUpEventLabel } from '../../metrics/labels';
import type { NotifyResult } from '../../channels/twilio/proactive';
import { isSimulatedTraffic, runAsSimulated } from '../../pipeline/trafficSource';
import type { IdentityQuery, Locale, LookupResult, Registry } from '../types';
import type { CheckJob, CheckScheduler } from './scheduler';
import type { FollowUpChannel, FollowUpStore } from './store';

/** How long a follow-up is kept at most (the worker's yes said so): 90 days. */
export const FOLLOW_UP_MAX_RETENTION_DAYS = 90;
const DAY_MS = 24 * 60 * 60 * 1000;
const HOUR_MS = 60 * 60 * 1000;
/** Checks are spread ±10 % around the interval, so a day's yeses do not hit the registry at the same minute. */
export const CHECK_JITTER = 0.1;

/** Where a conversation is: its channel, the worker's address on it, and ours. */
export interface FollowUpAddress {
  channel: string;
  contact: string;
  ourAddress: string;
}

/** What the dialogs and the chat pipeline use of follow-ups. */
export interface FollowUps {
  /** How many days a follow-up is kept at most: the worker is told before saying yes. */
  readonly retentionDays: number;
  /** Whether a notice can reach a conversation on this channel (WhatsApp and SMS can; a web chat cannot). */
  canReach(channel: string): boolean;
  /** With the worker's explicit yes only: keep what is needed to check again, and plan the checks. */
  create(request: { address: FollowUpAddress; identity: IdentityQuery; locale: Locale }): Promise<void>;
  /** Cancel ("annuler le suivi", STOP, erase): the data goes at once. True when there was one. */
  cancel(channel: string, contact: string): Promise<boolean>;
}

export interface FollowUpMetrics {
  followUp(event: FollowUpEventLabel): void;
  followUpCheck(result: FollowUpCheckLabel): void;
}

export interface FollowUpServiceDeps {
  store: FollowUpStore;
  scheduler: CheckScheduler;
  registry: Pick<Registry, 'lookUp'>;
  /** Sends the notice: free text, or the approved template outside WhatsApp's 24 hours (ProactiveNotifier). */
  notify(channel: FollowUpChannel, contact: string, ourAddress: string, text: string, locale: Locale): Promise<NotifyResult>;
  /** The follow-up's id for a conversation, newest key first (older ones after a key rotation). */
  idsOf(channel: FollowUpChannel, contact: string): string[];
  clock: Clock;
  log: Logger;
  metrics: FollowUpMetrics;
  checkIntervalHours: number;
  retentionDays: number;
  /** [0, 1): the jitter's draw (tests fix it). */
  random?: () => number;
}

/**
 * The follow-up after outcome C (docs/follow-up.md): with the worker's yes, their identity is kept
 * encrypted and the registry is asked again on a schedule; once they are registered, one notice
 * with no personal data invites them to write for their number. Deleted at the notice, the
 * cancel, or the end of the retention, whichever comes first.
 */
export class FollowUpService implements FollowUps {
  private readonly intervalMs: number;
  private readonly retentionMs: number;
  readonly retentionDays: number;

  constructor(private readonly deps: FollowUpServiceDeps) {
    this.intervalMs = deps.checkIntervalHours * HOUR_MS;
    this.retentionDays = Math.min(deps.retentionDays, FOLLOW_UP_MAX_RETENTION_DAYS);
    this.retentionMs = this.retentionDays * DAY_MS;
  }

  /** Starts running the planned checks, this instance's share of them (at start-up). */
  startChecks(): void {
    this.deps.scheduler.start((job) => this.check(job));
  }

  canReach(channel: string): channel is FollowUpChannel {
    return channel === 'whatsapp' || channel === 'sms';
  }

  async cancel(channel: string, contact: string): Promise<boolean> {
    if (!this.canReach(channel)) return false;
    let cancelled = false;
    for (const id of this.deps.idsOf(channel, contact)) {
      if (!(await this.deps.store.delete(id))) continue;
      cancelled = true;
      await this.deps.scheduler.unschedule(id);
    }
    if (cancelled) {
      this.deps.metrics.followUp('cancelled');
      this.deps.log.info({ event: 'followup.cancelled', channel }, 'follow-up cancelled, its data deleted');
    }
    return cancelled;
  }

  /** Runs the checks due by the clock now (tests; an operator's "check now"). */
  runDue(): Promise<void> {
    return this.deps.scheduler.runDue();
  }

  close(): Promise<void> {
    return this.deps.scheduler.close();
  }

  async create({ address, identity, locale }: { address: FollowUpAddress; identity: IdentityQuery; locale: Locale }): Promise<void> {
    const { channel, contact, ourAddress } = address;
    if (!this.canReach(channel)) throw new Error(`no follow-up notice can reach the ${channel} channel`);
    const now = this.deps.clock.now();
    const [id] = this.deps.idsOf(channel, contact);
    const expiresAt = now + this.retentionMs;
    await this.deps.store.put(id!, { channel, contact, ourAddress, locale, identity: { ...identity }, createdAt: now, expiresAt });
    try {
      // The registry just said "not registered": the first check is one interval away.
      await this.deps.scheduler.schedule({ id: id!, dueAt: this.nextCheck(now, expiresAt), expiresAt, ...(isSimulatedTraffic() ? { simulated: true as const } : {}) });
    } catch (error) {
      // Never kept without a check planned: that would be data held for nothing. The worker is asked to try again.
      await this.deps.store.delete(id!).catch(() => false);
      throw error;
    }
    this.deps.metrics.followUp('created');
    this.deps.log.info({ event: 'followup.created', channel, retentionDays: this.retentionDays }, 'follow-up created with the worker\'s consent');
  }

  /**
   * One scheduled check. Never throws for a registry or sender failure: the follow-up is kept and
   * checked again at the next time. Returns that time, or undefined when the follow-up is over.
   */
  check(job: CheckJob): Promise<number | undefined> {
    // A tester's follow-up, days after the page wrote: still kept out of real phones and metrics.
    return job.simulated ? runAsSimulated(undefined, () => this.checkNow(job)) : this.checkNow(job);
  }

  private async checkNow(job: CheckJob): Promise<number | undefined> {
    const { store, clock, log, metrics } = this.deps;
    const now = clock.now();
    const record = await store.get(job.id);
    if (!record || record.expiresAt <= now) {
      // Gone: past its retention (Redis may have dropped it already), or cancelled meanwhile.
      const expired = (record?.expiresAt ?? job.expiresAt) <= now;
      await store.delete(job.id);
      if (expired) {
        metrics.followUp('expired');
        log.info({ event: 'followup.expired' }, 'follow-up ended after its retention, its data deleted');
      }
      return undefined;
    }
    const next = this.nextCheck(now, record.expiresAt);
    let result: LookupResult;
    try {
      result = await this.deps.registry.lookUp(record.identity);
    } catch (error) {
      // Down, slow, circuit open, or anything else: not lost, asked again at the next check.
      metrics.followUpCheck('unavailable');
      log.warn({ event: 'followup.check_unavailable', error: (error as Error).name }, 'registry did not answer a follow-up check; next check planned');
      return next;
    }
    metrics.followUpCheck(checkLabel(result));
    log.info({ event: 'followup.checked', result: checkLabel(result) }, 'follow-up checked');
    if (result.kind === 'notSubject') {
      // Nothing will ever come to tell: end it rather than ask the registry for 90 days.
      await store.delete(job.id);
      metrics.followUp('not_subject');
      return undefined;
    }
    // Not yet registered, or the identity no longer matches (a renewed card): keep checking until the end.
    if (result.kind !== 'registered') return next;
    return this.sendNotice(job.id, next);
  }

  /** Taken out of the store first (one instance only gets it), put back if the notice could not go. */
  private async sendNotice(id: string, next: number): Promise<number | undefined> {
    const { store, log, metrics } = this.deps;
    const record = await store.take(id);
    if (!record) return undefined; // another instance got there first, or a cancel did
    const text = t(record.locale, 'followUp.notice');
    let sent: NotifyResult;
    try {
      sent = await this.deps.notify(record.channel, record.contact, record.ourAddress, text, record.locale);
    } catch (error) {
      log.warn({ event: 'followup.notice_failed', channel: record.channel, error: (error as Error).name }, 'follow-up notice not sent; tried again at the next check');
      sent = 'refused';
    }
    if (sent === 'refused') {
      await store.put(id, record);
      return next;
    }
    metrics.followUp('notified');
    log.info({ event: 'followup.notified', channel: record.channel, how: sent }, 'follow-up notice sent, its data deleted');
    return undefined;
  }

  /** One interval from now, ±10 %, and never past the end of the retention (the end is a check too). */
  private nextCheck(now: number, expiresAt: number): number {
    const draw = this.deps.random?.() ?? randomInt(0, 1_000_000) / 1_000_000;
    const jittered = this.intervalMs * (1 + CHECK_JITTER * (2 * draw - 1));
    return Math.min(now + Math.round(jittered), expiresAt);
  }
}

function checkLabel(result: LookupResult): FollowUpCheckLabel {
  switch (result.kind) {
    case 'registered':
      return 'registered';
    case 'notRegistered':
      return 'not_registered';
    case 'notSubject':
      return 'not_subject';
    case 'mismatch':
      return 'mismatch';
  }
}
