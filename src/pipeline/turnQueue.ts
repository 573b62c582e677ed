/**
 * Runs the turns of one conversation one at a time, in order of arrival. botbuilder saves state
 * with eTag '*' (last writer wins), so two turns of one user running at once would lose an answer.
 * In-process only; the Redis version spans instances.
 */
export interface TurnQueue {
  run<T>(conversationKey: string, turn: () => Promise<T>): Promise<T>;
}

export class InProcessTurnQueue implements TurnQueue {
  private readonly tails = new Map<string, Promise<unknown>>();

  run<T>(conversationKey: string, turn: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(conversationKey) ?? Promise.resolve();
    const result = previous.then(turn, turn);
    const tail = result.catch(() => undefined);
    this.tails.set(conversationKey, tail);
    // Drop the entry once this turn is the last one queued, so idle conversations cost nothing.
    void tail.then(() => {
      if (this.tails.get(conversationKey) === tail) this.tails.delete(conversationKey);
    });
    return result;
  }

  pending(): number {
    return this.tails.size;
  }
}
