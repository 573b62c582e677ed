import { ProactiveNotifier, WHATSAPP_SESSION_WINDOW_MS, type NotifyResult } from '../../src/channels/twilio/proactive';
import type { ChannelMessage, ChannelMessenger } from '../../src/channels/messenger';
import { SmsRenderer } from '../../src/channels/render/smsRenderer';
import { WhatsAppRenderer } from '../../src/channels/render/whatsappRenderer';
import { ManualClock } from '../../src/clock';
import { createLogger } from '../../src/log';
import { InMemoryContactActivity, InMemoryOptOuts } from '../../src/pipeline/contacts';
import { OUR_WHATSAPP, startTwilioServer } from '../support/twilioServer';

/**
 * WhatsApp's 24-hour rule: a free-form message only within 24 h of the user's last message;
 * later, only the approved notification template (Content API) goes, or nothing. SMS has no such
 * window. An opted-out contact gets nothing at all.
 */

const TEMPLATE_SID = `HX${'0123456789abcdef'.repeat(2)}`;
const CONTACT = '+212612345678';
const TEXT = 'Votre compte Ma CNSS est prêt — connectez-vous sur www.macnss.ma.';
const HOUR = 60 * 60 * 1000;

class RecordingMessenger implements ChannelMessenger {
  readonly sent: ChannelMessage[] = [];
  async send(message: ChannelMessage) {
    this.sent.push(message);
    return { id: `SM${String(this.sent.length).padStart(32, '0')}` };
  }
}

function setUp(options: { template?: boolean } = {}) {
  const clock = new ManualClock();
  const contacts = new InMemoryContactActivity(clock);
  const optOuts = new InMemoryOptOuts();
  const messenger = new RecordingMessenger();
  const notifier = new ProactiveNotifier({
    clock,
    log: createLogger('silent'),
    contacts,
    optOuts,
    messenger,
    renderers: { whatsapp: new WhatsAppRenderer(), sms: new SmsRenderer() },
    notificationTemplateSid: options.template ? TEMPLATE_SID : undefined,
  });
  return { clock, contacts, optOuts, messenger, notifier };
}

type Expected = { result: NotifyResult; sent: 'free-form' | 'template' | 'nothing' };

describe('ProactiveNotifier and the 24-hour window', () => {
  it.each<[string, 'whatsapp' | 'sms', number | 'never', boolean, Expected]>([
    ['WhatsApp, last message a minute ago', 'whatsapp', 60_000, false, { result: 'sent', sent: 'free-form' }],
    ['WhatsApp, last message 23 h 59 min ago', 'whatsapp', WHATSAPP_SESSION_WINDOW_MS - 60_000, false, { result: 'sent', sent: 'free-form' }],
    ['WhatsApp, last message exactly 24 h ago, template configured', 'whatsapp', WHATSAPP_SESSION_WINDOW_MS, true, { result: 'template', sent: 'template' }],
    ['WhatsApp, last message 25 h ago, template configured', 'whatsapp', 25 * HOUR, true, { result: 'template', sent: 'template' }],
    ['WhatsApp, last message 25 h ago, no template', 'whatsapp', 25 * HOUR, false, { result: 'refused', sent: 'nothing' }],
    ['WhatsApp, never wrote, template configured', 'whatsapp', 'never', true, { result: 'template', sent: 'template' }],
    ['WhatsApp, never wrote, no template', 'whatsapp', 'never', false, { result: 'refused', sent: 'nothing' }],
    ['SMS, last message 3 days ago, no template', 'sms', 72 * HOUR, false, { result: 'sent', sent: 'free-form' }],
    ['SMS, never wrote, template configured (not used on SMS)', 'sms', 'never', true, { result: 'sent', sent: 'free-form' }],
  ])('%s', async (_name, channel, lastMessageAgo, template, expected) => {
    const { clock, contacts, messenger, notifier } = setUp({ template });
    if (lastMessageAgo !== 'never') {
      await contacts.recordInbound(CONTACT);
      clock.advance(lastMessageAgo);
    }
    expect(await notifier.notify(channel, CONTACT, OUR_WHATSAPP.replace('whatsapp:', ''), TEXT, 'fr')).toBe(expected.result);

    if (expected.sent === 'nothing') return expect(messenger.sent).toEqual([]);
    expect(messenger.sent).toHaveLength(1);
    const [message] = messenger.sent;
    expect(message).toMatchObject({ channel, to: CONTACT, from: '+14155238886' });
    if (expected.sent === 'template') {
      expect(message!.rendered).toEqual({ body: TEXT, contentSid: TEMPLATE_SID, contentVariables: { '1': TEXT } });
    } else {
      expect(message!.rendered.contentSid).toBeUndefined();
      // SMS: the French text in GSM-7; WhatsApp: as written.
      expect(message!.rendered.body).toBe(channel === 'sms' ? 'Votre compte Ma CNSS est pret - connectez-vous sur www.macnss.ma.' : TEXT);
    }
  });

  it.each(['whatsapp', 'sms'] as const)('an opted-out contact gets nothing on %s, even within the window', async (channel) => {
    const { contacts, optOuts, messenger, notifier } = setUp({ template: true });
    await contacts.recordInbound(CONTACT);
    await optOuts.optOut(CONTACT);
    expect(await notifier.notify(channel, CONTACT, '+14155238886', TEXT, 'fr')).toBe('refused');
    expect(messenger.sent).toEqual([]);
  });

  it.each(['whatsapp', 'sms'] as const)('nothing goes on %s without a number to send from', async (channel) => {
    const { contacts, messenger, notifier } = setUp({ template: true });
    await contacts.recordInbound(CONTACT);
    expect(await notifier.notify(channel, CONTACT, '', TEXT, 'fr')).toBe('refused');
    expect(messenger.sent).toEqual([]);
  });

  it('a new message from the user opens the window again', async () => {
    const { clock, contacts, messenger, notifier } = setUp();
    await contacts.recordInbound(CONTACT);
    clock.advance(30 * HOUR);
    expect(await notifier.notify('whatsapp', CONTACT, '+14155238886', TEXT, 'fr')).toBe('refused');
    await contacts.recordInbound(CONTACT);
    expect(await notifier.notify('whatsapp', CONTACT, '+14155238886', TEXT, 'fr')).toBe('sent');
    expect(messenger.sent).toHaveLength(1);
  });
});

describe('the window as the app keeps it', () => {
  it('a message received on the webhook opens it; 24 h later a free-form notice is refused', async () => {
    const clock = new ManualClock();
    const server = await startTwilioServer({ clock });
    try {
      const user = server.whatsapp('+212612345679');
      expect((await user.say('Bonjour')).status).toBe(200);
      expect(await server.app.notifier.notify('whatsapp', user.phone, '+14155238886', TEXT, 'fr')).toBe('sent');
      expect(server.app.outbox.list()).toEqual([expect.objectContaining({ channel: 'whatsapp', to: user.phone, body: TEXT })]);

      clock.advance(WHATSAPP_SESSION_WINDOW_MS + 1);
      expect(await server.app.notifier.notify('whatsapp', user.phone, '+14155238886', TEXT, 'fr')).toBe('refused');
      expect(server.app.outbox.list()).toHaveLength(1);
    } finally {
      await server.close();
    }
  });

  it('an SMS from the same number does not open the WhatsApp window', async () => {
    const clock = new ManualClock();
    const server = await startTwilioServer({ clock });
    try {
      const phone = '+212612345670';
      expect((await server.whatsapp(phone).say('Bonjour')).status).toBe(200);
      clock.advance(WHATSAPP_SESSION_WINDOW_MS + 1);
      expect((await server.sms(phone).say('Bonjour')).status).toBe(200);
      expect(await server.app.notifier.notify('whatsapp', phone, '+14155238886', TEXT, 'fr')).toBe('refused');
      // The SMS conversation itself is not concerned: SMS has no window.
      expect(await server.app.notifier.notify('sms', phone, '+15005550006', TEXT, 'fr')).toBe('sent');
    } finally {
      await server.close();
    }
  });
});
