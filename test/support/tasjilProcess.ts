import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { freePort } from './freePort';

export { freePort };

/**
 * Tasjil as an operator runs it: its own process (`node --import tsx src/index.ts`, the loader in
 * the same process, so a signal reaches the app itself), on a free loopback port, its JSON log
 * lines collected, its exit awaited.
 */

const ROOT = join(__dirname, '..', '..');

export interface LogLine {
  event?: string;
  level?: number;
  msg?: string;
  [field: string]: unknown;
}

export interface TasjilProcess {
  child: ChildProcess;
  base: string;
  port: number;
  /** Every JSON line written to stdout so far, parsed. */
  logs: LogLine[];
  /** What went to stderr (a start-up error, a crash). */
  stderr(): string;
  /** Resolves when the process has exited, with its code (null when killed by a signal). */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** The first log line of `event` (waits for it). */
  waitForLog(event: string, timeoutMs?: number): Promise<LogLine>;
  /** Kills it if it still runs (test clean-up). */
  kill(): Promise<void>;
}

/** A STATE_ENCRYPTION_KEY value that two processes can share. */
export function newStateKey(): string {
  return `k1:${randomBytes(32).toString('base64')}`;
}

/**
 * Starts the process and resolves once /readyz answers 200 (rejects if it exits first).
 * `options.entry`: another script than src/index.ts (a test's own wiring); `options.port`: this
 * port rather than a free one.
 */
export async function startTasjilProcess(env: NodeJS.ProcessEnv, readyTimeoutMs = 60_000, options: { entry?: string; port?: number } = {}): Promise<TasjilProcess> {
  const port = options.port ?? (await freePort());
  const child = spawn(process.execPath, ['--import', 'tsx', options.entry ?? join(ROOT, 'src', 'index.ts')], {
    cwd: ROOT,
    env: { ...process.env, NODE_ENV: 'test', LOG_LEVEL: 'info', HOST: '127.0.0.1', ...env, PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: LogLine[] = [];
  let pending = '';
  const listeners = new Set<() => void>();
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    pending += chunk;
    const lines = pending.split('\n');
    pending = lines.pop()!;
    for (const line of lines) {
      if (!line.trim()) continue;
      try {
        logs.push(JSON.parse(line) as LogLine);
      } catch {
        logs.push({ msg: line });
      }
    }
    for (const wake of [...listeners]) wake();
  });
  let errors = '';
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (errors += chunk));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  let hasExited = false;
  void exited.then(() => {
    hasExited = true;
    for (const wake of [...listeners]) wake();
  });

  const base = `http://127.0.0.1:${port}`;
  const proc: TasjilProcess = {
    child,
    base,
    port,
    logs,
    stderr: () => errors,
    exited,
    waitForLog: (event, timeoutMs = 30_000) =>
      new Promise<LogLine>((resolve, reject) => {
        const check = () => {
          const found = logs.find((line) => line.event === event);
          if (found) return done(() => resolve(found));
          if (hasExited) return done(() => reject(new Error(`exited without logging ${event}; stderr: ${errors}`)));
        };
        const timer = setTimeout(() => done(() => reject(new Error(`no ${event} log within ${timeoutMs} ms`))), timeoutMs);
        const done = (settle: () => void) => {
          clearTimeout(timer);
          listeners.delete(check);
          settle();
        };
        listeners.add(check);
        check();
      }),
    kill: async () => {
      if (hasExited) return;
      child.kill('SIGKILL');
      await exited;
    },
  };

  const deadline = Date.now() + readyTimeoutMs;
  for (;;) {
    if (hasExited) throw new Error(`Tasjil exited before it was ready: ${errors}`);
    const status = await fetch(`${base}/readyz`).then(
      (res) => res.status,
      () => 0,
    );
    if (status === 200) return proc;
    if (Date.now() > deadline) {
      await proc.kill();
      throw new Error(`Tasjil not ready within ${readyTimeoutMs} ms (last /readyz: ${status}); stderr: ${errors}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
