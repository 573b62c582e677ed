import { numberedList } from '../../dialogs/say';
import {
  CONTENT_VARIABLE_MAX,
  WHATSAPP_BUTTON_LABEL_MAX,
  WHATSAPP_LIST_MAX_ITEMS,
  WHATSAPP_MAX_BUTTONS,
  WHATSAPP_MESSAGE_MAX,
  WHATSAPP_QUICK_REPLY_BODY_MAX,
} from '../../src/channels/render/constants';
import { WhatsAppRenderer, fitsWhatsAppButtons, splitForLimit } from '../../src/channels/render/whatsappRenderer';
import type { OutgoingMessage } from '../../src/channels/render/types';

const TEMPLATES = { quickReply2: 'HX00000000000000000000000000000002', quickReply3: 'HX00000000000000000000000000000003' };

/** A question with its choices, as the dialogs send it: the numbered lines under the question. */
function question(text: string, choices: string[]): OutgoingMessage {
  return { text: `${text}\n${numberedList(choices)}`, choices };
}

describe('WhatsApp limits (Twilio Content API, error 21617)', () => {
  it('are 3 buttons of 20 characters, 10 list items, 1,600 characters a message', () => {
    expect([WHATSAPP_MAX_BUTTONS, WHATSAPP_BUTTON_LABEL_MAX, WHATSAPP_LIST_MAX_ITEMS, WHATSAPP_MESSAGE_MAX]).toEqual([3, 20, 10, 1600]);
    expect([WHATSAPP_QUICK_REPLY_BODY_MAX, CONTENT_VARIABLE_MAX]).toEqual([1024, 256]);
  });
});

describe('fitsWhatsAppButtons', () => {
  it.each([
    ['2 labels', ['Oui', 'Non'], true],
    ['3 labels', ['Maroc Telecom', 'Orange', 'inwi'], true],
    ['4 labels', ['Un', 'Deux', 'Trois', 'Quatre'], false],
    ['no label', [], false],
    ['a label of 20 characters', ['a'.repeat(20), 'b'], true],
    ['a label of 21 characters', ['a'.repeat(21), 'b'], false],
    ['Arabic labels, counted in characters', ['البطاقة الوطنية', 'بطاقة الإقامة'], true],
    ['the same label twice', ['Oui', 'Oui'], false],
    ['an empty label', ['Oui', ' '], false],
  ])('%s → %s', (_case, labels, expected) => {
    expect(fitsWhatsAppButtons(labels)).toBe(expected);
  });
});

describe('WhatsAppRenderer', () => {
  const operators = question('Votre opérateur téléphonique ? Répondez par le numéro :', ['Maroc Telecom', 'Orange', 'inwi']);

  it('sends 3 short choices as quick-reply buttons, the numbered text as fallback body', () => {
    expect(new WhatsAppRenderer(TEMPLATES).render([operators], 'fr')).toEqual([
      {
        body: operators.text,
        contentSid: TEMPLATES.quickReply3,
        contentVariables: { '1': 'Votre opérateur téléphonique ? Répondez par le numéro :', '2': 'Maroc Telecom', '3': 'Orange', '4': 'inwi' },
      },
    ]);
  });

  it('sends 2 short choices with the 2-button content', () => {
    const idTypes = question('ما هي وثيقة التعريف التي عندك؟ أجب برقم الاختيار:', ['البطاقة الوطنية', 'بطاقة الإقامة']);
    const [rendered] = new WhatsAppRenderer(TEMPLATES).render([idTypes], 'ar');
    expect(rendered).toEqual({
      body: idTypes.text,
      contentSid: TEMPLATES.quickReply2,
      contentVariables: { '1': 'ما هي وثيقة التعريف التي عندك؟ أجب برقم الاختيار:', '2': 'البطاقة الوطنية', '3': 'بطاقة الإقامة' },
    });
  });

  it('sends numbered text without a content SID for that number of buttons', () => {
    expect(new WhatsAppRenderer().render([operators], 'fr')).toEqual([{ body: operators.text }]);
    expect(new WhatsAppRenderer({ quickReply2: TEMPLATES.quickReply2 }).render([operators], 'fr')).toEqual([{ body: operators.text }]);
  });

  it('sends numbered text for 4 choices', () => {
    const four = question('Choisissez :', ['Un', 'Deux', 'Trois', 'Quatre']);
    expect(new WhatsAppRenderer(TEMPLATES).render([four], 'fr')).toEqual([{ body: four.text }]);
  });

  it('sends a 20-character label as a button, and a 21-character one as numbered text', () => {
    const fits = question('Quelle pièce ?', ['a'.repeat(20), 'Carte de séjour']);
    const tooLong = question('Quelle pièce ?', ['a'.repeat(21), 'Carte de séjour']);
    expect(new WhatsAppRenderer(TEMPLATES).render([fits], 'fr')[0]!.contentSid).toBe(TEMPLATES.quickReply2);
    expect(new WhatsAppRenderer(TEMPLATES).render([tooLong], 'fr')).toEqual([{ body: tooLong.text }]);
  });

  it("sends today's French document list as numbered text: « CNIE (carte d'identité) » has 23 characters", () => {
    const idTypes = question('Quelle pièce d’identité avez-vous ? Répondez par le numéro :', ["CNIE (carte d'identité)", 'Carte de séjour (étrangers)']);
    expect(new WhatsAppRenderer(TEMPLATES).render([idTypes], 'fr')).toEqual([{ body: idTypes.text }]);
  });

  it('sends a message without choices as its text, keeping *bold* as typed', () => {
    const text = 'Votre numéro d’immatriculation : *123456789*';
    expect(new WhatsAppRenderer(TEMPLATES).render([{ text, choices: [] }], 'fr')).toEqual([{ body: text }]);
  });

  it('sends the choice lines alone (after an error) as text: a content needs a question', () => {
    const choicesOnly: OutgoingMessage = { text: numberedList(['Oui', 'Non']), choices: ['Oui', 'Non'] };
    expect(new WhatsAppRenderer(TEMPLATES).render([choicesOnly], 'fr')).toEqual([{ body: choicesOnly.text }]);
  });

  it('sends a question longer than a content variable as numbered text', () => {
    const long = question('Q'.repeat(CONTENT_VARIABLE_MAX + 1), ['Oui', 'Non']);
    expect(new WhatsAppRenderer(TEMPLATES).render([long], 'fr')).toEqual([{ body: long.text }]);
  });

  it('keeps the messages of a turn in order, one rendered message each', () => {
    const rendered = new WhatsAppRenderer(TEMPLATES).render([{ text: 'Bonjour.', choices: [] }, operators], 'fr');
    expect(rendered.map((m) => m.body)).toEqual(['Bonjour.', operators.text]);
  });

  it('splits a text over 1,600 characters at line ends, every piece within the limit', () => {
    const lines = Array.from({ length: 40 }, (_, i) => `${i + 1}. Agence CNSS de la ville numéro ${i + 1}, boulevard Mohammed V`);
    const text = lines.join('\n');
    expect(text.length).toBeGreaterThan(WHATSAPP_MESSAGE_MAX);
    const bodies = new WhatsAppRenderer().render([{ text, choices: [] }], 'fr').map((m) => m.body);
    expect(bodies.length).toBeGreaterThan(1);
    for (const body of bodies) expect(body.length).toBeLessThanOrEqual(WHATSAPP_MESSAGE_MAX);
    expect(bodies.join('\n')).toBe(text);
  });
});

describe('splitForLimit', () => {
  it('leaves a text within the limit whole', () => {
    expect(splitForLimit('Bonjour.\nÇa va ?', 1600)).toEqual(['Bonjour.\nÇa va ?']);
  });

  it('cuts between lines first', () => {
    expect(splitForLimit('aaaa\nbbbb\ncccc', 10)).toEqual(['aaaa\nbbbb', 'cccc']);
  });

  it('cuts a line longer than the limit between words, never inside one', () => {
    const words = Array.from({ length: 500 }, (_, i) => `mot${i}`);
    const text = words.join(' ');
    const parts = splitForLimit(text, 1600);
    expect(parts.length).toBeGreaterThan(1);
    for (const part of parts) {
      expect(part.length).toBeLessThanOrEqual(1600);
      expect(part).toMatch(/^mot\d+( mot\d+)*$/);
    }
    expect(parts.join(' ')).toBe(text);
  });

  it('cuts a single word longer than the limit between characters, never inside an emoji', () => {
    const parts = splitForLimit('👍'.repeat(5), 3);
    expect(parts).toEqual(['👍', '👍', '👍', '👍', '👍']);
  });

  it('drops blank lines at the cut', () => {
    expect(splitForLimit('aaaa\n\nbbbb', 5)).toEqual(['aaaa', 'bbbb']);
  });
});
