/**
 * What this instance is doing right now that a restart must not cut: HTTP requests being
 * answered, turns running, late replies ("checking…" results) still to send. A clean shutdown
 * (src/shutdown.ts) waits on it instead of sleeping: it knows when the last piece of work ends.
 */

export const WORK_KINDS = ['requests', 'turns', 'lateReplies'] as const;
export type WorkKind = (typeof WORK_KINDS)[number];
export type WorkCounts = Record<WorkKind, number>;

export class InFlightWork {
  private readonly counts: WorkCounts = { requests: 0, turns: 0, lateReplies: 0 };
  private readonly idleWaiters = new Set<() => void>();
  private draining = false;

  /** Counts one piece of work until `work` settles; gives back `work` itself. */
  track<T>(kind: WorkKind, work: Promise<T>): Promise<T> {
    const end = this.begin(kind);
    work.then(end, end);
    return work;
  }

  /** Counts one piece of work until the returned function is called (once; later calls do nothing). */
  begin(kind: WorkKind): () => void {
    this.counts[kind] += 1;
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      this.counts[kind] -= 1;
      if (this.total() === 0) for (const wake of [...this.idleWaiters]) wake();
    };
  }

  /** A copy of the current counts (for logs: counts only, never what the work is about). */
  snapshot(): WorkCounts {
    return { ...this.counts };
  }

  total(): number {
    return this.counts.requests + this.counts.turns + this.counts.lateReplies;
  }

  /** True once a shutdown began: /readyz answers 503 so the balancer stops sending. */
  get isDraining(): boolean {
    return this.draining;
  }

  /**
   * Marks the instance as draining, then resolves when nothing is in flight, or at `deadline`
   * (epoch ms) with what is still running. Work that starts meanwhile (a request the balancer
   * still sent) is waited for too.
   */
  async drain(deadline: number): Promise<{ drained: boolean; remaining: WorkCounts }> {
    this.draining = true;
    if (this.total() === 0) return { drained: true, remaining: this.snapshot() };
    let wake: () => void = () => undefined;
    let timer: NodeJS.Timeout | undefined;
    const idle = new Promise<boolean>((resolve) => {
      wake = () => resolve(true);
      this.idleWaiters.add(wake);
      timer = setTimeout(() => resolve(false), Math.max(0, deadline - Date.now()));
    });
    try {
      const drained = await idle;
      return { drained, remaining: this.snapshot() };
    } finally {
      clearTimeout(timer);
      this.idleWaiters.delete(wake);
    }
  }
}
