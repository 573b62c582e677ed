import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { TestBot } from './harness';
import { parseTranscript, squash, type Transcript } from './transcript';

/** Plays the conversation transcripts of test/conversations/{fr,ar}/ against a test bot. */

const DIR = join(__dirname, '..', 'conversations');

/** Every transcript, as `lang/file.txt`. */
export function transcriptFiles(): string[] {
  return ['fr', 'ar'].flatMap((lang) =>
    readdirSync(join(DIR, lang))
      .filter((f) => f.endsWith('.txt'))
      .map((f) => join(lang, f)),
  );
}

export function loadTranscript(file: string): Transcript {
  return parseTranscript(join(DIR, file));
}

/** Codes and passwords sent by SMS: tokens of 6+ letters/digits that contain a digit. */
function secretsIn(sms: string[]): string[] {
  return sms.flatMap((body) => body.match(/\b(?=[A-Za-z0-9]*\d)[A-Za-z0-9]{6,}\b/g) ?? []);
}

export async function playTranscript(transcript: Transcript, bot: TestBot): Promise<void> {
  for (const step of transcript.steps) {
    if (step.kind === 'advance') {
      bot.clock.advance(step.ms);
      continue;
    }
    if (step.kind === 'registry') {
      if (step.event === 'down' || step.event === 'up') bot.registry.down = step.event === 'down';
      else if (step.event === 'loses-answer') bot.registry.loseNextActivationAnswer = true;
      else bot.registry.accountMadeElsewhere = true;
      continue;
    }
    const smsBefore = bot.app.outbox.list().length;
    const lastSms = bot.app.outbox.list().pop()?.body ?? '';
    let text = step.text;
    let attachments: { contentType: string; contentUrl: string }[] | undefined;
    if (text === '{otp}') text = /\b\d{6}\b/.exec(lastSms)?.[0] ?? 'no-otp-sent';
    else if (text === '{photo}') {
      text = '';
      attachments = [{ contentType: 'image/jpeg', contentUrl: 'https://example.invalid/photo.jpg' }];
    } else if (text === '{long}') text = 'a'.repeat(5000);
    else if (text === '{empty}') text = '';

    const replies = squash((await bot.say(text, { attachments })).join('\n'));
    const sentMessages = bot.app.outbox.list().slice(smsBefore);
    const sent = sentMessages.map((m) => m.body);
    const where = `line ${step.line} ("${step.text}")`;
    let cursor = 0;
    for (const e of step.expect) {
      if (e.kind === 'reply') {
        const at = replies.indexOf(squash(e.text), cursor);
        if (at < 0) throw new Error(`${where}, expected line ${e.line}: "${e.text}"\n  in the reply: "${replies}"`);
        cursor = at + squash(e.text).length;
      } else if (e.kind === 'notInReply') {
        if (replies.includes(squash(e.text))) throw new Error(`${where}, line ${e.line}: the reply must not contain "${e.text}"\n  reply: "${replies}"`);
      } else if (e.kind === 'sms') {
        if (!sentMessages.some((m) => (e.to === undefined || m.to === e.to) && squash(m.body).includes(squash(e.text)))) {
          const to = e.to ? ` to ${e.to}` : '';
          throw new Error(`${where}, line ${e.line}: expected an SMS${to} containing "${e.text}", sent: ${JSON.stringify(sentMessages.map((m) => ({ to: m.to, body: m.body })))}`);
        }
      } else if (sent.length > 0) throw new Error(`${where}, line ${e.line}: expected no SMS, sent ${sent.length}`);
    }
    // Whatever the case: an OTP or a password never appears in chat.
    for (const secret of secretsIn(bot.app.outbox.list().map((m) => m.body))) {
      if (replies.includes(secret)) throw new Error(`${where}: a code or password sent by SMS appeared in chat`);
    }
  }
}
