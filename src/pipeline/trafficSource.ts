import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * Whether the turn running now came from the web simulator rather than a real channel. Set once
 * where the simulator hands a message to the inbound pipeline, and seen by everything that runs
 * on behalf of that message (dialogs, late replies, SMS, metrics) without passing a flag along:
 * simulated traffic must not reach real phones, nor count in the operations' metrics.
 */
const simulated = new AsyncLocalStorage<true>();

export function runAsSimulated<T>(work: () => Promise<T>): Promise<T> {
  return simulated.run(true, work);
}

export function isSimulatedTraffic(): boolean {
  return simulated.getStore() === true;
}
