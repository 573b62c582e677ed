/**
 * What Redis holds after whole conversations, key by key: no plain personal datum (document
 * number, dates, phone number, registration number, codes) in any key name or value, and every key
 * but the opt-outs (kept until START, on purpose) expiring. Shared by the one-server scan
 * (scaleOut.test.ts) and the Cluster's (cluster.test.ts).
 */

/** The read commands the scan needs: node-redis's one-server and cluster clients both have them. */
export interface KeyReader {
  type(key: string): Promise<string>;
  get(key: string): Promise<string | null>;
  hGetAll(key: string): Promise<Record<string, string>>;
  lRange(key: string, start: number, stop: number): Promise<string[]>;
  sMembers(key: string): Promise<string[]>;
  zRange(key: string, start: number, stop: number): Promise<string[]>;
  pTTL(key: string): Promise<number>;
  /** A stream's entries (BullMQ's events): read when the reader can. */
  xRange?(key: string, start: string, end: string): Promise<unknown>;
}

export interface KeyFinding {
  key: string;
  leaks?: string;
  expires: boolean;
}

/** For every key: the first secret found in its name or value, and whether it expires. */
export async function scanForPersonalData(reader: KeyReader, keys: string[], secrets: string[]): Promise<KeyFinding[]> {
  const findings: KeyFinding[] = [];
  for (const key of keys) {
    const dump = `${key} ${JSON.stringify(await readAny(reader, key))}`;
    findings.push({ key, leaks: secrets.find((secret) => dump.includes(secret)), expires: (await reader.pTTL(key)) > 0 });
  }
  return findings;
}

/**
 * Jest assertions over the findings: nothing leaks; everything but opt-outs (and what `kept` says
 * may stay, such as BullMQ's bookkeeping of the follow-up queue) expires.
 */
export function expectNoPersonalData(findings: KeyFinding[], kept: (key: string) => boolean = () => false): void {
  expect(findings.length).toBeGreaterThan(0);
  for (const { key, leaks, expires } of findings) {
    expect({ key, leaks }).toEqual({ key, leaks: undefined });
    if (!key.includes(':optout:') && !kept(key)) expect({ key, expires }).toEqual({ key, expires: true });
  }
}

/** The numbers in SMS bodies (codes, passwords, registration numbers): secrets too. */
export function secretsInSms(bodies: string[]): string[] {
  return bodies.flatMap((body) => body.match(/\b[A-Za-z0-9]{6,}\b/g) ?? []).filter((word) => /\d/.test(word));
}

async function readAny(reader: KeyReader, key: string): Promise<unknown> {
  const type = await reader.type(key);
  if (type === 'string') return reader.get(key);
  if (type === 'hash') return reader.hGetAll(key);
  if (type === 'list') return reader.lRange(key, 0, -1);
  if (type === 'set') return reader.sMembers(key);
  if (type === 'zset') return reader.zRange(key, 0, -1);
  if (type === 'stream' && reader.xRange) return reader.xRange(key, '-', '+');
  if (type === 'stream') throw new Error(`${key}: a stream, and this reader cannot read one`);
  return type;
}
