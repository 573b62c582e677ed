import { randomBytes } from 'node:crypto';
import { ManualClock } from '../../src/clock';
import { FakeTwilio } from './fakeTwilio';
import { newTestPrefix } from './redis';
import type { KeyReader } from './personalDataScan';
import { RegistryThatRegisters } from './registryThatRegisters';
import { byLabel, parseMetrics } from './metricsText';
import { waitFor, type RedisProcess } from './redisTopologies';
import { sampleRegistry, startTwilioServer, type TwilioTestServer } from './twilioServer';

/**
 * The follow-up after outcome C on a highly available Redis (sentinel.test.ts, cluster.test.ts):
 * two app instances on the topology, both running the checks' BullMQ worker, a registry where the
 * person gets registered meanwhile, a local fake of Twilio's API for the notice and a manual clock
 * moved by hand, as in test/followUp/notice.test.ts on the one server.
 */

const HOUR = 60 * 60 * 1000;
export const TEMPLATE_SID = `HX${'0123456789abcdef'.repeat(2)}`;
/** The person of outcome C in the sample people file: not on the list. */
export const FOLLOW_UP_DOCUMENT = 'ZZ999999';
/** What must never be in Redis or in the notice: the identity, the worker's number, the registration number. */
export const FOLLOW_UP_PERSONAL = [FOLLOW_UP_DOCUMENT, '2030-11-15', '15/11/2030', '1990-07-02', '02/07/1990', '212612345678', '612345678', '0612345678', '222333999'];
const CONSENT_SCRIPT: readonly (readonly [string, string])[] = [
  ['Bonjour', 'Quelle pièce'],
  ['1', 'CNIE'],
  [FOLLOW_UP_DOCUMENT, 'expiration'],
  ['15/11/2030', 'naissance'],
  ['02/07/1990', 'Recevoir les SMS'],
  ['1', 'opérateur'],
  ['2', 'e-mail'],
  ['passer', 'Vérifiez vos réponses'],
  ['oui', ''],
  ['taxi', ''],
  ['Casa', ''],
  ['oui', "C'est noté"],
];
export const FOLLOW_UP_WORKER = '+212612345678';

export interface FollowUpInstances {
  prefix: string;
  clock: ManualClock;
  fake: FakeTwilio;
  registry: RegistryThatRegisters;
  servers: TwilioTestServer[];
  /** The Messages API requests sent so far (the notice is the only one in these tests). */
  notices(): Record<string, string | string[]>[];
  /** The worker at outcome C says yes to the follow-up, alternating between the two instances. */
  consent(): Promise<void>;
  /** The registry registers the person, a day and more passes, and both instances run the due checks at once. */
  registerAndCheck(): Promise<void>;
  /** Notices counted by both instances' metrics. */
  notified(): Promise<number>;
  /** Everything both instances logged. */
  logs(): string;
  stop(): Promise<void>;
}

/** Two instances on `topologyEnv` under a prefix of their own (or `options.prefix`), both running the checks. */
export async function startFollowUpInstances(topologyEnv: Record<string, string>, options: { prefix?: string } = {}): Promise<FollowUpInstances> {
  const stateKey = `k1:${randomBytes(32).toString('base64')}`;
  const clock = new ManualClock();
  const fake = new FakeTwilio({ clock });
  await fake.start();
  const registry = new RegistryThatRegisters(sampleRegistry(clock));
  const prefix = options.prefix ?? newTestPrefix();
  const servers: TwilioTestServer[] = [];
  const stop = async () => {
    await Promise.all(servers.map((server) => server.close()));
    await fake.stop();
  };
  try {
    for (let i = 0; i < 2; i++) {
      servers.push(
        await startTwilioServer({
          clock,
          fake,
          registry,
          env: { ...topologyEnv, REDIS_KEY_PREFIX: prefix, STATE_ENCRYPTION_KEY: stateKey, TWILIO_NOTIFICATION_TEMPLATE_SID: TEMPLATE_SID, TWILIO_REPLY_BUDGET_MS: '14000' },
          turnMaxWaitMs: 4000,
        }),
      );
    }
    for (const server of servers) server.app.followUps.startChecks();
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    prefix,
    clock,
    fake,
    registry,
    servers,
    notices: () => fake.requestsTo('Messages.json').map((request) => request.form),
    async consent() {
      let turn = 0;
      for (const [text, expected] of CONSENT_SCRIPT) {
        const reply = await servers[turn++ % servers.length]!.whatsapp(FOLLOW_UP_WORKER).say(text);
        expect(reply.status).toBe(200);
        expect({ text, reply: reply.text.replace(/’/g, "'") }).toEqual({ text, reply: expect.stringContaining(expected) });
      }
    },
    async registerAndCheck() {
      registry.register(FOLLOW_UP_DOCUMENT);
      clock.advance(27 * HOUR);
      // Both at once, twice: each instance's worker competes for the one job. Right after a
      // failover, the queue's connection may still be finding the new primary: runDue fails fast
      // then (as a worker's turn would be told to try again), and is asked again.
      for (let round = 0; round < 2; round++) {
        await Promise.all(servers.map((server) => waitFor('the due checks run', () => server.app.followUps.runDue().then(() => true), 60_000, 500)));
      }
    },
    async notified() {
      let total = 0;
      for (const server of servers) total += byLabel(parseMetrics(await server.app.metrics.render()), 'tasjil_follow_ups_total', 'event').notified ?? 0;
      return total;
    },
    logs: () => servers.map((server) => server.logLines.join('\n')).join('\n'),
    stop,
  };
}

/** BullMQ's own bookkeeping of the queue, which outlives its jobs and names none of them. */
export function isQueueBookkeeping(key: string, prefix: string): boolean {
  return new RegExp(`^${escape(prefix)}\\{followups\\}:checks:(meta|events|id|stalled-check|marker|limiter|de:.*)$`).test(key);
}

/**
 * BullMQ's keys of the follow-up queue. They carry no TTL (BullMQ manages them): a job holds the
 * follow-up's opaque id and times only, and is removed at the follow-up's end, notice, cancel or
 * retention; the sealed record beside it expires by itself.
 */
export function isQueueKey(key: string, prefix: string): boolean {
  return key.startsWith(`${prefix}{followups}:checks:`);
}

/** The follow-up's keys under `prefix`: its sealed records and BullMQ's queue. */
export function followUpKeys(keys: string[], prefix: string): string[] {
  return keys.filter((key) => key.startsWith(`${prefix}followup:`) || key.startsWith(`${prefix}{followups}`));
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** The personal-data scan's reads, on one node by plain commands: a primary, or a replica that serves reads. */
export function nodeReader(node: RedisProcess): KeyReader {
  const pairs = (flat: unknown) => {
    const list = flat as string[];
    const record: Record<string, string> = {};
    for (let i = 0; i + 1 < list.length; i += 2) record[list[i]!] = list[i + 1]!;
    return record;
  };
  return {
    type: async (key) => String(await node.command(['TYPE', key])),
    get: async (key) => (await node.command(['GET', key])) as string | null,
    hGetAll: async (key) => pairs(await node.command(['HGETALL', key])),
    lRange: async (key, start, stop) => (await node.command(['LRANGE', key, String(start), String(stop)])) as string[],
    sMembers: async (key) => (await node.command(['SMEMBERS', key])) as string[],
    zRange: async (key, start, stop) => (await node.command(['ZRANGE', key, String(start), String(stop)])) as string[],
    xRange: async (key) => await node.command(['XRANGE', key, '-', '+']),
    pTTL: async (key) => Number(await node.command(['PTTL', key])),
  };
}
