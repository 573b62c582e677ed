import type { Clock } from '../clock';

/** Whether the conversation's state still exists in the (shared) conversation storage. */
export type ConversationAlive = (conversationKey: string) => Promise<boolean>;

/**
 * Checked this long after the TTL: a storage may expire a little later than our clock says (Redis
 * counts the TTL from its own receipt of the write), and a state seen alive is taken as carried on
 * by another instance.
 */
export const EXPIRY_GRACE_MS = 5000;

/** Sweep memory now and then even if nobody scrapes /metrics (development). */
const SWEEP_EVERY_TOUCHES = 1000;

interface OpenConversation {
  /** When to check it: its last turn here + the TTL + the grace. */
  dueAt: number;
  registryDown: boolean;
}

/**
 * Conversations whose last turn on this instance left them without an outcome. A conversation that
 * expires (CONVERSATION_TTL_SECONDS of silence) leaves no trace in storage, and a worker who gives
 * up rarely writes again: so the end is noticed here, when its TTL has passed, and only once the
 * storage confirms the state is gone. If the state is still there, a later turn was handled by
 * another instance, which holds its own entry: this one is dropped without counting.
 *
 * Entries live in memory only, keyed by the conversation key (never in a label or a log).
 */
export class OpenConversations {
  private readonly open = new Map<string, OpenConversation>();
  private touches = 0;
  private sweeping?: Promise<void>;

  constructor(
    private readonly options: {
      clock: Clock;
      ttlSeconds: number;
      alive: ConversationAlive;
      /** Called once per conversation that ended without an outcome. */
      onAbandoned: (registryDown: boolean) => void;
      onSweepError: (error: Error) => void;
    },
  ) {}

  /** After each turn: still open (no outcome yet), or not (ended, or never started). */
  touch(conversationKey: string, state: { open: boolean; registryDown: boolean }): void {
    if (state.open) this.open.set(conversationKey, { dueAt: this.options.clock.now() + this.options.ttlSeconds * 1000 + EXPIRY_GRACE_MS, registryDown: state.registryDown });
    else this.open.delete(conversationKey);
    if (++this.touches >= SWEEP_EVERY_TOUCHES) {
      this.touches = 0;
      this.sweep().catch((error: Error) => this.options.onSweepError(error));
    }
  }

  /** The conversation's state was deleted (erase, opt-out): an open conversation ends now. */
  erased(conversationKey: string): void {
    const entry = this.open.get(conversationKey);
    if (!entry) return;
    this.open.delete(conversationKey);
    this.options.onAbandoned(entry.registryDown);
  }

  /** Counts the conversations whose TTL has passed and whose state is gone. One sweep at a time. */
  sweep(): Promise<void> {
    this.sweeping ??= this.sweepDue().finally(() => (this.sweeping = undefined));
    return this.sweeping;
  }

  /** Open conversations held (for tests). */
  size(): number {
    return this.open.size;
  }

  private async sweepDue(): Promise<void> {
    const now = this.options.clock.now();
    for (const [key, entry] of [...this.open]) {
      if (entry.dueAt > now) continue;
      const alive = await this.options.alive(key);
      // Touched again while we waited on the storage: that turn decides, not this sweep.
      if (this.open.get(key) !== entry) continue;
      this.open.delete(key);
      if (!alive) this.options.onAbandoned(entry.registryDown);
    }
  }
}
