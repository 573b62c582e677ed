import {
  ActivityHandler,
  CloudAdapter,
  ConfigurationBotFrameworkAuthentication,
  ConversationState,
  MemoryStorage,
  type ConfigurationBotFrameworkAuthenticationOptions,
  type TurnContext,
} from 'botbuilder';
import type { DialogState } from 'botbuilder-dialogs';
import restify from 'restify';
import { UserProfileDialog } from './userProfileDialog';

/**
 * The benchmark's yardstick: a plain botbuilder bot as Microsoft's samples build it — restify,
 * CloudAdapter without an app id, MemoryStorage, ConversationState, a waterfall of TextPrompts.
 * `bench/run.ts` starts it as a child process (PORT, loopback only) and drives it over
 * /api/messages with deliveryMode expectReplies, as it drives Tasjil.
 */
class DialogBot extends ActivityHandler {
  constructor(conversationState: ConversationState, dialog: UserProfileDialog) {
    super();
    const dialogState = conversationState.createProperty<DialogState>('DialogState');
    this.onMessage(async (context, next) => {
      await dialog.run(context, dialogState);
      await next();
    });
    // As the sample: save whatever the turn changed.
    this.onDialog(async (context, next) => {
      await conversationState.saveChanges(context, false);
      await next();
    });
  }
}

const adapter = new CloudAdapter(new ConfigurationBotFrameworkAuthentication({} as ConfigurationBotFrameworkAuthenticationOptions));
adapter.onTurnError = async (context: TurnContext, error: Error) => {
  process.stderr.write(`baseline onTurnError: ${error.message}\n`);
  await context.sendActivity('The bot encountered an error.');
};

const conversationState = new ConversationState(new MemoryStorage());
const bot = new DialogBot(conversationState, new UserProfileDialog());

const server = restify.createServer({ name: 'baseline' });
server.use(restify.plugins.bodyParser());
server.post('/api/messages', async (req, res) => {
  await adapter.process(req, res, (context) => bot.run(context));
});
server.get('/readyz', async (_req, res) => {
  res.send(200, { status: 'ready' });
});

const port = Number(process.env.PORT ?? 3988);
server.listen(port, '127.0.0.1', () => process.stdout.write(`baseline bot on http://127.0.0.1:${port}\n`));
const stop = () => server.close(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
