import { randomInt } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Request, Response, Server } from 'restify';
import { readRawBody } from '../channels/rawBody';
import { runAsSimulated } from '../pipeline/trafficSource';
import { z } from 'zod';
import { stateKey, type App } from '../app';
import { bareAddress, channelOf, parseFormBody } from '../channels/twilio/inbound';
import type { WebhookAnswer } from '../channels/twilio/webhook';
import { LOCALES, loadCatalogue } from '../i18n';
import { repoPath } from '../repoRoot';
import { SIMULATOR_OUR_NUMBER, type FeedChannel, type SimulatorFeed } from './feed';

/** The page's own files: plain HTML, CSS and JS, read once, served as they are (no build step). */
const PUBLIC_DIR = repoPath('src', 'simulator', 'public');
const FILES = {
  '/simulator': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/simulator/page.css': { file: 'page.css', type: 'text/css; charset=utf-8' },
  '/simulator/page.js': { file: 'page.js', type: 'text/javascript; charset=utf-8' },
} as const;

/** Only the page's own files and calls: no inline script, no third party, never framed. */
const CONTENT_SECURITY_POLICY = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/** A chat message is small; the webhook's own limit (server.ts) applies to what Twilio posts. */
const MAX_BODY_BYTES = 64 * 1024;

/** A sender as Twilio writes it: E.164, with `whatsapp:` on WhatsApp. */
const SENDER = /^(whatsapp:)?\+[1-9]\d{7,14}$/;
const PhoneSchema = z.string().regex(/^\+[1-9]\d{7,14}$/);
const FeedQuerySchema = z.object({
  phone: PhoneSchema,
  channel: z.enum(['whatsapp', 'sms']),
  after: z.coerce.number().int().min(0).default(0),
});

/**
 * GET /simulator and its API, when the simulator is enabled (config.simulatorEnabled). Messages go
 * into the Twilio webhook's own pipeline through its trusted entry (everything but the signature),
 * with `To` set to SIMULATOR_OUR_NUMBER so that every answer comes back to the feed.
 */
export function registerSimulator(server: Server, app: App, feed: SimulatorFeed): void {
  const labels = simulatorLabels();
  const cities = [...app.data.cities]
    .sort((a, b) => a.fr.localeCompare(b.fr, 'fr'))
    .map((c) => ({ code: c.code, fr: c.fr, ar: c.ar, lat: c.lat, lon: c.lon }));
  const rawBody = readRawBody(MAX_BODY_BYTES);

  for (const [path, { file, type }] of Object.entries(FILES)) {
    const content = readFileSync(join(PUBLIC_DIR, file));
    server.get(path, async (_req: Request, res: Response) => {
      res.setHeader('content-type', type);
      res.setHeader('content-security-policy', CONTENT_SECURITY_POLICY);
      res.setHeader('x-content-type-options', 'nosniff');
      res.setHeader('cache-control', 'no-cache');
      res.sendRaw(200, content);
    });
  }

  server.get('/simulator/api/setup', async (_req: Request, res: Response) => {
    noStore(res);
    res.send(200, {
      labels,
      cities,
      defaultLocale: app.config.DEFAULT_LOCALE,
      // With Twilio configured, SMS (OTP, password) go to the real phone, not to the dev outbox.
      inbox: app.config.TWILIO_ACCOUNT_SID ? 'twilio' : 'outbox',
      lastSeq: feed.lastSeq(),
    });
  });

  server.get('/simulator/api/new-number', async (_req: Request, res: Response) => {
    noStore(res);
    res.send(200, { phone: await unusedMobile(app, feed) });
  });

  server.post('/simulator/api/messages', rawBody, async (req: Request, res: Response) => {
    noStore(res);
    const params = parseFormBody(bodyText(req));
    const from = params.From;
    if (typeof from !== 'string' || !SENDER.test(from)) return void res.send(400, { error: 'From' });
    const channel = channelOf(from);
    const phone = bareAddress(from);
    // Our number is the simulator's whatever the page says: answers must never go to Twilio.
    params.To = channel === 'whatsapp' ? `whatsapp:${SIMULATOR_OUR_NUMBER}` : SIMULATOR_OUR_NUMBER;
    feed.follow(phone);
    let answer: WebhookAnswer | undefined;
    // Everything this message causes (late replies, OTP, password) is simulated traffic: kept off
    // real phones and out of the operations' metrics (pipeline/trafficSource.ts).
    await runAsSimulated(phone, () =>
      app.twilioWebhook.receiveTrusted(params, (a) => {
        answer = a;
        // What Twilio would deliver from the TwiML, in order, before anything sent later by REST.
        if (a.status === 200) for (const body of a.messages) feed.recordChat(channel, phone, { body });
      }),
    );
    if (!answer || answer.status === 200) return void res.send(200, { ok: true });
    res.send(answer.status, { error: answer.error });
  });

  server.get('/simulator/api/feed', async (req: Request, res: Response) => {
    noStore(res);
    const query = FeedQuerySchema.safeParse(req.query ?? {});
    if (!query.success) return void res.send(400, { error: query.error.issues[0]?.path.join('.') });
    const { phone, channel, after } = query.data;
    res.send(200, { entries: feed.since(phone, channel as FeedChannel, after) });
  });

  server.post('/simulator/api/reset', rawBody, async (req: Request, res: Response) => {
    noStore(res);
    const phone = PhoneSchema.safeParse(parseFormBody(bodyText(req)).phone);
    if (!phone.success) return void res.send(400, { error: 'phone' });
    // As an opt-out erases a number (webhook.ts): both channels' state and pending codes.
    await Promise.all((['whatsapp', 'sms'] as const).map((channel) => app.twilioWebhook.eraseTrusted(channel, phone.data)));
    feed.clear(phone.data);
    res.send(200, { ok: true, lastSeq: feed.lastSeq() });
  });
}

/** The page's labels in each locale: the `simulator.*` keys of the catalogues (locales/<l>/simulator.json). */
function simulatorLabels(): Record<string, Record<string, string>> {
  return Object.fromEntries(
    LOCALES.map((locale) => [
      locale,
      Object.fromEntries([...loadCatalogue(locale)].filter(([key]) => key.startsWith('simulator.')).map(([key, value]) => [key, String(value)])),
    ]),
  );
}

/**
 * A Moroccan mobile (+2126 + 8 digits) that no simulated phone and no stored conversation uses,
 * so "new user" really starts from nothing.
 */
async function unusedMobile(app: App, feed: SimulatorFeed): Promise<string> {
  for (;;) {
    const phone = `+2126${String(randomInt(0, 100_000_000)).padStart(8, '0')}`;
    if (feed.follows(phone)) continue;
    const keys = [stateKey('whatsapp', phone), stateKey('sms', phone)];
    const stored = await app.storage.read(keys);
    if (keys.every((key) => stored[key] === undefined)) return phone;
  }
}

function bodyText(req: Request): string {
  return typeof req.body === 'string' ? req.body : Buffer.isBuffer(req.body) ? req.body.toString('utf8') : '';
}

function noStore(res: Response): void {
  res.setHeader('cache-control', 'no-store');
}
