import { readFileSync } from 'node:fs';

/**
 * Conversation transcripts, one file per case, readable by a non-programmer:
 *
 *   # Title
 *   channel: whatsapp          (optional: test | whatsapp | sms)
 *   from: +212612345678        (optional: the sender id)
 *   name: Amina Alaoui         (optional: the sender's WhatsApp profile name)
 *   transport: chat            (optional: each message goes through the chat pipeline, as Twilio's
 *                                or an SMS gateway's would — STOP/START, dedupe, rendering per
 *                                channel; needs channel whatsapp or sms)
 *   > what the user types      ({otp} = the last code sent by SMS, {photo} = a picture with no
 *                                text, {long} = 5,000 characters, {empty} = an empty message)
 *   < a part of the bot's reply, in order within the turn
 *   <! something the reply must NOT contain
 *   <sms a part of the SMS sent during this turn
 *   <smsto +212612345632 a part of an SMS sent during this turn to that number (E.164)
 *   <nosms                     (no SMS was sent during this turn)
 *   @advance 11m               (move the clock: s, m, h)
 *   @registry down | up        (make the registry unavailable, or back)
 *   @registry loses-answer     (the next activation is made, but its answer never comes back)
 *   @registry account-made-elsewhere (the account is created, on the portal say, just before ours)
 */
export type Step =
  | { kind: 'user'; text: string; line: number; expect: Expectation[] }
  | { kind: 'advance'; ms: number; line: number }
  | { kind: 'registry'; event: RegistryEvent; line: number };

export type RegistryEvent = 'down' | 'up' | 'loses-answer' | 'account-made-elsewhere';
const REGISTRY_EVENTS: readonly string[] = ['down', 'up', 'loses-answer', 'account-made-elsewhere'] satisfies RegistryEvent[];

export type Expectation =
  | { kind: 'reply'; text: string; line: number }
  | { kind: 'notInReply'; text: string; line: number }
  | { kind: 'sms'; text: string; line: number; to?: string }
  | { kind: 'noSms'; line: number };

export interface Transcript {
  title: string;
  channel: string;
  from?: string;
  name?: string;
  transport?: 'chat';
  steps: Step[];
}

const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000 };

export function parseTranscript(path: string): Transcript {
  const lines = readFileSync(path, 'utf8').split('\n');
  const transcript: Transcript = { title: path, channel: 'test', steps: [] };
  let current: Extract<Step, { kind: 'user' }> | undefined;
  lines.forEach((raw, index) => {
    const line = index + 1;
    const text = raw.trimEnd();
    if (!text.trim()) return;
    const expect = (e: Expectation) => {
      if (!current) throw new Error(`${path}:${line}: an expectation before any user line`);
      current.expect.push(e);
    };
    if (text.startsWith('# ')) transcript.title = text.slice(2).trim();
    else if (text.startsWith('channel:')) transcript.channel = text.slice(8).trim();
    else if (text.startsWith('from:')) transcript.from = text.slice(5).trim();
    else if (text.startsWith('name:')) transcript.name = text.slice(5).trim();
    else if (text.startsWith('transport:')) {
      if (text.slice(10).trim() !== 'chat') throw new Error(`${path}:${line}: write transport: chat`);
      transcript.transport = 'chat';
    }
    else if (text.startsWith('> ') || text === '>') {
      current = { kind: 'user', text: text.slice(2), line, expect: [] };
      transcript.steps.push(current);
    } else if (text.startsWith('<! ')) expect({ kind: 'notInReply', text: text.slice(3).trim(), line });
    else if (text.startsWith('<sms ')) expect({ kind: 'sms', text: text.slice(5).trim(), line });
    else if (text.startsWith('<smsto ')) {
      const match = /^<smsto (\+\d+) (.+)$/.exec(text.trim());
      if (!match) throw new Error(`${path}:${line}: write <smsto +212612345678 text`);
      expect({ kind: 'sms', to: match[1], text: match[2]!, line });
    }
    else if (text.trim() === '<nosms') expect({ kind: 'noSms', line });
    else if (text.startsWith('< ')) expect({ kind: 'reply', text: text.slice(2).trim(), line });
    else if (text.startsWith('@advance ')) {
      const match = /^@advance (\d+)([smh])$/.exec(text.trim());
      if (!match) throw new Error(`${path}:${line}: write @advance 11m`);
      transcript.steps.push({ kind: 'advance', ms: Number(match[1]) * UNIT_MS[match[2]!]!, line });
      current = undefined;
    } else if (text.startsWith('@registry ')) {
      const event = text.slice('@registry '.length).trim();
      if (!REGISTRY_EVENTS.includes(event)) throw new Error(`${path}:${line}: write @registry ${REGISTRY_EVENTS.join(' | ')}`);
      transcript.steps.push({ kind: 'registry', event: event as RegistryEvent, line });
      current = undefined;
    } else throw new Error(`${path}:${line}: cannot read "${text}"`);
  });
  return transcript;
}

/**
 * Whitespace differences (line breaks, double spaces) never matter to the reader, nor do the
 * invisible left-to-right isolates around a number in Arabic (i18n.ts isolateDigitGroups, tested there).
 */
export function squash(text: string): string {
  return text.replace(/[\u2066\u2069]/g, '').replace(/\s+/g, ' ').trim();
}
