import { z } from 'zod';

/**
 * What Twilio posts to the messaging webhook (SMS and WhatsApp), form-encoded. Twilio adds
 * parameters without notice (webhook-request docs), so unknown ones are accepted and ignored.
 * Field list: https://www.twilio.com/docs/messaging/guides/webhook-request and WhatsApp's
 * message-features page (ProfileName, WaId, ButtonPayload, Latitude/Longitude).
 */
const optionalText = z.string().max(4096).optional();
const coordinate = (min: number, max: number) =>
  z
    .string()
    .regex(/^-?\d{1,3}(\.\d+)?$/)
    .transform(Number)
    .pipe(z.number().min(min).max(max))
    .optional();

/**
 * A sender as Twilio writes it: E.164, with `whatsapp:` on WhatsApp. Anything else (an
 * alphanumeric sender, a `messenger:` id) is no worker we can register: refused, not routed.
 */
const sender = z.string().regex(/^(whatsapp:)?\+[1-9]\d{6,14}$/, 'an E.164 number, optionally whatsapp:');

export const TwilioInboundSchema = z.looseObject({
  MessageSid: z.string().regex(/^(SM|MM|IM)[0-9a-fA-F]{32}$/, 'a Twilio message SID'),
  AccountSid: z.string().regex(/^AC[0-9a-fA-F]{32}$/).optional(),
  From: sender,
  // Ours: a number, a short code; only used to answer from the number that was written to.
  To: z.string().min(3).max(64),
  // A delivery report posted to the messages URL (a status URL configured wrongly at Twilio) has
  // From, To and a MessageSid too: without this it would run as an empty message from the user.
  MessageStatus: z.undefined({ error: 'a delivery report: post it to /api/twilio/status' }).optional(),
  // Twilio caps a body at 1,600 characters, but a longer one still gets a polite answer, not a
  // 400: the text normalizer cuts it and the question says it is too long.
  Body: z.string().default(''),
  NumMedia: z
    .string()
    .regex(/^\d{1,2}$/)
    .transform(Number)
    .default(0),
  MediaUrl0: optionalText,
  MediaContentType0: optionalText,
  ProfileName: z.string().max(256).optional(),
  WaId: z.string().max(32).optional(),
  ButtonPayload: optionalText,
  ButtonText: optionalText,
  Latitude: coordinate(-90, 90),
  Longitude: coordinate(-180, 180),
  Address: optionalText,
  Label: optionalText,
});

export type TwilioInbound = z.infer<typeof TwilioInboundSchema>;

export const TwilioStatusSchema = z.looseObject({
  MessageSid: z.string().regex(/^(SM|MM)[0-9a-fA-F]{32}$/),
  MessageStatus: z.enum(['accepted', 'scheduled', 'queued', 'sending', 'sent', 'delivered', 'undelivered', 'failed', 'read', 'receiving', 'received', 'canceled', 'partially_delivered']),
  ErrorCode: z.string().regex(/^\d{1,6}$/).optional(),
  To: z.string().max(64).optional(),
});

export type TwilioStatus = z.infer<typeof TwilioStatusSchema>;

/** `whatsapp:+2126…` is WhatsApp; a bare number is SMS. */
export function channelOf(from: string): 'whatsapp' | 'sms' {
  return from.startsWith('whatsapp:') ? 'whatsapp' : 'sms';
}

/** The address without its channel prefix: `+2126…`. */
export function bareAddress(address: string): string {
  return address.replace(/^whatsapp:/, '');
}

/**
 * A form body as Twilio signs it: every value a string, a repeated name kept as a list so the
 * signature check sees exactly what was posted (and a repeated field then fails parsing).
 */
export function parseFormBody(raw: string): Record<string, string | string[]> {
  const params: Record<string, string | string[]> = {};
  for (const [name, value] of new URLSearchParams(raw)) {
    const previous = params[name];
    params[name] = previous === undefined ? value : Array.isArray(previous) ? [...previous, value] : [previous, value];
  }
  return params;
}
