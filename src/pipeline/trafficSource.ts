import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * Whether the turn running now came from the web simulator rather than a real channel. Set once
 * where the simulator hands a message to the inbound pipeline, and seen by everything that runs
 * on behalf of that message (dialogs, late replies, SMS, metrics) without passing a flag along:
 * simulated traffic must not reach real phones, nor count in the operations' metrics.
 */
const simulated = new AsyncLocalStorage<{ sender?: string }>();

/**
 * `sender`: the simulated phone that wrote (E.164), whose page shows what the message causes;
 * none for work no message started (a follow-up's scheduled check).
 */
export function runAsSimulated<T>(sender: string | undefined, work: () => Promise<T>): Promise<T> {
  return simulated.run({ sender }, work);
}

export function isSimulatedTraffic(): boolean {
  return simulated.getStore() !== undefined;
}

/** The simulated phone whose message is being handled now, if any. */
export function simulatedSender(): string | undefined {
  return simulated.getStore()?.sender;
}
