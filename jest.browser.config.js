/** `npm run test:browser`: the simulator in Debian's Chromium (test/simulator/browser.test.ts) only. */
// eslint-disable-next-line @typescript-eslint/no-require-imports -- jest reads CommonJS configs; this one extends the main one
const base = require('./jest.config');

/** @type {import('jest').Config} */
module.exports = {
  ...base,
  testMatch: ['<rootDir>/test/simulator/browser.test.ts'],
  testPathIgnorePatterns: ['/node_modules/'],
};
