import { distance as levenshtein } from 'fastest-levenshtein';
import type { City, Office, OfficeType, ReferenceData } from '../../data/schemas';
import { foldKey, foldWords } from './fold';

export interface GeoPoint {
  lat: number;
  lon: number;
}

/** The city found, and how: `close` means a misspelling was corrected (a dialog may confirm it). */
export type CityMatch = City & { match: 'exact' | 'close' };

/** Where to look from: a city (its code, or the city itself) or a point such as a WhatsApp location pin. */
export type OfficeSearch = { cityCode: string } | City | GeoPoint;

export interface NearbyOffice {
  office: Office;
  /** Great-circle distance from the city centre or the point; coordinates are approximate. */
  distanceKm: number;
  /** The office is in the city asked for. */
  inCity: boolean;
}

/** Below this many letters a typo cannot be told from another short word. */
const FUZZY_MIN_LENGTH = 4;
/** Up to this many letters, one typo is allowed; longer names allow two. */
const SHORT_NAME_LENGTH = 7;
/** A city named in a sentence ("ana f dar lbida") has at most this many words. */
const MAX_WORDS_IN_CITY_NAME = 3;

// CNSS says to register at an agency or an approved proximity office (cnss.ma FAQ, domain.md §5);
// what a kiosk or the head office does for walk-in TNS is unknown, so they come after.
const TYPE_RANK: Record<OfficeType, number> = { agence: 0, bureau_proximite: 1, siege: 2, kiosque: 3 };

const EARTH_RADIUS_KM = 6371;

export function haversineKm(a: GeoPoint, b: GeoPoint): number {
  const rad = (deg: number) => (deg * Math.PI) / 180;
  const dLat = rad(b.lat - a.lat);
  const dLon = rad(b.lon - a.lon);
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(rad(a.lat)) * Math.cos(rad(b.lat)) * Math.sin(dLon / 2) ** 2;
  return 2 * EARTH_RADIUS_KM * Math.asin(Math.min(1, Math.sqrt(h)));
}

function maxTypos(key: string): number {
  if (key.length < FUZZY_MIN_LENGTH) return 0;
  return key.length <= SHORT_NAME_LENGTH ? 1 : 2;
}

/** Candidate names inside a message: the whole text first, then runs of 1-3 words, longest first. */
function candidateKeys(text: string): string[] {
  const words = foldWords(text);
  const keys = [words.join('')];
  for (let size = Math.min(MAX_WORDS_IN_CITY_NAME, words.length - 1); size >= 1; size--) {
    for (let start = 0; start + size <= words.length; start++) keys.push(words.slice(start, start + size).join(''));
  }
  return keys.filter((key) => key !== '');
}

/** Cities and offices of data/: which city a worker means, and the offices to send him to. */
export class OfficeFinder {
  private readonly cityByKey = new Map<string, City>();
  private readonly cityByCode: ReadonlyMap<string, City>;
  private readonly openOffices: readonly Office[];

  constructor(data: Pick<ReferenceData, 'cities' | 'offices'>) {
    this.cityByCode = new Map(data.cities.map((city) => [city.code, city]));
    for (const city of data.cities) {
      for (const name of [city.fr, city.ar, ...city.aliases]) {
        const key = foldKey(name);
        const owner = this.cityByKey.get(key);
        if (owner && owner.code !== city.code) {
          throw new Error(`cities.json: "${name}" of ${city.code} reads the same as a name of ${owner.code}`);
        }
        if (key) this.cityByKey.set(key, city);
      }
    }
    // A planned office may never have opened (domain.md §5): never send a worker there.
    this.openOffices = data.offices.filter((office) => office.status === 'open');
  }

  city(code: string): City | undefined {
    return this.cityByCode.get(code);
  }

  private cityOf(target: OfficeSearch): City | undefined {
    if ('code' in target) return target;
    if (!('cityCode' in target)) return undefined;
    const city = this.cityByCode.get(target.cityCode);
    if (!city) throw new Error(`unknown city code ${target.cityCode}`);
    return city;
  }

  /** The city a message names, exactly or with a small typo; undefined when none or ambiguous. */
  findCity(text: string): CityMatch | undefined {
    const keys = candidateKeys(text);
    const exact = this.uniqueCity(keys.map((key) => this.cityByKey.get(key)));
    if (exact !== null) return exact ? { ...exact, match: 'exact' } : undefined;
    for (const key of keys) {
      const close = this.closestCity(key);
      if (close !== null) return close ? { ...close, match: 'close' } : undefined;
    }
    return undefined;
  }

  /**
   * The first city found; undefined when a message names two different cities ("Rabat ou Salé":
   * better ask again than pick one); null when none.
   */
  private uniqueCity(found: (City | undefined)[]): City | undefined | null {
    const cities = [...new Set(found.filter((city): city is City => city !== undefined))];
    if (cities.length === 0) return null;
    return cities.length === 1 ? cities[0] : undefined;
  }

  /** The one city with the nearest name within the typo budget; undefined on a tie; null when none. */
  private closestCity(key: string): City | undefined | null {
    const budget = maxTypos(key);
    if (budget === 0) return null;
    let best = Infinity;
    let bestCities = new Set<City>();
    for (const [name, city] of this.cityByKey) {
      // A short name only matches exactly: one letter off "سلا" (Salé) is "سلام", a greeting.
      if (name.length < FUZZY_MIN_LENGTH) continue;
      const d = levenshtein(key, name);
      if (d > budget) continue;
      if (d < best) {
        best = d;
        bestCities = new Set([city]);
      } else if (d === best) {
        bestCities.add(city);
      }
    }
    if (bestCities.size === 0) return null;
    return bestCities.size === 1 ? [...bestCities][0] : undefined;
  }

  /**
   * Open offices for a city (its own offices first, then the nearest others from its centre) or
   * for a point, such as a WhatsApp location pin (nearest first).
   */
  nearestOffices(target: OfficeSearch, limit = 3): NearbyOffice[] {
    const city = this.cityOf(target);
    const from: GeoPoint = city ?? (target as GeoPoint);
    if (!(Math.abs(from.lat) <= 90 && Math.abs(from.lon) <= 180)) throw new Error('invalid point');

    return this.openOffices
      .map((office) => ({
        office,
        distanceKm: haversineKm(from, office),
        inCity: city !== undefined && office.cityCode === city.code,
      }))
      .sort(
        (a, b) =>
          Number(b.inCity) - Number(a.inCity) ||
          a.distanceKm - b.distanceKm ||
          Number(b.office.verified) - Number(a.office.verified) ||
          TYPE_RANK[a.office.type] - TYPE_RANK[b.office.type],
      )
      .slice(0, limit);
  }
}
