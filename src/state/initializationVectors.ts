import { randomFillSync } from 'node:crypto';

/**
 * 12-byte AES-GCM initialization vectors, drawn from the CSPRNG a few hundred at a time: one
 * `randomBytes(12)` per encryption is a call into OpenSSL on every turn, and the pool gives the
 * same random bytes for a tenth of the cost. Each vector is a copy, never reused.
 */
const IV_BYTES = 12;
const pool = Buffer.alloc(IV_BYTES * 256);
let offset = pool.length;

export function freshIv(): Buffer {
  if (offset + IV_BYTES > pool.length) {
    randomFillSync(pool);
    offset = 0;
  }
  const iv = Buffer.from(pool.subarray(offset, offset + IV_BYTES));
  // Spent bytes are wiped, so the pool holds no vector that was handed out.
  pool.fill(0, offset, offset + IV_BYTES);
  offset += IV_BYTES;
  return iv;
}
