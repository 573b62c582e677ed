import {
  BotAdapter,
  DeliveryModes,
  TurnContext,
  type Activity,
  type ConversationReference,
  type ResourceResponse,
} from 'botbuilder';
import { setPresentation, type Presentation } from '../presentation';

/** Sends activities outside a webhook's response (late replies, proactive messages). */
export type ActivitySender = (reference: Partial<ConversationReference>, activities: Partial<Activity>[]) => Promise<ResourceResponse[]>;

/**
 * Our own botbuilder adapter for Twilio (the community ones are unmaintained and pin twilio 3,
 * platform.md §3). A webhook turn buffers its replies (as `expectReplies` does) so they go back
 * in the TwiML response; anything sent outside a turn goes through `send`.
 */
export class TwilioAdapter extends BotAdapter {
  constructor(private readonly send: ActivitySender) {
    super();
  }

  /** Runs one inbound message through the middleware and the bot; resolves with its replies. */
  async runWebhookTurn(
    activity: Partial<Activity>,
    presentation: Presentation,
    logic: (turn: TurnContext) => Promise<void>,
  ): Promise<Partial<Activity>[]> {
    const turn = new TurnContext(this, { ...activity, deliveryMode: DeliveryModes.ExpectReplies } as Activity);
    setPresentation(turn, presentation);
    await this.runMiddleware(turn, logic);
    return turn.bufferedReplyActivities;
  }

  async sendActivities(turn: TurnContext, activities: Partial<Activity>[]): Promise<ResourceResponse[]> {
    return this.send(TurnContext.getConversationReference(turn.activity), activities);
  }

  async continueConversation(
    reference: Partial<ConversationReference>,
    logic: (turn: TurnContext) => Promise<void>,
  ): Promise<void> {
    const activity = TurnContext.applyConversationReference({ type: 'event', name: 'continueConversation' }, reference, true);
    await this.runMiddleware(new TurnContext(this, activity as Activity), logic);
  }

  async updateActivity(): Promise<void> {
    throw new Error('Twilio messages cannot be edited');
  }

  async deleteActivity(): Promise<void> {
    throw new Error('Twilio messages cannot be deleted');
  }
}
