import { numberedList } from '../../dialogs/say';
import { SMS_BODY_MAX, countSmsSegments, isGsm7 } from '../../src/channels/sms/encoding';
import { SmsRenderer, smsText } from '../../src/channels/render/smsRenderer';
import { t } from '../../src/i18n';

const renderer = new SmsRenderer();

describe('SmsRenderer', () => {
  it('sends French in GSM-7: typographic quotes, ç and circumflexes replaced', () => {
    const [sms] = renderer.render([{ text: 'Écrivez « renvoyer » : c’est ça, ça prendra une fenêtre…', choices: [] }], 'fr');
    expect(sms).toEqual({ body: 'Écrivez "renvoyer" : c\'est ca, ca prendra une fenetre...' });
    expect(isGsm7(sms!.body)).toBe(true);
  });

  it('sends every French message of the catalogue in GSM-7', () => {
    for (const key of ['prompts.otp.ask', 'errors.otp.format', 'otp.locked', 'outcomes.B.intro', 'common.wayOut']) {
      const [sms] = renderer.render([{ text: t('fr', key, { length: 6, phone: '06xx xx xx 78' }), choices: [] }], 'fr');
      expect({ key, encoding: countSmsSegments(sms!.body).encoding }).toEqual({ key, encoding: 'GSM-7' });
    }
  });

  it('keeps Arabic as is (UCS-2 either way)', () => {
    const text = t('ar', 'prompts.email.ask');
    expect(renderer.render([{ text, choices: [] }], 'ar')).toEqual([{ body: text }]);
  });

  it('keeps a French message that quotes Arabic words whole rather than dropping them', () => {
    const text = 'Pour l’arabe, écrivez : العربية';
    expect(smsText(text, 'fr')).toBe(text);
  });

  it('joins the messages of one turn into one SMS: each SMS is billed and order is not guaranteed', () => {
    const messages = [
      { text: 'Je n’ai pas compris.', choices: [] },
      { text: numberedList(['Maroc Telecom', 'Orange', 'inwi']), choices: ['Maroc Telecom', 'Orange', 'inwi'] },
    ];
    expect(renderer.render(messages, 'fr')).toEqual([{ body: "Je n'ai pas compris.\n1. Maroc Telecom\n2. Orange\n3. inwi" }]);
  });

  it('ignores choices: the numbered lines in the text are the choices on SMS', () => {
    const [sms] = renderer.render([{ text: 'Oui ou non ?\n1. Oui\n2. Non', choices: ['Oui', 'Non'] }], 'fr');
    expect(sms).toEqual({ body: 'Oui ou non ?\n1. Oui\n2. Non' });
  });

  it('sends nothing for a turn without text', () => {
    expect(renderer.render([], 'fr')).toEqual([]);
    expect(renderer.render([{ text: ' ', choices: [] }], 'ar')).toEqual([]);
  });

  it('splits a turn over 1,600 characters between whole messages, each body within the limit', () => {
    const message = (n: number) => ({ text: `Message ${n} : ${'x'.repeat(590)}`, choices: [] });
    const bodies = renderer.render([message(1), message(2), message(3)], 'fr').map((m) => m.body);
    expect(bodies).toHaveLength(2);
    expect(bodies[0]!.startsWith('Message 1')).toBe(true);
    expect(bodies[0]).toContain('Message 2');
    expect(bodies[1]!.startsWith('Message 3')).toBe(true);
    for (const body of bodies) expect(body.length).toBeLessThanOrEqual(SMS_BODY_MAX);
  });

  it('splits one message over 1,600 characters at line ends', () => {
    const lines = Array.from({ length: 60 }, (_, i) => `• Agence CNSS numéro ${i + 1}, boulevard Mohammed V`);
    const bodies = renderer.render([{ text: lines.join('\n'), choices: [] }], 'fr').map((m) => m.body);
    expect(bodies.length).toBeGreaterThan(1);
    for (const body of bodies) {
      expect(body.length).toBeLessThanOrEqual(SMS_BODY_MAX);
      expect(body.split('\n').every((line) => /^- Agence CNSS numéro \d+, boulevard Mohammed V$/.test(line))).toBe(true);
    }
    expect(bodies.join('\n').split('\n')).toHaveLength(60);
  });
});
