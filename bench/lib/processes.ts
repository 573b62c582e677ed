import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import http from 'node:http';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';

/**
 * The processes under test, on loopback ports we picked, always killed at the end. The product
 * runs compiled (`node dist/src/index.js`, as in production: `npm run bench` builds first); the
 * baseline bot with `node --import tsx <entry>`. Either way the pid we read in /proc is the server
 * itself, not a wrapper.
 */

export const REPO_ROOT = join(__dirname, '..', '..');

const CLOCK_TICKS = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

const TAIL_LINES = 80;

export interface Instance {
  name: string;
  port: number;
  base: string;
  pid: number;
  child: ChildProcess;
  /** The last lines it printed (stdout and stderr), for a failure report. */
  tail: string[];
  /** Warnings and errors it logged (pino level ≥ 40), by event name. */
  logEvents: Map<string, number>;
  exit?: { code: number | null; signal: NodeJS.Signals | null };
}

const running = new Set<Instance>();

/** A TCP port free on 127.0.0.1 now (the OS picks it; the child binds it a moment later). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

/**
 * V8 flags for an instance in a 512 MiB container (docs/operations.md, "Memory"): the old
 * generation capped well below the container's limit, the young generation pinned so its size
 * does not depend on the Node version's defaults, and the old generation's growth between full
 * collections set back to what V8 allows on a big machine (below a 2 GiB cap it drops to ~1.3×,
 * ten times more full collections). BENCH_CAPPED_NODE_FLAGS replaces them (to try others).
 */
export const CONTAINER_512_MIB_FLAGS = (process.env.BENCH_CAPPED_NODE_FLAGS ?? '--max-old-space-size=320 --max-semi-space-size=8 --heap-growing-percent=300').split(/\s+/).filter(Boolean);

/**
 * The same container's glibc malloc settings (docs/operations.md#memory): two arenas and a fixed
 * trim threshold give back the ~20 MiB that compiling 2,500 modules leaves in malloc's free lists
 * at ready. BENCH_CAPPED_ENV ("NAME=value NAME=value", or empty) replaces them.
 */
export const CONTAINER_512_MIB_ENV: Record<string, string> = Object.fromEntries(
  (process.env.BENCH_CAPPED_ENV ?? 'MALLOC_ARENA_MAX=2 MALLOC_TRIM_THRESHOLD_=65536')
    .split(/\s+/)
    .filter(Boolean)
    .map((pair) => {
      const at = pair.indexOf('=');
      if (at <= 0) throw new Error(`BENCH_CAPPED_ENV: NAME=value pairs, got ${pair}`);
      return [pair.slice(0, at), pair.slice(at + 1)];
    }),
);

/** How the "512 MiB" instance is started, as an operator would write it. */
export const CONTAINER_512_MIB_COMMAND = [...Object.entries(CONTAINER_512_MIB_ENV).map(([name, value]) => `${name}=${value}`), ...CONTAINER_512_MIB_FLAGS].join(' ');

/** The compiled product's entry (`npm run build`). */
export const COMPILED_ENTRY = 'dist/src/index.js';

/**
 * Starts `node [flags] <entry>` in the repository with exactly `env`: a .js entry as it is, a .ts
 * entry through tsx's loader (`--import tsx`, in the same process).
 */
export function startNode(name: string, entry: string, port: number, env: NodeJS.ProcessEnv, nodeFlags: string[] = []): Instance {
  // BENCH_CPU_PROFILE_DIR=/tmp/prof: each process writes a .cpuprofile there when it stops (for a profiler).
  const profile = process.env.BENCH_CPU_PROFILE_DIR ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROFILE_DIR}`] : [];
  // BENCH_NODE_FLAGS="--max-semi-space-size=32": V8 flags to try on every process (GC tuning).
  const flags = (process.env.BENCH_NODE_FLAGS ?? '').split(/\s+/).filter(Boolean);
  const loader = entry.endsWith('.ts') ? ['--import', 'tsx'] : [];
  const child = spawn(process.execPath, [...flags, ...nodeFlags, ...profile, ...loader, entry], {
    cwd: REPO_ROOT,
    env: { ...env, PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (child.pid === undefined) throw new Error(`${name}: could not start ${entry}`);
  const instance: Instance = { name, port, base: `http://127.0.0.1:${port}`, pid: child.pid, child, tail: [], logEvents: new Map() };
  running.add(instance);
  const collect = (chunk: Buffer) => {
    for (const line of chunk.toString('utf8').split('\n')) {
      if (!line.trim()) continue;
      instance.tail.push(line);
      if (instance.tail.length > TAIL_LINES) instance.tail.shift();
      if (line.startsWith('{')) {
        try {
          const entry = JSON.parse(line) as { level?: number; event?: string; msg?: string };
          if ((entry.level ?? 0) >= 40) {
            const key = `${entry.level! >= 50 ? 'error' : 'warn'}:${entry.event ?? entry.msg ?? '?'}`;
            instance.logEvents.set(key, (instance.logEvents.get(key) ?? 0) + 1);
          }
        } catch {
          // Not a log line of ours.
        }
      }
    }
  };
  child.stdout!.on('data', collect);
  child.stderr!.on('data', collect);
  child.on('exit', (code, signal) => {
    instance.exit = { code, signal };
    running.delete(instance);
  });
  return instance;
}

/** Resolves once GET /readyz answers 200; fails if the process exits or `timeoutMs` passes. */
export async function waitReady(instance: Instance, timeoutMs: number): Promise<number> {
  const started = Date.now();
  for (;;) {
    if (instance.exit) throw new Error(`${instance.name} exited (${instance.exit.code ?? instance.exit.signal}) before it was ready:\n${instance.tail.join('\n')}`);
    if ((await probe(`${instance.base}/readyz`)) === 200) return Date.now() - started;
    if (Date.now() - started > timeoutMs) throw new Error(`${instance.name} not ready after ${timeoutMs} ms:\n${instance.tail.join('\n')}`);
    await sleep(100);
  }
}

function probe(url: string): Promise<number | undefined> {
  return new Promise((resolve) => {
    const req = http.get(url, { timeout: 1000, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode));
    });
    req.on('error', () => resolve(undefined));
    req.on('timeout', () => req.destroy());
  });
}

/** SIGTERM, then SIGKILL after `graceMs`. */
export async function stopInstance(instance: Instance, graceMs = 3000): Promise<void> {
  if (instance.exit) return;
  const exited = new Promise<void>((resolve) => instance.child.once('exit', () => resolve()));
  instance.child.kill('SIGTERM');
  const timer = setTimeout(() => instance.child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

export async function stopAll(graceMs = 3000): Promise<void> {
  await Promise.all([...running].map((instance) => stopInstance(instance, graceMs)));
}

/** Synchronous last resort (process 'exit', hard timeout): every child still running gets SIGKILL. */
export function killAllNow(): void {
  for (const instance of running) {
    try {
      instance.child.kill('SIGKILL');
    } catch {
      // Already gone.
    }
  }
}

/** User + system CPU seconds the process has used (/proc/<pid>/stat utime + stime). */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may hold spaces), counted from field 3: utime is 14, stime 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
}

/** The process's command line (/proc/<pid>/cmdline) and how many child processes it has. */
export function processShape(pid: number): { argv: string[]; children: number } {
  const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
  let children = 0;
  for (const task of readdirSync(`/proc/${pid}/task`)) {
    children += readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').split(' ').filter(Boolean).length;
  }
  return { argv, children };
}

/** Resident set size in bytes (/proc/<pid>/status VmRSS). */
export function rssBytes(pid: number): number {
  const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Number(match[1]) * 1024 : NaN;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Binds every thread of a running process (main, GC, libuv) to the given CPUs (`taskset -a -p`):
 * an instance given one core, as a container with a 1-CPU limit would be. False when taskset is
 * not there or refuses.
 */
export function pinToCpus(pid: number, cpuList: string): boolean {
  try {
    execFileSync('taskset', ['-a', '-p', '-c', cpuList, String(pid)], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
