/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
// The callbacks given to page.evaluate/waitForFunction run in the browser: they need DOM types.
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { warmUpDateRecognizer } from '../../src/nlu/dates';
import { startTwilioServer, type TwilioTestServer } from '../support/twilioServer';

/**
 * The simulator in a real browser: Debian's Chromium driven by playwright-core, against the real
 * server on an ephemeral port. Whole conversations typed and tapped as a tester would, the OTP read
 * from the phone inbox pane. Screenshots go to test-artifacts/simulator/ (git-ignored).
 *
 * Never a downloaded browser: CI installs the Debian package (.ci/run). Without it this fails,
 * it does not skip, so a green run always means the page was really exercised.
 */
const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = join(__dirname, '..', '..', 'test-artifacts', 'simulator');
/** Quick-reply contents, so that WhatsApp questions with 2–3 short choices show buttons. */
const QUICK_REPLY_2 = `HX${'2'.repeat(32)}`;
const QUICK_REPLY_3 = `HX${'3'.repeat(32)}`;

let server: TwilioTestServer;
let browser: Browser;

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} is missing: install Debian's chromium (apt-get install -y chromium), as .ci/run does. Never let playwright download a browser.`);
  }
  mkdirSync(ARTIFACTS, { recursive: true });
  warmUpDateRecognizer();
  // Signed webhooks are required here: the simulator's trusted entry works without a signature all the same.
  server = await startTwilioServer({ env: { TWILIO_QUICK_REPLY_2_SID: QUICK_REPLY_2, TWILIO_QUICK_REPLY_3_SID: QUICK_REPLY_3 } });
  browser = await chromium.launch({ executablePath: CHROMIUM });
}, 30000);

afterAll(async () => {
  await browser?.close();
  await server?.close();
});

/** A fresh page on the simulator, phone-sized unless told otherwise. */
async function openSimulator(width = 375): Promise<Page> {
  const page = await browser.newPage({ viewport: { width, height: 860 }, locale: 'fr-FR' });
  page.setDefaultTimeout(8000);
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(error.message));
  page.on('console', (message) => message.type() === 'error' && errors.push(message.text()));
  await page.goto(`${server.base}/simulator`);
  await page.getByRole('button', { name: /Nouvel utilisateur|مستخدم جديد/ }).click();
  await page.waitForFunction(() => /^\+2126\d{8}$/.test((document.getElementById('phone') as HTMLInputElement).value));
  (page as Page & { errors?: string[] }).errors = errors;
  return page;
}

const botMessages = (page: Page) => page.locator('#chat .msg.bot');

/** Resolves once a bot message that arrived after `before` contains `expected`. */
async function botSays(page: Page, before: number, expected: string): Promise<void> {
  await page.waitForFunction(
    ([n, text]) => [...document.querySelectorAll('#chat .msg.bot')].slice(n as number).some((m) => m.textContent!.includes(text as string)),
    [before, expected],
  ).catch(async (error: Error) => {
    const seen = await botMessages(page).allTextContents();
    throw new Error(`no bot message with "${expected}" after message ${before}; last: ${JSON.stringify(seen.slice(-2))}\n${error.message}`);
  });
}

/** Types `text` and presses Enter, as a keyboard user would; waits for a reply containing `expected`. */
async function say(page: Page, text: string, expected: string): Promise<void> {
  const before = await botMessages(page).count();
  await page.getByRole('textbox', { name: /Votre message|رسالتك/ }).fill(text);
  await page.keyboard.press('Enter');
  await botSays(page, before, expected);
}

/** Taps a WhatsApp button of the last bot message. */
/** The chips group's accessible name in either page language ("buttons" in locales/ar and locales/fr simulator.json). */
const CHIPS_GROUP_NAME = /^(Réponses proposées|الأجوبة المقترحة)$/;

async function tap(page: Page, title: string, expected: string): Promise<void> {
  const before = await botMessages(page).count();
  // The buttons are a group a screen reader announces by name, in the page's language.
  const group = botMessages(page).last().getByRole('group', { name: CHIPS_GROUP_NAME });
  await group.getByRole('button', { name: title, exact: true }).click();
  await botSays(page, before, expected);
}

const screenshot = (page: Page, name: string) => page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });

describe('the web simulator in Chromium', () => {
  it('WhatsApp in French to outcome A: typed with the keyboard, the registration number in chat, no SMS', async () => {
    const page = await openSimulator();
    await say(page, 'Bonjour', "Quelle pièce d'identité avez-vous ?");
    await say(page, '1', 'Écrivez le numéro de votre CNIE');
    await say(page, 'AB123456', "Date d'expiration de la pièce ?");
    await say(page, '30/06/2031', 'Votre date de naissance ?');
    await say(page, '14/03/1985', 'Recevoir les SMS sur ce numéro');
    await say(page, '1', 'Votre opérateur');
    // Three short French operator names: WhatsApp buttons, tapped like on a phone.
    await tap(page, 'Maroc Telecom', 'Votre e-mail (facultatif)');
    await say(page, 'passer', 'Vérifiez vos réponses');
    await say(page, 'oui', '111222333');

    const last = botMessages(page).last().locator('.body');
    await expect(last.getAttribute('dir')).resolves.toBe('ltr');
    await expect(page.locator('#inbox .sms').count()).resolves.toBe(0);
    // Readable on a phone: nothing wider than the 375 px window.
    await expect(page.evaluate(() => document.documentElement.scrollWidth)).resolves.toBeLessThanOrEqual(375);
    await screenshot(page, 'outcome-a-fr-whatsapp');
    expect((page as Page & { errors?: string[] }).errors).toEqual([]);
    await page.close();
  });

  it('SMS in French to outcome B: the code read from the inbox pane and typed, the password only in the inbox', async () => {
    const page = await openSimulator();
    await page.getByRole('radio', { name: 'SMS' }).check();
    await say(page, 'Bonjour', 'CNIE');
    await say(page, '1', 'CNIE');
    await say(page, 'BE654321', 'expiration');
    await say(page, '15/11/2030', 'naissance');
    await say(page, '02/07/1990', 'ce numéro');
    await say(page, '1', 'opérateur');
    await say(page, '2', 'mail');
    await say(page, 'passer', 'oui');
    // SMS replies carry their cost: French copy stays in GSM-7.
    await expect(botMessages(page).last().locator('.cost').textContent()).resolves.toMatch(/^GSM-7 · \d+ SMS · \d+ caractères$/);
    await say(page, 'oui', 'code');

    const inbox = page.locator('#inbox .sms');
    await inbox.first().waitFor();
    const codeSms = (await inbox.first().locator('.body').textContent())!;
    const code = /\b\d{6}\b/.exec(codeSms)?.[0];
    expect(code).toBeDefined();
    await say(page, code!, '222333444');

    await page.waitForFunction(() => document.querySelectorAll('#inbox .sms').length >= 2);
    const passwordSms = (await inbox.nth(1).locator('.body').textContent())!;
    expect(passwordSms).toContain('mot de passe');
    const password = /Ma CNSS est (\S+) \./.exec(passwordSms)?.[1];
    expect(password).toBeDefined();
    // The code and the password never appear in what the bot wrote in the chat, only on the phone.
    const botText = (await botMessages(page).allTextContents()).join('\n');
    expect(botText).not.toContain(code!);
    expect(botText).not.toContain(password!);
    await screenshot(page, 'outcome-b-fr-sms-inbox');

    // Reset erases the conversation: the next message starts a new one.
    await page.getByRole('button', { name: 'Effacer la conversation' }).click();
    const done = page.getByRole('status').filter({ hasText: 'Conversation effacée' });
    await done.waitFor();
    // A confirmation, not an error: it is not shown in the danger colour of refusals.
    await expect(done.evaluate((el) => el.classList.contains('ok'))).resolves.toBe(true);
    await expect(botMessages(page).count()).resolves.toBe(0);
    await expect(inbox.count()).resolves.toBe(0);
    await say(page, 'Bonjour', 'CNIE');
    await page.close();
  });

  it('a forgotten password at outcome A: the code, sent to the account\'s phone, shows in this page\'s inbox marked with that number', async () => {
    const page = await openSimulator();
    for (const [text, expected] of [
      ['Bonjour', "Quelle pièce d'identité avez-vous ?"],
      ['1', 'Écrivez le numéro de votre CNIE'],
      ['AB123456', "Date d'expiration de la pièce ?"],
      ['30/06/2031', 'Votre date de naissance ?'],
      ['14/03/1985', 'Recevoir les SMS sur ce numéro'],
      ['1', 'Votre opérateur'],
      ['2', 'Votre e-mail (facultatif)'],
      ['passer', 'Vérifiez vos réponses'],
      ['oui', 'Mot de passe oublié ?'],
      ['oui', 'Écrivez le code à 6 chiffres'],
    ] as const) {
      await say(page, text, expected);
    }
    const codeSms = page.locator('#inbox .sms').first();
    await codeSms.waitFor();
    await expect(codeSms.locator('header').textContent()).resolves.toContain('envoyé au \u206606xx xx xx 32\u2069');
    const code = /\b\d{6}\b/.exec((await codeSms.locator('.body').textContent())!)?.[0];
    expect(code).toBeDefined();
    await say(page, code!, 'Votre nouveau mot de passe vous a été envoyé');
    expect((page as Page & { errors?: string[] }).errors).toEqual([]);
    await page.close();
  });

  it('WhatsApp in Arabic to outcome C: right to left, buttons, a shared location', async () => {
    const page = await openSimulator(1100);
    await page.getByRole('button', { name: 'العربية' }).click();
    await expect(page.evaluate(() => document.documentElement.dir)).resolves.toBe('rtl');

    await say(page, 'السلام عليكم', 'ما هي وثيقة التعريف التي عندك؟');
    await tap(page, 'البطاقة الوطنية', 'اكتب رقم البطاقة الوطنية');
    await say(page, 'ZZ999999', 'تاريخ انتهاء');
    await say(page, '15/08/2030', 'تاريخ ازديادك');
    await say(page, '15/03/1985', 'هذا الرقم');
    await say(page, '1', 'مشغل');
    await tap(page, 'إنوي', 'بريدك الإلكتروني');
    await say(page, 'دوز', 'تحقق من أجوبتك');
    await say(page, 'نعم', 'ما هو نشاطك المهني؟');
    await say(page, '5', 'في أي مدينة أنت؟');

    // Right to left, per message: the Arabic bubble is laid out RTL, the user's Latin "ZZ999999" is not.
    const arabic = botMessages(page).last().locator('.body');
    await expect(arabic.getAttribute('dir')).resolves.toBe('rtl');
    await expect(arabic.evaluate((el) => getComputedStyle(el).direction)).resolves.toBe('rtl');
    await expect(page.locator('#chat .msg.user .body', { hasText: 'ZZ999999' }).getAttribute('dir')).resolves.toBe('ltr');

    await page.getByLabel('مدينة الموقع').selectOption({ label: 'الرباط' });
    const before = await botMessages(page).count();
    await page.getByRole('button', { name: 'مشاركة الموقع' }).click();
    await botSays(page, before, 'أين تذهب');
    await botSays(page, before, 'كلم');
    await screenshot(page, 'outcome-c-ar-whatsapp-rtl');
    expect((page as Page & { errors?: string[] }).errors).toEqual([]);
    await page.close();
  });
});
