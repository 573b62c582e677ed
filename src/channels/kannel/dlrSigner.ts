import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Kannel signs nothing, so the delivery-report URL we hand it with each SMS carries our own
 * signature: `ref` (our random id of the SMS) and an HMAC of it. A forged report (an OTP marked
 * undelivered, to make a worker give another number) needs the key; Kannel only replays the URL.
 */
export class DlrSigner {
  private readonly key: Buffer;

  /**
   * `secret`: KANNEL_INBOUND_TOKEN, shared by every instance (a report may reach any of them).
   * Unset (development only): a random key, good for this process's own reports.
   */
  constructor(secret?: string) {
    this.key = createHmac('sha256', secret ?? randomBytes(32)).update('tasjil kannel delivery reports').digest();
  }

  /** A new reference for an SMS, with its signature. */
  issue(): { ref: string; sig: string } {
    const ref = randomBytes(12).toString('base64url');
    return { ref, sig: this.sign(ref) };
  }

  sign(ref: string): string {
    return createHmac('sha256', this.key).update(ref).digest('base64url');
  }

  verify(ref: string, sig: string): boolean {
    const expected = Buffer.from(this.sign(ref));
    const given = Buffer.from(sig);
    return expected.length === given.length && timingSafeEqual(expected, given);
  }
}
