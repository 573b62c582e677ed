import { Counter, Histogram, type Registry } from 'prom-client';
import { closedLabel } from './labels';

/** Each label name with the closed set of its values. */
export type LabelSets = Record<string, readonly string[]>;
/** One value per label, typed from its set. */
export type LabelValues<L extends LabelSets> = { [K in keyof L]: L[K][number] };

/**
 * A counter whose labels only take values from their closed sets (see labels.ts): a value outside
 * its set is counted as "other". Every combination starts at 0, so a series exists before its first
 * event (Prometheus' rate() and increase() need that) and "none yet" reads as 0, not as missing.
 */
export class ClosedCounter<L extends LabelSets> {
  private readonly counter: Counter<string>;

  constructor(register: Registry, name: string, help: string, private readonly sets: L) {
    this.counter = new Counter({ name, help, labelNames: Object.keys(sets), registers: [register] });
    for (const values of combinations(sets)) this.counter.inc(values, 0);
  }

  inc(values: LabelValues<L>, by = 1): void {
    this.counter.inc(checked(this.sets, values), by);
  }
}

/** A histogram with the same guarantee on its labels. */
export class ClosedHistogram<L extends LabelSets> {
  private readonly histogram: Histogram<string>;

  constructor(register: Registry, name: string, help: string, private readonly sets: L, buckets: number[]) {
    this.histogram = new Histogram({ name, help, labelNames: Object.keys(sets), buckets, registers: [register] });
  }

  observe(values: LabelValues<L>, value: number): void {
    this.histogram.observe(checked(this.sets, values), value);
  }
}

function checked<L extends LabelSets>(sets: L, values: LabelValues<L>): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const name of Object.keys(sets)) labels[name] = closedLabel(sets[name]!, (values as Record<string, string>)[name]);
  return labels;
}

function combinations(sets: LabelSets): Record<string, string>[] {
  return Object.entries(sets).reduce<Record<string, string>[]>(
    (partial, [name, values]) => partial.flatMap((labels) => values.map((value) => ({ ...labels, [name]: value }))),
    [{}],
  );
}
