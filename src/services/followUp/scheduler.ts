import type { Clock } from '../../clock';
import type { Logger } from '../../log';

/** One scheduled check: the follow-up's opaque id and its times. Never personal data. */
export interface CheckJob {
  id: string;
  /** Epoch ms by the app's clock: when the check is due. */
  dueAt: number;
  /** Epoch ms: the follow-up's end, known even once its record is gone. */
  expiresAt: number;
  /**
   * Made in a simulator conversation: its checks run as simulated traffic (trafficSource.ts), so
   * they count in no real metric, and its notice goes to the simulator's feed.
   */
  simulated?: true;
}

/** Runs one check; returns when the next one is due, or undefined when the follow-up is over. */
export type CheckRunner = (job: CheckJob) => Promise<number | undefined>;

/**
 * When follow-ups are checked: a timer in this process (memory mode), or a BullMQ queue in Redis
 * shared by every instance, where each check runs on one instance only (bullScheduler.ts).
 */
export interface CheckScheduler {
  /** Starts running due checks with `run` (at start-up; in memory mode timers run from here on). */
  start(run: CheckRunner): void;
  /** Plans the check of `id` at `job.dueAt`, replacing any earlier plan for it. */
  schedule(job: CheckJob): Promise<void>;
  /** Drops the plan for `id`, if any. */
  unschedule(id: string): Promise<void>;
  /**
   * Runs at once the checks that are due by the app's clock, and resolves when they are done:
   * for tests on a manual clock, and for an operator who wants a check now.
   */
  runDue(): Promise<void>;
  close(): Promise<void>;
}

/** setTimeout's limit (about 24.8 days): a longer wait is taken in steps. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** After a check that failed unexpectedly (a bug, not a registry down). */
export const RETRY_AFTER_FAILURE_MS = 60 * 60 * 1000;

/** Memory mode (one instance): a timer per follow-up; nothing survives a restart, like the conversations. */
export class TimerScheduler implements CheckScheduler {
  private run?: CheckRunner;
  private readonly planned = new Map<string, { job: CheckJob; timer?: NodeJS.Timeout }>();
  private readonly running = new Set<string>();

  constructor(
    private readonly clock: Clock,
    private readonly log: Logger,
  ) {}

  start(run: CheckRunner): void {
    this.run = run;
    for (const { job } of this.planned.values()) this.arm(job);
  }

  async schedule(job: CheckJob): Promise<void> {
    this.clear(job.id);
    this.planned.set(job.id, { job });
    if (this.run) this.arm(job);
  }

  async unschedule(id: string): Promise<void> {
    this.clear(id);
    this.planned.delete(id);
  }

  async runDue(): Promise<void> {
    const due = [...this.planned.values()].filter(({ job }) => job.dueAt <= this.clock.now());
    for (const { job } of due) await this.fire(job);
  }

  async close(): Promise<void> {
    for (const id of this.planned.keys()) this.clear(id);
    this.planned.clear();
  }

  private arm(job: CheckJob): void {
    const entry = this.planned.get(job.id);
    if (!entry) return;
    const wait = Math.min(MAX_TIMER_MS, Math.max(0, job.dueAt - this.clock.now()));
    // unref: a planned check never keeps the process (or a test run) alive.
    entry.timer = setTimeout(() => void this.fire(job), wait).unref();
  }

  private async fire(job: CheckJob): Promise<void> {
    const run = this.run;
    if (!run || this.running.has(job.id) || this.planned.get(job.id)?.job !== job) return;
    this.running.add(job.id);
    this.clear(job.id);
    try {
      // A timer woken early (a wait longer than setTimeout allows) only waits again.
      const next = job.dueAt > this.clock.now() ? job.dueAt : await run(job);
      if (this.planned.get(job.id)?.job !== job) return; // cancelled or replaced meanwhile
      if (next === undefined) this.planned.delete(job.id);
      else await this.schedule({ ...job, dueAt: next });
    } catch (error) {
      // The runner keeps its own failures (a registry down) to the next check; this is a bug: try again in an hour.
      this.log.error({ event: 'followup.check_failed', error: (error as Error).name }, 'follow-up check failed; tried again in an hour');
      if (this.planned.get(job.id)?.job === job) await this.schedule({ ...job, dueAt: this.clock.now() + RETRY_AFTER_FAILURE_MS });
    } finally {
      this.running.delete(job.id);
    }
  }

  private clear(id: string): void {
    const timer = this.planned.get(id)?.timer;
    if (timer) clearTimeout(timer);
  }
}
