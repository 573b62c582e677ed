import type { Registry } from 'prom-client';
import type { Clock } from '../clock';
import { ClosedCounter } from './closed';
import {
  CHANNELS,
  LOCALES,
  MISMATCH_KINDS,
  OUTCOMES,
  STEPS,
  channelLabel,
  type LocaleLabel,
  type MismatchLabel,
  type OutcomeLabel,
  type StepLabel,
} from './labels';
import { OpenConversations, type ConversationAlive } from './openConversations';
import { isSimulatedTraffic } from '../pipeline/trafficSource';

/**
 * Where one conversation stands in the funnel. Kept in the conversation's own state (Session), so
 * it follows the conversation across instances and expires with it. Step ids only: nothing personal.
 */
export interface FunnelProgress {
  /** Steps counted as reached in this conversation, each once. */
  reached: StepLabel[];
  /** An outcome was delivered: nothing more is counted until the next conversation starts. */
  ended: boolean;
  /** The last registry call failed: an end without outcome counts as "registry_unavailable". */
  registryDown: boolean;
}

/** Anything that carries a conversation's funnel progress (the Session). */
export interface FunnelHolder {
  funnel?: FunnelProgress;
}

/** The outcomes a dialog delivers; "abandoned" and "registry_unavailable" are noticed by the seam. */
export type DeliveredOutcome = Extract<OutcomeLabel, 'A' | 'B' | 'C' | 'D' | 'mismatch' | 'password_reset' | 'password_reset_agency'>;

/**
 * What the bot and the dialogs may record. Dialogs name steps and outcomes; they never see
 * prom-client, and nothing here knows of channels beyond the channel id of a turn.
 *
 * A "conversation", for the funnel, runs from the welcome to an outcome: after an outcome the next
 * message starts another one, and a restart ("recommencer") ends the open one as abandoned.
 */
export interface ConversationMetrics {
  /** One message turn, by channel and language. */
  turn(channelId: string | undefined, locale: LocaleLabel): void;
  /** The welcome of a new conversation (not a resume after a way out). */
  conversationStarted(session: FunnelHolder): void;
  /** A question (or the look-up) is reached: counted once per conversation. */
  stepReached(session: FunnelHolder, step: StepLabel): void;
  /** An answer could not be read and the question is asked again (or the way out given). */
  reprompted(step: StepLabel): void;
  /** MAX_ATTEMPTS unreadable answers: the way out was shown. */
  wayOut(step: StepLabel): void;
  /** The registry answered that a date did not match; the user is asked it again. */
  mismatched(kind: MismatchLabel): void;
  registryUnavailable(session: FunnelHolder): void;
  registryAnswered(session: FunnelHolder): void;
  /** The conversation ends with an outcome; the first one counts. */
  ended(session: FunnelHolder, outcome: DeliveredOutcome): void;
  /** End of every message turn, after its state was saved. */
  turnEnded(conversationKey: string, session: FunnelHolder): void;
  /** The conversation's state was deleted (erase, opt-out). */
  conversationErased(conversationKey: string): void;
}

export interface FunnelOptions {
  clock: Clock;
  conversationTtlSeconds: number;
  /** Whether a conversation's state still exists (abandonment is counted once it is gone). */
  conversationAlive: ConversationAlive;
  onSweepError: (error: Error) => void;
}

export class FunnelMetrics implements ConversationMetrics {
  private readonly turns: ClosedCounter<{ channel: typeof CHANNELS; locale: typeof LOCALES }>;
  private readonly reached: ClosedCounter<{ step: typeof STEPS }>;
  private readonly outcomes: ClosedCounter<{ outcome: typeof OUTCOMES }>;
  private readonly reprompts: ClosedCounter<{ step: typeof STEPS }>;
  private readonly wayOuts: ClosedCounter<{ step: typeof STEPS }>;
  private readonly mismatches: ClosedCounter<{ kind: typeof MISMATCH_KINDS }>;
  readonly open: OpenConversations;

  constructor(register: Registry, options: FunnelOptions) {
    this.turns = new ClosedCounter(register, 'tasjil_turns_total', 'Messages handled (one turn each), by channel and language', { channel: CHANNELS, locale: LOCALES });
    this.reached = new ClosedCounter(register, 'tasjil_funnel_step_reached_total', 'Conversations that reached each step (once per conversation)', { step: STEPS });
    this.outcomes = new ClosedCounter(register, 'tasjil_funnel_outcome_total', 'Conversations ended, by outcome', { outcome: OUTCOMES });
    this.reprompts = new ClosedCounter(register, 'tasjil_reprompts_total', 'Answers that could not be read, by question', { step: STEPS });
    this.wayOuts = new ClosedCounter(register, 'tasjil_way_outs_total', 'Questions given up after the maximum tries (the way out was shown)', { step: STEPS });
    this.mismatches = new ClosedCounter(register, 'tasjil_identity_mismatches_total', 'Look-ups where a date did not match the registry, by which date', { kind: MISMATCH_KINDS });
    this.open = new OpenConversations({
      clock: options.clock,
      ttlSeconds: options.conversationTtlSeconds,
      alive: options.conversationAlive,
      onAbandoned: (registryDown) => this.outcomes.inc({ outcome: registryDown ? 'registry_unavailable' : 'abandoned' }),
      onSweepError: options.onSweepError,
    });
  }

  /** The simulator's turns are counted apart (channel "simulator"), and nothing else of theirs is. */
  turn(channelId: string | undefined, locale: LocaleLabel): void {
    this.turns.inc({ channel: isSimulatedTraffic() ? 'simulator' : channelLabel(channelId), locale });
  }

  conversationStarted(session: FunnelHolder): void {
    if (isSimulatedTraffic()) return;
    const previous = session.funnel;
    if (previous && !previous.ended) this.outcomes.inc({ outcome: previous.registryDown ? 'registry_unavailable' : 'abandoned' });
    session.funnel = { reached: [], ended: false, registryDown: false };
    this.stepReached(session, 'welcome');
  }

  stepReached(session: FunnelHolder, step: StepLabel): void {
    if (isSimulatedTraffic()) return;
    const funnel = session.funnel;
    // A session from before metrics existed has no progress: its steps are not counted.
    if (!funnel || funnel.ended || funnel.reached.includes(step)) return;
    funnel.reached.push(step);
    this.reached.inc({ step });
  }

  reprompted(step: StepLabel): void {
    if (isSimulatedTraffic()) return;
    this.reprompts.inc({ step });
  }

  wayOut(step: StepLabel): void {
    if (isSimulatedTraffic()) return;
    this.wayOuts.inc({ step });
  }

  mismatched(kind: MismatchLabel): void {
    if (isSimulatedTraffic()) return;
    this.mismatches.inc({ kind });
  }

  registryUnavailable(session: FunnelHolder): void {
    if (isSimulatedTraffic()) return;
    if (session.funnel) session.funnel.registryDown = true;
  }

  registryAnswered(session: FunnelHolder): void {
    if (isSimulatedTraffic()) return;
    if (session.funnel) session.funnel.registryDown = false;
  }

  ended(session: FunnelHolder, outcome: DeliveredOutcome): void {
    if (isSimulatedTraffic()) return;
    const funnel = session.funnel;
    if (!funnel || funnel.ended) return;
    funnel.ended = true;
    this.outcomes.inc({ outcome });
  }

  turnEnded(conversationKey: string, session: FunnelHolder): void {
    if (isSimulatedTraffic()) return;
    const funnel = session.funnel;
    this.open.touch(conversationKey, { open: Boolean(funnel && !funnel.ended), registryDown: funnel?.registryDown ?? false });
  }

  conversationErased(conversationKey: string): void {
    this.open.erased(conversationKey);
  }
}
