import type { Category, City, NonSubjectReason, Office } from '../data/schemas';
import type { NearbyOffice } from '../services/offices/officeFinder';
import type {
  RegistryCategory,
  RegistryNonSubjectReason,
  RegistryOffice,
} from '../services/registry/contract';

/**
 * data/ as the contract shows it: what a caller needs, not our files' bookkeeping (sources,
 * statuses, aliases), so the files can change without changing the API.
 */

export function categoryView(category: Category): RegistryCategory {
  return {
    code: category.code,
    name: { ar: category.ar, fr: category.fr },
    shortName: { ar: category.shortAr, fr: category.shortFr },
    documents: { ar: [...category.documents.ar], fr: [...category.documents.fr] },
  };
}

export function nonSubjectReasonView(reason: NonSubjectReason): RegistryNonSubjectReason {
  return { code: reason.code, name: { ar: reason.ar, fr: reason.fr }, coveredBy: { ...reason.coveredBy } };
}

export function cityView(city: City): { code: string; name: { ar: string; fr: string } } {
  return { code: city.code, name: { ar: city.ar, fr: city.fr } };
}

function officeView(office: Office): RegistryOffice {
  return {
    id: office.id,
    name: { ...office.name },
    address: { ...office.address },
    type: office.type,
    cityCode: office.cityCode,
    lat: office.lat,
    lon: office.lon,
    coordsApproximate: office.coordsApproximate,
    sample: office.sample,
    verified: office.verified,
  };
}

export function nearbyOfficeView({ office, distanceKm, inCity }: NearbyOffice) {
  // Coordinates are city-centre estimates: a tenth of a kilometre is already more than they know.
  return { office: officeView(office), distanceKm: Math.round(distanceKm * 10) / 10, inCity };
}
