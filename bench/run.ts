import { randomBytes } from 'node:crypto';
import { cpus } from 'node:os';
import { botFrameworkRoute, percentile, runPhase, twilioRoute, type Identity, type PhaseResult, type Route, type Step, type Target } from './lib/load';
import { execFileSync } from 'node:child_process';
import {
  COMPILED_ENTRY,
  CONTAINER_512_MIB_COMMAND,
  CONTAINER_512_MIB_ENV,
  CONTAINER_512_MIB_FLAGS,
  freePort,
  killAllNow,
  pinToCpus,
  processShape,
  REPO_ROOT,
  rssBytes,
  startNode,
  stopAll,
  stopInstance,
  waitReady,
  type Instance,
} from './lib/processes';
import { anyKeyUnder, connectRedis, deleteUnder, keysUnder, memoryUsage, redisCpuSeconds, type BenchRedis } from './lib/redisProbe';
import { printReport, type Report, type ScenarioReport } from './lib/report';
import { baselineConversation, registration, type Channel, type Outcome } from './lib/scripts';

/**
 * `npm run bench [-- --quick] [-- --users=50 --duration=12 --no-redis --timeout=900]`
 *
 * Builds the product (`tsc -p tsconfig.build.json` into dist/), starts it compiled as production
 * does (memory mode; Redis mode with one and two instances, and one more with the V8 flags of a
 * 512 MiB container) and the plain botbuilder baseline (bench/baseline/) as child processes on
 * loopback ports, drives virtual users through whole registrations over the signed Twilio route
 * and over /api/messages, and prints a table per scenario, the targets of issues 5 and 15 with
 * PASS/FAIL, and, as its last line, one JSON object.
 * Exit code 0 whenever the bench ran (a missed target is reported, not an exit code).
 */

interface Options {
  quick: boolean;
  users: number;
  warmupMs: number;
  durationMs: number;
  liveConversations: number;
  rssConversations: number;
  rssWarmupConversations: number;
  redisUrl: string;
  redis: boolean;
  hardTimeoutMs: number;
}

function parseOptions(argv: string[]): Options {
  const flag = (name: string) => argv.includes(`--${name}`);
  const value = (name: string) => argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1];
  const number = (name: string, fallback: number) => {
    const raw = value(name);
    if (raw === undefined) return fallback;
    const parsed = Number(raw);
    if (!Number.isFinite(parsed) || parsed <= 0) throw new Error(`--${name}: a positive number, got ${raw}`);
    return parsed;
  };
  if (flag('help')) {
    console.log('usage: npm run bench -- [--quick] [--users=50] [--duration=SECONDS] [--rss-conversations=10000] [--no-redis] [--timeout=SECONDS]');
    console.log(`The product runs compiled (built first into dist/); the "512 MiB" instance runs with ${CONTAINER_512_MIB_COMMAND} (BENCH_CAPPED_NODE_FLAGS and BENCH_CAPPED_ENV to try others).`);
    process.exit(0);
  }
  const quick = flag('quick');
  return {
    quick,
    users: Math.round(number('users', 50)),
    // A fresh instance runs its first seconds unoptimized (V8 compiles hot code as it goes): a
    // 1 s warm-up left quick runs reading the product cold against a warm baseline.
    warmupMs: quick ? 2500 : 3000,
    durationMs: number('duration', quick ? 2.5 : 12) * 1000,
    liveConversations: quick ? 100 : 1000,
    rssConversations: quick ? 0 : Math.round(number('rss-conversations', 10_000)),
    rssWarmupConversations: 500,
    redisUrl: process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379',
    redis: !flag('no-redis'),
    hardTimeoutMs: number('timeout', quick ? 240 : 900) * 1000,
  };
}

const log = (line: string) => process.stderr.write(`[bench] ${line}\n`);

/** The share of the saturation rate at which latency is measured. */
const PACED_LOAD = 0.5;

/** Every variable the product reads, removed from the inherited environment so nothing leaks in. */
function cleanEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (/^(TWILIO_|REDIS_|REGISTRY_|Microsoft|STATE_|CONVERSATION_|DEFAULT_LOCALE$|LOG_LEVEL$|NODE_ENV$|PORT$|NODE_OPTIONS$)/.test(name)) continue;
    env[name] = value;
  }
  return env;
}

/** Whatever happens (error, SIGINT, hard timeout), the children die and the run's Redis keys go. */
const cleanup: { redis?: BenchRedis; prefix?: string; running: boolean } = { running: false };

async function abort(reason: string, code: number): Promise<never> {
  if (!cleanup.running) {
    cleanup.running = true;
    log(`stopping: ${reason}`);
    killAllNow();
    const { redis, prefix } = cleanup;
    if (redis && prefix) await Promise.race([deleteUnder(redis, prefix).catch(() => 0), new Promise((resolve) => setTimeout(resolve, 2000))]);
  }
  process.exit(code);
}

process.on('SIGINT', () => void abort('SIGINT', 130));
process.on('SIGTERM', () => void abort('SIGTERM', 143));
process.on('exit', killAllNow);

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const began = Date.now();
  const runId = randomBytes(4).toString('hex');
  const prefix = `bench-${runId}:`;
  const authToken = randomBytes(16).toString('hex');
  const webhookUrl = 'https://tasjil-bench.invalid/api/twilio/messages';
  const stateKey = `bench:${randomBytes(32).toString('base64')}`;
  const notes: string[] = [];
  let redis: BenchRedis | undefined;

  cleanup.prefix = prefix;
  // The product as production runs it: compiled JavaScript, no TypeScript loader (issue 15).
  log('building the product (tsc -p tsconfig.build.json, into dist/)');
  execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', 'tsconfig.build.json'], { cwd: REPO_ROOT, stdio: 'inherit' });
  const hardTimeout = setTimeout(() => void abort(`hard timeout of ${options.hardTimeoutMs / 1000} s`, 2), options.hardTimeoutMs);

  if (options.redis) {
    try {
      redis = await connectRedis(options.redisUrl);
      cleanup.redis = redis;
    } catch (error) {
      notes.push(`Redis not reachable at ${options.redisUrl} (${(error as Error).message}): Redis scenarios skipped`);
      log(notes.at(-1)!);
    }
  } else {
    notes.push('--no-redis: Redis scenarios skipped');
  }

  // --- the processes ---------------------------------------------------------------------------
  const product = (extra: NodeJS.ProcessEnv): NodeJS.ProcessEnv => ({
    ...cleanEnv(),
    NODE_ENV: 'development',
    LOG_LEVEL: 'warn',
    TWILIO_AUTH_TOKEN: authToken,
    TWILIO_WEBHOOK_URL: webhookUrl,
    ...extra,
  });
  const redisEnv = { REDIS_URL: options.redisUrl, REDIS_KEY_PREFIX: prefix, STATE_ENCRYPTION_KEY: stateKey };
  const launch = async (name: string, entry: string, env: NodeJS.ProcessEnv, nodeFlags: string[] = []) => startNode(name, entry, await freePort(), env, nodeFlags);

  log(`run ${runId}: starting the processes (${options.quick ? 'quick' : 'full'} run, ${options.users} users, ${cpus().length} CPUs)`);
  const instances: Instance[] = [];
  const baseline = await launch('baseline', 'bench/baseline/index.ts', { ...cleanEnv(), NODE_ENV: 'production' });
  instances.push(baseline);
  const memory = await launch('memory', COMPILED_ENTRY, product({}));
  instances.push(memory);
  const redisA = redis ? await launch('redis-a', COMPILED_ENTRY, product(redisEnv)) : undefined;
  const redisB = redis ? await launch('redis-b', COMPILED_ENTRY, product(redisEnv)) : undefined;
  const redisCapped = redis ? await launch('redis-512', COMPILED_ENTRY, { ...product(redisEnv), ...CONTAINER_512_MIB_ENV }, CONTAINER_512_MIB_FLAGS) : undefined;
  for (const instance of [redisA, redisB, redisCapped]) if (instance) instances.push(instance);
  const startups: Report['startups'] = [];
  const readyMs = await Promise.all(
    instances.map(async (instance) => {
      const ms = await waitReady(instance, 60_000);
      // Read at once: "RSS at ready" is what an instance holds before its first message.
      const rssAtReady = rssBytes(instance.pid);
      if (instance !== baseline) startups.push(startupOf(instance, rssAtReady, ms));
      return ms;
    }),
  );
  log(`ready: ${instances.map((instance, i) => `${instance.name} ${readyMs[i]} ms`).join(', ')}`);

  // --- the load --------------------------------------------------------------------------------
  let senders = 0;
  let unknownCards = 0;
  const newIdentity = (): Identity => {
    const n = ++senders;
    return { n, phone: `+2126${String(n).padStart(8, '0')}`, conversationId: `bench-${runId}-${n}` };
  };
  const nextUnknownCard = () => `ZZ${String(++unknownCards % 1_000_000).padStart(6, '0')}`;
  /** Users alternate A and C, and each user alternates too: half of each, in every phase. */
  const outcomeOf = (k: number, user: number): Outcome => ((k + user) % 2 === 0 ? 'A' : 'C');
  const tasjilScript = (channel: Channel, untilSummary = false) => (identity: Identity, k: number, user: number) =>
    registration(channel, outcomeOf(k, user), identity, nextUnknownCard(), untilSummary);
  const twilio = twilioRoute(authToken, webhookUrl);
  const botframework = botFrameworkRoute('api');
  const targetOf = (instance: Instance): Target => ({ host: '127.0.0.1', port: instance.port });
  const redisCpu = redis ? { redis: () => redisCpuSeconds(redis!) } : undefined;

  const scenarios: ScenarioReport[] = [];
  const measure: Measure = async (key, label, mode, serving, route, script, thinkMs = 0) => {
    log(`${label}: ${options.warmupMs / 1000} s warm-up, ${options.durationMs / 1000} s measured${thinkMs ? `, ${thinkMs.toFixed(0)} ms think time` : ''}`);
    const eventsBefore = serving.map((instance) => new Map(instance.logEvents));
    const result = await runPhase({
      users: options.users,
      targets: serving.map(targetOf),
      route,
      script,
      newIdentity,
      pids: serving.map((instance) => instance.pid),
      warmupMs: options.warmupMs,
      durationMs: options.durationMs,
      extraCpu: mode === 'redis' ? redisCpu : undefined,
      thinkMs,
    });
    const report = summarize(key, label, mode, route.name, serving, result, eventsBefore, options.users);
    scenarios.push(report);
    log(
      `${label}: ${report.messagesPerSecond.toFixed(0)} msg/s, p99 ${report.latencyMs.p99.toFixed(1)} ms, ${report.errors} errors, ${report.lostTurns} lost turns`,
    );
    return report;
  };

  const base = await measure('baseline', 'Baseline botbuilder bot, /api/messages', 'baseline', [baseline], botFrameworkRoute('baseline'), () => baselineConversation());
  const memTwilio = await measure('memory-1-twilio', 'Memory, 1 instance, Twilio', 'memory', [memory], twilio, tasjilScript('whatsapp'));
  const memApi = await measure('memory-1-api', 'Memory, 1 instance, /api/messages', 'memory', [memory], botframework, tasjilScript('botframework'));

  let redisWired: boolean | undefined;
  let liveConversation: Report['redisPerLiveConversation'];
  let r1Twilio: ScenarioReport | undefined;
  let r1Capped: ScenarioReport | undefined;
  let cappedRounds: { throughput: number[]; cpuPerMessage: number[] } | undefined;
  let r2Twilio: ScenarioReport | undefined;
  let r1OneCore: ScenarioReport | undefined;
  let r2OneCoreEach: ScenarioReport | undefined;
  if (redis && redisA && redisB) {
    r1Twilio = await measure('redis-1-twilio', 'Redis, 1 instance, Twilio', 'redis', [redisA], twilio, tasjilScript('whatsapp'));
    redisWired = await anyKeyUnder(redis, prefix);
    r1Twilio.redisWired = redisWired;
    // Right after the uncapped run, on the same machine state: the 512 MiB container's flags.
    if (redisCapped) {
      r1Capped = await measure('redis-1-twilio-512', `Redis, 1 instance, Twilio, ${CONTAINER_512_MIB_COMMAND}`, 'redis', [redisCapped], twilio, tasjilScript('whatsapp'));
      r1Capped.redisWired = redisWired;
      cappedRounds = await alternateCappedAndUncapped(redisA, redisCapped, options, newIdentity, twilio, tasjilScript('whatsapp'));
      const shown = (ratios: number[]) => ratios.map((ratio) => ratio.toFixed(2)).join(', ');
      log(`512 MiB flags ÷ none, pair by pair: throughput ${shown(cappedRounds.throughput)}; CPU per message ${shown(cappedRounds.cpuPerMessage)}`);
      await stopInstance(redisCapped);
    }
    // Latency is read at a load the instance can carry: in a closed loop (no think time) it is
    // users ÷ throughput by construction (Little's law), whatever a turn costs. The same 50 users
    // pace themselves to half the rate measured just above.
    const pacedThinkMs = (options.users * 1000) / (PACED_LOAD * r1Twilio.messagesPerSecond);
    const paced = await measure('redis-1-twilio-paced', `Redis, 1 instance, Twilio, paced to ${PACED_LOAD * 100} %`, 'redis', [redisA], twilio, tasjilScript('whatsapp'), pacedThinkMs);
    paced.redisWired = redisWired;
    paced.thinkMs = pacedThinkMs;
    if (!redisWired) {
      notes.push(
        'With REDIS_URL set the product wrote nothing to Redis (Redis mode not wired yet): the "Redis" numbers are memory-mode numbers, the 2-instance scenarios and the Redis size were skipped',
      );
      log(notes.at(-1)!);
    }
    const r1Api = await measure('redis-1-api', 'Redis, 1 instance, /api/messages', 'redis', [redisA], botframework, tasjilScript('botframework'));
    r1Api.redisWired = redisWired;
    if (redisWired) {
      liveConversation = await measureLiveConversations(redis, prefix, redisA, options, newIdentity, twilio, tasjilScript('whatsapp', true));
      log(`Redis per live conversation: ${liveConversation.stateBytesPerConversation.toFixed(0)} B of state (${liveConversation.stateKeys} state keys for ${liveConversation.conversations} conversations)`);
      r2Twilio = await measure('redis-2-twilio', 'Redis, 2 instances, Twilio', 'redis', [redisA, redisB], twilio, tasjilScript('whatsapp'));
      r2Twilio.redisWired = true;
      const r2Api = await measure('redis-2-api', 'Redis, 2 instances, /api/messages', 'redis', [redisA, redisB], botframework, tasjilScript('botframework'));
      r2Api.redisWired = true;
      ({ oneCore: r1OneCore, twoCores: r2OneCoreEach } = await measureScaleOutPerCore(redisA, redisB, twilio, tasjilScript('whatsapp'), measure, notes));
    }
  }
  // The Redis processes are done: the RSS run gets the CPUs to itself.
  await Promise.all([redisA, redisB].map((instance) => (instance ? stopInstance(instance) : undefined)));

  let rss: Report['rss'];
  if (options.rssConversations > 0) {
    rss = await measureRss(options, product({}), newIdentity, twilio, tasjilScript('whatsapp'));
  } else {
    notes.push('RSS after 10,000 conversations: not measured (--quick)');
  }

  // --- the end ---------------------------------------------------------------------------------
  await stopAll();
  let redisKeysDeleted: number | undefined;
  if (redis) {
    redisKeysDeleted = await deleteUnder(redis, prefix);
    cleanup.redis = undefined;
    await redis.quit().catch(() => undefined);
  }
  clearTimeout(hardTimeout);

  const report: Report = {
    bench: 'tasjil',
    runId,
    quick: options.quick,
    users: options.users,
    measuredSecondsPerScenario: options.durationMs / 1000,
    machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model ?? '?', node: process.version },
    redisUrl: redis ? options.redisUrl : undefined,
    redisKeyPrefix: redis ? prefix : undefined,
    redisKeysDeleted,
    redisWired,
    scenarios,
    ratios: {
      twilioRedis1OverBaseline: r1Twilio ? r1Twilio.messagesPerSecond / base.messagesPerSecond : undefined,
      twilioRedis1CappedOverUncapped: cappedRounds ? median(cappedRounds.throughput) : undefined,
      twilioRedis1CappedOverUncappedRounds: cappedRounds?.throughput,
      twilioRedis1CappedOverUncappedCpuPerMessage: cappedRounds ? median(cappedRounds.cpuPerMessage) : undefined,
      twilioRedis1CappedOverUncappedCpuPerMessageRounds: cappedRounds?.cpuPerMessage,
      apiMemoryOverBaseline: memApi.messagesPerSecond / base.messagesPerSecond,
      twilioMemoryOverBaseline: memTwilio.messagesPerSecond / base.messagesPerSecond,
      twilioRedis2OverRedis1: r1Twilio && r2Twilio ? r2Twilio.messagesPerSecond / r1Twilio.messagesPerSecond : undefined,
      twilioRedis2OverRedis1OneCoreEach: r1OneCore && r2OneCoreEach ? r2OneCoreEach.messagesPerSecond / r1OneCore.messagesPerSecond : undefined,
      twilioRedis2OverRedis1Ceiling: r1Twilio && r2Twilio ? scaleOutCeiling(r1Twilio, r2Twilio) : undefined,
    },
    redisPerLiveConversation: liveConversation,
    rss,
    startups,
    cappedNodeFlags: CONTAINER_512_MIB_FLAGS,
    cappedCommand: CONTAINER_512_MIB_COMMAND,
    targets: [],
    notes,
    totalSeconds: 0,
  };
  report.totalSeconds = (Date.now() - began) / 1000;
  printReport(report);
}

/** What a virtual user says in its `k`-th conversation. */
type Script = (identity: Identity, k: number, user: number) => Step[];

/**
 * Throughput with the 512 MiB container's flags over throughput without, in back-to-back windows
 * on two warm instances, alternating which goes first (A B, B A, …): the shared machine's load
 * drifts by more than the difference sought, and each pair sees nearly the same drift. The CPU
 * seconds each spent per message too: on a busy machine throughput follows the CPU the instance
 * was given, its cost per message (what a smaller young generation would raise) much less.
 */
async function alternateCappedAndUncapped(
  uncapped: Instance,
  capped: Instance,
  options: Options,
  newIdentity: () => Identity,
  route: Route,
  script: Script,
): Promise<{ throughput: number[]; cpuPerMessage: number[] }> {
  const rounds = options.quick ? 4 : 6;
  // An instance without a heap cap defers its full collections (its RSS climbs instead): in a
  // window of a few seconds it runs ahead on credit. Longer windows make it pay its share.
  const durationMs = Math.max(options.durationMs, 5000);
  const ratios = { throughput: [] as number[], cpuPerMessage: [] as number[] };
  for (let round = 0; round < rounds; round++) {
    const rates = new Map<Instance, number>();
    const cpuPerMessage = new Map<Instance, number>();
    for (const instance of round % 2 === 0 ? [uncapped, capped] : [capped, uncapped]) {
      const result = await runPhase({
        users: options.users,
        targets: [{ host: '127.0.0.1', port: instance.port }],
        route,
        script,
        newIdentity,
        pids: [instance.pid],
        warmupMs: 500,
        durationMs,
      });
      rates.set(instance, result.messages / result.measuredSeconds);
      cpuPerMessage.set(instance, (result.cpuSecondsByPid[instance.pid] ?? NaN) / result.messages);
    }
    ratios.throughput.push(rates.get(capped)! / rates.get(uncapped)!);
    ratios.cpuPerMessage.push(cpuPerMessage.get(capped)! / cpuPerMessage.get(uncapped)!);
  }
  return ratios;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** How an instance was started and what it held when it first answered /readyz. */
function startupOf(instance: Instance, rssAtReady: number, readyMs: number): Report['startups'][number] {
  const { argv, children } = processShape(instance.pid);
  const command = argv.map((arg) => (arg === process.execPath ? 'node' : arg)).join(' ');
  return { name: instance.name, command, typescriptLoader: argv.some((arg) => /tsx|ts-node/.test(arg)), childProcesses: children, readyMs, rssAtReadyMiB: rssAtReady / 2 ** 20 };
}

/** Runs one scenario (warm-up, then the measured window) and records its report. */
type Measure = (
  key: string,
  label: string,
  mode: ScenarioReport['mode'],
  serving: Instance[],
  route: Route,
  script: Script,
  thinkMs?: number,
) => Promise<ScenarioReport>;

/**
 * Scale-out, one core per instance: instance A bound to CPU 0 alone, then A on CPU 0 and B on
 * CPU 1 together (every thread of each, GC included, as a container with a 1-CPU limit would
 * have it); the load generator and redis-server run wherever the OS puts them. Unbound, one
 * instance already spreads its garbage collector over the second core, so "2 instances ÷ 1"
 * would measure the spare CPU of a 2-core machine rather than what a second instance adds.
 */
async function measureScaleOutPerCore(
  a: Instance,
  b: Instance,
  route: Route,
  script: Script,
  measure: Measure,
  notes: string[],
): Promise<{ oneCore?: ScenarioReport; twoCores?: ScenarioReport }> {
  const all = `0-${cpus().length - 1}`;
  if (cpus().length < 2 || !pinToCpus(a.pid, '0')) {
    notes.push('Scale-out with one core per instance not measured: needs 2 CPUs and taskset (util-linux)');
    log(notes.at(-1)!);
    return {};
  }
  try {
    const oneCore = await measure('redis-1-twilio-one-core', 'Redis, 1 instance on 1 core, Twilio', 'redis', [a], route, script);
    pinToCpus(b.pid, '1');
    const twoCores = await measure('redis-2-twilio-one-core-each', 'Redis, 2 instances on 1 core each, Twilio', 'redis', [a, b], route, script);
    oneCore.redisWired = twoCores.redisWired = true;
    return { oneCore, twoCores };
  } finally {
    pinToCpus(a.pid, all);
    pinToCpus(b.pid, all);
  }
}

/**
 * The most two unbound instances could give over one on this machine: every CPU second the
 * 2-instance scenario spent per message (instances, load generator, redis-server) against the
 * machine's cores, over the 1-instance throughput.
 */
function scaleOutCeiling(one: ScenarioReport, two: ScenarioReport): number {
  const secondsPerMessage = (two.cpuSecondsPer1000Messages + two.loadGeneratorCpuSecondsPer1000Messages + (two.redisCpuSecondsPer1000Messages ?? 0)) / 1000;
  return cpus().length / secondsPerMessage / one.messagesPerSecond;
}

function summarize(
  key: string,
  label: string,
  mode: ScenarioReport['mode'],
  route: string,
  serving: Instance[],
  result: PhaseResult,
  eventsBefore: Map<string, number>[],
  users: number,
): ScenarioReport {
  const sorted = [...result.latenciesMs].sort((a, b) => a - b);
  const cpu = Object.values(result.cpuSecondsByPid).reduce((a, b) => a + b, 0);
  const per1000 = (seconds: number) => (result.messages ? (seconds * 1000) / result.messages : NaN);
  const logEvents: Record<string, number> = {};
  serving.forEach((instance, i) => {
    for (const [event, count] of instance.logEvents) {
      const delta = count - (eventsBefore[i]!.get(event) ?? 0);
      if (delta > 0) logEvents[event] = (logEvents[event] ?? 0) + delta;
    }
  });
  return {
    key,
    label,
    mode,
    route,
    instances: serving.length,
    users,
    measuredSeconds: result.measuredSeconds,
    messages: result.messages,
    conversations: result.conversations,
    messagesPerSecond: result.messages / result.measuredSeconds,
    conversationsPerSecond: result.conversations / result.measuredSeconds,
    latencyMs: {
      p50: percentile(sorted, 0.5),
      p95: percentile(sorted, 0.95),
      p99: percentile(sorted, 0.99),
      max: sorted.at(-1) ?? NaN,
      mean: sorted.reduce((a, b) => a + b, 0) / (sorted.length || 1),
    },
    cpuSecondsPer1000Messages: per1000(cpu),
    cpuUtilization: cpu / result.measuredSeconds,
    redisCpuSecondsPer1000Messages: result.extraCpuSeconds.redis !== undefined ? per1000(result.extraCpuSeconds.redis) : undefined,
    loadGeneratorCpuSecondsPer1000Messages: per1000(result.loadGeneratorCpuSeconds),
    rssMiB: serving.map((instance) => rssBytes(instance.pid) / 2 ** 20),
    errors: result.errors,
    lostTurns: result.lostTurns,
    examples: result.examples,
    logEvents,
  };
}

/**
 * Redis bytes per live conversation: fresh senders each stop at the summary (the state is then at
 * its largest: every answer held), and MEMORY USAGE is summed over the state keys they created.
 */
async function measureLiveConversations(
  redis: BenchRedis,
  prefix: string,
  instance: Instance,
  options: Options,
  newIdentity: () => Identity,
  route: Route,
  script: (identity: Identity, k: number, user: number) => Step[],
): Promise<NonNullable<Report['redisPerLiveConversation']>> {
  log(`Redis per live conversation: ${options.liveConversations} conversations left at the summary`);
  const before = new Set(await keysUnder(redis, prefix));
  const result = await runPhase({
    users: options.users,
    targets: [{ host: '127.0.0.1', port: instance.port }],
    route,
    script,
    newIdentity,
    pids: [instance.pid],
    conversations: options.liveConversations,
    identityPerConversation: true,
  });
  const created = (await keysUnder(redis, prefix)).filter((key) => !before.has(key));
  const stateKeys = created.filter((key) => key.startsWith(`${prefix}state:`));
  const stateBytes = await memoryUsage(redis, stateKeys);
  const allBytes = await memoryUsage(redis, created);
  const conversations = result.conversations;
  const kinds: Record<string, number> = {};
  for (const key of created) {
    const kind = key.slice(prefix.length).split(':')[0] ?? '?';
    kinds[kind] = (kinds[kind] ?? 0) + 1;
  }
  return {
    conversations,
    stateKeys: stateKeys.length,
    stateBytes,
    stateBytesPerConversation: stateBytes / (conversations || 1),
    newKeys: created.length,
    newKeysByKind: kinds,
    allNewKeysBytesPerConversation: allBytes / (conversations || 1),
    errors: result.errors,
    lostTurns: result.lostTurns,
  };
}

/**
 * The least-squares line through the second half's samples: how much RSS it gains over that
 * half, and its mean level. A single high sample (the heap just before a collection) barely
 * moves a line; a leak tilts it.
 */
function secondHalfTrend(samples: { conversations: number; rssMiB: number }[]): { secondHalfTrendMiB: number; secondHalfMeanMiB: number } {
  const n = samples.length;
  const meanX = samples.reduce((sum, s) => sum + s.conversations, 0) / n;
  const meanY = samples.reduce((sum, s) => sum + s.rssMiB, 0) / n;
  const sxx = samples.reduce((sum, s) => sum + (s.conversations - meanX) ** 2, 0);
  const sxy = samples.reduce((sum, s) => sum + (s.conversations - meanX) * (s.rssMiB - meanY), 0);
  const span = samples.at(-1)!.conversations - samples[0]!.conversations;
  return { secondHalfTrendMiB: sxx > 0 ? (sxy / sxx) * span : 0, secondHalfMeanMiB: meanY };
}

/** A fresh memory-mode instance through `rssWarmup` + `rssConversations` whole conversations; RSS sampled as it goes. */
async function measureRss(
  options: Options,
  env: NodeJS.ProcessEnv,
  newIdentity: () => Identity,
  route: Route,
  script: (identity: Identity, k: number, user: number) => Step[],
): Promise<NonNullable<Report['rss']>> {
  const instance = startNode('rss', COMPILED_ENTRY, await freePort(), env);
  await waitReady(instance, 60_000);
  const atReady = rssBytes(instance.pid);
  const target = { host: '127.0.0.1', port: instance.port };
  log(`RSS: ${options.rssWarmupConversations} warm-up conversations, then ${options.rssConversations}`);
  const warm = await runPhase({ users: options.users, targets: [target], route, script, newIdentity, pids: [instance.pid], conversations: options.rssWarmupConversations });
  const samples: { conversations: number; rssMiB: number }[] = [{ conversations: 0, rssMiB: rssBytes(instance.pid) / 2 ** 20 }];
  const every = Math.max(1, Math.round(options.rssConversations / 20));
  const result = await runPhase({
    users: options.users,
    targets: [target],
    route,
    script,
    newIdentity,
    pids: [instance.pid],
    conversations: options.rssConversations,
    onConversation: (finished) => {
      if (finished % every === 0) {
        samples.push({ conversations: finished, rssMiB: rssBytes(instance.pid) / 2 ** 20 });
        if (finished % (every * 5) === 0) log(`RSS: ${finished} conversations, ${samples.at(-1)!.rssMiB.toFixed(1)} MiB`);
      }
    },
  });
  await stopInstance(instance);
  const middle = samples.reduce((best, s) => (Math.abs(s.conversations - options.rssConversations / 2) < Math.abs(best.conversations - options.rssConversations / 2) ? s : best));
  const start = samples[0]!;
  const end = samples.at(-1)!;
  return {
    conversations: result.conversations,
    atReadyMiB: atReady / 2 ** 20,
    startMiB: start.rssMiB,
    middleMiB: middle.rssMiB,
    endMiB: end.rssMiB,
    ...secondHalfTrend(samples.filter((s) => s.conversations >= options.rssConversations / 2)),
    samples,
    messagesPerSecond: result.messages / result.measuredSeconds,
    seconds: result.measuredSeconds,
    errors: result.errors + warm.errors,
    lostTurns: result.lostTurns + warm.lostTurns,
  };
}

main().catch((error: Error) => abort(`the bench could not run: ${error.stack ?? error.message}`, 1));
