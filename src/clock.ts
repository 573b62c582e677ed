import type { IsoDate } from './services/types';

/** Time source, injected so tests can move time (OTP expiry, cool-downs, conversation TTL). */
export interface Clock {
  now(): number; // epoch milliseconds
}

export const systemClock: Clock = { now: () => Date.now() };

/** A clock tests move by hand. */
export class ManualClock implements Clock {
  constructor(private current = Date.UTC(2026, 10, 25, 10, 0, 0)) {}
  now(): number {
    return this.current;
  }
  advance(ms: number): void {
    this.current += ms;
  }
}

// Expiry and birth dates are judged by the calendar in Morocco, not by the server's zone.
const casablancaDay = new Intl.DateTimeFormat('en-CA', {
  timeZone: 'Africa/Casablanca',
  year: 'numeric',
  month: '2-digit',
  day: '2-digit',
});

let lastMinute = Number.NaN;
let lastDay = '' as IsoDate;

/** Today's date in Morocco as `YYYY-MM-DD`. */
export function todayInMorocco(clock: Clock): IsoDate {
  // Asked several times per turn, and Intl formatting is not cheap. A day in Casablanca starts on
  // a whole minute (its offsets are whole hours), so one answer holds for the whole minute.
  const minute = Math.floor(clock.now() / 60_000);
  if (minute !== lastMinute) {
    lastDay = casablancaDay.format(new Date(clock.now())) as IsoDate;
    lastMinute = minute;
  }
  return lastDay;
}
