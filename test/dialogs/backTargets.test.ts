import { notRegisteredBackTarget } from '../../dialogs/notRegisteredDialog';

/** "retour" within outcome C (globalCommands.goBack takes the rest: the code and the retries go to the summary). */
describe('notRegisteredBackTarget', () => {
  it.each([
    ['city', 'categories'],
    ['category', 'previousPage'],
    ['summary', undefined],
    [undefined, undefined],
  ] as const)('%s → %s', (questionId, target) => {
    expect(notRegisteredBackTarget(questionId)).toBe(target);
  });
});
