import { t } from '../../src/i18n';
import { cityHeadingKey } from '../../dialogs/notRegisteredDialog';

/** The offices of outcome C come under the name of the city understood, in good French and Arabic. */
describe('the heading of the office list', () => {
  it.each([
    ['fr', 'Casablanca', 'Près de Casablanca :'],
    ['fr', 'Essaouira', "Près d'Essaouira :"],
    ['fr', 'Agadir', "Près d'Agadir :"],
    ['fr', 'El Jadida', "Près d'El Jadida :"],
    ['fr', 'Tiznit', 'Près de Tiznit :'],
    ['ar', 'الصويرة', 'قرب الصويرة:'],
    ['ar', 'أكادير', 'قرب أكادير:'],
  ] as const)('%s: %s → %s', (locale, city, heading) => {
    expect(t(locale, cityHeadingKey(city), { city })).toBe(heading);
  });
});
