import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import twilio from 'twilio';
import { REPO_ROOT } from '../../src/repoRoot';
import { closeTestClient, connectTestClient, deleteKeys, listKeys, newTestPrefix, TEST_REDIS_URL } from '../support/redis';
import { messageSid, parseTwiml } from '../support/twilioServer';
import type { RedisClient } from '../../src/state/redis';
import { freePort } from '../support/freePort';

/**
 * Production's start (issue 15): the TypeScript compiled with the build's own tsconfig, then
 * `node <entry>` and nothing else: one process, no TypeScript loader, the data and copy found from
 * the compiled folder. It answers /readyz and a signed WhatsApp turn, its state in the real Redis.
 *
 * Built into test-artifacts/compiled/ (git-ignored) rather than dist/, so a developer's own build
 * or a bench reading dist/ is never swapped under it; `npm run build` is the same tsconfig into dist/.
 */

const OUT_DIR = join(REPO_ROOT, 'test-artifacts', 'compiled');
const WEBHOOK_URL = 'https://tasjil.example.ma/api/twilio/messages';
const AUTH_TOKEN = randomBytes(16).toString('hex');
const OUR_WHATSAPP = 'whatsapp:+14155238886';
const PHONE = '+212611223344';

const packageJson = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
/** `npm run start:prod` is `node <entry>`: the entry the test starts, relative to the build's folder. */
const prodEntry = /^node (dist\/\S+\.js)$/.exec(packageJson.scripts['start:prod'] ?? '')?.[1];

let child: ChildProcess | undefined;
let output = '';
let redis: RedisClient | undefined;
const prefix = newTestPrefix();

async function waitReady(base: string, timeoutMs: number): Promise<number> {
  const started = Date.now();
  for (;;) {
    if (child?.exitCode !== null) throw new Error(`the compiled server exited (${child?.exitCode}) before it was ready:\n${output}`);
    const status = await fetch(`${base}/readyz`).then((res) => res.status, () => undefined);
    if (status === 200) return status;
    if (Date.now() - started > timeoutMs) throw new Error(`not ready after ${timeoutMs} ms:\n${output}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** A WhatsApp message as Twilio posts it, signed over the public URL with the instance's token. */
async function say(base: string, body: string): Promise<{ status: number; messages: string[] }> {
  const sid = messageSid();
  const form: Record<string, string> = { MessageSid: sid, SmsMessageSid: sid, AccountSid: `AC${'0'.repeat(32)}`, From: `whatsapp:${PHONE}`, To: OUR_WHATSAPP, Body: body, NumMedia: '0', WaId: PHONE.slice(1) };
  const res = await fetch(`${base}/api/twilio/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': twilio.getExpectedTwilioSignature(AUTH_TOKEN, WEBHOOK_URL, form) },
    body: new URLSearchParams(form).toString(),
  });
  const raw = await res.text();
  return { status: res.status, messages: res.status === 200 ? parseTwiml(raw) : [raw] };
}

beforeAll(async () => {
  // tsc as `npm run build` runs it (tsconfig.build.json), into our own folder: a few seconds, less when incremental.
  await promisify(execFile)(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', 'tsconfig.build.json', '--outDir', OUT_DIR, '--tsBuildInfoFile', join(OUT_DIR, '.tsbuildinfo')], {
    cwd: REPO_ROOT,
  });
  redis = await connectTestClient();
}, 120_000);

afterAll(async () => {
  if (child && child.exitCode === null) {
    const exited = new Promise((resolve) => child!.once('exit', resolve));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child!.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  }
  if (redis) await deleteKeys(redis, prefix);
  await closeTestClient(redis);
});

test('start:prod is plain node on the build output, and the build emits that entry', () => {
  expect(prodEntry).toBe('dist/src/index.js');
  const emitted = join(OUT_DIR, relative('dist', prodEntry!));
  expect(existsSync(emitted)).toBe(true);
  // Nothing emitted asks for a TypeScript loader at run time.
  const files = readdirSync(OUT_DIR, { recursive: true, encoding: 'utf8' }).filter((file) => file.endsWith('.js'));
  expect(files.length).toBeGreaterThan(50);
  const loaders = files.filter((file) => /require\("(tsx|ts-node|typescript)[/"]/.test(readFileSync(join(OUT_DIR, file), 'utf8')));
  expect(loaders).toEqual([]);
});

test('the compiled server starts as one plain node process, answers /readyz and a WhatsApp turn, state in Redis', async () => {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    PORT: String(port),
    NODE_ENV: 'development',
    LOG_LEVEL: 'warn',
    TWILIO_AUTH_TOKEN: AUTH_TOKEN,
    TWILIO_WEBHOOK_URL: WEBHOOK_URL,
    REDIS_URL: TEST_REDIS_URL,
    REDIS_KEY_PREFIX: prefix,
    STATE_ENCRYPTION_KEY: `k1:${randomBytes(32).toString('base64')}`,
    DEFAULT_LOCALE: 'fr',
  };
  // Started from another folder: the compiled code finds data/ and locales/ itself, not from the working directory.
  child = spawn(process.execPath, [join(OUT_DIR, relative('dist', prodEntry!))], { cwd: '/', env, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  await waitReady(base, 60_000);

  // One process: no loader wrapper (tsx runs the server as its child), no loader flag, no NODE_OPTIONS.
  const argv = readFileSync(`/proc/${child.pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
  expect(argv).toEqual([process.execPath, join(OUT_DIR, 'src', 'index.js')]);
  const environ = readFileSync(`/proc/${child.pid}/environ`, 'utf8').split('\0');
  expect(environ.filter((entry) => entry.startsWith('NODE_OPTIONS='))).toEqual([]);
  const children = readdirSync(`/proc/${child.pid}/task`).flatMap((task) => readFileSync(`/proc/${child!.pid}/task/${task}/children`, 'utf8').split(' ').filter(Boolean));
  expect(children).toEqual([]);

  const reply = await say(base, 'Bonjour');
  expect(reply.status).toBe(200);
  const text = reply.messages.join('\n');
  expect(text).toContain('je suis Tasjil');
  expect(text).toContain("Quelle pièce d'identité avez-vous ?");
  // The turn's state went to Redis under this instance's prefix.
  expect((await listKeys(redis!, prefix)).some((key) => key.startsWith(`${prefix}state:`))).toBe(true);
  expect(output).not.toMatch(/"level":(50|60)/);
}, 90_000);
