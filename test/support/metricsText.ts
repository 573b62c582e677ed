/** One sample of a Prometheus text exposition: `name{label="value",…} 12`. */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Reads the Prometheus text format (what GET /metrics answers); comments and HELP/TYPE lines skipped. */
export function parseMetrics(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim() || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!match) throw new Error(`not a metric line: ${line}`);
    const labels: Record<string, string> = {};
    for (const [, name, value] of (match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[name!] = value!.replace(/\\(.)/g, '$1');
    samples.push({ name: match[1]!, labels, value: Number(match[3]) });
  }
  return samples;
}

/** The value of the one sample with this name and these labels (0 when absent). */
export function valueOf(samples: Sample[], name: string, labels: Record<string, string> = {}): number {
  const found = samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  if (found.length > 1) throw new Error(`${name} ${JSON.stringify(labels)} matches ${found.length} samples: name every label`);
  return found[0]?.value ?? 0;
}

/** `label value → count` of one metric, for whole-table comparisons. */
export function byLabel(samples: Sample[], name: string, label: string): Record<string, number> {
  const table: Record<string, number> = {};
  for (const s of samples) if (s.name === name) table[s.labels[label]!] = (table[s.labels[label]!] ?? 0) + s.value;
  return table;
}

/**
 * Why a label value looks like personal data or an identifier, or undefined when it does not:
 * phone numbers (6+ digits in a row once separators are dropped, or a +country code), identity
 * document numbers (letters then 4+ digits: CNIE AB123456, residence card E1234567), registration
 * numbers and codes (digit runs), dates, e-mail addresses, provider ids (long hex: MessageSid).
 */
export function personalDataIn(value: string): string | undefined {
  const compact = value.replace(/[\s().-]/g, '');
  if (/\+\d/.test(compact)) return 'a phone number (+country code)';
  if (/\d{6,}/.test(compact)) return 'a phone, registration or code number (6+ digits)';
  if (/(^|[^A-Za-z])[A-Za-z]{1,3}\d{4,}/.test(value)) return 'an identity document number';
  if (/\d{1,2}[/-]\d{1,2}[/-]\d{2,4}|\d{4}-\d{2}-\d{2}/.test(value)) return 'a date';
  if (/@/.test(value)) return 'an e-mail address';
  if (/[0-9a-f]{16,}/i.test(value)) return 'a provider id';
  return undefined;
}

/** Every label value of the exposition that looks personal, with its metric and label. */
export function personalLabels(samples: Sample[]): string[] {
  const found: string[] = [];
  for (const s of samples) {
    for (const [label, value] of Object.entries(s.labels)) {
      const why = personalDataIn(value);
      if (why) found.push(`${s.name}{${label}="${value}"}: ${why}`);
    }
  }
  return found;
}
