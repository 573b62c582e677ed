import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { systemClock, type Clock } from '../../src/clock';
import { loadReferenceData } from '../../src/data/load';
import type { ReferenceData } from '../../src/data/schemas';
import { createLogger } from '../../src/log';
import { createRegistryServer } from '../../src/registryServer/server';
import { EmbeddedRegistry } from '../../src/services/registry/embeddedRegistry';
import { knownCodesFrom, loadPeopleFile } from '../../src/services/registry/peopleFile';
import { DEFAULT_PEOPLE_FILE } from '../../src/config';

/** Servers for registry tests: the reference registry, and a registry that misbehaves on purpose. */

let data: ReferenceData | undefined;
export function referenceData(): ReferenceData {
  data ??= loadReferenceData();
  return data;
}

export interface RunningServer {
  server: Server;
  port: number;
  /** http://127.0.0.1:PORT */
  url: string;
  /** Closes the server and every open connection (keep-alive ones too). */
  stop(): Promise<void>;
  /** Listens again on the same port, same state: a registry back from an outage. */
  restart(): Promise<void>;
}

async function listen(server: Server, port = 0): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  return (server.address() as AddressInfo).port;
}

async function running(server: Server): Promise<RunningServer> {
  const port = await listen(server);
  const stop = () =>
    new Promise<void>((resolve) => {
      if (!server.listening) return resolve();
      server.close(() => resolve());
      server.closeAllConnections();
    });
  return {
    server,
    port,
    url: `http://127.0.0.1:${port}`,
    stop,
    restart: async () => {
      await listen(server, port);
    },
  };
}

export interface ReferenceRegistry extends RunningServer {
  registry: EmbeddedRegistry;
  /** Every line the server logged (raw JSON). */
  logLines: string[];
  /** Requests the server answered, by operationId ('none' for unknown paths). */
  requests(operation?: string): number;
}

/** The reference registry over the sample people, fresh (no account activated yet), on an ephemeral port. */
export async function startReferenceRegistry(options: { apiKey?: string; peopleFile?: string; clock?: Clock } = {}): Promise<ReferenceRegistry> {
  const logLines: string[] = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      logLines.push(String(chunk));
      done();
    },
  });
  const { people } = loadPeopleFile(options.peopleFile ?? DEFAULT_PEOPLE_FILE, knownCodesFrom(referenceData()));
  const registry = new EmbeddedRegistry(people, options.clock ?? systemClock);
  const server = createRegistryServer({ registry, data: referenceData(), apiKey: options.apiKey, log: createLogger('trace', sink) });
  const base = await running(server);
  return {
    ...base,
    registry,
    logLines,
    requests: (operation) =>
      logLines
        .map((line) => JSON.parse(line) as { event?: string; operation?: string })
        .filter((entry) => entry.event === 'registry.server.request' && (operation === undefined || entry.operation === operation)).length,
  };
}

export interface RecordedRequest {
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
  body: string;
}

export interface MisbehavingServer extends RunningServer {
  /** What the handler may do next; change it between calls. */
  handler: (req: RecordedRequest, res: ServerResponse) => void;
  received: RecordedRequest[];
}

/** A registry that answers whatever its handler says: slow, 500, malformed JSON, the wrong shape. */
export async function startMisbehavingServer(handler: MisbehavingServer['handler']): Promise<MisbehavingServer> {
  const received: RecordedRequest[] = [];
  const state = { handler };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const recorded = { method: req.method ?? '', path: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') };
      received.push(recorded);
      state.handler(recorded, res);
    });
  });
  const base = await running(server);
  const result = Object.assign(base, { received }) as MisbehavingServer;
  Object.defineProperty(result, 'handler', { get: () => state.handler, set: (h) => (state.handler = h) });
  return result;
}

/** Answers after `ms`, unless the caller hung up first (then the timer is cleared: no open handle). */
export function answerAfter(ms: number, status: number, body: unknown): MisbehavingServer['handler'] {
  return (_req, res) => {
    const timer = setTimeout(() => json(res, status, body), ms);
    res.on('close', () => clearTimeout(timer));
  };
}

export function json(res: ServerResponse, status: number, body: unknown, contentType = 'application/json'): void {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** A port nothing listens on: connections are refused. */
export async function refusedUrl(): Promise<string> {
  const server = createServer();
  const port = await listen(server);
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}
