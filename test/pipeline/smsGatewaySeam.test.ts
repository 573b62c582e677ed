import { randomUUID } from 'node:crypto';
import { createApp, type App } from '../../src/app';
import { ManualClock } from '../../src/clock';
import { loadConfig } from '../../src/config';
import { createLogger } from '../../src/log';
import { warmUpDateRecognizer } from '../../src/nlu/dates';
import { chatActivity, type ChatAnswer } from '../../src/pipeline/messagePipeline';
import { isGsm7 } from '../../src/channels/sms/encoding';
import { sampleRegistry } from '../support/twilioServer';

/**
 * The SMS seam: an operator's SMS gateway (SMPP through Kannel, for two-way SMS in Morocco) is
 * a transport of its own, not Twilio. It hands each message to the app's chat pipeline as a plain
 * InboundChatMessage, and gets back SMS-rendered answers (GSM-7 French, paged lists) with dedupe,
 * opt-out and the per-sender queue: nothing of Twilio's form, signature or TwiML is involved.
 */

let app: App;
beforeAll(() => {
  warmUpDateRecognizer();
  const clock = new ManualClock();
  app = createApp(loadConfig({ NODE_ENV: 'test' }), createLogger('silent'), { clock, registry: sampleRegistry(clock) });
}, 30000);
afterAll(() => app.close());

/** A gateway's delivery of one SMS (its own message id), and the answer it would send back. */
async function gatewayDelivers(contact: string, text: string, id: string = randomUUID()): Promise<string[]> {
  const message = { id, channel: 'sms' as const, contact, ourAddress: '2020', text };
  let answer: ChatAnswer | undefined;
  await app.chat.receive({ ...message, activity: chatActivity(message, new Date()) }, (a) => (answer = a), { inlineTemplates: false });
  return (answer ?? []).map((m) => m.body);
}

describe('a message from an SMS gateway that is not Twilio', () => {
  it('carries a whole conversation to outcome A, in GSM-7 French', async () => {
    const phone = '+212661110001';
    const replies: string[][] = [];
    for (const text of ['Bonjour', '1', 'AB123456', '30/06/2031', '14/03/1985', '1', '1', 'passer', 'oui']) replies.push(await gatewayDelivers(phone, text));
    expect(replies[0]!.join('\n')).toContain('je suis Tasjil');
    expect(replies[7]!.join('\n')).toContain('Vérifiez vos réponses');
    expect(replies[8]!.join('\n')).toContain("Votre numéro d'immatriculation : 111222333");
    for (const bodies of replies) for (const body of bodies) expect({ body, gsm7: isGsm7(body) }).toEqual({ body, gsm7: true });
  });

  it('is handled once per gateway message id, and STOP opts the number out', async () => {
    const phone = '+212661110002';
    expect(await gatewayDelivers(phone, 'Bonjour', 'gw-1')).not.toEqual([]);
    expect(await gatewayDelivers(phone, 'Bonjour', 'gw-1')).toEqual([]);
    expect((await gatewayDelivers(phone, 'STOP')).join('\n')).toContain('Vous ne recevrez plus de messages de Tasjil');
    expect(await gatewayDelivers(phone, 'Bonjour')).toEqual([]);
  });
});
