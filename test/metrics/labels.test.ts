import type { AddressInfo } from 'node:net';
import { createApp } from '../../src/app';
import { ManualClock } from '../../src/clock';
import { loadConfig } from '../../src/config';
import { createLogger } from '../../src/log';
import { Metrics } from '../../src/metrics/metrics';
import { EXPIRY_GRACE_MS, OpenConversations } from '../../src/metrics/openConversations';
import { createServer } from '../../src/server';
import { parseMetrics, personalDataIn, personalLabels, valueOf } from '../support/metricsText';

function metrics(): Metrics {
  return new Metrics({ clock: new ManualClock(), conversationTtlSeconds: 60, conversationAlive: async () => false, onSweepError: () => undefined });
}

describe('the personal-data check on label values', () => {
  it.each([
    '+212612345678',
    'whatsapp:+212612345678',
    '0612345678',
    '06 12 34 56 78',
    'AB123456',
    'K45678',
    'E1234567',
    '222333444',
    '123456',
    '14/03/1985',
    '1985-03-14',
    'nom@gmail.com',
    'SMd41d8cd98f00b204e9800998ecf8427e',
  ])('catches %s', (value) => {
    expect(personalDataIn(value)).toBeDefined();
  });

  it.each(['birthDate', 'registry_unavailable', 'GSM-7', 'UCS-2', 'whatsapp', 'no-signature', 'A', '0.025', '+Inf', 'v20.20.2', 'v22.12.0', '20', 'major'])(
    'lets %s through',
    (value) => {
      expect(personalDataIn(value)).toBeUndefined();
    },
  );

  it('fails on an exposition that carries one', () => {
    const samples = parseMetrics('# HELP x y\nx_total{step="birthDate"} 1\nx_total{phone="+212612345678",step="summary"} 2\n');
    expect(personalLabels(samples)).toEqual(['x_total{phone="+212612345678"}: a phone number (+country code)']);
  });
});

describe('the metrics seam', () => {
  it('turns a label value outside its closed set into "other": a free string never becomes a label', async () => {
    const m = metrics();
    m.funnel.reprompted('AB123456' as never);
    m.funnel.turn('whatsapp:+212612345678', 'fr');
    m.webhookRejected('twilio_messages', 'The number +212612345678 is not valid' as never);
    const text = await m.render();
    expect(text).not.toMatch(/AB123456|212612345678/);
    const samples = parseMetrics(text);
    expect(valueOf(samples, 'tasjil_reprompts_total', { step: 'other' })).toBe(1);
    expect(valueOf(samples, 'tasjil_turns_total', { channel: 'other', locale: 'fr' })).toBe(1);
    expect(valueOf(samples, 'tasjil_webhook_rejections_total', { route: 'twilio_messages', reason: 'other' })).toBe(1);
    expect(personalLabels(samples)).toEqual([]);
  });

  it('keeps each app on its own registry', async () => {
    const [one, two] = [metrics(), metrics()];
    one.otpSend('sent');
    expect(valueOf(parseMetrics(await two.render()), 'tasjil_otp_sends_total', { result: 'sent' })).toBe(0);
    expect(valueOf(parseMetrics(await one.render()), 'tasjil_otp_sends_total', { result: 'sent' })).toBe(1);
  });

  it('does not count as abandoned a conversation whose state another instance kept alive', async () => {
    const clock = new ManualClock();
    const abandoned: boolean[] = [];
    let alive = true;
    const open = new OpenConversations({ clock, ttlSeconds: 60, alive: async () => alive, onAbandoned: (down) => abandoned.push(down), onSweepError: () => undefined });
    open.touch('whatsapp:+212600000001', { open: true, registryDown: false });
    open.touch('whatsapp:+212600000002', { open: true, registryDown: true });
    clock.advance(60_000);
    await open.sweep();
    expect(abandoned).toEqual([]); // not due yet: the grace has not passed
    clock.advance(EXPIRY_GRACE_MS);
    await open.sweep();
    expect([abandoned, open.size()]).toEqual([[], 0]); // alive elsewhere: dropped, not counted
    alive = false;
    open.touch('whatsapp:+212600000002', { open: true, registryDown: true });
    clock.advance(60_000 + EXPIRY_GRACE_MS);
    await open.sweep();
    await open.sweep();
    expect(abandoned).toEqual([true]);
  });
});

describe('METRICS_TOKEN', () => {
  it('makes GET /metrics ask for the bearer token', async () => {
    const config = loadConfig({ NODE_ENV: 'production', TWILIO_ACCOUNT_SID: `AC${'0'.repeat(32)}`, TWILIO_AUTH_TOKEN: 't', TWILIO_WEBHOOK_URL: 'https://x.example/api/twilio/messages', TWILIO_SMS_FROM: 'CNSS', STATE_ENCRYPTION_KEY: `k1:${Buffer.alloc(32, 7).toString('base64')}`, METRICS_TOKEN: 'scrape-token-0123456789' });
    const server = createServer(createApp(config, createLogger('silent')));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/metrics`;
    try {
      expect((await fetch(url)).status).toBe(401);
      expect((await fetch(url, { headers: { authorization: 'Bearer scrape-token-0123456780' } })).status).toBe(401);
      const ok = await fetch(url, { headers: { authorization: 'Bearer scrape-token-0123456789' } });
      expect(ok.status).toBe(200);
      expect(await ok.text()).toContain('tasjil_funnel_outcome_total');
    } finally {
      server.close();
    }
  });
});
