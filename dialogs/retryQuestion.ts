import { readYesNo } from '../src/nlu/choices';
import { foldForMatching } from '../src/nlu/normalize';
import type { Question } from './question';

/** "Reply 1 to try again": after a registry failure, answers are kept and the user decides when to retry. */
export function retryQuestion(id: string): Question<true> {
  return {
    id,
    ask: () => ({ key: `prompts.${id}.ask` }),
    read: (text) =>
      foldForMatching(text) === '1' || readYesNo(text) === 'yes'
        ? { ok: true, value: true }
        : { ok: false, error: 'errors.retry.unknown' },
  };
}
