import { createApp } from '../../src/app';
import { ManualClock } from '../../src/clock';
import { loadConfig } from '../../src/config';
import { createLogger } from '../../src/log';
import { warmUpDateRecognizer } from '../../src/nlu/dates';
import { createServer } from '../../src/server';
import { KANNEL_CHAIN_OVERRIDES } from './kannelServer';
import { sampleRegistry } from './twilioServer';

/**
 * Tasjil in a process of its own for a test to kill (startTasjilProcess with this entry): wired as
 * the Kannel chain's in-process Tasjil (test/support/kannelServer.ts), from the same variables, but
 * its registry never answers: a turn that reaches it runs until the process dies. It prints
 * {"event":"test.registry_held"} when one does. TEST_CLOCK_MS: the chain's clock.
 */
const config = loadConfig();
const log = createLogger(config.LOG_LEVEL);
const clock = new ManualClock(Number(process.env.TEST_CLOCK_MS));
const registry = sampleRegistry(clock);
registry.hold = new Promise(() => undefined);
const lookUp = registry.lookUp.bind(registry);
registry.lookUp = (query) => {
  process.stdout.write(`${JSON.stringify({ event: 'test.registry_held' })}\n`);
  return lookUp(query);
};
const app = createApp(config, log, { clock, registry, ...KANNEL_CHAIN_OVERRIDES });
warmUpDateRecognizer();
createServer(app).listen(config.PORT, config.host, () => log.info({ event: 'server.listening', port: config.PORT }, 'listening'));
