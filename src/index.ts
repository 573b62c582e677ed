import { createApp } from './app';
import { ConfigError, loadConfig } from './config';
import { createLogger } from './log';
import { warmUpDateRecognizer } from './nlu/dates';
import { createServer } from './server';
import { GracefulShutdown } from './shutdown';

/** `npm start`: validate the configuration, wire the app, serve. */
function main(): void {
  let config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`Tasjil cannot start: ${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
  const log = createLogger(config.LOG_LEVEL);
  const app = createApp(config, log);
  const server = createServer(app);
  // This instance takes its share of the follow-up checks (with Redis, each check runs on one instance).
  app.followUps.startChecks();
  server.listen(config.PORT, config.host, () => {
    log.info(
      { event: 'server.listening', host: config.host, port: config.PORT, env: config.NODE_ENV },
      `Tasjil listening on http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${config.PORT}`,
    );
    if (!config.MicrosoftAppId) log.warn({ event: 'botframework.local_only' }, 'no MicrosoftAppId: /api/messages serves loopback callers only');
    if (!config.TWILIO_AUTH_TOKEN) log.warn({ event: 'twilio.unsigned' }, 'no TWILIO_AUTH_TOKEN: unsigned Twilio webhooks are accepted (development only)');
    log.info({ event: 'state.mode', mode: config.redisTopology ? 'redis' : 'memory', topology: config.redisTopology?.kind }, config.redisTopology ? 'state in Redis, shared by every instance' : 'state in memory (one instance)');
    if (config.isProduction && !config.METRICS_TOKEN) log.warn({ event: 'metrics.open' }, 'no METRICS_TOKEN: GET /metrics answers anyone who reaches it; restrict it at the ingress');
    if (config.simulatorEnabled) {
      const simulator = `http://localhost:${config.PORT}/simulator`;
      if (config.isProduction) log.warn({ event: 'simulator.enabled' }, `web simulator enabled in production: anyone reaching ${simulator} can write as any number`);
      else log.info({ event: 'simulator.enabled' }, `web simulator: ${simulator}`);
    }
    if (config.smsProvider === 'outbox') log.info({ event: 'sms.dev_outbox' }, 'no SMS provider configured (Kannel or Twilio): SMS go to the dev outbox, GET /dev/outbox');
    else log.info({ event: 'sms.provider', provider: config.smsProvider }, `OTP and password SMS through ${config.smsProvider}`);
    // The recognizer's first call takes seconds: pay it now, not on a worker's first date. /readyz waits for it.
    setImmediate(() => {
      warmUpDateRecognizer();
      log.info({ event: 'nlu.warm' }, 'date recognizer warmed up');
    });
  });
  // SIGTERM/SIGINT: out of the balancer, the work in flight finished, leases and Redis let go.
  new GracefulShutdown({ server, app, graceMs: config.SHUTDOWN_GRACE_MS, exit: (code) => process.exit(code) }).listen();
}

main();
