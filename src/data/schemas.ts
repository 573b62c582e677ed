import { z } from 'zod';
import type { IdTypeCode } from '../services/types';

/**
 * Shapes of the reference files in data/ (DESIGN §4, STYLE "Data is data"). Objects are strict so a
 * misspelt key in a hand-edited file fails at start instead of silently dropping a field.
 * Every fact keeps its source or status: most of it is inference until the portal guide is read.
 */

const text = z.string().trim().min(1);
const bilingual = z.strictObject({ fr: text, ar: text });
/** Workers read lists on small phones: a list label longer than this wraps badly on WhatsApp. */
export const SHORT_LABEL_MAX = 30;
const shortLabel = text.max(SHORT_LABEL_MAX);
const code = z.string().regex(/^[A-Z][A-Z0-9_]*$/, 'codes are UPPER_SNAKE_CASE');
const slug = z.string().regex(/^[a-z0-9]+(-[a-z0-9]+)*$/, 'ids and city codes are lower-case-with-dashes');

const pattern = z.string().refine(
  (p) => {
    try {
      new RegExp(p);
      return p.startsWith('^') && p.endsWith('$');
    } catch {
      return false;
    }
  },
  { message: 'must be a valid regular expression anchored with ^ and $' },
);

export const ID_TYPE_CODES = ['CNIE', 'CARTE_SEJOUR'] as const satisfies readonly IdTypeCode[];

export const IdTypeSchema = z
  .strictObject({
    code: z.enum(ID_TYPE_CODES),
    fr: shortLabel,
    ar: shortLabel,
    /** Other words people type to choose this document (French, Arabic, Darija). */
    aliases: z.array(text),
    frFull: text,
    arFull: text,
    arStatus: text,
    example: text,
    numberPattern: pattern,
    numberPatternStatus: text,
    source: text,
    status: text,
  })
  .refine((t) => new RegExp(t.numberPattern).test(t.example), {
    message: 'example must match numberPattern',
    path: ['example'],
  });

export const CategorySchema = z
  .strictObject({
    code,
    fr: text,
    ar: text,
    arStatus: text,
    shortFr: shortLabel,
    shortAr: shortLabel,
    /** Words workers use for their trade ("taxi", "فلاح", "hanout"): matched before the long labels. */
    aliases: z.array(text).default([]),
    liaisonBody: z.string(),
    liaisonBodyStatus: text,
    documents: z.strictObject({ fr: z.array(text).min(1), ar: z.array(text).min(1) }),
    /** One per document, same order: a URL, or "inference: …" saying what the item rests on. */
    documentSources: z.array(text),
    revenuForfaitaire: text.optional(),
    amoMonthly: text.optional(),
    note: text.optional(),
    sources: z.array(text).min(1),
  })
  .superRefine((c, ctx) => {
    if (c.documents.ar.length !== c.documents.fr.length) {
      ctx.addIssue({
        code: 'custom',
        path: ['documents', 'ar'],
        message: `has ${c.documents.ar.length} documents, documents.fr has ${c.documents.fr.length}`,
      });
    }
    if (c.documentSources.length !== c.documents.fr.length) {
      ctx.addIssue({
        code: 'custom',
        path: ['documentSources'],
        message: `has ${c.documentSources.length} sources for ${c.documents.fr.length} documents`,
      });
    }
  });

export const NonSubjectReasonSchema = z.strictObject({
  code,
  fr: text,
  ar: text,
  arStatus: text,
  coveredBy: bilingual,
  coveredByStatus: text,
  status: text,
  sources: z.array(text).min(1),
});

export const OFFICE_TYPES = ['agence', 'kiosque', 'siege', 'bureau_proximite'] as const;
export const OFFICE_STATUSES = ['open', 'planned, not confirmed'] as const;

const latitude = z.number().min(-90).max(90);
const longitude = z.number().min(-180).max(180);

export const OfficeSchema = z
  .strictObject({
    id: slug,
    name: bilingual,
    type: z.enum(OFFICE_TYPES),
    cityCode: slug,
    address: bilingual,
    addressStatus: text,
    lat: latitude,
    lon: longitude,
    coordsApproximate: z.boolean(),
    /** A placeholder for demos, named "(exemple)": not a real office. */
    sample: z.boolean(),
    /** A source names this office. */
    verified: z.boolean(),
    status: z.enum(OFFICE_STATUSES),
    statusNote: text.optional(),
    source: text,
  })
  .superRefine((o, ctx) => {
    if (o.sample && o.verified) {
      ctx.addIssue({ code: 'custom', path: ['verified'], message: 'a sample office cannot be verified' });
    }
    if (o.status !== 'open' && o.verified) {
      ctx.addIssue({ code: 'custom', path: ['verified'], message: 'a planned office cannot be verified' });
    }
  });

export const CitySchema = z.strictObject({
  code: slug,
  fr: text,
  ar: text,
  aliases: z.array(text).min(1),
  lat: latitude,
  lon: longitude,
  coordsSource: text,
});

/** Mobile operators: asked, never inferred from the prefix (numbers are portable, domain.md §6). */
export const OperatorSchema = z.strictObject({
  code,
  fr: text,
  ar: text,
  aliases: z.array(text),
  source: text,
  arStatus: text.optional(),
  note: text.optional(),
});

/** Each file is `{ about, <items> }`: the about text tells a data editor what the file is for. */
export const IdTypesFileSchema = z.strictObject({ about: text, idTypes: z.array(IdTypeSchema).min(1) });
export const CategoriesFileSchema = z.strictObject({ about: text, categories: z.array(CategorySchema).min(1) });
export const NonSubjectReasonsFileSchema = z.strictObject({
  about: text,
  reasons: z.array(NonSubjectReasonSchema).min(1),
});
export const OfficesFileSchema = z.strictObject({ about: text, offices: z.array(OfficeSchema).min(1) });
export const CitiesFileSchema = z.strictObject({ about: text, cities: z.array(CitySchema).min(1) });
export const OperatorsFileSchema = z.strictObject({ about: text, operators: z.array(OperatorSchema).min(1) });

export type IdType = z.infer<typeof IdTypeSchema>;
export type Category = z.infer<typeof CategorySchema>;
export type NonSubjectReason = z.infer<typeof NonSubjectReasonSchema>;
export type Office = z.infer<typeof OfficeSchema>;
export type OfficeType = Office['type'];
export type City = z.infer<typeof CitySchema>;
export type Operator = z.infer<typeof OperatorSchema>;

export interface ReferenceData {
  idTypes: readonly IdType[];
  categories: readonly Category[];
  nonSubjectReasons: readonly NonSubjectReason[];
  offices: readonly Office[];
  cities: readonly City[];
  operators: readonly Operator[];
}
