import { randomBytes } from 'node:crypto';
import twilio from 'twilio';
import { HttpClient, type Target } from './httpClient';
import { cpuSeconds } from './processes';

/**
 * The load generator: virtual users, each a sender (a WhatsApp number, or a Bot Framework
 * conversation), each sending its next message as soon as the previous answer came back (closed
 * loop, no think time) and checking that the answer holds the expected next question.
 */

export type { Target };

/** Who a virtual user is to the bot; a fresh one after a failed conversation, so the next starts clean. */
export interface Identity {
  n: number;
  /** `+2126` + 8 digits. */
  phone: string;
  conversationId: string;
}

export interface Step {
  say: string;
  /** Every one of these must be in the answer, or the turn is lost. */
  expect: string[];
}

export interface Reply {
  status: number;
  /** The answer's texts, joined by line breaks (TwiML unescaped, or the activities' text). */
  text: string;
}

export interface Route {
  name: string;
  send(client: HttpClient, target: Target, identity: Identity, text: string): Promise<Reply>;
}

export const ACCOUNT_SID = `AC${'0123456789abcdef'.repeat(2)}`;
export const OUR_WHATSAPP = 'whatsapp:+14155238886';

/**
 * POST /api/twilio/messages as Twilio posts a WhatsApp message: the same form fields, a fresh
 * MessageSid, `X-Twilio-Signature` computed by the twilio library over the public webhook URL.
 */
export function twilioRoute(authToken: string, webhookUrl: string): Route {
  return {
    name: 'twilio',
    async send(client, target, identity, text) {
      const sid = `SM${randomBytes(16).toString('hex')}`;
      const form: Record<string, string> = {
        MessageSid: sid,
        SmsMessageSid: sid,
        SmsSid: sid,
        AccountSid: ACCOUNT_SID,
        From: `whatsapp:${identity.phone}`,
        To: OUR_WHATSAPP,
        Body: text,
        NumMedia: '0',
        NumSegments: '1',
        SmsStatus: 'received',
        ApiVersion: '2010-04-01',
        WaId: identity.phone.slice(1),
        MessageType: 'text',
      };
      const signature = twilio.getExpectedTwilioSignature(authToken, webhookUrl, form);
      const res = await client.post(
        target,
        '/api/twilio/messages',
        { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': signature },
        new URLSearchParams(form).toString(),
      );
      return { status: res.status, text: res.status === 200 ? twimlText(res.body) : res.body };
    },
  };
}

/** POST /api/messages, deliveryMode expectReplies: the replies come back in the HTTP answer. */
export function botFrameworkRoute(name: string): Route {
  let sequence = 0;
  return {
    name,
    async send(client, target, identity, text) {
      const activity = {
        type: 'message',
        id: `bench-${++sequence}`,
        timestamp: new Date().toISOString(),
        text,
        channelId: 'emulator',
        serviceUrl: 'http://127.0.0.1:9',
        deliveryMode: 'expectReplies',
        locale: 'fr-FR',
        from: { id: `user-${identity.conversationId}`, name: 'bench' },
        recipient: { id: 'bot', name: 'bot' },
        conversation: { id: identity.conversationId },
      };
      const res = await client.post(target, '/api/messages', { 'content-type': 'application/json' }, JSON.stringify(activity));
      if (res.status !== 200) return { status: res.status, text: res.body };
      const body = JSON.parse(res.body || '{}') as { activities?: { type?: string; text?: string }[] };
      return { status: 200, text: (body.activities ?? []).map((a) => a.text ?? '').join('\n') };
    },
  };
}

/** The `<Message>` bodies of a TwiML answer, unescaped, joined by line breaks. */
export function twimlText(xml: string): string {
  const bodies: string[] = [];
  for (const match of xml.matchAll(/<Message(?:\s[^>]*)?(?:\/>|>([\s\S]*?)<\/Message>)/g)) bodies.push(match[1] ?? '');
  return bodies
    .join('\n')
    .replace(/&(#x[0-9a-fA-F]+|#\d+|lt|gt|amp|quot|apos);/g, (_whole, entity: string) => {
      if (entity.startsWith('#x')) return String.fromCodePoint(parseInt(entity.slice(2), 16));
      if (entity.startsWith('#')) return String.fromCodePoint(parseInt(entity.slice(1), 10));
      return { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" }[entity]!;
    });
}

// ---------------------------------------------------------------------------------------------

export interface PhaseOptions {
  users: number;
  /** One target, or several: each user's messages then go round the targets, one per message. */
  targets: Target[];
  route: Route;
  /** The steps of a user's `k`-th conversation. */
  script: (identity: Identity, k: number, user: number) => Step[];
  newIdentity: () => Identity;
  /** Pids whose CPU is measured over the measured window. */
  pids: number[];
  /** Duration mode: `warmupMs` of load not counted, then `durationMs` measured. */
  warmupMs?: number;
  durationMs?: number;
  /** Count mode: this many conversations in all, all measured. */
  conversations?: number;
  /** A fresh identity for every conversation (conversations left mid-way must not share a sender). */
  identityPerConversation?: boolean;
  /** Called after each finished conversation (count mode), with how many are finished. */
  onConversation?: (finished: number) => void;
  /** Extra CPU counters read at the window's edges (e.g. Redis's), in seconds. */
  extraCpu?: Record<string, () => Promise<number>>;
  /**
   * A user's pause between an answer and their next message, in ms (each pause drawn uniformly in
   * ±50 % of it, so users do not march in step). 0 (default): a closed loop, the load at saturation.
   */
  thinkMs?: number;
}

export interface LostTurn {
  say: string;
  expected: string[];
  got: string;
}

export interface PhaseResult {
  measuredSeconds: number;
  messages: number;
  conversations: number;
  /** Over the whole phase, warm-up included: a wrong answer is wrong whenever it comes. */
  errors: number;
  lostTurns: number;
  latenciesMs: number[];
  cpuSecondsByPid: Record<number, number>;
  extraCpuSeconds: Record<string, number>;
  loadGeneratorCpuSeconds: number;
  examples: { errors: string[]; lostTurns: LostTurn[] };
}

export async function runPhase(options: PhaseOptions): Promise<PhaseResult> {
  const client = new HttpClient();
  const result: PhaseResult = {
    measuredSeconds: 0,
    messages: 0,
    conversations: 0,
    errors: 0,
    lostTurns: 0,
    latenciesMs: [],
    cpuSecondsByPid: {},
    extraCpuSeconds: {},
    loadGeneratorCpuSeconds: 0,
    examples: { errors: [], lostTurns: [] },
  };
  const countMode = options.conversations !== undefined;
  let recording = countMode;
  let stopped = false;
  let tickets = options.conversations ?? Infinity;
  let finished = 0;

  const snapshot = async () => ({
    at: performance.now(),
    pids: Object.fromEntries(options.pids.map((pid) => [pid, cpuSeconds(pid)])),
    extra: Object.fromEntries(await Promise.all(Object.entries(options.extraCpu ?? {}).map(async ([k, read]) => [k, await read()] as const))),
    self: process.cpuUsage(),
  });

  const user = async (index: number) => {
    let identity = options.newIdentity();
    let sent = 0;
    for (let k = 0; !stopped; k++) {
      if (countMode) {
        if (tickets <= 0) return;
        tickets--;
      }
      const steps = options.script(identity, k, index);
      let completed = true;
      for (const step of steps) {
        if (stopped) {
          completed = false;
          break;
        }
        const target = options.targets[(index + sent++) % options.targets.length]!;
        const started = performance.now();
        let reply: Reply;
        try {
          reply = await options.route.send(client, target, identity, step.say);
        } catch (error) {
          result.errors++;
          if (result.examples.errors.length < 5) result.examples.errors.push(`"${step.say}": ${(error as Error).message}`);
          completed = false;
          break;
        }
        const elapsed = performance.now() - started;
        if (reply.status !== 200) {
          result.errors++;
          if (result.examples.errors.length < 5) result.examples.errors.push(`"${step.say}": HTTP ${reply.status} ${reply.text.slice(0, 160)}`);
          completed = false;
          break;
        }
        if (recording && !stopped) {
          result.messages++;
          result.latenciesMs.push(elapsed);
        }
        if (options.thinkMs) await sleepMs(options.thinkMs * (0.5 + Math.random()));
        if (!step.expect.every((part) => reply.text.includes(part))) {
          result.lostTurns++;
          if (result.examples.lostTurns.length < 5) result.examples.lostTurns.push({ say: step.say, expected: step.expect, got: reply.text.slice(0, 240) });
          completed = false;
          break;
        }
      }
      if (completed) {
        if (recording && !stopped) result.conversations++;
        finished++;
        options.onConversation?.(finished);
      }
      // After a failure the sender's conversation is in an unknown place: the next one starts afresh.
      if (!completed || options.identityPerConversation) identity = options.newIdentity();
    }
  };

  let start = countMode ? await snapshot() : undefined;
  let end: Awaited<ReturnType<typeof snapshot>> | undefined;
  const users = Array.from({ length: options.users }, (_, i) => user(i));
  if (!countMode) {
    await sleepMs(options.warmupMs ?? 0);
    start = await snapshot();
    recording = true;
    await sleepMs(options.durationMs ?? 0);
    end = await snapshot();
    stopped = true;
  }
  await Promise.all(users);
  end ??= await snapshot();
  client.close();

  result.measuredSeconds = (end.at - start!.at) / 1000;
  for (const pid of options.pids) result.cpuSecondsByPid[pid] = end.pids[pid]! - start!.pids[pid]!;
  for (const key of Object.keys(end.extra)) result.extraCpuSeconds[key] = end.extra[key]! - start!.extra[key]!;
  result.loadGeneratorCpuSeconds = (end.self.user + end.self.system - start!.self.user - start!.self.system) / 1e6;
  return result;
}

function sleepMs(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export function percentile(sorted: number[], q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}
