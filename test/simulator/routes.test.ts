import type { AddressInfo } from 'node:net';
import type { Server } from 'restify';
import { createApp } from '../../src/app';
import { ConfigError, loadConfig, type Config } from '../../src/config';
import { createLogger } from '../../src/log';
import { warmUpDateRecognizer } from '../../src/nlu/dates';
import { createServer } from '../../src/server';
import type { FeedEntry } from '../../src/simulator/feed';
import { FakeTwilio } from '../support/fakeTwilio';
import { byLabel, parseMetrics } from '../support/metricsText';
import { ManualClock } from '../../src/clock';
import { t } from '../../src/i18n';
import type { Registry } from '../../src/services/types';
import { eventually, messageSid, sampleRegistry, startTwilioServer, type TwilioTestServer } from '../support/twilioServer';
import { RegistryThatRegisters } from '../support/registryThatRegisters';
import { closeTestClient, connectTestClient, deleteKeys, newTestPrefix, TEST_REDIS_URL } from '../support/redis';

/** The simulator's routes over real HTTP: when they exist, and that they use the real pipeline. */

/** What production needs, so that only SIMULATOR_ENABLED varies. */
const PRODUCTION: NodeJS.ProcessEnv = {
  NODE_ENV: 'production',
  TWILIO_ACCOUNT_SID: `AC${'0'.repeat(32)}`,
  TWILIO_AUTH_TOKEN: 'token',
  TWILIO_WEBHOOK_URL: 'https://tasjil.example.ma/api/twilio/messages',
  TWILIO_SMS_FROM: 'CNSS',
  STATE_ENCRYPTION_KEY: `k1:${Buffer.alloc(32, 1).toString('base64')}`,
};

describe('SIMULATOR_ENABLED', () => {
  it('is on by default outside production, off in production, and can be set either way', () => {
    expect(loadConfig({}).simulatorEnabled).toBe(true);
    expect(loadConfig({ NODE_ENV: 'test' }).simulatorEnabled).toBe(true);
    expect(loadConfig(PRODUCTION).simulatorEnabled).toBe(false);
    expect(loadConfig({ ...PRODUCTION, SIMULATOR_ENABLED: 'true' }).simulatorEnabled).toBe(true);
    expect(loadConfig({ SIMULATOR_ENABLED: 'false' }).simulatorEnabled).toBe(false);
    expect(loadConfig({ SIMULATOR_ENABLED: '' }).simulatorEnabled).toBe(true);
  });

  it('refuses anything but true or false, naming the variable', () => {
    expect(() => loadConfig({ SIMULATOR_ENABLED: 'yes' })).toThrow(ConfigError);
    expect(() => loadConfig({ SIMULATOR_ENABLED: 'yes' })).toThrow(/SIMULATOR_ENABLED/);
  });
});

describe('GET /simulator where the simulator is off', () => {
  async function start(overrides: Partial<Config>): Promise<{ server: Server; base: string }> {
    const config = { ...loadConfig({ NODE_ENV: 'test' }), ...overrides };
    const server = createServer(createApp(config, createLogger('silent')));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return { server, base: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
  }

  it.each([
    ['in production by default', { isProduction: true, simulatorEnabled: false }],
    ['when SIMULATOR_ENABLED=false', { simulatorEnabled: false }],
  ])('is a 404, page and API alike, %s', async (_case, overrides) => {
    const { server, base } = await start(overrides);
    try {
      for (const path of ['/simulator', '/simulator/page.js', '/simulator/api/setup', '/simulator/api/feed?phone=%2B212612345678&channel=sms']) {
        expect({ path, status: (await fetch(`${base}${path}`)).status }).toEqual({ path, status: 404 });
      }
      const post = await fetch(`${base}/simulator/api/messages`, { method: 'POST', body: `MessageSid=${messageSid()}&From=%2B212612345678&Body=salam` });
      expect(post.status).toBe(404);
    } finally {
      server.close();
    }
  });
});

const postTo = (server: TwilioTestServer, form: Record<string, string>) =>
  fetch(`${server.base}/simulator/api/messages`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(form) });
const feedOf = async (server: TwilioTestServer, phone: string, channel: 'whatsapp' | 'sms', after = 0): Promise<FeedEntry[]> =>
  ((await (await fetch(`${server.base}/simulator/api/feed?${new URLSearchParams({ phone, channel, after: String(after) })}`)).json()) as { entries: FeedEntry[] }).entries;

describe('the simulator through the Twilio pipeline', () => {
  const fake = new FakeTwilio();
  let server: TwilioTestServer;
  beforeAll(async () => {
    warmUpDateRecognizer();
    await fake.start();
    // Twilio fully configured, buttons included: nothing of a simulated conversation may reach it.
    server = await startTwilioServer({ fake, env: { TWILIO_QUICK_REPLY_2_SID: `HX${'2'.repeat(32)}`, TWILIO_QUICK_REPLY_3_SID: `HX${'3'.repeat(32)}` } });
  }, 30000);
  afterAll(async () => {
    await server.close();
    await fake.stop();
  });

  const post = (form: Record<string, string>) => postTo(server, form);
  const feed = (phone: string, channel: 'whatsapp' | 'sms', after = 0) => feedOf(server, phone, channel, after);

  it('serves the page with a strict content security policy', async () => {
    const page = await fetch(`${server.base}/simulator`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toContain('text/html');
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(await page.text()).toContain('/simulator/page.js');
  });

  it('answers a WhatsApp message with buttons kept in the feed, never sent to Twilio, whatever To the page posts', async () => {
    const phone = '+212677000001';
    const res = await post({ MessageSid: messageSid(), From: `whatsapp:${phone}`, To: 'whatsapp:+14155238886', Body: 'السلام عليكم' });
    expect(res.status).toBe(200);
    const entries = await feed(phone, 'whatsapp');
    expect(entries.map((e) => e.pane)).toEqual(['whatsapp', 'whatsapp']);
    expect(entries[0]!.body).toContain('أنا تسجيل');
    expect(entries[1]).toMatchObject({ body: 'ما هي وثيقة التعريف التي عندك؟ أجب برقم الاختيار:', buttons: ['البطاقة الوطنية', 'بطاقة الإقامة'] });
    expect(fake.requestsTo('Messages.json')).toEqual([]);

    // A tap comes back as the button's payload, as from WhatsApp.
    await post({ MessageSid: messageSid(), From: `whatsapp:${phone}`, Body: 'بطاقة الإقامة', ButtonText: 'بطاقة الإقامة', ButtonPayload: '2' });
    const next = await feed(phone, 'whatsapp', entries[1]!.seq);
    expect(next.map((e) => e.body)).toEqual([expect.stringContaining('اكتب رقم بطاقة الإقامة')]);
  });

  it('dedupes on MessageSid like the webhook: a message posted twice is answered once', async () => {
    const phone = '+212677000002';
    const form = { MessageSid: messageSid(), From: phone, Body: 'Bonjour' };
    await post(form);
    await post(form);
    const entries = await feed(phone, 'sms');
    expect(entries).toHaveLength(1);
    expect(entries[0]!.sms).toMatchObject({ encoding: 'GSM-7' });
  });

  it('refuses what Twilio would never post: a sender that is not a number, a malformed message', async () => {
    expect((await post({ MessageSid: messageSid(), From: 'whatsapp:somebody', Body: 'x' })).status).toBe(400);
    const malformed = await post({ MessageSid: 'not-a-sid', From: '+212677000003', Body: 'x' });
    expect(malformed.status).toBe(400);
    expect(await malformed.json()).toEqual({ error: 'malformed' });
  });

  it('reset erases the conversation: the next message starts a new one', async () => {
    const phone = '+212677000004';
    await post({ MessageSid: messageSid(), From: phone, Body: 'Bonjour' });
    await post({ MessageSid: messageSid(), From: phone, Body: '1' });
    const reset = await fetch(`${server.base}/simulator/api/reset`, { method: 'POST', body: new URLSearchParams({ phone }) });
    expect(reset.status).toBe(200);
    const { lastSeq } = (await reset.json()) as { lastSeq: number };
    expect(await feed(phone, 'sms')).toEqual([]);
    await post({ MessageSid: messageSid(), From: phone, Body: 'Bonjour' });
    const [welcome] = await feed(phone, 'sms', lastSeq);
    expect(welcome!.body).toContain('Tasjil');
    expect(welcome!.body).not.toContain('Nouvelle vérification');
  });

  it('"new user" gives an unused Moroccan mobile number', async () => {
    const { phone } = (await (await fetch(`${server.base}/simulator/api/new-number`)).json()) as { phone: string };
    expect(phone).toMatch(/^\+2126\d{8}$/);
    expect(await feed(phone, 'whatsapp')).toEqual([]);
  });
});

describe('a simulated outcome B on a deployment with Twilio and Verify configured', () => {
  it('texts the code and the password to the page\'s inbox, never through Twilio, and counts in no real metric', async () => {
    const fake = new FakeTwilio();
    await fake.start();
    const server = await startTwilioServer({ fake, env: { TWILIO_VERIFY_SERVICE_SID: `VA${'1'.repeat(32)}` } });
    try {
      // "New user" gave a made-up number: it may be a real person's, who must get nothing.
      const phone = '+212677000009';
      for (const Body of ['Bonjour', '1', 'BE654321', '15/11/2030', '02/07/1990', '1', '2', 'passer', 'oui']) {
        expect((await postTo(server, { MessageSid: messageSid(), From: phone, Body })).status).toBe(200);
      }
      const code = /\b(\d{6})\b/.exec((await eventually(() => server.app.simulator!.since(phone, 'sms', 0).find((e) => e.pane === 'inbox')))!.body)![1]!;
      await postTo(server, { MessageSid: messageSid(), From: phone, Body: code });
      const inbox = server.app.simulator!.since(phone, 'sms', 0).filter((e) => e.pane === 'inbox');
      expect(inbox.map((e) => e.body)).toEqual([expect.stringContaining(code), expect.stringContaining('mot de passe Ma CNSS est')]);
      expect(server.app.simulator!.since(phone, 'sms', 0).map((e) => e.body).join('\n')).toContain('Votre compte Ma CNSS est créé');
      expect(fake.requests).toEqual([]);

      const samples = parseMetrics(await server.app.metrics.render());
      const counted = (name: string) => samples.filter((x) => x.name === name).reduce((sum, x) => sum + x.value, 0);
      expect(byLabel(samples, 'tasjil_turns_total', 'channel')).toMatchObject({ simulator: 10, sms: 0, whatsapp: 0 });
      for (const name of ['tasjil_funnel_step_reached_total', 'tasjil_funnel_outcome_total', 'tasjil_otp_sends_total', 'tasjil_otp_checks_total', 'tasjil_sms_sent_total', 'tasjil_sms_segments_total', 'tasjil_registry_request_duration_seconds_count']) {
        expect([name, counted(name)]).toEqual([name, 0]);
      }
    } finally {
      await server.close();
      await fake.stop();
    }
  });
});

describe('a simulated forgotten password', () => {
  it('shows the code and the new password, sent to the account\'s phone, in the inbox of the page that asked, marked with that number', async () => {
    const server = await startTwilioServer({});
    try {
      const phone = '+212677000010';
      const otherPage = '+212677000011';
      expect((await postTo(server, { MessageSid: messageSid(), From: otherPage, Body: 'Bonjour' })).status).toBe(200);
      for (const Body of ['Bonjour', '1', 'AB123456', '30/06/2031', '14/03/1985', '1', '1', 'passer', 'oui', 'oui']) {
        expect((await postTo(server, { MessageSid: messageSid(), From: phone, Body })).status).toBe(200);
      }
      const codeSms = await eventually(() => server.app.simulator!.since(phone, 'sms', 0).find((e) => e.pane === 'inbox'));
      // The registry's phone for the account (the sample person's 06xx xx xx 32), not the page's 06xx xx xx 10.
      expect(codeSms).toMatchObject({ sentTo: '06xx xx xx 32' });
      const code = /\b(\d{6})\b/.exec(codeSms!.body)![1]!;
      await postTo(server, { MessageSid: messageSid(), From: phone, Body: code });
      const inbox = (await feedOf(server, phone, 'sms')).filter((e) => e.pane === 'inbox');
      expect(inbox.map((e) => [e.sentTo, e.body])).toEqual([
        ['06xx xx xx 32', expect.stringContaining(code)],
        ['06xx xx xx 32', expect.stringContaining('nouveau mot de passe Ma CNSS est')],
      ]);
      // Another page open meanwhile (another simulated phone) sees none of it.
      expect((await feedOf(server, otherPage, 'sms')).filter((e) => e.pane === 'inbox')).toEqual([]);
    } finally {
      await server.close();
    }
  });
});

describe('a simulated turn over the reply budget', () => {
  it('shows "checking…" at once, then the late reply, which reaches neither Twilio nor the dev outbox', async () => {
    const clock = new ManualClock();
    const inner = sampleRegistry(clock);
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    // A registry slower than the budget, without sleeping: its look-up waits for `release`.
    const registry: Registry = {
      lookUp: async (q) => {
        await held;
        return inner.lookUp(q);
      },
      activateAccount: (r) => inner.activateAccount(r),
      lookUpAccountPhone: (q) => inner.lookUpAccountPhone(q),
      resetPassword: (r, o) => inner.resetPassword(r, o),
      isReady: () => inner.isReady(),
    };
    const server = await startTwilioServer({ clock, registry, env: { TWILIO_REPLY_BUDGET_MS: '500' } });
    try {
      const phone = '+212677000005';
      for (const Body of ['Bonjour', '1', 'AB123456', '30/06/2031', '14/03/1985', '1', '1', 'passer']) await postTo(server, { MessageSid: messageSid(), From: `whatsapp:${phone}`, Body });
      const before = (await feedOf(server, phone, 'whatsapp')).at(-1)!.seq;
      await postTo(server, { MessageSid: messageSid(), From: `whatsapp:${phone}`, Body: 'oui' });
      expect((await feedOf(server, phone, 'whatsapp', before)).map((e) => e.body)).toEqual(['Je vérifie, un instant… La réponse arrive dans un message.']);
      release();
      const late = await eventually(() => server.app.simulator!.since(phone, 'whatsapp', before).length === 2 && server.app.simulator!.since(phone, 'whatsapp', before));
      expect(late[1]!.body).toContain('111222333');
      expect(server.app.outbox.list()).toEqual([]);
    } finally {
      await server.close();
    }
  });
});

describe('a simulated follow-up, on Redis, with Twilio and a WhatsApp template configured', () => {
  it('shows its notice in the page\'s WhatsApp pane days later, never through Twilio, and counts in no follow-up metric', async () => {
    const clock = new ManualClock();
    const fake = new FakeTwilio({ clock });
    await fake.start();
    const registry = new RegistryThatRegisters(sampleRegistry(clock));
    const prefix = newTestPrefix();
    const server = await startTwilioServer({
      clock,
      fake,
      registry,
      env: { REDIS_URL: TEST_REDIS_URL, REDIS_KEY_PREFIX: prefix, TWILIO_NOTIFICATION_TEMPLATE_SID: `HX${'4'.repeat(32)}` },
    });
    server.app.followUps.startChecks();
    try {
      // "New user" gave a made-up number: days later, its owner must not get the notice.
      const phone = '+212677000012';
      for (const Body of ['Bonjour', '1', 'ZZ999999', '15/11/2030', '02/07/1990', '1', '2', 'passer', 'oui', 'taxi', 'Casa']) {
        expect((await postTo(server, { MessageSid: messageSid(), From: `whatsapp:${phone}`, Body })).status).toBe(200);
      }
      await postTo(server, { MessageSid: messageSid(), From: `whatsapp:${phone}`, Body: 'oui' });
      expect((await feedOf(server, phone, 'whatsapp')).at(-1)!.body).toContain("C'est noté");
      const before = server.app.simulator!.lastSeq();

      registry.register('ZZ999999');
      clock.advance(27 * 60 * 60 * 1000); // past the 24-hour window: a real worker would get the template
      await server.app.followUps.runDue();
      expect((await feedOf(server, phone, 'whatsapp', before)).map((e) => e.body)).toEqual([t('fr', 'followUp.notice')]);
      expect(fake.requests).toEqual([]);

      const samples = parseMetrics(await server.app.metrics.render());
      const counted = (name: string) => samples.filter((x) => x.name === name).reduce((sum, x) => sum + x.value, 0);
      for (const name of ['tasjil_follow_ups_total', 'tasjil_follow_up_checks_total', 'tasjil_registry_request_duration_seconds_count']) {
        expect([name, counted(name)]).toEqual([name, 0]);
      }
    } finally {
      await server.close();
      await fake.stop();
      const redis = await connectTestClient();
      await deleteKeys(redis, prefix);
      await closeTestClient(redis);
    }
  });
});
