/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  // The browser suite needs Debian's Chromium: it is `npm run test:browser` (jest.browser.config.js),
  // so that `npm test` passes on a fresh machine with Node and Redis only.
  testPathIgnorePatterns: ['/node_modules/', '<rootDir>/test/simulator/browser\\.test\\.ts$'],
  // Type-checking is `npm run typecheck`'s job; jest only transpiles, which keeps the suite fast.
  transform: { '^.+\\.ts$': ['ts-jest', { diagnostics: false }] },
  setupFiles: ['<rootDir>/test/setup-env.ts'],
  testTimeout: 20000,
};
