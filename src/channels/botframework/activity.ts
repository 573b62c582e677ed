import { z } from 'zod';

/**
 * What `POST /api/messages` accepts: a Bot Framework activity (Bot Framework REST API, "Activity
 * object"), with the fields botbuilder and our bot read checked for their type. botbuilder checks
 * almost nothing and throws deep inside on the rest (a `type` that is not a string, a `from`
 * without an id), which made a 500 of a bad request. Fields we never read are passed on untouched:
 * channels add their own, and refusing them would refuse real traffic.
 */

const id = z.string().min(1).max(512);
/** A user, the bot, or a member added: botbuilder copies it, our bot compares ids. */
const account = z.looseObject({ id, name: z.string().max(512).nullish() });
/** An ISO 8601 date as the channels write it; botbuilder turns it into a Date. */
const timestamp = z.string().max(64).refine((value) => !Number.isNaN(Date.parse(value)), 'an ISO 8601 date');

export const InboundActivitySchema = z
  .looseObject({
    type: z.string().min(1).max(64),
    id: z.string().max(512).optional(),
    channelId: z.string().min(1).max(64),
    // Where replies go; with expectReplies they come back in the response instead.
    serviceUrl: z.string().max(2048).optional(),
    deliveryMode: z.string().max(32).optional(),
    from: account,
    recipient: account.optional(),
    conversation: z.looseObject({ id, isGroup: z.boolean().nullish(), conversationType: z.string().max(64).nullish() }),
    replyToId: z.string().max(512).optional(),
    // The normalizer caps what the bot reads; this only refuses what no chat message is.
    text: z.string().max(64 * 1024).optional(),
    locale: z.string().max(32).optional(),
    timestamp: timestamp.optional(),
    localTimestamp: timestamp.optional(),
    expiration: timestamp.optional(),
    membersAdded: z.array(account).max(100).optional(),
    membersRemoved: z.array(account).max(100).optional(),
    entities: z.array(z.looseObject({ type: z.string().max(128) })).max(100).optional(),
    attachments: z.array(z.looseObject({ contentType: z.string().max(256) })).max(100).optional(),
  })
  .refine((activity) => activity.deliveryMode === 'expectReplies' || isHttpUrl(activity.serviceUrl), {
    message: 'an http(s) URL, unless deliveryMode is expectReplies',
    path: ['serviceUrl'],
  });

export type InboundActivity = z.infer<typeof InboundActivitySchema>;

function isHttpUrl(value: string | undefined): boolean {
  if (value === undefined) return false;
  try {
    return ['http:', 'https:'].includes(new URL(value).protocol);
  } catch {
    return false;
  }
}

/** The one content type Bot Framework posts (with a charset, sometimes). */
export function isJsonContentType(header: string | undefined): boolean {
  return /^application\/json\s*(;|$)/i.test(header ?? '');
}
