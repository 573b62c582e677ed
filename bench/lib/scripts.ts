import { DONE, QUESTIONS } from '../baseline/userProfileDialog';
import type { Identity, Step } from './load';

/**
 * What the virtual users type and what each answer must hold: the French transcripts
 * test/conversations/fr/01-outcome-a-registered-with-account.txt and
 * 05b-outcome-c-category-by-name-city-dar-lbida.txt, with the people of data/sample-people.csv:
 * outcome A is CNIE AB123456 (expires 30/06/2031, born 14/03/1985, has a Ma CNSS account);
 * outcome C is any unknown number (ZZ + 6 digits), then the category "taxi" and the city "Casa".
 */

const Q = {
  idType: "Quelle pièce d'identité avez-vous ?",
  number: 'Écrivez le numéro de votre CNIE',
  expiry: "Date d'expiration de la pièce ?",
  birth: 'Votre date de naissance ?',
  /** WhatsApp: the sender's own number is offered. */
  ownNumber: 'Recevoir les SMS sur ce numéro',
  /** Bot Framework: no number known, it is asked. */
  mobile: 'Votre numéro de mobile',
  operator: 'Votre opérateur',
  email: 'Votre e-mail (facultatif)',
  summary: 'Vérifiez vos réponses',
  registrationNumber: "Votre numéro d'immatriculation : 111222333",
  /** Outcome A offers a new password (docs/forgotten-password.md); the virtual user declines. */
  passwordOffer: 'Mot de passe oublié ?',
  notListed: "Vous n'êtes pas sur la liste",
  activity: 'Quelle est votre activité ?',
  taxi: 'Chauffeurs de taxi',
  city: 'Dans quelle ville êtes-vous ?',
  casablanca: 'Casablanca',
  /** Outcome C on WhatsApp offers a follow-up (docs/follow-up.md); the virtual user declines. */
  followUpOffer: 'Voulez-vous que Tasjil vous prévienne',
  done: "C'est terminé",
};

export type Outcome = 'A' | 'C';
export type Channel = 'whatsapp' | 'botframework';

/** `+212612345678` → `06 12 34 56 78`, as the summary shows it. */
export function nationalFormat(phone: string): string {
  const national = `0${phone.replace(/^\+212/, '')}`;
  return national.replace(/(\d{2})(?=\d)/g, '$1 ');
}

const TYPED_MOBILE = '06 12 34 56 78';

/**
 * One registration, to its end, or only up to the summary (`untilSummary`: a conversation left
 * mid-way, its state still held). `unknownNumber` is the card number of an outcome C.
 */
export function registration(channel: Channel, outcome: Outcome, identity: Identity, unknownNumber: string, untilSummary = false): Step[] {
  const person =
    outcome === 'A'
      ? { number: 'AB123456', expiry: '30/06/2031', birth: '14/03/1985', operator: '1' }
      : { number: unknownNumber, expiry: '15/11/2030', birth: '02/07/1990', operator: '2' };
  const whatsapp = channel === 'whatsapp';
  const steps: Step[] = [
    { say: 'Bonjour', expect: [Q.idType] },
    { say: '1', expect: [Q.number] },
    { say: person.number, expect: [Q.expiry] },
    { say: person.expiry, expect: [Q.birth] },
    { say: person.birth, expect: [whatsapp ? Q.ownNumber : Q.mobile] },
    { say: whatsapp ? '1' : TYPED_MOBILE, expect: [Q.operator] },
    { say: person.operator, expect: [Q.email] },
    // The summary names this user's card and number: an answer meant for another user is a lost turn.
    { say: 'passer', expect: [Q.summary, `2. Numéro : ${person.number}`, `5. Mobile : ${whatsapp ? nationalFormat(identity.phone) : TYPED_MOBILE}`] },
  ];
  if (untilSummary) return steps;
  if (outcome === 'A') {
    steps.push({ say: 'oui', expect: [Q.registrationNumber, Q.passwordOffer] }, { say: 'non', expect: [Q.done] });
  } else {
    steps.push(
      { say: 'oui', expect: [Q.notListed, Q.activity] },
      { say: 'taxi', expect: [Q.taxi, Q.city] },
      ...(whatsapp
        ? [{ say: 'Casa', expect: [Q.casablanca, Q.followUpOffer] }, { say: 'non', expect: [Q.done] }]
        : [{ say: 'Casa', expect: [Q.casablanca, Q.done] }]),
    );
  }
  return steps;
}

/** The baseline bot's waterfall (bench/baseline/userProfileDialog.ts), to its end. */
export function baselineConversation(): Step[] {
  return [
    { say: 'hi', expect: [QUESTIONS[0]] },
    { say: 'Amina', expect: [QUESTIONS[1]] },
    { say: 'Casablanca', expect: [QUESTIONS[2]] },
    { say: 'taxi', expect: [QUESTIONS[3]] },
    { say: '0612345678', expect: ['Amina, taxi in Casablanca, 0612345678', QUESTIONS[4]] },
    { say: 'yes', expect: [DONE] },
  ];
}
