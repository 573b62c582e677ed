import type { ChannelMessenger } from '../channels/messenger';
import type { RenderedMessage } from '../channels/render/types';
import { countSmsSegments, type SmsSegments } from '../channels/sms/encoding';
import type { Clock } from '../clock';
import { maskPhone } from '../nlu/phone';
import { simulatedSender } from '../pipeline/trafficSource';
import type { OutboxMessage } from '../services/sms/devOutbox';

/**
 * "Our number" as the simulator's messages name it (their Twilio `To`). No phone has it (an E.164
 * number never starts with 0), so anything the bot sends from it is for the simulator: the
 * messenger decorator below keeps it here instead of sending it to Twilio or the dev outbox.
 */
export const SIMULATOR_OUR_NUMBER = '+000000000000';

/** A simulated phone keeps only its latest messages; a few testers at once, not an archive. */
export const FEED_MAX_ENTRIES_PER_PHONE = 300;
export const FEED_MAX_PHONES = 500;

export type FeedChannel = 'whatsapp' | 'sms';

export interface FeedEntry {
  /** Increases across the whole feed: the page asks for entries after the last one it has. */
  seq: number;
  /** A chat message of that channel's conversation, or an SMS in the phone's inbox. */
  pane: FeedChannel | 'inbox';
  body: string;
  /** WhatsApp quick-reply button titles, in order; their ids are 1, 2, 3 (whatsappRenderer.ts). */
  buttons?: string[];
  /** What an SMS costs: the encoding and the segment count (SMS chat and inbox only). */
  sms?: SmsSegments;
  /**
   * An inbox SMS that went to another number than the page's (a password reset's code goes to
   * the account's phone from the registry): that number, masked as the chat shows numbers.
   */
  sentTo?: string;
  at: string;
}

/**
 * What the bot sent to simulated phones: the TwiML answers the simulator receives, the messages
 * sent later by REST (buttons, a late reply after "checking…", notices), and the SMS the dev
 * outbox got for that number (OTP, password). In memory only, never logged: OTPs and passwords
 * pass through here, as through the dev outbox.
 */
export class SimulatorFeed {
  private readonly phones = new Map<string, FeedEntry[]>();
  private sequence = 0;

  constructor(private readonly clock: Clock) {}

  /** Starts following `phone` (its messages are kept from now on). */
  follow(phone: string): void {
    if (this.phones.has(phone)) return;
    this.phones.set(phone, []);
    // Map keeps insertion order: the first key is the phone followed longest ago.
    if (this.phones.size > FEED_MAX_PHONES) this.phones.delete(this.phones.keys().next().value!);
  }

  follows(phone: string): boolean {
    return this.phones.has(phone);
  }

  /** A chat message the bot sent `phone` on `channel`, as that channel renders it. */
  recordChat(channel: FeedChannel, phone: string, rendered: RenderedMessage): FeedEntry | undefined {
    const { body, buttons } = displayed(rendered);
    return this.push(phone, { pane: channel, body, ...(buttons.length ? { buttons } : {}), ...(channel === 'sms' ? { sms: countSmsSegments(body) } : {}) });
  }

  /**
   * The dev outbox's SMS to a followed phone go to its inbox; chat replies never reach the outbox
   * (see `messenger`). An SMS that a simulated message sent to a number no page follows (the
   * account's phone, for a password reset) goes to the inbox of the page that wrote, marked with
   * where it went: the tester sees the code without having to write as that number.
   */
  recordOutbox(message: OutboxMessage): void {
    if (message.channel !== 'sms') return;
    const entry = { pane: 'inbox' as const, body: message.body, sms: countSmsSegments(message.body) };
    if (this.follows(message.to)) return void this.push(message.to, entry);
    const sender = simulatedSender();
    if (sender && this.follows(sender)) this.push(sender, { ...entry, sentTo: maskPhone(message.to) });
  }

  /** Entries for `phone` after `after`, of its `channel` conversation and its inbox. */
  since(phone: string, channel: FeedChannel, after: number): FeedEntry[] {
    return (this.phones.get(phone) ?? []).filter((e) => e.seq > after && (e.pane === channel || e.pane === 'inbox'));
  }

  /** The last sequence number given out, so a page that resets can skip what came before. */
  lastSeq(): number {
    return this.sequence;
  }

  /** Forgets everything `phone` received (a reset); it stays followed. */
  clear(phone: string): void {
    if (this.phones.has(phone)) this.phones.set(phone, []);
  }

  /**
   * `inner` for every message but those to simulated phones: a message from SIMULATOR_OUR_NUMBER
   * answers a simulator message and is kept here, never sent to a real phone.
   */
  messenger(inner: ChannelMessenger): ChannelMessenger {
    return {
      send: async (message) => {
        if (message.from !== SIMULATOR_OUR_NUMBER) return inner.send(message);
        this.follow(message.to);
        const entry = this.recordChat(message.channel, message.to, message.rendered);
        return { id: `sim-${entry?.seq ?? 0}` };
      },
    };
  }

  private push(phone: string, entry: Omit<FeedEntry, 'seq' | 'at'>): FeedEntry | undefined {
    const entries = this.phones.get(phone);
    if (!entries) return undefined;
    const full: FeedEntry = { ...entry, seq: ++this.sequence, at: new Date(this.clock.now()).toISOString() };
    entries.push(full);
    if (entries.length > FEED_MAX_ENTRIES_PER_PHONE) entries.shift();
    return full;
  }
}

/**
 * What the phone shows of a rendered message. A quick-reply content shows its question ({{1}})
 * with its titles ({{2}}…) as buttons, as WhatsApp does; anything else is its body.
 */
function displayed(rendered: RenderedMessage): { body: string; buttons: string[] } {
  const variables = rendered.contentVariables;
  if (!rendered.contentSid || !variables?.['1']) return { body: rendered.body, buttons: [] };
  const buttons: string[] = [];
  for (let i = 2; variables[String(i)] !== undefined; i++) buttons.push(variables[String(i)]!);
  return { body: variables['1'], buttons };
}
