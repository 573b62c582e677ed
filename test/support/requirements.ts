/**
 * Some suites need more than the README's test command lists (Node and a Redis): a real Kannel,
 * `redis-server` binaries to start Sentinel sets and Clusters. On a developer's machine without
 * them those suites are skipped with a notice naming what is missing, so `npm test` stays green
 * with what the README asks for. CI installs everything (.ci/run) and sets
 * TASJIL_REQUIRE_EVERY_SUITE=1, which turns a missing requirement into a failure: CI never skips.
 */
export function describeIfAvailable(what: string, available: boolean): jest.Describe {
  if (available) return describe;
  if (process.env.TASJIL_REQUIRE_EVERY_SUITE === '1') {
    throw new Error(`${what} is missing, and TASJIL_REQUIRE_EVERY_SUITE=1 (CI) runs every suite: .ci/run installs it`);
  }
  // One line in the jest output, not a failure: the README's `npm test` needs Node and Redis only.
  console.warn(`skipped: these tests need ${what} (.ci/run installs it)`);
  return describe.skip;
}
