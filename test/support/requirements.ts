import { spawnSync } from 'node:child_process';

/**
 * Some suites need more than the README's test command lists (Node and a Redis): a real Kannel,
 * `redis-server` and `redis-cli` binaries to start Sentinel sets and Clusters. On a developer's
 * machine without them those suites are skipped with a notice naming what is missing, so
 * `npm test` stays green with what the README asks for. CI installs everything (.ci/run) and sets
 * TASJIL_REQUIRE_EVERY_SUITE=1, which turns a missing requirement into a failure: CI never skips.
 */
export interface Requirement {
  available: boolean;
  describe: jest.Describe;
  it: jest.It;
}

export function requirement(what: string, available: boolean): Requirement {
  if (available) return { available, describe, it };
  if (process.env.TASJIL_REQUIRE_EVERY_SUITE === '1') {
    throw new Error(`${what} is missing, and TASJIL_REQUIRE_EVERY_SUITE=1 (CI) runs every suite: .ci/run installs it`);
  }
  // One line in the jest output, not a failure: the README's `npm test` needs Node and Redis only.
  console.warn(`skipped: these tests need ${what} (.ci/run installs it)`);
  return { available, describe: describe.skip, it: it.skip };
}

/** The describe of a suite that needs `what`: describe.skip (with a notice) where it is missing. */
export function describeIfAvailable(what: string, available: boolean): jest.Describe {
  return requirement(what, available).describe;
}

/** `redis-server` and `redis-cli` on the PATH (Debian's redis-server package brings both). */
export function redisBinariesInstalled(): boolean {
  return ['redis-server', 'redis-cli'].every((command) => spawnSync(command, ['--version'], { stdio: 'ignore' }).status === 0);
}
