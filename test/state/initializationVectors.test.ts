import { freshIv } from '../../src/state/initializationVectors';

describe('AES-GCM initialization vectors from the pool', () => {
  it('are 12 bytes, never repeated, and stay as they were when the pool is refilled', () => {
    const first = freshIv();
    const kept = Buffer.from(first);
    const seen = new Set<string>([first.toString('hex')]);
    // Several refills of the pool (256 vectors each).
    for (let i = 0; i < 2_000; i++) {
      const iv = freshIv();
      expect(iv).toHaveLength(12);
      seen.add(iv.toString('hex'));
    }
    expect(seen.size).toBe(2_001);
    // A vector handed out is a copy: refilling the pool does not change it under its user.
    expect(first.equals(kept)).toBe(true);
  });
});
