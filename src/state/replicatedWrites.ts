import { StateUnavailableError, type ReplicaWait } from './redis';
import { stateCall } from './redisHelpers';

/**
 * One WAIT: on a healthy set the replicas answer within a round trip. Short, because a WAIT holds
 * every command queued behind it on the connection (other turns' too): while a replaced primary
 * has no replica, each WAIT sent to it blocks that long. A slow ack costs only another round.
 */
export const REPLICA_ACK_WAIT_MS = 50;
/** How long a write may take to be on the replicas, failovers included, before "try again". */
export const REPLICA_CONFIRM_WITHIN_MS = 20_000;

export interface ReplicatedWritesOptions {
  /** REDIS_WAIT_REPLICAS: replicas that must hold a write (0: none, the primary's word is enough). */
  replicas: number;
  wait: ReplicaWait;
  ackWaitMs?: number;
  withinMs?: number;
  /** Between two tries while the set is switching. */
  pauseMs?: number;
  /** Told of the writes that needed more than one try: confirmed at last, or given up. */
  onOutcome?: (outcome: 'retried' | 'unconfirmed') => void;
}

/**
 * Writes that return only once they are on enough replicas: what makes an answer safe to give
 * (docs/redis.md). A primary acknowledges a write before its replica has it; a failover in that
 * instant promotes a replica without it, and the worker, who saw the next question, would find
 * the conversation a step back.
 *
 * After the write, WAIT (on the connection the write took) says whether the replicas have it.
 * When the set is switching, the write's reply or the WAIT is often cut short (the old primary is
 * demoted, its clients are disconnected, or it is killed) while the write did reach the replica
 * now promoted, or did not: nobody can tell from here. "Try again" would be wrong either way
 * half the time (a worker's repeated answer landing on the next question). So the write is run
 * again, on whatever primary the client reaches next, until one run is followed by a WAIT that
 * the replicas answer. That is why every write given here must be safe to run twice: the state's
 * compare-and-set recognizes its own value and only refreshes it; setting an opt-out is
 * idempotent.
 */
export class ReplicatedWrites {
  /** No replica asked for (one server, or REDIS_WAIT_REPLICAS=0): every write runs once, as any Redis call. */
  static readonly none = new ReplicatedWrites({ replicas: 0, wait: async () => 0 });

  private readonly ackWaitMs: number;
  private readonly withinMs: number;
  private readonly pauseMs: number;

  constructor(private readonly options: ReplicatedWritesOptions) {
    this.ackWaitMs = options.ackWaitMs ?? REPLICA_ACK_WAIT_MS;
    this.withinMs = options.withinMs ?? REPLICA_CONFIRM_WITHIN_MS;
    this.pauseMs = options.pauseMs ?? 100;
  }

  /**
   * Runs `write` (a command or script on `key`, which must carry the slot tag of the keys it
   * writes) until its replicas hold it. `settled(result)`: a first result that needs no replica
   * (a compare-and-set refused: nothing was written). Without REDIS_WAIT_REPLICAS, one run, as any
   * Redis call. Rejects with StateUnavailableError once REPLICA_CONFIRM_WITHIN_MS have passed.
   */
  async run<T>(key: string, write: () => Promise<T>, settled?: (result: T) => boolean): Promise<T> {
    if (this.options.replicas === 0) return stateCall(write);
    const deadline = Date.now() + this.withinMs;
    let lastError: unknown;
    for (let attempt = 0; ; attempt++) {
      try {
        const result = await stateCall(write);
        if (settled?.(result)) {
          // Only a first run's refusal is sure: a later one may come from a demoted primary's old data.
          if (attempt === 0) return result;
          lastError = new Error('refused by a later run');
        } else if ((await this.acknowledged(key)) >= this.options.replicas) {
          if (attempt > 0) this.options.onOutcome?.('retried');
          return result;
        }
      } catch (error) {
        lastError = error;
      }
      if (Date.now() + this.pauseMs >= deadline) {
        this.options.onOutcome?.('unconfirmed');
        throw new StateUnavailableError({ cause: lastError ?? new Error(`not on ${this.options.replicas} replica(s) within ${this.withinMs} ms`) });
      }
      await new Promise((resolve) => setTimeout(resolve, this.pauseMs));
    }
  }

  private acknowledged(key: string): Promise<number> {
    return stateCall(() => this.options.wait(key, this.options.replicas, this.ackWaitMs), this.ackWaitMs + 5_000);
  }
}
