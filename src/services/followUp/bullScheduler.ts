import { DelayedError, Queue, Worker, type Job } from 'bullmq';
import type { Cluster } from 'ioredis';
import type IORedis from 'ioredis';
import type { Clock } from '../../clock';
import type { RedisTopology } from '../../config';
import type { Logger } from '../../log';
import { createBullConnection, followUpQueuePrefix } from './bullConnection';
import { RETRY_AFTER_FAILURE_MS, type CheckJob, type CheckRunner, type CheckScheduler } from './scheduler';

const QUEUE_NAME = 'checks';
const JOB_NAME = 'check';
/** One check at a time per instance: the registry is a shared service, and checks are not urgent. */
const CONCURRENCY = 1;
/** How long runDue waits for the checks it woke. */
const RUN_DUE_TIMEOUT_MS = 15_000;

/**
 * Follow-up checks as BullMQ delayed jobs in Redis: a well-kept job library instead of our own
 * scheduler. BullMQ hands each job to one worker at a time across instances (a lock renewed while
 * it runs; a crashed worker's job is taken over), so several instances never run one check
 * twice. A job is the follow-up's opaque id and its times, nothing personal; it is moved back to
 * "delayed" after each check until the follow-up is over, then removed.
 *
 * Times: the app's clock decides what is due (tests use a manual one); BullMQ's delays are real
 * time, computed as "due minus now" by that clock.
 */
export class BullScheduler implements CheckScheduler {
  private queue?: Queue<CheckJob>;
  private worker?: Worker<CheckJob>;
  private readonly connections: (IORedis | Cluster)[] = [];

  constructor(
    private readonly deps: { topology: RedisTopology; keyPrefix: string; clock: Clock; log: Logger },
  ) {}

  start(run: CheckRunner): void {
    if (this.worker) return;
    const connection = this.connect(false);
    this.worker = new Worker<CheckJob>(QUEUE_NAME, (job, token) => this.process(job, token, run), {
      connection,
      prefix: followUpQueuePrefix(this.deps.keyPrefix),
      concurrency: CONCURRENCY,
    });
    this.worker.on('error', (error) => this.deps.log.error({ event: 'followup.worker_error', error: error.message }, 'follow-up worker error'));
  }

  async schedule(job: CheckJob): Promise<void> {
    const queue = this.queueOf();
    // Replaces an earlier plan for the same follow-up (a second yes). A job running now cannot be
    // removed; it then reads the new record and goes on with it.
    await queue.remove(job.id).catch(() => 0);
    await queue.add(JOB_NAME, job, {
      jobId: job.id,
      delay: this.delayUntil(job.dueAt),
      removeOnComplete: true,
      removeOnFail: true,
      // A check that fails unexpectedly (Redis down mid-check) is tried again an hour later; its
      // retention still ends it.
      attempts: Math.ceil((job.expiresAt - job.dueAt) / RETRY_AFTER_FAILURE_MS) + 1,
      backoff: { type: 'fixed', delay: RETRY_AFTER_FAILURE_MS },
    });
  }

  async unschedule(id: string): Promise<void> {
    await this.queueOf().remove(id);
  }

  async runDue(): Promise<void> {
    const queue = this.queueOf();
    // Every delayed check goes to the workers; those not due by the app's clock go back to wait.
    await queue.promoteJobs();
    const deadline = Date.now() + RUN_DUE_TIMEOUT_MS;
    for (;;) {
      const counts = await queue.getJobCounts('waiting', 'active', 'prioritized', 'paused');
      if (Object.values(counts).every((count) => count === 0)) return;
      if (Date.now() > deadline) throw new Error('follow-up checks still running');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  async close(): Promise<void> {
    await this.worker?.close();
    await this.queue?.close();
    await Promise.all(this.connections.map((connection) => connection.quit().catch(() => connection.disconnect())));
    this.worker = undefined;
    this.queue = undefined;
    this.connections.splice(0);
  }

  /** One check, then the job goes back to "delayed" until the next one, or completes. */
  private async process(job: Job<CheckJob>, token: string | undefined, run: CheckRunner): Promise<void> {
    const data = job.data;
    // Woken early (runDue, or a clock that disagrees): not due yet, wait again.
    const next = data.dueAt > this.deps.clock.now() ? data.dueAt : await run(data);
    if (next === undefined) return;
    await job.updateData({ ...data, dueAt: next });
    await job.moveToDelayed(Date.now() + this.delayUntil(next), token);
    // BullMQ's way of saying "moved, not completed".
    throw new DelayedError();
  }

  private delayUntil(at: number): number {
    return Math.max(0, at - this.deps.clock.now());
  }

  private queueOf(): Queue<CheckJob> {
    if (!this.queue) {
      this.queue = new Queue<CheckJob>(QUEUE_NAME, { connection: this.connect(true), prefix: followUpQueuePrefix(this.deps.keyPrefix) });
      this.queue.on('error', (error) => this.deps.log.error({ event: 'followup.queue_error', error: error.message }, 'follow-up queue error'));
    }
    return this.queue;
  }

  private connect(failFast: boolean): IORedis | Cluster {
    const connection = createBullConnection(this.deps.topology, { failFast });
    let connected = false;
    // One line per change of state, as for the other Redis client (src/state/redis.ts).
    connection.on('ready', () => {
      if (!connected) this.deps.log.info({ event: 'followup.redis_ready' }, 'follow-up queue connected');
      connected = true;
    });
    connection.on('error', (error: Error) => {
      if (connected) this.deps.log.error({ event: 'followup.redis_lost', error: error.message }, 'follow-up queue connection lost; reconnecting');
      connected = false;
    });
    this.connections.push(connection);
    return connection;
  }
}
