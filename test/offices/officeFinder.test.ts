import { loadReferenceData } from '../../src/data/load';
import type { Office, ReferenceData } from '../../src/data/schemas';
import { foldKey } from '../../src/services/offices/fold';
import { haversineKm, OfficeFinder } from '../../src/services/offices/officeFinder';

const data = loadReferenceData();
const finder = new OfficeFinder(data);

describe('findCity', () => {
  it.each([
    ['Casa', 'casablanca'],
    ['casablanca', 'casablanca'],
    ['CASABLANCA', 'casablanca'],
    ['الدار البيضاء', 'casablanca'],
    ['الدارالبيضاء', 'casablanca'],
    ['البيضا', 'casablanca'],
    ['كازا', 'casablanca'],
    ['dar lbida', 'casablanca'],
    ['Dar el Beida', 'casablanca'],
    ['Marrakesh', 'marrakech'],
    ['مراكش', 'marrakech'],
    ['kech', 'marrakech'],
    ['fes', 'fes'],
    ['Fès', 'fes'],
    ['Fez', 'fes'],
    ['فاس', 'fes'],
    ['Tanger', 'tanger'],
    ['طنجه', 'tanger'],
    ['tanja', 'tanger'],
    ['تمارة', 'temara'],
    ['Jadida', 'el-jadida'],
    ['ljadida', 'el-jadida'],
    ['الجديدة', 'el-jadida'],
    ['lqnitra', 'kenitra'],
    ['القنيطرة', 'kenitra'],
    ['أكادير', 'agadir'],
    ['اگادير', 'agadir'],
    ['Laâyoune', 'laayoune'],
    ['بالرباط', 'rabat'],
    ['ana f casa', 'casablanca'],
    ['je suis à Rabat', 'rabat'],
  ])('%s → %s', (text, code) => {
    expect(finder.findCity(text)).toMatchObject({ code, match: 'exact' });
  });

  it.each([
    ['Casablnca', 'casablanca'],
    ['casablanaca', 'casablanca'],
    ['Agadier', 'agadir'],
    ['khoribga', 'khouribga'],
    ['مراكيش', 'marrakech'],
  ])('corrects the typo %s → %s and says so', (text, code) => {
    expect(finder.findCity(text)).toMatchObject({ code, match: 'close' });
  });

  it.each(['Paris', 'Atlantis', 'merci', 'bonjour', '', '???', '12'])('finds no city in "%s"', (text) => {
    expect(finder.findCity(text)).toBeUndefined();
  });

  it('asks again rather than pick one of two cities', () => {
    expect(finder.findCity('Rabat ou Salé')).toBeUndefined();
  });
});

describe('foldKey', () => {
  it('folds case, accents, Arabic letter variants, tatweel and the article', () => {
    expect(foldKey('Fès')).toBe(foldKey('FES'));
    expect(foldKey('El-Jadida')).toBe(foldKey('jadida'));
    expect(foldKey('الدار البيضاء')).toBe(foldKey('دار بيضا'));
    expect(foldKey('أكادير')).toBe(foldKey('اكادير'));
    expect(foldKey('آسفي')).toBe(foldKey('اسفي'));
    expect(foldKey('طنجة')).toBe(foldKey('طنجه'));
    expect(foldKey('مـراكـش')).toBe(foldKey('مراكش'));
    expect(foldKey('Larache')).toBe('larache');
  });
});

describe('nearestOffices', () => {
  const ids = (found: { office: Office }[]) => found.map((f) => f.office.id);

  it("lists a city's own offices first, then the nearest others with their distance", () => {
    const found = finder.nearestOffices({ cityCode: 'temara' }, 3);
    expect(ids(found).slice(0, 2).sort()).toEqual(['temara-bd-mohammed-v', 'temara-massira-1']);
    expect(found.slice(0, 2).every((f) => f.inCity)).toBe(true);
    expect(found[2]).toMatchObject({ inCity: false, office: { cityCode: 'rabat' } });
    expect(found[2].distanceKm).toBeGreaterThan(5);
    expect(found[2].distanceKm).toBeLessThan(20);
  });

  it('accepts the city found by findCity', () => {
    const city = finder.findCity('tmara')!;
    expect(ids(finder.nearestOffices(city, 2)).sort()).toEqual(['temara-bd-mohammed-v', 'temara-massira-1']);
  });

  it('finds the nearest offices to a shared location', () => {
    // A pin in Salé, across the river from Rabat.
    const found = finder.nearestOffices({ lat: 34.05, lon: -6.8 }, 2);
    expect(ids(found)).toEqual(['sample-sale', 'sample-rabat']);
    expect(found[0].distanceKm).toBeLessThan(1);
    expect(found.every((f) => !f.inCity)).toBe(true);
  });

  it('never offers a planned office', () => {
    const planned = data.offices.filter((o) => o.status !== 'open');
    expect(planned.map((o) => o.cityCode)).toEqual(expect.arrayContaining(['kenitra', 'boujdour']));
    const offered = [
      ...data.cities.flatMap((city) => finder.nearestOffices({ cityCode: city.code }, 50)),
      ...planned.flatMap((o) => finder.nearestOffices({ lat: o.lat, lon: o.lon }, 50)),
    ];
    expect(offered.filter((f) => f.office.status !== 'open')).toEqual([]);
    // Boujdour has only a planned agency: the worker is sent to the nearest open one instead.
    expect(finder.nearestOffices({ cityCode: 'boujdour' }, 1)[0]).toMatchObject({ inCity: false, office: { cityCode: 'laayoune' } });
  });

  it('rejects an unknown city code: a bug, not user input', () => {
    expect(() => finder.nearestOffices({ cityCode: 'atlantis' })).toThrow('unknown city code atlantis');
  });
});

describe('OfficeFinder construction', () => {
  it('refuses two cities that share a name once folded', () => {
    const cities: ReferenceData['cities'] = [
      { ...data.cities[0], code: 'one', aliases: ['Fès'] },
      { ...data.cities[0], code: 'two', fr: 'Other', ar: 'أخرى', aliases: ['FES'] },
    ];
    expect(() => new OfficeFinder({ cities, offices: [] })).toThrow(/reads the same as a name of one/);
  });
});

describe('haversineKm', () => {
  it('measures Casablanca to Rabat at about 87 km', () => {
    expect(haversineKm({ lat: 33.5731, lon: -7.5898 }, { lat: 34.0209, lon: -6.8416 })).toBeCloseTo(87, -1);
  });
});
