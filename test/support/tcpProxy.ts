import { createServer, connect, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

/**
 * A TCP proxy in front of a real server (Redis), that a test can cut and restore: Redis "going
 * away" for exactly as long as the test wants, which neither stopping the shared Redis nor a
 * CLIENT KILL (the client reconnects at once) can give.
 */
export interface TcpProxy {
  port: number;
  url: string;
  /** Drops every connection and refuses new ones. */
  cut(): Promise<void>;
  /** Accepts connections again, on the same port. */
  restore(): Promise<void>;
  /**
   * New connections are accepted but not forwarded (a reconnect hangs, as behind a network that
   * swallows packets); open ones carry on. Until release(), which forwards the held ones.
   */
  holdNew(): void;
  release(): void;
  /**
   * Connections stay open and commands still reach the server, but its answers are held back
   * (a Redis that stopped answering): until flow(), which delivers them in order.
   */
  stall(): void;
  flow(): void;
  close(): Promise<void>;
}

export async function startTcpProxy(target: { host: string; port: number }, options: { listening?: boolean; scheme?: string } = {}): Promise<TcpProxy> {
  const sockets = new Set<Socket>();
  let server: Server | undefined;
  let port = 0;
  let holding = false;
  const held: Socket[] = [];
  let stalled = false;
  const heldAnswers: (() => void)[] = [];

  const forward = (client: Socket) => {
    const upstream = connect(target.port, target.host);
    sockets.add(upstream);
    upstream.on('close', () => sockets.delete(upstream));
    upstream.on('error', () => upstream.destroy());
    client.pipe(upstream);
    upstream.on('data', (chunk: Buffer) => {
      const deliver = () => {
        if (!client.destroyed) client.write(chunk);
      };
      if (stalled) heldAnswers.push(deliver);
      else deliver();
    });
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  };

  const listen = async () => {
    server = createServer((client) => {
      sockets.add(client);
      client.on('close', () => sockets.delete(client));
      client.on('error', () => client.destroy());
      if (holding) held.push(client);
      else forward(client);
    });
    await new Promise<void>((resolve, reject) => {
      server!.once('error', reject);
      server!.listen(port, '127.0.0.1', () => resolve());
    });
    port = (server.address() as AddressInfo).port;
  };
  const stop = async () => {
    for (const socket of sockets) socket.destroy();
    sockets.clear();
    if (server?.listening) await new Promise<void>((resolve) => server!.close(() => resolve()));
  };

  if (options.listening === false) {
    // Reserve a port, then free it: "Redis not there yet".
    await listen();
    await stop();
  } else {
    await listen();
  }
  const scheme = options.scheme ?? 'redis';
  return {
    get port() {
      return port;
    },
    get url() {
      return `${scheme}://127.0.0.1:${port}`;
    },
    cut: stop,
    restore: listen,
    holdNew() {
      holding = true;
    },
    release() {
      holding = false;
      for (const client of held.splice(0)) if (!client.destroyed) forward(client);
    },
    stall() {
      stalled = true;
    },
    flow() {
      stalled = false;
      for (const deliver of heldAnswers.splice(0)) deliver();
    },
    close: stop,
  };
}
