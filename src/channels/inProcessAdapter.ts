import {
  BotAdapter,
  DeliveryModes,
  TurnContext,
  type Activity,
  type ConversationReference,
  type ResourceResponse,
} from 'botbuilder';

/**
 * Runs turns inside this process and hands back the replies: the terminal chat and the
 * conversation tests use it. It asks for `expectReplies`, so botbuilder buffers the replies of the
 * turn instead of calling a connector.
 */
export class InProcessAdapter extends BotAdapter {
  private nextId = 1;

  constructor(private readonly channelId = 'chat') {
    super();
  }

  async process(
    partial: { text?: string; from: string; attachments?: Activity['attachments']; type?: string; channelData?: unknown },
    logic: (turn: TurnContext) => Promise<void>,
  ): Promise<Partial<Activity>[]> {
    const activity = {
      type: partial.type ?? 'message',
      id: String(this.nextId++),
      text: partial.text,
      attachments: partial.attachments,
      channelData: partial.channelData,
      channelId: this.channelId,
      serviceUrl: 'inprocess://',
      timestamp: new Date(),
      deliveryMode: DeliveryModes.ExpectReplies,
      from: { id: partial.from, role: 'user' },
      recipient: { id: 'tasjil', role: 'bot' },
      conversation: { id: partial.from, isGroup: false, conversationType: 'personal', name: '' },
    } as Activity;
    const turn = new TurnContext(this, activity);
    await this.runMiddleware(turn, logic);
    return turn.bufferedReplyActivities;
  }

  async sendActivities(_turn: TurnContext, activities: Partial<Activity>[]): Promise<ResourceResponse[]> {
    // Only reached outside expectReplies (never here): keep the contract, drop nothing silently.
    throw new Error(`in-process adapter cannot send ${activities.length} activities outside a turn`);
  }

  async updateActivity(): Promise<ResourceResponse | void> {
    throw new Error('updateActivity is not supported in process');
  }

  async deleteActivity(): Promise<void> {
    throw new Error('deleteActivity is not supported in process');
  }

  async continueConversation(_reference: Partial<ConversationReference>): Promise<void> {
    throw new Error('continueConversation is not supported in process');
  }
}
