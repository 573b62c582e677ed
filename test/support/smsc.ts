import { EventEmitter } from 'node:events';
import type { AddressInfo } from 'node:net';
import smpp, { type Pdu, type Session } from 'smpp';

/**
 * The operator's SMSC, played by the test over real SMPP (the `smpp` package as a server): Kannel
 * binds to it as it would to Maroc Telecom's, a worker's SMS reaches Kannel as a `deliver_sm`, and
 * what Tasjil sends arrives here as `submit_sm` (long ones in concatenated parts, joined here).
 * Delivery receipts go back as `deliver_sm` with the receipt flag, as SMSCs send them.
 */

/** One SMS as the SMSC received it from Kannel (the parts of a concatenated one joined). */
export interface SubmittedSms {
  /** The SMSC's id of the (first part of the) message: what a delivery receipt names. */
  messageId: string;
  /** The ids of every part, in order. */
  partIds: string[];
  to: string;
  from: string;
  text: string;
  /** SMPP data_coding of the parts: 0 (GSM-7, SMSC default) or 8 (UCS-2). */
  dataCoding: number;
  parts: number;
  /** registered_delivery: 1 when Kannel asked for a delivery receipt. */
  registeredDelivery: number;
}

export interface PlayedSmsc {
  port: number;
  /** Resolves once Kannel is bound (bind_transceiver accepted). */
  bound(): Promise<void>;
  /** Every SMS Kannel submitted, in order of completion. */
  submitted: SubmittedSms[];
  /** Waits for the next SMS to `to` not yet taken by an earlier wait (in order). */
  nextTo(to: string, timeoutMs?: number): Promise<SubmittedSms>;
  /** SMS to `to` not yet taken by nextTo. */
  pendingFor(to: string): SubmittedSms[];
  /** A worker's SMS to our short code; long text goes in concatenated parts. */
  deliver(from: string, to: string, text: string): Promise<void>;
  /** A delivery receipt for one of Kannel's messages: DELIVRD or UNDELIV. */
  receipt(sms: SubmittedSms, stat: 'DELIVRD' | 'UNDELIV'): Promise<void>;
  close(): Promise<void>;
}

/** GSM 03.38 basic set (unpacked, one octet per character: how SMPP carries data_coding 0). */
const GSM7_BASIC =
  '@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\u001bÆæßÉ !"#¤%&\'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà';
const GSM7_EXTENSION: Record<string, number> = { '^': 0x14, '{': 0x28, '}': 0x29, '\\': 0x2f, '[': 0x3c, '~': 0x3d, ']': 0x3e, '|': 0x40, '€': 0x65, '\f': 0x0a };
const GSM7_EXTENSION_BACK = new Map(Object.entries(GSM7_EXTENSION).map(([char, code]) => [code, char]));

function encodeGsm7(text: string): Buffer {
  const octets: number[] = [];
  for (const char of text) {
    const basic = GSM7_BASIC.indexOf(char);
    if (basic >= 0) octets.push(basic);
    else if (GSM7_EXTENSION[char] !== undefined) octets.push(0x1b, GSM7_EXTENSION[char]);
    else throw new Error(`not GSM-7: ${JSON.stringify(char)}`);
  }
  return Buffer.from(octets);
}

function decodeGsm7(octets: Buffer): string {
  let text = '';
  for (let i = 0; i < octets.length; i++) {
    if (octets[i] === 0x1b && i + 1 < octets.length) text += GSM7_EXTENSION_BACK.get(octets[++i]!) ?? '';
    else text += GSM7_BASIC[octets[i]!] ?? '?';
  }
  return text;
}

function isGsm7Text(text: string): boolean {
  return [...text].every((char) => GSM7_BASIC.includes(char) || GSM7_EXTENSION[char] !== undefined);
}

function decodeUcs2(octets: Buffer): string {
  const swapped = Buffer.from(octets);
  swapped.swap16();
  return swapped.toString('utf16le');
}

function encodeUcs2(text: string): Buffer {
  return Buffer.from(text, 'utf16le').swap16();
}

/** The concatenation information element of a UDH (8- or 16-bit reference), if any. */
function concatenationOf(udh: Buffer): { ref: number; total: number; seq: number } | undefined {
  let at = 1;
  while (at < udh.length) {
    const [iei, length] = [udh[at]!, udh[at + 1]!];
    const data = udh.subarray(at + 2, at + 2 + length);
    if (iei === 0x00) return { ref: data[0]!, total: data[1]!, seq: data[2]! };
    if (iei === 0x08) return { ref: data.readUInt16BE(0), total: data[2]!, seq: data[3]! };
    at += 2 + length;
  }
  return undefined;
}

function smscTimestamp(date: Date): string {
  const two = (n: number) => String(n).padStart(2, '0');
  return `${two(date.getUTCFullYear() % 100)}${two(date.getUTCMonth() + 1)}${two(date.getUTCDate())}${two(date.getUTCHours())}${two(date.getUTCMinutes())}`;
}

export async function startPlayedSmsc(credentials: { systemId: string; password: string }): Promise<PlayedSmsc> {
  const submitted: SubmittedSms[] = [];
  const taken = new Set<SubmittedSms>();
  const events = new EventEmitter();
  const partials = new Map<string, { parts: Map<number, { text: string; id: string }>; total: number; registeredDelivery: number }>();
  let session: Session | undefined;
  let nextMessageId = 100000;
  let nextReference = 1;
  let boundResolve!: () => void;
  const boundPromise = new Promise<void>((resolve) => (boundResolve = resolve));

  const complete = (sms: SubmittedSms) => {
    submitted.push(sms);
    events.emit('sms', sms);
  };

  const onSubmit = (pdu: Pdu) => {
    const messageId = String(nextMessageId++);
    session?.send(pdu.response({ message_id: messageId }));
    const raw = pdu.short_message as { message?: string | Buffer; udh?: Buffer[] } | Buffer;
    // Decode ourselves: the package's guesses do not cover every case Kannel sends.
    const dataCoding = Number(pdu.data_coding ?? 0);
    const esmClass = Number(pdu.esm_class ?? 0);
    let octets: Buffer;
    let udh: Buffer | undefined;
    if (Buffer.isBuffer(raw)) octets = raw;
    else {
      const message = raw.message ?? '';
      octets = Buffer.isBuffer(message) ? message : dataCoding === 8 ? encodeUcs2(message) : encodeGsm7(message);
      if (raw.udh?.length) udh = Buffer.concat([Buffer.from([raw.udh.reduce((n, part) => n + part.length, 0)]), ...raw.udh]);
    }
    if (!udh && esmClass & 0x40 && octets.length > 0) {
      udh = octets.subarray(0, octets[0]! + 1);
      octets = octets.subarray(octets[0]! + 1);
    }
    const text = dataCoding === 8 ? decodeUcs2(octets) : decodeGsm7(octets);
    const base = {
      to: String(pdu.destination_addr),
      from: String(pdu.source_addr),
      dataCoding,
      registeredDelivery: Number(pdu.registered_delivery ?? 0),
    };
    const concat = udh ? concatenationOf(udh) : undefined;
    if (!concat || concat.total <= 1) return complete({ ...base, messageId, partIds: [messageId], text, parts: 1 });
    const key = `${base.to}:${concat.ref}`;
    const partial = partials.get(key) ?? { parts: new Map(), total: concat.total, registeredDelivery: 0 };
    partial.parts.set(concat.seq, { text, id: messageId });
    // Kannel asks for the receipt on one part of a concatenated SMS: the SMS asked for one.
    partial.registeredDelivery = Math.max(partial.registeredDelivery, base.registeredDelivery);
    partials.set(key, partial);
    if (partial.parts.size < partial.total) return;
    partials.delete(key);
    const ordered = [...partial.parts.entries()].sort(([a], [b]) => a - b).map(([, part]) => part);
    complete({ ...base, registeredDelivery: partial.registeredDelivery, messageId: ordered[0]!.id, partIds: ordered.map((p) => p.id), text: ordered.map((p) => p.text).join(''), parts: ordered.length });
  };

  const server = smpp.createServer({}, (s: Session) => {
    s.on('error', () => undefined);
    s.on('bind_transceiver', (pdu: Pdu) => {
      const ok = pdu.system_id === credentials.systemId && pdu.password === credentials.password;
      s.send(pdu.response({ command_status: ok ? 0 : 0x0d, system_id: 'SMSC' }));
      if (!ok) return s.close();
      session = s;
      boundResolve();
    });
    s.on('enquire_link', (pdu: Pdu) => s.send(pdu.response()));
    s.on('unbind', (pdu: Pdu) => {
      s.send(pdu.response());
      s.close();
    });
    s.on('submit_sm', onSubmit);
    s.on('close', () => {
      if (session === s) session = undefined;
    });
  });
  server.on('error', () => undefined);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const port = (server.address() as AddressInfo).port;

  const send = (fields: Record<string, unknown>) =>
    new Promise<void>((resolve, reject) => {
      if (!session) return reject(new Error('Kannel is not bound to the SMSC'));
      session.deliver_sm(fields, (response: Pdu) => (response.command_status === 0 ? resolve() : reject(new Error(`deliver_sm refused: ${response.command_status}`))));
    });

  return {
    port,
    bound: () => boundPromise,
    submitted,
    pendingFor: (to) => submitted.filter((sms) => sms.to === to && !taken.has(sms)),
    nextTo: (to, timeoutMs = 15000) =>
      new Promise<SubmittedSms>((resolve, reject) => {
        const take = (sms: SubmittedSms) => {
          taken.add(sms);
          clearTimeout(timer);
          events.off('sms', onSms);
          resolve(sms);
        };
        const onSms = (sms: SubmittedSms) => {
          if (sms.to === to && !taken.has(sms)) take(sms);
        };
        const timer = setTimeout(() => {
          events.off('sms', onSms);
          reject(new Error(`no SMS to ${to} at the SMSC within ${timeoutMs} ms`));
        }, timeoutMs);
        const waiting = submitted.find((sms) => sms.to === to && !taken.has(sms));
        if (waiting) return take(waiting);
        events.on('sms', onSms);
      }),
    async deliver(from, to, text) {
      const gsm = isGsm7Text(text);
      const octets = gsm ? encodeGsm7(text) : encodeUcs2(text);
      const dataCoding = gsm ? 0 : 8;
      const single = gsm ? 160 : 140;
      const base = { source_addr: from, source_addr_ton: 1, source_addr_npi: 1, destination_addr: to, data_coding: dataCoding };
      if (octets.length <= single) return send({ ...base, short_message: octets });
      // Concatenated: a 6-octet UDH, then 153 GSM characters or 67 UCS-2 ones per part.
      const perPart = gsm ? 153 : 134;
      const chunks: Buffer[] = [];
      for (let at = 0; at < octets.length; ) {
        let end = Math.min(at + perPart, octets.length);
        if (gsm && octets[end - 1] === 0x1b && end < octets.length) end -= 1; // never split an escape
        chunks.push(octets.subarray(at, end));
        at = end;
      }
      const reference = nextReference++ & 0xff;
      for (const [index, chunk] of chunks.entries()) {
        const udh = Buffer.from([0x05, 0x00, 0x03, reference, chunks.length, index + 1]);
        await send({ ...base, esm_class: 0x40, short_message: Buffer.concat([udh, chunk]) });
      }
    },
    async receipt(sms, stat) {
      const now = smscTimestamp(new Date());
      const delivered = stat === 'DELIVRD' ? '001' : '000';
      const text = `id:${sms.messageId} sub:001 dlvrd:${delivered} submit date:${now} done date:${now} stat:${stat} err:${stat === 'DELIVRD' ? '000' : '001'} text:`;
      await send({
        source_addr: sms.to,
        source_addr_ton: 1,
        source_addr_npi: 1,
        destination_addr: sms.from,
        esm_class: 0x04,
        data_coding: 0,
        short_message: Buffer.from(text, 'ascii'),
        receipted_message_id: sms.messageId,
        message_state: stat === 'DELIVRD' ? 2 : 5,
      });
    },
    close: () =>
      new Promise<void>((resolve) => {
        session?.destroy();
        server.close(() => resolve());
        for (const open of (server as unknown as { sessions: Session[] }).sessions) open.destroy();
      }),
  };
}
