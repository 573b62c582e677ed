import { hkdfSync, randomBytes } from 'node:crypto';

/**
 * STATE_ENCRYPTION_KEY holds one or more keys, newest first: `id:base64key[,id:base64key…]`, each
 * key 32 bytes (AES-256). Values are encrypted with the first and stored with its id; any listed
 * key decrypts. Rotation: put the new key first, keep the old one until the conversations written
 * with it have expired (CONVERSATION_TTL_SECONDS), then drop it.
 */
export interface StateKeys {
  current: { id: string; key: Buffer };
  byId: Map<string, Buffer>;
  /** A secret shared by every instance for keyed hashes (OTP codes, document numbers), derived from the current key. */
  hashSecret: Buffer;
  /** The same, derived from each older key: long-lived hashed entries (opt-outs) are still found after a rotation. */
  previousHashSecrets: Buffer[];
}

export class StateKeyError extends Error {
  constructor(message: string) {
    super(`STATE_ENCRYPTION_KEY: ${message}`);
    this.name = 'StateKeyError';
  }
}

const KEY_ID = /^[A-Za-z0-9_-]{1,32}$/;

export function parseStateKeys(value: string): StateKeys {
  const entries = value
    .split(',')
    .map((part) => part.trim())
    .filter(Boolean);
  if (entries.length === 0) throw new StateKeyError('empty');
  const byId = new Map<string, Buffer>();
  for (const entry of entries) {
    const separator = entry.indexOf(':');
    const id = entry.slice(0, separator);
    const key = Buffer.from(entry.slice(separator + 1), 'base64');
    if (separator < 1 || !KEY_ID.test(id)) throw new StateKeyError('each key is written id:base64, e.g. k1:<44 base64 characters>');
    if (key.length !== 32) throw new StateKeyError(`key ${id} must be 32 bytes (got ${key.length}); make one with: openssl rand -base64 32`);
    if (byId.has(id)) throw new StateKeyError(`key id ${id} appears twice`);
    byId.set(id, key);
  }
  const [firstId, firstKey] = [...byId.entries()][0]!;
  const older = [...byId.values()].slice(1);
  return { current: { id: firstId, key: firstKey }, byId, hashSecret: deriveHashSecret(firstKey), previousHashSecrets: older.map(deriveHashSecret) };
}

/**
 * Development without STATE_ENCRYPTION_KEY: a random key for this process. State written by
 * another process cannot be read back, which is acceptable only outside production (config
 * refuses it there).
 */
export function ephemeralStateKeys(): StateKeys {
  const key = randomBytes(32);
  return { current: { id: 'dev', key }, byId: new Map([['dev', key]]), hashSecret: deriveHashSecret(key), previousHashSecrets: [] };
}

function deriveHashSecret(key: Buffer): Buffer {
  return Buffer.from(hkdfSync('sha256', key, Buffer.alloc(0), 'tasjil keyed hashes v1', 32));
}
