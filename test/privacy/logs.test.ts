import { ManualClock } from '../../src/clock';
import { createTestBot, type TestBot } from '../support/harness';
import { RegistryThatRegisters } from '../support/registryThatRegisters';
import { sampleRegistry } from '../support/twilioServer';
import { warmUpDateRecognizer } from '../../src/nlu/dates';

/**
 * Personal data never reaches a log line. Full conversations run with logging at its most
 * verbose; every fixture value is then looked for in every line, in every form we can think of.
 */
const PHONE = '+212611223344';
const EMAIL = 'fatima.test@example.ma';

const conversations: Record<string, string[]> = {
  'A, French': ['bonjour', '1', 'AB123456', '30/06/2031', '14/03/1985', PHONE, '1', EMAIL, 'oui'],
  'B, Arabic, with a wrong code and a resend': ['السلام', '1', 'BE654321', '15/11/2030', '02/07/1990', '0611223344', '3', 'دوز', 'نعم', '000000', '{wait}', 'عاود صيفط', '{otp}'],
  'C, French': ['bonjour', '1', 'ZZ999999', '01/01/2030', '05/05/1980', PHONE, '2', EMAIL, 'oui', 'taxi', 'Casa'],
  'D, Arabic': ['salam', '1', 'EF445566', '01/09/2029', '20/05/1965', PHONE, '1', 'دوز', 'واه'],
  'mismatch then erase, French': ['bonjour', '1', 'K45678', '01/04/2030', '02/04/1970', PHONE, '1', 'passer', 'oui', 'supprimer'],
  // The code and the new password go to the account's phone (+212612345632), which the registry gives.
  'forgotten password, French, a typed number refused, a wrong code and a resend': ["j'ai oublié mon mot de passe", '1', 'AB123456', '30/06/2031', '14/03/1985', 'oui', PHONE, '000000', '{wait}', 'renvoyer', '{otp}'],
  'forgotten password offered at A, Arabic, then not my number': ['السلام', '1', 'AB123456', '30/06/2031', '14/03/1985', '0611223344', '1', 'دوز', 'نعم', 'نعم', 'لا'],
  'forgotten password with no phone known, Darija': ['nsit lmot de passe', '1', 'K45678', '01/04/2030', '01/04/1970', 'wakha'],
};

const fixtures = [
  'AB123456', 'BE654321', 'ZZ999999', 'EF445566', 'K45678',
  '1985-03-14', '14/03/1985', '1990-07-02', '02/07/1990', '1965-05-20', '1980-05-05', '2031-06-30', '2030-11-15',
  PHONE, '0611223344', '611223344', '212611223344', '06 11 22 33 44',
  '+212612345632', '0612345632', '612345632', '06 12 34 56 32',
  EMAIL, 'fatima',
  '111222333', '222333444',
];

async function run(bot: TestBot, lines: string[]): Promise<void> {
  for (const line of lines) {
    if (line === '{wait}') {
      bot.clock.advance(61_000);
      continue;
    }
    const lastSms = bot.app.outbox.list().pop()?.body ?? '';
    const text = line === '{otp}' ? /\b\d{6}\b/.exec(lastSms)?.[0] ?? '' : line;
    await bot.say(text);
  }
}

beforeAll(() => warmUpDateRecognizer(), 30000);

describe('logs carry no personal data', () => {
  it.each(Object.entries(conversations))('%s', async (_name, lines) => {
    const bot = createTestBot();
    await run(bot, lines);
    const logs = bot.logLines.join('\n');
    expect(logs).toContain('"event":"turn"'); // the conversation did log: the check is not vacuous
    if (_name.startsWith('forgotten password')) expect(logs).toContain('"event":"registry.account_phone"');
    if (_name.startsWith('forgotten password, French')) expect(bot.app.outbox.list().some((m) => m.to === '+212612345632' && m.body.includes('nouveau mot de passe'))).toBe(true);
    const secrets = bot.app.outbox.list().flatMap((m) => m.body.match(/\b(?=[A-Za-z0-9]*\d)[A-Za-z0-9]{6,}\b/g) ?? []);
    for (const value of [...fixtures, ...secrets]) {
      const squashed = value.replace(/[\s/+-]/g, '');
      expect({ value, found: logs.includes(value) || logs.replace(/[\s/+-]/g, '').includes(squashed) }).toEqual({ value, found: false });
    }
  });

  it('C on WhatsApp with a follow-up: the yes, the checks, the notice and a later cancel', async () => {
    const clock = new ManualClock();
    const registry = new RegistryThatRegisters(sampleRegistry(clock));
    const bot = createTestBot({ channel: 'whatsapp', from: PHONE, clock, registry, env: { TWILIO_NOTIFICATION_TEMPLATE_SID: `HX${'0'.repeat(32)}` } });
    bot.app.followUps.startChecks();
    await run(bot, [...conversations['C, French']!, 'oui']);
    for (const registered of [false, true]) {
      if (registered) registry.register('ZZ999999');
      bot.clock.advance(27 * 60 * 60 * 1000);
      await bot.app.followUps.runDue();
    }
    await run(bot, ['oui', 'annuler le suivi']);
    await bot.app.close();
    const logs = bot.logLines.join('\n');
    for (const event of ['followup.created', 'followup.checked', 'followup.notified']) expect(logs).toContain(`"event":"${event}"`);
    for (const value of fixtures) {
      const squashed = value.replace(/[\s/+-]/g, '');
      expect({ value, found: logs.includes(value) || logs.replace(/[\s/+-]/g, '').includes(squashed) }).toEqual({ value, found: false });
    }
  });

  it('a turn that fails logs the error, not the message', async () => {
    const bot = createTestBot();
    await bot.say('bonjour');
    await bot.say('1');
    bot.app.registry.lookUp = () => Promise.reject(new Error('unexpected failure'));
    for (const line of ['AB123456', '30/06/2031', '14/03/1985', PHONE, '1', 'passer']) await bot.say(line);
    const replies = await bot.say('oui');
    expect(replies.join(' ')).toContain('problème technique');
    const logs = bot.logLines.join('\n');
    expect(logs).toContain('unexpected failure');
    for (const value of ['AB123456', '1985-03-14', PHONE]) expect(logs).not.toContain(value);
  });
});
