import type { Middleware, TurnContext } from 'botbuilder';
import { normalizeInput } from '../nlu/normalize';

/**
 * Every channel's text is normalized once, before the bot reads it: Arabic-Indic digits, bidi
 * marks, tatweel, spacing. The normalizer also caps the length, so a pasted 5,000-character message
 * costs no more than a short one.
 */
export class InboundTextMiddleware implements Middleware {
  async onTurn(turn: TurnContext, next: () => Promise<void>): Promise<void> {
    const { activity } = turn;
    if (activity.type === 'message' && typeof activity.text === 'string') activity.text = normalizeInput(activity.text);
    await next();
  }
}
