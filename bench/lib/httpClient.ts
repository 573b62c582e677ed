import { connect, type Socket } from 'node:net';

/**
 * The load generator's HTTP/1.1 client: keep-alive connections on loopback, each carrying one
 * request at a time, requests written as one buffer and answers parsed just enough (status,
 * Content-Length or chunked body). It shares the 2 cores with the processes it measures, so
 * every microsecond it spends is taken from them: node:http's client cost about 0.14 ms of CPU a
 * request, a sixth of what a Tasjil turn costs, and that much of every scenario's throughput.
 */

export interface Target {
  host: string;
  port: number;
}

export interface HttpAnswer {
  status: number;
  body: string;
}

const REQUEST_TIMEOUT_MS = 15_000;
const HEADER_END = Buffer.from('\r\n\r\n');

class Connection {
  readonly socket: Socket;
  private buffered: Buffer = Buffer.alloc(0);
  private waiting?: { resolve: (answer: HttpAnswer) => void; reject: (error: Error) => void; timer: NodeJS.Timeout };
  /** Closed by the server (idle keep-alive timeout) or failed: never used again. */
  closed = false;
  /** Bytes of an answer have arrived for the current request (a failure then is not a stale connection). */
  answered = false;

  constructor(target: Target) {
    this.socket = connect(target.port, target.host);
    this.socket.setNoDelay(true);
    this.socket.on('data', (chunk: Buffer) => this.onData(chunk));
    const gone = (error?: Error) => {
      this.closed = true;
      this.fail(error ?? new Error('connection closed by the server'));
    };
    this.socket.on('error', gone);
    this.socket.on('close', () => gone());
    this.socket.on('end', () => gone());
  }

  request(head: string, body: Buffer): Promise<HttpAnswer> {
    this.answered = false;
    return new Promise<HttpAnswer>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.closed = true;
        this.socket.destroy();
        this.fail(new Error(`no answer within ${REQUEST_TIMEOUT_MS} ms`));
      }, REQUEST_TIMEOUT_MS);
      this.waiting = { resolve, reject, timer };
      this.socket.write(Buffer.concat([Buffer.from(head, 'latin1'), body]));
    });
  }

  private fail(error: Error): void {
    const waiting = this.waiting;
    if (!waiting) return;
    this.waiting = undefined;
    clearTimeout(waiting.timer);
    waiting.reject(error);
  }

  private onData(chunk: Buffer): void {
    this.answered = true;
    this.buffered = this.buffered.length ? Buffer.concat([this.buffered, chunk]) : chunk;
    const answer = parseAnswer(this.buffered);
    if (!answer) return;
    this.buffered = this.buffered.subarray(answer.length);
    const waiting = this.waiting;
    this.waiting = undefined;
    if (!waiting) return;
    clearTimeout(waiting.timer);
    waiting.resolve({ status: answer.status, body: answer.body });
    if (answer.close) {
      this.closed = true;
      this.socket.end();
    }
  }
}

/** One whole answer at the start of `data`, or undefined while more bytes are needed. */
function parseAnswer(data: Buffer): { status: number; body: string; length: number; close: boolean } | undefined {
  const headerEnd = data.indexOf(HEADER_END);
  if (headerEnd < 0) return undefined;
  const head = data.toString('latin1', 0, headerEnd);
  const status = Number(head.slice(9, 12));
  const lower = head.toLowerCase();
  const close = /\r\nconnection:\s*close/.test(lower);
  const start = headerEnd + HEADER_END.length;
  const contentLength = /\r\ncontent-length:\s*(\d+)/.exec(lower);
  if (contentLength) {
    const end = start + Number(contentLength[1]);
    if (data.length < end) return undefined;
    return { status, body: data.toString('utf8', start, end), length: end, close };
  }
  if (/\r\ntransfer-encoding:\s*chunked/.test(lower)) {
    const parts: Buffer[] = [];
    let at = start;
    for (;;) {
      const lineEnd = data.indexOf('\r\n', at);
      if (lineEnd < 0) return undefined;
      const size = parseInt(data.toString('latin1', at, lineEnd), 16);
      const chunkStart = lineEnd + 2;
      if (data.length < chunkStart + size + 2) return undefined;
      if (size === 0) return { status, body: Buffer.concat(parts).toString('utf8'), length: chunkStart + 2, close };
      parts.push(data.subarray(chunkStart, chunkStart + size));
      at = chunkStart + size + 2;
    }
  }
  // No body (204, 304, or an answer without either header).
  return { status, body: '', length: start, close };
}

/** Keep-alive connections per target, each lent to one request at a time. */
export class HttpClient {
  private readonly idle = new Map<string, Connection[]>();
  private readonly all = new Set<Connection>();

  async post(target: Target, path: string, headers: Record<string, string>, body: string): Promise<HttpAnswer> {
    const payload = Buffer.from(body, 'utf8');
    let head = `POST ${path} HTTP/1.1\r\nhost: ${target.host}:${target.port}\r\ncontent-length: ${payload.length}\r\n`;
    for (const [name, value] of Object.entries(headers)) head += `${name}: ${value}\r\n`;
    head += '\r\n';
    const key = `${target.host}:${target.port}`;
    // A kept connection the server has just closed fails before any answer: once more on a new one.
    for (let attempt = 0; ; attempt++) {
      const reused = this.takeIdle(key);
      const connection = reused ?? this.open(target);
      try {
        const answer = await connection.request(head, payload);
        if (!connection.closed) this.giveBack(key, connection);
        return answer;
      } catch (error) {
        this.all.delete(connection);
        if (!reused || connection.answered || attempt > 0) throw error;
      }
    }
  }

  close(): void {
    for (const connection of this.all) connection.socket.destroy();
    this.all.clear();
    this.idle.clear();
  }

  private takeIdle(key: string): Connection | undefined {
    const pool = this.idle.get(key);
    while (pool?.length) {
      const connection = pool.pop()!;
      if (!connection.closed) return connection;
      this.all.delete(connection);
    }
    return undefined;
  }

  private open(target: Target): Connection {
    const connection = new Connection(target);
    this.all.add(connection);
    return connection;
  }

  private giveBack(key: string, connection: Connection): void {
    const pool = this.idle.get(key) ?? [];
    pool.push(connection);
    this.idle.set(key, pool);
  }
}
