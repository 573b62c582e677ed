import { createInterface } from 'node:readline/promises';
import { stdin, stdout } from 'node:process';
import { createApp } from '../app';
import { ConfigError, loadConfig } from '../config';
import { t } from '../i18n';
import { createLogger } from '../log';
import { InProcessAdapter } from '../channels/inProcessAdapter';
import { InboundTextMiddleware } from '../channels/inboundText';
import { turnErrorHandler } from '../channels/turnError';
import { warmUpDateRecognizer } from '../nlu/dates';

/**
 * `npm run chat`: the same bot in a terminal, no server needed. SMS the bot sends (OTP, password)
 * are printed too, marked as SMS. `npm run chat -- --whatsapp +212612345678` plays a WhatsApp user,
 * so the sender's number is offered at the phone step.
 */
const RTL = /[\u0590-\u08FF]/;

/** Most terminals lay out Arabic right to left but align it left: right-align it so it reads naturally. */
function display(text: string, prefix: string): string {
  const width = stdout.columns || 80;
  return text
    .split('\n')
    .map((line) => (RTL.test(line) ? (line + ' ' + prefix.trim()).padStart(Math.max(width - 2, line.length)) : `${prefix}${line}`))
    .join('\n');
}

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig({ ...process.env, LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn' });
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(error.message);
      process.exit(1);
    }
    throw error;
  }
  const args = process.argv.slice(2);
  const whatsappIndex = args.indexOf('--whatsapp');
  const sender = whatsappIndex >= 0 ? args[whatsappIndex + 1] : undefined;

  const app = createApp(config, createLogger(config.LOG_LEVEL));
  const adapter = new InProcessAdapter(sender ? 'whatsapp' : 'chat');
  adapter.use(new InboundTextMiddleware());
  adapter.onTurnError = turnErrorHandler(app.log);
  app.outbox.onMessage((sms) => console.log(`\n  [SMS → ${sms.to}]\n${display(sms.body, '  📱 ')}\n`));

  console.log(`${t('fr', 'cli.banner')}\n${t('ar', 'cli.banner')}`);
  warmUpDateRecognizer();
  const rl = createInterface({ input: stdin, output: stdout, terminal: stdin.isTTY });
  const from = sender ?? 'terminal-user';
  rl.setPrompt('> ');
  rl.prompt();
  for await (const line of rl) {
    const replies = await adapter.process({ text: line, from }, (turn) => app.runTurn(turn));
    for (const reply of replies) if (reply.text) console.log(`${display(reply.text, '🤖 ')}\n`);
    rl.prompt();
  }
}

void main();
