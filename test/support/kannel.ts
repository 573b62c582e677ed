import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './freePort';

export { freePort };

/**
 * A real Kannel (Debian's bearerbox and smsbox) for the tests, started from the example
 * configuration operators are given, docs/kannel/kannel.conf: only ports, paths, addresses and
 * secrets are replaced, so a configuration that stops working fails the tests.
 */

export const KANNEL_EXAMPLE_CONFIG = join(__dirname, '..', '..', 'docs', 'kannel', 'kannel.conf');

/** Values per group (`group = smsc` → 'smsc'), key by key: each replaces the line with that key. */
export type KannelOverrides = Record<string, Record<string, string>>;

/**
 * The example configuration with some keys set to other values. A key the example does not have
 * in that group is an error, not an addition: the test would otherwise run a configuration
 * the operators never see.
 */
export function configFromExample(template: string, overrides: KannelOverrides): string {
  const groups = template.split(/\n(?=group\s*=)/);
  const used = new Set<string>();
  const result = groups.map((group) => {
    const name = /^group\s*=\s*(\S+)/m.exec(group)?.[1];
    const values = name ? overrides[name] : undefined;
    if (!values) return group;
    return group.replace(/^([a-z0-9-]+)\s*=.*$/gm, (line, key: string) => {
      if (!(key in values)) return line;
      used.add(`${name}.${key}`);
      return `${key} = ${quoted(values[key]!)}`;
    });
  });
  for (const [group, values] of Object.entries(overrides)) {
    for (const key of Object.keys(values)) if (!used.has(`${group}.${key}`)) throw new Error(`docs/kannel/kannel.conf has no ${key} in group ${group}`);
  }
  return result.join('\n');
}

function quoted(value: string): string {
  return /^[0-9A-Za-z.x]+$/.test(value) ? value : `"${value.replace(/"/g, '\\"')}"`;
}

export async function waitForPort(port: number, timeoutMs: number, process?: ChildProcess): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (process && process.exitCode !== null) throw new Error(`process exited (${process.exitCode}) before listening on ${port}`);
    const open = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (open) return;
    if (Date.now() > deadline) throw new Error(`nothing listens on 127.0.0.1:${port} after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

export interface KannelOptions {
  /** The played SMSC's port and the SMPP account Kannel binds with. */
  smsc: { port: number; systemId: string; password: string };
  /** Where smsbox calls Tasjil for each SMS (the sms-service get-url). */
  getUrl: string;
  sendsmsUser: { username: string; password: string };
}

export interface RunningKannel {
  /** http://127.0.0.1:<port>/cgi-bin/sendsms */
  sendsmsUrl: string;
  sendsmsPort: number;
  adminPort: number;
  dir: string;
  /** The generated configuration, for a failing test's message. */
  config: string;
  /** The last lines of Kannel's logs. */
  logs(): string;
  stop(): Promise<void>;
}

/** Processes started here and not yet stopped: killed when the test process exits, whatever happened. */
const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

export function kannelInstalled(): boolean {
  return existsSync('/usr/sbin/bearerbox') && existsSync('/usr/sbin/smsbox');
}

/**
 * bearerbox then smsbox, on free loopback ports, with their spools and logs in a temporary
 * directory. Resolves when smsbox's sendsms port answers; the caller waits for the SMSC bind.
 */
export async function startKannel(options: KannelOptions): Promise<RunningKannel> {
  if (!kannelInstalled()) throw new Error('Kannel is not installed: apt-get install kannel (.ci/run does it)');
  try {
    return await startKannelOnce(options);
  } catch {
    // A port picked free may have been taken before Kannel bound it (another test's server): once more, on new ports.
    return startKannelOnce(options);
  }
}

async function startKannelOnce(options: KannelOptions): Promise<RunningKannel> {
  const dir = mkdtempSync(join(tmpdir(), 'tasjil-kannel-'));
  for (const sub of ['store', 'dlr']) mkdirSync(join(dir, sub));
  const [adminPort, smsboxPort, sendsmsPort] = [await freePort(), await freePort(), await freePort()];
  const config = configFromExample(readFileSync(KANNEL_EXAMPLE_CONFIG, 'utf8'), {
    core: {
      'admin-port': String(adminPort),
      'admin-password': 'test-admin',
      'status-password': 'test-status',
      'smsbox-port': String(smsboxPort),
      'log-file': join(dir, 'bearerbox.log'),
      'access-log': join(dir, 'access.log'),
      'store-location': join(dir, 'store'),
      'dlr-spool': join(dir, 'dlr'),
    },
    smsc: {
      host: '127.0.0.1',
      port: String(options.smsc.port),
      'smsc-username': options.smsc.systemId,
      'smsc-password': options.smsc.password,
      'reconnect-delay': '1',
      'log-file': join(dir, 'smsc.log'),
    },
    smsbox: {
      'bearerbox-port': String(smsboxPort),
      'sendsms-port': String(sendsmsPort),
      'http-queue-delay': '1',
      'log-file': join(dir, 'smsbox.log'),
      'access-log': join(dir, 'smsbox-access.log'),
    },
    'sendsms-user': { username: options.sendsmsUser.username, password: options.sendsmsUser.password },
    'sms-service': { 'get-url': options.getUrl },
  });
  const configFile = join(dir, 'kannel.conf');
  writeFileSync(configFile, config);

  const children: ChildProcess[] = [];
  const start = (binary: string) => {
    const child = spawn(binary, [configFile], { cwd: dir, stdio: ['ignore', 'ignore', 'ignore'] });
    child.on('error', () => undefined);
    running.add(child);
    child.once('exit', () => running.delete(child));
    children.push(child);
    return child;
  };
  const stop = async () => {
    // smsbox first (it would otherwise reconnect to a leaving bearerbox), then bearerbox.
    for (const child of [...children].reverse()) await stopProcess(child);
    rmSync(dir, { recursive: true, force: true });
  };
  const logs = () =>
    ['bearerbox.log', 'smsc.log', 'smsbox.log']
      .map((file) => {
        const path = join(dir, file);
        return existsSync(path) ? `--- ${file}\n${readFileSync(path, 'utf8').split('\n').slice(-40).join('\n')}` : '';
      })
      .join('\n');
  try {
    const bearerbox = start('/usr/sbin/bearerbox');
    await waitForPort(smsboxPort, 15000, bearerbox);
    const smsbox = start('/usr/sbin/smsbox');
    await waitForPort(sendsmsPort, 15000, smsbox);
  } catch (error) {
    const details = logs();
    await stop();
    throw new Error(`${(error as Error).message}\n${details}`);
  }
  return { sendsmsUrl: `http://127.0.0.1:${sendsmsPort}/cgi-bin/sendsms`, sendsmsPort, adminPort, dir, config, logs, stop };
}

async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}
