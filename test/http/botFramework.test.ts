import { createServer as createHttpServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Server } from 'restify';
import { createApp, type App } from '../../src/app';
import { REPLY_ATTEMPTS } from '../../src/channels/botframework/boundedConnector';
import { loadConfig } from '../../src/config';
import { createLogger } from '../../src/log';
import { warmUpDateRecognizer } from '../../src/nlu/dates';
import { createServer } from '../../src/server';
import { parseMetrics, valueOf } from '../support/metricsText';

/**
 * POST /api/messages as the Emulator, Direct Line or a careless client calls it: anything that is
 * not a Bot Framework activity is a 4xx, counted, never a 500; a connector that cannot take the
 * replies costs a few seconds and a 502, not botbuilder's whole retry series, and no state.
 */

let app: App;
let server: Server;
let base: string;

beforeAll(async () => {
  warmUpDateRecognizer();
  app = createApp(loadConfig({ NODE_ENV: 'test' }), createLogger('silent'));
  server = createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}, 30_000);
afterAll(async () => {
  server.close();
  await app.close();
});

function activity(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    type: 'message',
    id: `m-${Math.random()}`,
    text: 'bonjour',
    channelId: 'emulator',
    serviceUrl: 'http://localhost:9',
    deliveryMode: 'expectReplies',
    from: { id: 'tester', name: 'Tester' },
    recipient: { id: 'bot' },
    conversation: { id: `conv-${Math.random()}` },
    ...extra,
  };
}

function without(field: string): Record<string, unknown> {
  const body = activity();
  delete body[field];
  return body;
}

async function rejections(): Promise<number> {
  const samples = parseMetrics(await (await fetch(`${base}/metrics`)).text());
  return valueOf(samples, 'tasjil_webhook_rejections_total', { route: 'botframework', reason: 'malformed' });
}

const json = (body: unknown) => JSON.stringify(body);

/** [what, body as sent, content type, expected status] */
const MALFORMED: [string, string, string, number][] = [
  ['type missing', json(without('type')), 'application/json', 400],
  ['type a number', json(activity({ type: 42 })), 'application/json', 400],
  ['type an object', json(activity({ type: { name: 'message' } })), 'application/json', 400],
  ['type an empty string', json(activity({ type: '' })), 'application/json', 400],
  ['type null', json(activity({ type: null })), 'application/json', 400],
  ['no from', json(without('from')), 'application/json', 400],
  ['from without an id', json(activity({ from: { name: 'x' } })), 'application/json', 400],
  ['from a string', json(activity({ from: 'tester' })), 'application/json', 400],
  ['no conversation', json(without('conversation')), 'application/json', 400],
  ['conversation id a number', json(activity({ conversation: { id: 7 } })), 'application/json', 400],
  ['no channelId', json(without('channelId')), 'application/json', 400],
  ['channelId an array', json(activity({ channelId: ['emulator'] })), 'application/json', 400],
  ['text a number', json(activity({ text: 12 })), 'application/json', 400],
  ['text an object', json(activity({ text: { value: 'bonjour' } })), 'application/json', 400],
  ['recipient without an id', json(activity({ recipient: {} })), 'application/json', 400],
  ['timestamp not a date', json(activity({ timestamp: 'yesterday-ish' })), 'application/json', 400],
  ['membersAdded not a list', json(activity({ type: 'conversationUpdate', membersAdded: { id: 'x' } })), 'application/json', 400],
  ['a member without an id', json(activity({ type: 'conversationUpdate', membersAdded: [null] })), 'application/json', 400],
  ['entities with a null', json(activity({ entities: [null] })), 'application/json', 400],
  ['no serviceUrl, replies expected by HTTP', json({ ...without('serviceUrl'), deliveryMode: undefined }), 'application/json', 400],
  ['serviceUrl not a URL', json(activity({ serviceUrl: 'not a url', deliveryMode: undefined })), 'application/json', 400],
  ['a JSON array', json([activity()]), 'application/json', 400],
  ['a JSON string', json('message'), 'application/json', 400],
  ['JSON null', 'null', 'application/json', 400],
  ['a number', '42', 'application/json', 400],
  ['invalid JSON', '{"type": "message", ', 'application/json', 400],
  ['an empty body', '', 'application/json', 400],
  ['a form instead of JSON', 'type=message&text=bonjour', 'application/x-www-form-urlencoded', 415],
  ['text/plain', json(activity()), 'text/plain', 415],
  ['no content type', json(activity()), '', 415],
  ['a huge body', json(activity({ text: 'a'.repeat(300 * 1024) })), 'application/json', 413],
];

describe('POST /api/messages: malformed activities', () => {
  it.each(MALFORMED)('%s: %#', async (_what, body, contentType, expected) => {
    const before = await rejections();
    const headers: Record<string, string> = contentType ? { 'content-type': contentType } : {};
    const res = await fetch(`${base}/api/messages`, { method: 'POST', headers, body: contentType ? body : new Blob([body]) });
    const answer = await res.text();
    expect(res.status).toBe(expected);
    // Names the fields at most, never echoes what was posted.
    if (body.length > 0) expect(answer).not.toContain('bonjour');
    expect(await rejections()).toBe(before + 1);
    // And the endpoint still works.
    const fine = await fetch(`${base}/api/messages`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: json(activity()) });
    expect(fine.status).toBe(200);
  });

  it('a well-formed activity with fields it does not know, a charset and nulls where channels write them, is served', async () => {
    const res = await fetch(`${base}/api/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json; charset=utf-8' },
      body: json(activity({ channelData: { clientActivityID: 'x' }, from: { id: 'tester', name: null, role: 'user' }, timestamp: new Date().toISOString(), entities: [{ type: 'ClientCapabilities' }] })),
    });
    expect(res.status).toBe(200);
    const replies = (await res.json()) as { activities: { text: string }[] };
    expect(replies.activities.map((a) => a.text).join('\n')).toContain("Quelle pièce d'identité");
  });
});

/** A Bot Framework connector on loopback: answers replies with `status` (changeable), records them. */
async function startConnector(): Promise<{ server: HttpServer; url: string; status: number; replies: { path: string; text?: string }[] }> {
  const state = { status: 200, replies: [] as { path: string; text?: string }[] };
  const http = createHttpServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as { text?: string };
      state.replies.push({ path: req.url ?? '', text: body.text });
      res.writeHead(state.status, { 'content-type': 'application/json' });
      res.end(state.status < 300 ? json({ id: `r-${state.replies.length}` }) : json({ error: { code: 'ServiceError', message: 'boom' } }));
    });
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  return Object.assign(state, { server: http, url });
}

describe('POST /api/messages: a connector that answers 500', () => {
  it('answers 502 after a bounded number of attempts, and the conversation goes on once the connector is back', async () => {
    const connector = await startConnector();
    try {
      const conversation = { id: `conv-connector-${Math.random()}` };
      const say = (text: string) =>
        fetch(`${base}/api/messages`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: json(activity({ text, deliveryMode: undefined, serviceUrl: connector.url, conversation })),
        });

      expect((await say('Bonjour')).status).toBe(200);
      expect(connector.replies.map((r) => r.text).join('\n')).toContain("Quelle pièce d'identité");

      connector.status = 500;
      connector.replies.splice(0);
      const failed = await say('1');
      expect(failed.status).toBe(502);
      // botbuilder's own policy made 4 attempts for the reply, then 4 for the apology.
      expect(connector.replies.length).toBeGreaterThanOrEqual(1);
      expect(connector.replies.length).toBeLessThanOrEqual(REPLY_ATTEMPTS);
      expect(connector.replies.every((r) => r.text?.includes('numéro'))).toBe(true);

      // The failed turn saved nothing: the same answer, sent again, is taken where it was.
      connector.status = 200;
      connector.replies.splice(0);
      expect((await say('1')).status).toBe(200);
      const again = connector.replies.map((r) => r.text).join('\n');
      // Taken as the document type, as the first time: not as a document number (had the failed
      // turn been saved, "1" would now be refused as one).
      expect(again).toContain('Écrivez le numéro de votre CNIE');
      expect(again).not.toContain("n'est pas valide");
    } finally {
      connector.server.closeAllConnections();
      connector.server.close();
    }
  }, 30_000);

  it('a connector that never answers is given up on within the reply deadline: 502', async () => {
    const sockets = new Set<import('node:net').Socket>();
    let attempts = 0;
    const silent = createHttpServer(() => {
      attempts += 1; // and never answer
    });
    silent.on('connection', (socket) => sockets.add(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    try {
      const res = await fetch(`${base}/api/messages`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: json(activity({ deliveryMode: undefined, serviceUrl: `http://127.0.0.1:${(silent.address() as AddressInfo).port}` })),
      });
      expect(res.status).toBe(502);
      expect(attempts).toBeLessThanOrEqual(REPLY_ATTEMPTS);
    } finally {
      for (const socket of sockets) socket.destroy();
      silent.close();
    }
  }, 30_000);
});
