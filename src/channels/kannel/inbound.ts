import { z } from 'zod';

/**
 * What Kannel's smsbox sends for each SMS to our short code: the query of the sms-service
 * `get-url` in docs/kannel/kannel.conf (`?token=…&id=%I&from=%p&to=%P&ts=%T&text=%a`), or the
 * same names in a form body (`post-url`). Kannel's escapes (user guide, "SMS-service
 * configurations"): %I its message id (a UUID), %p the sender, %P the number written to, %t or %T
 * the SMSC's time, %a the text (UTF-8 with `mo-recode = true`).
 */

/**
 * A sender as Kannel writes it, in the forms Moroccan SMSCs use: international with `+` or `00`
 * (`+212612345678`, `00212612345678`), international without prefix (`212612345678`: SMPP type
 * of number 1 without Kannel's `+`), or national (`0612345678`). Foreign numbers (a worker on
 * roaming, a foreign SIM) keep their country code. Undefined when it is no phone number.
 */
export function senderE164(raw: string): string | undefined {
  const compact = raw.trim().replace(/[\s.()-]/g, '');
  let digits: string;
  if (/^\+\d+$/.test(compact)) digits = compact.slice(1);
  else if (/^00\d+$/.test(compact)) digits = compact.slice(2);
  // National Moroccan forms: 0 then the 9 digits of the subscriber number.
  else if (/^0[5-8]\d{8}$/.test(compact)) digits = `212${compact.slice(1)}`;
  else if (/^212[5-8]\d{8}$/.test(compact)) digits = compact;
  else return undefined;
  if (!/^[1-9]\d{6,14}$/.test(digits)) return undefined;
  // A Moroccan number has exactly 9 digits after 212: anything else is a typo or a short code.
  if (digits.startsWith('212') && !/^212[5-8]\d{8}$/.test(digits)) return undefined;
  return `+${digits}`;
}

/** Kannel's message ids are UUIDs; other gateways' ids are kept to a safe, short alphabet. */
const kannelId = z.string().regex(/^[A-Za-z0-9._:-]{1,64}$/, 'an SMS id (Kannel %I)');

export const KannelInboundSchema = z.looseObject({
  token: z.string().optional(),
  id: kannelId,
  from: z
    .string()
    .max(32)
    .transform((value, context) => {
      const e164 = senderE164(value);
      if (!e164) context.addIssue({ code: 'custom', message: 'a phone number (Kannel %p)' });
      return e164 ?? '';
    }),
  // Our short code (or long number): replies go out from it.
  to: z.string().regex(/^\+?[0-9A-Za-z]{2,20}$/, 'our short code (Kannel %P)'),
  // A multi-part SMS joined by Kannel stays far below this; longer is no worker's message.
  text: z.string().max(10_000).default(''),
  // %T (seconds since 1970) or %t ("YYYY-MM-DD HH:MM"); informative only: the arrival time counts.
  ts: z
    .string()
    .regex(/^\d{1,12}$|^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(:\d{2})?$/, 'the SMSC time (Kannel %T or %t)')
    .optional(),
});

export type KannelInbound = z.infer<typeof KannelInboundSchema>;

/**
 * A delivery report, as Kannel calls the `dlr-url` we give with each SMS
 * (`/api/kannel/status?ref=<ours>&sig=<HMAC of ref>&type=%d`).
 */
export const KannelStatusSchema = z.looseObject({
  ref: z.string().regex(/^[A-Za-z0-9_-]{8,64}$/, 'our reference of the SMS'),
  sig: z.string().regex(/^[A-Za-z0-9_-]{16,128}$/, 'the signature of ref'),
  type: z
    .string()
    .regex(/^\d{1,3}$/, 'Kannel %d: 1, 2, 4, 8 or 16')
    .transform(Number),
});

export type KannelStatus = z.infer<typeof KannelStatusSchema>;

/**
 * Kannel's delivery report types (`%d`; user guide, "SMS Delivery Reports") as the delivery
 * tracker's statuses: 1 delivered to the phone, 2 not delivered to the phone, 4 queued on the
 * SMSC, 8 taken by the SMSC, 16 refused by the SMSC. `undelivered` and `failed` are final failures.
 */
export function kannelDeliveryStatus(type: number): 'delivered' | 'undelivered' | 'queued' | 'sent' | 'failed' | undefined {
  switch (type) {
    case 1:
      return 'delivered';
    case 2:
      return 'undelivered';
    case 4:
      return 'queued';
    case 8:
      return 'sent';
    case 16:
      return 'failed';
    default:
      return undefined;
  }
}

/**
 * The parameters of a GET query or a form body: one string each. A repeated name is kept as a
 * list, so that it fails parsing instead of one copy being picked silently.
 */
export function paramsOf(search: string): Record<string, string | string[]> {
  const params: Record<string, string | string[]> = {};
  for (const [name, value] of new URLSearchParams(search)) {
    const previous = params[name];
    params[name] = previous === undefined ? value : Array.isArray(previous) ? [...previous, value] : [previous, value];
  }
  return params;
}
