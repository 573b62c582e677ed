import { warmUpDateRecognizer } from '../../src/nlu/dates';
import { startTwilioServer, type TwilioTestServer } from '../support/twilioServer';

/**
 * A message costs one read of its conversation: the language its answer is rendered in comes with
 * the bot's replies (Activity.locale), not from a second read and decryption of the state.
 */

let server: TwilioTestServer;
beforeAll(async () => {
  warmUpDateRecognizer();
  server = await startTwilioServer();
}, 30000);
afterAll(() => server.close());

it('reads the conversation once a message, and renders in the conversation\'s language, even after a switch', async () => {
  const reads = jest.spyOn(server.app.storage, 'read');
  const user = server.sms('+212661112233');

  const welcome = await user.say('Bonjour');
  expect(welcome.text).toContain("Quelle pièce d'identité avez-vous ?");
  expect(reads).toHaveBeenCalledTimes(1);

  // Switched to Arabic: this very answer is rendered as Arabic SMS.
  const arabic = await user.say('العربية');
  expect(arabic.text).toMatch(/[\u0600-\u06FF]/);
  expect(reads).toHaveBeenCalledTimes(2);

  await user.say('1');
  expect(reads).toHaveBeenCalledTimes(3);
  reads.mockRestore();
});
