import { countSmsSegments, isGsm7, SMS_BODY_MAX } from '../../src/channels/sms/encoding';
import { warmUpDateRecognizer } from '../../src/nlu/dates';
import { startTwilioServer, type Sender, type TwilioReply, type TwilioTestServer } from '../support/twilioServer';

/**
 * Whole conversations over POST /api/twilio/messages, as Twilio posts them (signed forms), read
 * back from the TwiML answer. Each step: what the user types, parts of the answer in order, and
 * what the answer must not contain.
 */

interface Step {
  say: string;
  expect?: string[];
  not?: string[];
  /** How many <Message> the answer holds, when it matters. */
  messages?: number;
}

/** Plays the steps; returns every answer, for checks across the whole conversation. */
async function play(sender: Sender, steps: Step[]): Promise<TwilioReply[]> {
  const replies: TwilioReply[] = [];
  for (const step of steps) {
    const reply = await sender.say(step.say);
    const where = `after "${step.say}": ${JSON.stringify(reply.messages)}`;
    expect({ where, status: reply.status }).toEqual({ where, status: 200 });
    let cursor = 0;
    for (const part of step.expect ?? []) {
      const at = reply.text.indexOf(part, cursor);
      if (at < 0) throw new Error(`expected "${part}" ${where}`);
      cursor = at + part.length;
    }
    for (const part of step.not ?? []) if (reply.text.includes(part)) throw new Error(`did not expect "${part}" ${where}`);
    if (step.messages !== undefined) expect({ where, count: reply.messages.length }).toEqual({ where, count: step.messages });
    replies.push(reply);
  }
  return replies;
}

let server: TwilioTestServer;
beforeAll(async () => {
  warmUpDateRecognizer();
  server = await startTwilioServer();
}, 30000);
afterAll(() => server.close());

describe('WhatsApp, in French, to outcome A', () => {
  it('greets by the profile’s first name, offers the sender’s own number, and gives the registration number', async () => {
    const user = server.whatsapp('+212612345678', { profileName: 'Fatima Zahra Alaoui' });
    const replies = await play(user, [
      // The welcome and the first question travel as one message: WhatsApp does not keep the order of several.
      { say: 'Bonjour', expect: ['Bonjour Fatima, je suis Tasjil', "Quelle pièce d'identité avez-vous ?", '1. CNIE', '2. Carte de séjour'], messages: 1 },
      { say: '1', expect: ['Écrivez le numéro de votre CNIE'], not: ['Fatima'] },
      { say: 'AB123456', expect: ["Date d'expiration de la pièce ?"] },
      { say: '30/06/2031', expect: ['Votre date de naissance ?'] },
      { say: '14/03/1985', expect: ['Recevoir les SMS sur ce numéro : 06 12 34 56 78 ?', 'Répondez 1 (oui) ou écrivez un autre numéro de mobile'] },
      { say: '1', expect: ['Votre opérateur', '1. Maroc Telecom'] },
      { say: '1', expect: ['Votre e-mail (facultatif)'] },
      {
        say: 'passer',
        expect: ['Vérifiez vos réponses', '1. Pièce : CNIE', '2. Numéro : AB123456', '5. Mobile : 06 12 34 56 78', '6. Opérateur : Maroc Telecom', '7. E-mail : aucun'],
      },
      { say: 'oui', expect: ['déjà un compte Ma CNSS', "Votre numéro d'immatriculation : 111222333", 'www.macnss.ma', 'Mot de passe oublié ?'] },
      { say: 'non', expect: ['Vos réponses ont été effacées'] },
      { say: 'bonjour', expect: ['Nouvelle vérification', "Quelle pièce d'identité avez-vous ?"], not: ['111222333', 'Fatima'] },
    ]);
    // WhatsApp's own formatting passes through; our copy carries no markup that would show as symbols.
    for (const reply of replies) for (const body of reply.messages) expect(body.length).toBeLessThanOrEqual(1600);
    // Outcome A sends no SMS.
    expect(server.app.outbox.list().filter((m) => m.to === user.phone)).toEqual([]);
  });

  it('a profile name that is not a name is not used to greet', async () => {
    const reply = await server.whatsapp('+212612345670', { profileName: '🙂 *' }).say('Bonjour');
    expect(reply.text).not.toMatch(/^Bonjour [^,]+,/);
    expect(reply.text).toContain('je suis Tasjil');
  });
});

describe('SMS, in Arabic, to outcome C', () => {
  it('pages the categories 4 at a time, lists the documents, then the offices of the city', async () => {
    const user = server.sms('+212712345678');
    const replies = await play(user, [
      // SMS gets the compact wording.
      { say: 'السلام عليكم', expect: ['سلام، أنا تسجيل', 'ما هي وثيقة التعريف التي عندك؟', '1. البطاقة الوطنية', '2. بطاقة الإقامة'] },
      { say: '1', expect: ['اكتب رقم البطاقة الوطنية'] },
      { say: 'ZZ999999', expect: ['تاريخ انتهاء صلاحية الوثيقة؟'] },
      { say: '15/08/2030', expect: ['تاريخ ازديادك؟'] },
      // On SMS too the sender's own number is offered, its groups kept left to right (U+2066 … U+2069).
      { say: '15/03/1985', expect: ['هل نرسل الرسائل القصيرة إلى هذا الرقم: \u206607 12 34 56 78\u2069؟'] },
      { say: '1', expect: ['ما هو مشغل هاتفك؟'] },
      { say: '3', expect: ['بريدك الإلكتروني'] },
      { say: 'دوز', expect: ['تحقق من أجوبتك', '2. الرقم : ZZ999999', '5. الهاتف : \u206607 12 34 56 78\u2069'] },
      {
        say: 'نعم',
        expect: ['اسمك ليس في لائحة', 'ما هو نشاطك؟ أجب بالرقم:', '1. المساهمة المهنية الموحدة', '4. ', '0. المزيد'],
        not: ['5. ', '8. البحارة الصيادون'],
      },
      { say: '0', expect: ['5. سائقو سيارات الأجرة', '8. البحارة الصيادون', '0. المزيد'], not: ['4. ', '9. '] },
      { say: '0', expect: ['9. الأطباء', '11. الصيادلة', '12. '], not: ['8. ', '13. '] },
      { say: '11', expect: ['بالنسبة لـ «الصيادلة»، أحضر:', 'طلب التسجيل (المطبوع رقم 328-1-01)', 'شهادة التسجيل في هيئة الصيادلة', 'في أي مدينة أنت؟'] },
      {
        say: 'الدار البيضاء',
        expect: ['قرب الدار البيضاء:', 'المقر الرئيسي للصندوق الوطني للضمان الاجتماعي', 'شارع محمد الخامس، الدار البيضاء', '3939', 'نخبرك هنا عندما يصبح رقمك جاهزا؟'],
        not: ['ZZ999999', 'مبرمجة'],
      },
      { say: 'لا', expect: ['بدون متابعة', 'انتهينا. مسحنا أجوبتك.'] },
    ]);
    // Each turn is one SMS body at most 1,600 characters (Twilio's limit), the list pages kept short.
    for (const reply of replies) for (const body of reply.messages) expect(body.length).toBeLessThanOrEqual(SMS_BODY_MAX);
    const categoryPages = replies.slice(8, 11).map((r) => r.text);
    for (const page of categoryPages) expect(countSmsSegments(page).segments).toBeLessThanOrEqual(4);
    expect(server.app.outbox.list().filter((m) => m.to === user.phone)).toEqual([]);
  });
});

describe('SMS, in French, to outcome D', () => {
  it('keeps every French SMS in GSM-7 (no ’ « » — ç … that would bill it as UCS-2)', async () => {
    const user = server.sms('+212661234567');
    const replies = await play(user, [
      { say: 'Bonjour', expect: ['je suis Tasjil', "Quelle pièce d'identité", '1. CNIE'] },
      { say: '1', expect: ['CNIE'] },
      { say: 'EF445566', expect: ["Date d'expiration"] },
      { say: '01/09/2029', expect: ['date de naissance'] },
      { say: '20/05/1965', expect: ['06 61 23 45 67'] },
      { say: '1', expect: ['opérateur'] },
      { say: '2', expect: ['e-mail'] },
      { say: 'passer', expect: ['Vérifiez vos réponses', '6. Opérateur : Orange', 'Répondez "oui"'] },
      { say: 'oui', expect: ["Vous n'etes pas concerné(e)", 'Raison : ', 'CNOPS', "C'est terminé"] },
    ]);
    for (const reply of replies) {
      for (const body of reply.messages) {
        expect({ body, gsm7: isGsm7(body) }).toEqual({ body, gsm7: true });
      }
    }
  });
});
