import { createCipheriv, createDecipheriv } from 'node:crypto';
import { freshIv } from './initializationVectors';
import type { StateKeys } from './keys';

/**
 * A small JSON value encrypted for Redis with AES-256-GCM under the newest state key:
 * `keyId:iv:tag:ciphertext` (base64url). `boundTo` is GCM additional data (the entry's id or key
 * name), so a sealed value copied under another entry does not open.
 */
export function sealJson(keys: StateKeys, boundTo: string, value: unknown): string {
  const { id, key } = keys.current;
  const iv = freshIv();
  const cipher = createCipheriv('aes-256-gcm', key, iv).setAAD(Buffer.from(boundTo));
  const ciphertext = Buffer.concat([cipher.update(JSON.stringify(value), 'utf8'), cipher.final()]);
  return [id, iv.toString('base64url'), cipher.getAuthTag().toString('base64url'), ciphertext.toString('base64url')].join(':');
}

/** Undefined when the key that sealed it is no longer configured, or the value was tampered with. */
export function openJson<T>(keys: StateKeys, boundTo: string, sealed: string): T | undefined {
  const [id, iv, tag, ciphertext] = sealed.split(':');
  const key = id === undefined ? undefined : keys.byId.get(id);
  if (!key || iv === undefined || tag === undefined || ciphertext === undefined) return undefined;
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url')).setAAD(Buffer.from(boundTo));
    decipher.setAuthTag(Buffer.from(tag, 'base64url'));
    const plain = Buffer.concat([decipher.update(Buffer.from(ciphertext, 'base64url')), decipher.final()]).toString('utf8');
    return JSON.parse(plain) as T;
  } catch {
    return undefined;
  }
}
