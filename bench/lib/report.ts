import type { LostTurn } from './load';

export interface ScenarioReport {
  key: string;
  label: string;
  mode: 'baseline' | 'memory' | 'redis';
  route: string;
  /** Paced scenarios: the mean pause of each user between an answer and the next message. */
  thinkMs?: number;
  instances: number;
  users: number;
  measuredSeconds: number;
  messages: number;
  conversations: number;
  messagesPerSecond: number;
  conversationsPerSecond: number;
  latencyMs: { p50: number; p95: number; p99: number; max: number; mean: number };
  /** The serving processes' CPU (user + system), all instances together. */
  cpuSecondsPer1000Messages: number;
  /** CPU cores the serving processes kept busy on average. */
  cpuUtilization: number;
  redisCpuSecondsPer1000Messages?: number;
  loadGeneratorCpuSecondsPer1000Messages: number;
  /** Per instance, after the scenario. */
  rssMiB: number[];
  errors: number;
  lostTurns: number;
  examples: { errors: string[]; lostTurns: LostTurn[] };
  /** Warnings and errors the product logged meanwhile, by event. */
  logEvents: Record<string, number>;
  /** Redis scenarios: whether the product wrote to Redis at all. */
  redisWired?: boolean;
}

export interface Target {
  name: string;
  status: 'PASS' | 'FAIL' | 'NOT MEASURED';
  value?: number;
  limit: string;
  shown: string;
}

export interface Report {
  bench: 'tasjil';
  runId: string;
  quick: boolean;
  users: number;
  measuredSecondsPerScenario: number;
  machine: { cpus: number; cpuModel: string; node: string };
  redisUrl?: string;
  redisKeyPrefix?: string;
  redisKeysDeleted?: number;
  redisWired?: boolean;
  scenarios: ScenarioReport[];
  ratios: {
    twilioRedis1OverBaseline?: number;
    /** The same instance started with the 512 MiB container's V8 flags, over it without them. */
    twilioRedis1CappedOverUncapped?: number;
    /** That ratio in each pair of back-to-back windows (its median is the figure above). */
    twilioRedis1CappedOverUncappedRounds?: number[];
    /** CPU seconds per message with the flags over without (median, and per pair): above 1, the flags cost CPU. */
    twilioRedis1CappedOverUncappedCpuPerMessage?: number;
    twilioRedis1CappedOverUncappedCpuPerMessageRounds?: number[];
    apiMemoryOverBaseline: number;
    twilioMemoryOverBaseline: number;
    twilioRedis2OverRedis1?: number;
    /** Each instance bound to a core of its own (taskset): the scale-out target. */
    twilioRedis2OverRedis1OneCoreEach?: number;
    /** The most `twilioRedis2OverRedis1` could be on this machine's cores (see scaleOutCeiling). */
    twilioRedis2OverRedis1Ceiling?: number;
  };
  redisPerLiveConversation?: {
    conversations: number;
    stateKeys: number;
    stateBytes: number;
    stateBytesPerConversation: number;
    newKeys: number;
    newKeysByKind: Record<string, number>;
    allNewKeysBytesPerConversation: number;
    errors: number;
    lostTurns: number;
  };
  rss?: {
    conversations: number;
    atReadyMiB: number;
    startMiB: number;
    middleMiB: number;
    endMiB: number;
    /** What the least-squares line through the second half's samples gains over that half, and their mean. */
    secondHalfTrendMiB: number;
    secondHalfMeanMiB: number;
    samples: { conversations: number; rssMiB: number }[];
    messagesPerSecond: number;
    seconds: number;
    errors: number;
    lostTurns: number;
  };
  /** Every product instance: its command line and what it held when it first answered /readyz. */
  startups: {
    name: string;
    command: string;
    typescriptLoader: boolean;
    childProcesses: number;
    readyMs: number;
    rssAtReadyMiB: number;
  }[];
  /** The V8 flags of the "512 MiB" instance. */
  cappedNodeFlags: string[];
  /** The capped instance's malloc environment and V8 flags, as an operator writes them. */
  cappedCommand: string;
  targets: Target[];
  notes: string[];
  totalSeconds: number;
}

/**
 * RSS is "flat" when, over the second half of the run, its trend (the least-squares line through
 * the samples) gains less than this share of its mean level. Not one sample against another: under
 * load a V8 heap saws by tens of MiB between collections, so middle-against-end passed or failed by
 * where the sawtooth happened to be (the same code read +14 % and -9 %); a leak tilts the line.
 */
export const RSS_FLAT_TOLERANCE = 0.1;
export const P99_LIMIT_MS = 50;
export const BASELINE_RATIO = 1.0;
export const SCALE_OUT_RATIO = 1.6;
export const REDIS_BYTES_PER_CONVERSATION = 4096;
/** Issue 15: an instance in a 512 MiB container. */
export const CAPPED_THROUGHPUT_RATIO = 0.95;
export const RSS_AT_READY_LIMIT_MIB = 200;

export function evaluateTargets(report: Report): Target[] {
  const r1 = report.scenarios.find((s) => s.key === 'redis-1-twilio' && s.redisWired);
  const why = report.redisWired === false ? 'product not in Redis mode' : 'no Redis';
  const targets: Target[] = [];
  const add = (name: string, limit: string, value: number | undefined, pass: (v: number) => boolean, shown: (v: number) => string, missing = why) =>
    targets.push(
      value === undefined || Number.isNaN(value)
        ? { name, limit, status: 'NOT MEASURED', shown: missing }
        : { name, limit, value, status: pass(value) ? 'PASS' : 'FAIL', shown: shown(value) },
    );
  const users = report.users === 50 ? '' : ` (run with ${report.users} users)`;
  add(`Twilio, Redis, 1 instance: errors${users}`, '= 0', r1?.errors, (v) => v === 0, String);
  add(`Twilio, Redis, 1 instance: lost turns${users}`, '= 0', r1?.lostTurns, (v) => v === 0, String);
  const paced = report.scenarios.find((s) => s.key === 'redis-1-twilio-paced' && s.redisWired);
  add(
    `Twilio, Redis, 1 instance: p99 latency at half the saturation rate${users}`,
    `< ${P99_LIMIT_MS} ms`,
    paced?.latencyMs.p99,
    (v) => v < P99_LIMIT_MS,
    (v) => `${v.toFixed(1)} ms (${paced!.messagesPerSecond.toFixed(0)} msg/s; closed loop: ${r1!.latencyMs.p99.toFixed(1)} ms at ${r1!.messagesPerSecond.toFixed(0)} msg/s)`,
  );
  add(
    `Twilio, Redis, 1 instance: throughput ÷ baseline bot${users}`,
    `≥ ${BASELINE_RATIO.toFixed(1)}×`,
    r1 ? report.ratios.twilioRedis1OverBaseline : undefined,
    (v) => v >= BASELINE_RATIO,
    (v) => `${v.toFixed(2)}× (${r1!.messagesPerSecond.toFixed(0)} vs ${report.scenarios.find((s) => s.key === 'baseline')!.messagesPerSecond.toFixed(0)} msg/s)`,
  );
  const oneCore = report.scenarios.find((s) => s.key === 'redis-1-twilio-one-core');
  const oneCoreEach = report.scenarios.find((s) => s.key === 'redis-2-twilio-one-core-each');
  const { twilioRedis2OverRedis1Ceiling: ceiling, twilioRedis2OverRedis1OneCoreEach: perCore } = report.ratios;
  add(
    'Twilio, Redis: 2 instances ÷ 1 instance',
    `≥ ${SCALE_OUT_RATIO}×`,
    report.ratios.twilioRedis2OverRedis1,
    (v) => v >= SCALE_OUT_RATIO,
    (v) =>
      `${v.toFixed(2)}× (at most ${fixed(ceiling, 2)}× on ${report.machine.cpus} CPUs shared with the load generator and Redis; ` +
      `one core each: ${fixed(perCore, 2)}×, ${fixed(oneCoreEach?.messagesPerSecond)} vs ${fixed(oneCore?.messagesPerSecond)} msg/s)`,
  );
  const live = report.redisPerLiveConversation;
  add(
    'Redis per live conversation (state keys, MEMORY USAGE)',
    `≤ ${REDIS_BYTES_PER_CONVERSATION / 1024} KiB`,
    live && live.stateKeys > 0 ? live.stateBytesPerConversation : undefined,
    (v) => v <= REDIS_BYTES_PER_CONVERSATION,
    (v) => `${(v / 1024).toFixed(2)} KiB (${live!.stateKeys} keys / ${live!.conversations} conversations)`,
    live ? `no key named ${report.redisKeyPrefix ?? ''}state:* was created` : why,
  );
  const rss = report.rss;
  add(
    `RSS flat after ${rss?.conversations ?? 10_000} finished conversations (memory mode)`,
    `second-half trend ≤ ${RSS_FLAT_TOLERANCE * 100}% of its level`,
    rss ? rss.secondHalfTrendMiB / rss.secondHalfMeanMiB : undefined,
    (v) => v <= RSS_FLAT_TOLERANCE,
    (v) =>
      `${v >= 0 ? '+' : ''}${rss!.secondHalfTrendMiB.toFixed(1)} MiB on ${rss!.secondHalfMeanMiB.toFixed(0)} (${(v * 100).toFixed(1)} %); ` +
      `start/middle/end ${rss!.startMiB.toFixed(0)} → ${rss!.middleMiB.toFixed(0)} → ${rss!.endMiB.toFixed(0)} MiB`,
    report.quick ? 'skipped (--quick)' : 'not run',
  );
  const capped = report.scenarios.find((s) => s.key === 'redis-1-twilio-512' && s.redisWired);
  add(
    `Twilio, Redis, 1 instance: throughput with ${report.cappedCommand} ÷ without${users}`,
    `≥ ${CAPPED_THROUGHPUT_RATIO}×`,
    capped ? report.ratios.twilioRedis1CappedOverUncapped : undefined,
    (v) => v >= CAPPED_THROUGHPUT_RATIO,
    (v) => {
      const rounds = report.ratios.twilioRedis1CappedOverUncappedRounds ?? [];
      const cpu = report.ratios.twilioRedis1CappedOverUncappedCpuPerMessageRounds ?? [];
      return (
        `${v.toFixed(2)}×, median of ${rounds.length} back-to-back pairs (${Math.min(...rounds).toFixed(2)}–${Math.max(...rounds).toFixed(2)}); ` +
        `CPU per message ${fixed(report.ratios.twilioRedis1CappedOverUncappedCpuPerMessage, 2)}× (${Math.min(...cpu).toFixed(2)}–${Math.max(...cpu).toFixed(2)})`
      );
    },
  );
  const cappedStart = report.startups.find((s) => s.name === 'redis-512');
  add(
    `RSS at ready, compiled start with ${report.cappedCommand}`,
    `≤ ${RSS_AT_READY_LIMIT_MIB} MiB, one process, no TypeScript loader`,
    cappedStart && !cappedStart.typescriptLoader && cappedStart.childProcesses === 0 ? cappedStart.rssAtReadyMiB : cappedStart ? Infinity : undefined,
    (v) => v <= RSS_AT_READY_LIMIT_MIB,
    (v) =>
      Number.isFinite(v)
        ? `${v.toFixed(0)} MiB (without them: ${report.startups.filter((s) => s.name !== 'redis-512').map((s) => `${s.name} ${s.rssAtReadyMiB.toFixed(0)}`).join(', ')} MiB)`
        : `a TypeScript loader or a child process: ${cappedStart!.command}, ${cappedStart!.childProcesses} children`,
    why,
  );
  return targets;
}

const fixed = (v: number | undefined, digits = 0) => (v === undefined || Number.isNaN(v) ? '-' : v.toFixed(digits));

export function printReport(report: Report): void {
  report.targets = evaluateTargets(report);
  const out: string[] = [];
  out.push('');
  out.push(
    `Tasjil load benchmark, run ${report.runId}${report.quick ? ' (--quick)' : ''}: ${report.users} users, closed loop (next message as soon as the answer is in; "paced": users pause between messages),`,
  );
  out.push(`${fixed(report.measuredSecondsPerScenario, 1)} s measured per scenario after a warm-up; ${report.machine.cpus} CPUs (${report.machine.cpuModel}), Node ${report.machine.node}; bench and product on the same machine.`);
  out.push('');
  const header = ['scenario', 'msg/s', 'conv/s', 'p50 ms', 'p95 ms', 'p99 ms', 'max ms', 'CPU s/1k msg', 'cores', 'RSS MiB', 'errors', 'lost'];
  const rows = report.scenarios.map((s) => [
    s.label + (s.redisWired === false ? ' [NOT Redis]' : ''),
    fixed(s.messagesPerSecond),
    fixed(s.conversationsPerSecond, 1),
    fixed(s.latencyMs.p50, 1),
    fixed(s.latencyMs.p95, 1),
    fixed(s.latencyMs.p99, 1),
    fixed(s.latencyMs.max, 1),
    fixed(s.cpuSecondsPer1000Messages, 2),
    fixed(s.cpuUtilization, 2),
    s.rssMiB.map((m) => fixed(m)).join('+'),
    String(s.errors),
    String(s.lostTurns),
  ]);
  out.push(...table(header, rows));
  out.push('');
  out.push('CPU s/1k msg: the serving processes (all instances); cores: their average CPU use. Other CPU per 1,000 messages:');
  for (const s of report.scenarios) {
    out.push(
      `  ${s.label}: load generator ${fixed(s.loadGeneratorCpuSecondsPer1000Messages, 2)} s` +
        (s.redisCpuSecondsPer1000Messages !== undefined ? `, redis-server ${fixed(s.redisCpuSecondsPer1000Messages, 2)} s` : '') +
        (Object.keys(s.logEvents).length ? `; product logged ${Object.entries(s.logEvents).map(([e, n]) => `${e}×${n}`).join(', ')}` : ''),
    );
  }
  const problems = report.scenarios.filter((s) => s.examples.errors.length || s.examples.lostTurns.length);
  if (problems.length) {
    out.push('');
    out.push('First errors and lost turns:');
    for (const s of problems) {
      for (const e of s.examples.errors) out.push(`  ${s.label}: error ${e}`);
      for (const l of s.examples.lostTurns) out.push(`  ${s.label}: lost turn: said "${l.say}", expected ${JSON.stringify(l.expected)}, got ${JSON.stringify(l.got.slice(0, 160))}`);
    }
  }
  const live = report.redisPerLiveConversation;
  if (live) {
    out.push('');
    out.push(
      `Redis per live conversation (${live.conversations} left at the summary): ${fixed(live.stateBytesPerConversation)} B of state (${live.stateKeys} state keys); ` +
        `with every key they created (${Object.entries(live.newKeysByKind).map(([k, n]) => `${k} ${n}`).join(', ')}): ${fixed(live.allNewKeysBytesPerConversation)} B` +
        (live.errors || live.lostTurns ? `; ${live.errors} errors, ${live.lostTurns} lost turns` : ''),
    );
  }
  if (report.startups.length) {
    out.push('');
    out.push('Product instances at ready (RSS read when /readyz first answered 200):');
    for (const s of report.startups) {
      out.push(`  ${s.name}: ${fixed(s.rssAtReadyMiB)} MiB after ${fixed(s.readyMs)} ms; ${s.command}${s.typescriptLoader ? ' [TypeScript loader]' : ''}${s.childProcesses ? ` [${s.childProcesses} child processes]` : ''}`);
    }
  }
  const rss = report.rss;
  if (rss) {
    out.push('');
    out.push(
      `RSS, memory mode, one fresh instance, ${rss.conversations} conversations after a warm-up (${fixed(rss.messagesPerSecond)} msg/s, ${fixed(rss.seconds)} s, ${rss.errors} errors, ${rss.lostTurns} lost turns):`,
    );
    out.push(`  at ready ${fixed(rss.atReadyMiB)} MiB; ${rss.samples.map((s) => `${s.conversations}: ${fixed(s.rssMiB)}`).join(', ')} MiB`);
  }
  out.push('');
  out.push(
    `Ratios: Twilio Redis 1 instance ÷ baseline ${fixed(report.ratios.twilioRedis1OverBaseline, 2)}×; /api/messages memory ÷ baseline ${fixed(report.ratios.apiMemoryOverBaseline, 2)}×; ` +
      `Twilio memory ÷ baseline ${fixed(report.ratios.twilioMemoryOverBaseline, 2)}×; Twilio Redis 2 instances ÷ 1 ${fixed(report.ratios.twilioRedis2OverRedis1, 2)}× unbound, ` +
      `${fixed(report.ratios.twilioRedis2OverRedis1OneCoreEach, 2)}× with one core each`,
  );
  if (report.ratios.twilioRedis2OverRedis1Ceiling !== undefined) {
    out.push(
      `  Unbound, 2 instances can give at most ${fixed(report.ratios.twilioRedis2OverRedis1Ceiling, 2)}× one instance here: one instance already keeps ` +
        `${fixed(report.scenarios.find((s) => s.key === 'redis-1-twilio')?.cpuUtilization, 2)} cores busy (its main thread and GC threads), and the load generator and redis-server ` +
        `share the same ${report.machine.cpus} CPUs (ceiling = CPUs ÷ CPU seconds per message of every process ÷ 1-instance throughput).`,
    );
  }
  out.push('');
  out.push('Targets (issues 5 and 15):');
  const width = Math.max(...report.targets.map((t) => t.name.length + t.limit.length + 1));
  for (const t of report.targets) out.push(`  ${t.status.padEnd(12)} ${`${t.name} ${t.limit}`.padEnd(width)}  ${t.shown}`);
  if (report.notes.length) {
    out.push('');
    for (const note of report.notes) out.push(`Note: ${note}`);
  }
  out.push('');
  out.push(`Total ${fixed(report.totalSeconds, 1)} s.`);
  console.log(out.join('\n'));
  // The last line: every number, for machines.
  console.log(JSON.stringify(report, (_key, value: unknown) => (typeof value === 'number' ? (Number.isFinite(value) ? round(value) : null) : value)));
}

function round(value: number): number {
  return Number.isInteger(value) ? value : Math.round(value * 1000) / 1000;
}

function table(header: string[], rows: string[][]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)];
}
