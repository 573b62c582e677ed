import type { AddressInfo } from 'node:net';
import type { Server } from 'restify';
import { createApp } from '../../src/app';
import { ManualClock } from '../../src/clock';
import { loadConfig } from '../../src/config';
import { createLogger } from '../../src/log';
import { warmUpDateRecognizer } from '../../src/nlu/dates';
import { createServer } from '../../src/server';
import { HttpRegistry } from '../../src/services/registry/httpRegistry';
import { createTestBot } from '../support/harness';
import { parseMetrics } from '../support/metricsText';
import { answerAfter, startMisbehavingServer, startReferenceRegistry, type MisbehavingServer, type ReferenceRegistry } from '../support/registryServers';
import { loadTranscript, playTranscript, transcriptFiles } from '../support/transcriptPlayer';

/**
 * The bot with REGISTRY_URL set: every conversation transcript (all four outcomes, mismatches,
 * the registry down and back) played again with the registry on the other side of real HTTP, the
 * reference registry of `npm run registry`. Same transcripts, same answers: the contract carries
 * everything the conversation needs.
 */

const API_KEY = 'test-registry-key';
const silent = createLogger('silent');

beforeAll(() => warmUpDateRecognizer(), 30000);

describe.each(transcriptFiles())('over HTTP, conversation %s', (file) => {
  const transcript = loadTranscript(file);
  let reference: ReferenceRegistry;
  const clock = new ManualClock();
  beforeEach(async () => {
    // A fresh registry per conversation (no account activated yet), on the bot's clock.
    reference = await startReferenceRegistry({ apiKey: API_KEY, clock });
  });
  afterEach(() => reference.stop());

  it(transcript.title, async () => {
    const registry = new HttpRegistry({ url: reference.url, apiKey: API_KEY, timeoutMs: 4000, log: silent });
    const bot = createTestBot({ channel: transcript.channel, from: transcript.from, name: transcript.name, transport: transcript.transport, clock, registry });
    await playTranscript(transcript, bot);
  });
});

/** The form, filled in French for the sample person who has an account, up to the summary. */
const FORM = ['Bonjour', '1', 'AB123456', '30/06/2031', '14/03/1985', '0612345678', '1', 'passer'];

describe('REGISTRY_URL in the configuration', () => {
  async function serve(env: NodeJS.ProcessEnv): Promise<{ server: Server; base: string }> {
    const config = loadConfig({ NODE_ENV: 'test', ...env });
    const server = createServer(createApp(config, silent));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return { server, base: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
  }

  it('/readyz checks the registry over HTTP, and says when it is gone or refuses our key', async () => {
    const reference = await startReferenceRegistry({ apiKey: API_KEY });
    const good = await serve({ REGISTRY_URL: reference.url, REGISTRY_API_KEY: API_KEY });
    const wrongKey = await serve({ REGISTRY_URL: reference.url, REGISTRY_API_KEY: 'not-the-key' });
    try {
      const ready = await fetch(`${good.base}/readyz`);
      expect(ready.status).toBe(200);
      expect(await ready.json()).toMatchObject({ status: 'ready', checks: { registry: true } });

      const refused = await fetch(`${wrongKey.base}/readyz`);
      expect(refused.status).toBe(503);
      expect(await refused.json()).toMatchObject({ status: 'not ready', checks: { registry: false } });

      await reference.stop();
      const gone = await fetch(`${good.base}/readyz`);
      expect(gone.status).toBe(503);
      expect(await gone.json()).toMatchObject({ checks: { registry: false } });

      await reference.restart();
      expect((await fetch(`${good.base}/readyz`)).status).toBe(200);
    } finally {
      good.server.close();
      wrongKey.server.close();
      await reference.stop();
    }
  });

  describe('a registry slower than REGISTRY_TIMEOUT_MS', () => {
    let slow: MisbehavingServer;
    beforeAll(async () => {
      slow = await startMisbehavingServer(answerAfter(5_000, 200, { kind: 'registered', hasAccount: true, registrationNumber: '111222333' }));
    });
    afterAll(() => slow.stop());

    it('the user is told the CNSS service does not answer, answers kept, "1" to try again', async () => {
      const config = loadConfig({ NODE_ENV: 'test', REGISTRY_URL: slow.url, REGISTRY_TIMEOUT_MS: '300' });
      const app = createApp(config, silent);
      const bot = createTestBot({ registry: app.registry });
      for (const text of FORM) await bot.say(text);
      const started = Date.now();
      const replies = (await bot.say('oui')).join('\n');
      const took = Date.now() - started;
      expect(replies).toContain('Le service de la CNSS ne répond pas pour le moment');
      expect(replies).toContain('Vos réponses sont gardées');
      expect(replies).toContain('Répondez 1 pour réessayer');
      expect(replies).not.toContain('111222333');
      // Within the configured budget (plus scheduling slack), far below Twilio's 15 s.
      expect(took).toBeLessThan(300 + 1500);
      // Metrics say why, in a closed set: a timeout.
      const errors = parseMetrics(await app.metrics.render()).filter((s) => s.name === 'tasjil_registry_errors_total' && s.value > 0);
      expect(errors.map((s) => [s.labels.operation, s.labels.result, s.labels.kind, s.value])).toEqual([['lookup', 'unavailable', 'timeout', 1]]);
    });
  });
});
