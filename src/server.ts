import { timingSafeEqual } from 'node:crypto';
import restify, { type Next, type Request, type Response, type Server } from 'restify';
import type { App } from './app';
import { BotFrameworkEndpoint, isLoopbackAddress } from './channels/botframework/endpoint';
import { isDateRecognizerWarm } from './nlu/dates';
import { registerSimulator } from './simulator/routes';
import { readRawBody } from './channels/rawBody';

export { isLoopbackAddress };

/** Bot Framework activities and Twilio's forms are small; anything bigger is not a chat message. */
const MAX_BODY_BYTES = 256 * 1024;

export function createServer(app: App): Server {
  const { config, log } = app;
  const server = restify.createServer({ name: 'tasjil', handleUncaughtExceptions: false });
  // Every request counts as work in flight until answered: a restart waits for it (src/shutdown.ts).
  server.pre((_req: Request, res: Response, next: Next) => {
    res.once('close', app.inFlight.begin('requests'));
    return next();
  });
  server.use(restify.plugins.queryParser());

  // Twilio signs the exact form it posts: keep the raw body, parse it ourselves (TwilioWebhook).
  const rawBody = readRawBody(MAX_BODY_BYTES);
  server.post('/api/twilio/messages', rawBody, async (req: Request, res: Response) => app.twilioWebhook.messages(req, res));
  server.post('/api/twilio/status', rawBody, async (req: Request, res: Response) => app.twilioWebhook.status(req, res));

  // Kannel's sms-service (get-url, or post-url) and its delivery reports: served where the
  // inbound token is set, and outside production (unauthenticated, for local tries).
  if (config.KANNEL_INBOUND_TOKEN || !config.isProduction) {
    server.get('/api/kannel/messages', async (req: Request, res: Response) => app.kannelWebhook.messages(req, res));
    server.post('/api/kannel/messages', rawBody, async (req: Request, res: Response) => app.kannelWebhook.messages(req, res));
    server.get('/api/kannel/status', async (req: Request, res: Response) => app.kannelWebhook.status(req, res));
  }

  // In production without an app id the Bot Framework endpoint would be unauthenticated: not served.
  if (config.MicrosoftAppId || !config.isProduction) {
    const botFramework = new BotFrameworkEndpoint({ config, log, metrics: app.metrics, runTurn: app.runTurn });
    // Read as text and parsed by the endpoint: a malformed body is its 400, not restify's.
    server.post('/api/messages', readRawBody(MAX_BODY_BYTES, () => botFramework.tooLarge()), async (req: Request, res: Response) => botFramework.handle(req, res));
  }

  server.get('/healthz', async (_req: Request, res: Response) => {
    res.send(200, { status: 'ok' });
  });

  server.get('/readyz', async (_req: Request, res: Response) => {
    // Shutting down: out of the balancer at once, whatever else holds.
    if (app.inFlight.isDraining) {
      res.send(503, { status: 'shutting down' });
      return;
    }
    const [state, registry, kannel] = await Promise.all([
      app.isStateReady().catch(() => false),
      app.registry.isReady().catch(() => false),
      app.isKannelReady?.().catch(() => false),
    ]);
    const checks = {
      state,
      registry,
      dateRecognizer: isDateRecognizerWarm(),
      // With Kannel: whether outbound SMS (replies, OTP, password) can be handed to its sendsms.
      ...(kannel === undefined ? {} : { kannelSendsms: kannel }),
    };
    const ready = Object.values(checks).every(Boolean);
    res.send(ready ? 200 : 503, { status: ready ? 'ready' : 'not ready', checks });
  });

  // Served in production too: that is where Prometheus scrapes. No label carries personal data;
  // volumes are still nobody else's business, hence METRICS_TOKEN (or a rule at the ingress).
  server.get('/metrics', async (req: Request, res: Response) => {
    if (config.METRICS_TOKEN && !hasBearer(req, config.METRICS_TOKEN)) {
      res.setHeader('www-authenticate', 'Bearer');
      res.send(401, { error: 'unauthorized' });
      return;
    }
    const body = await app.metrics.render();
    res.setHeader('content-type', app.metrics.contentType);
    res.sendRaw(200, body);
  });

  if (!config.isProduction) {
    // OTPs and passwords are in it: this machine only, even when HOST opens the port wider.
    server.get('/dev/outbox', async (req: Request, res: Response) => {
      if (!isLoopbackAddress(req.socket.remoteAddress)) {
        res.send(403, { error: 'the dev outbox answers this machine only' });
        return;
      }
      res.send(200, { messages: app.outbox.list() });
    });
  }

  // The simulator skips Twilio's signature: only where it is enabled (by default outside production).
  if (app.simulator) registerSimulator(server, app, app.simulator);

  server.on('restifyError', (req: Request, _res: Response, error: Error & { statusCode?: number }, next: (err?: unknown) => void) => {
    if ((error.statusCode ?? 500) >= 500) log.error({ event: 'http.error', route: req.getRoute()?.path, error: error.message }, 'request failed');
    return next();
  });
  return server;
}

/** `Authorization: Bearer <token>`, compared in constant time (the token is a secret). */
function hasBearer(req: Request, token: string): boolean {
  const match = /^Bearer\s+(\S+)$/i.exec(req.header('authorization') ?? '');
  if (!match) return false;
  const given = Buffer.from(match[1]!);
  const expected = Buffer.from(token);
  return given.length === expected.length && timingSafeEqual(given, expected);
}
