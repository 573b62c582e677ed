import { validate } from '@readme/openapi-parser';
import { stringify } from 'yaml';
import { z } from 'zod';
import {
  contractJsonSchemas,
  contractSchemas,
  OPERATIONS,
  PROBLEM_CODES,
  ProblemSchema,
  type OperationId,
} from '../../src/services/registry/contract';
import { PROBLEMS } from '../../src/registryServer/problems';
import { loadOpenApi, OpenApiValidator, type OpenApiDocument } from '../support/openapi';

/**
 * contract/registry.openapi.yaml and src/services/registry/contract.ts are one contract written
 * twice: for people and other teams (the OpenAPI file) and for the code (zod, which the client and
 * the reference server validate with). These tests fail as soon as the two say different things.
 */

type Json = Record<string, unknown>;

/** Keywords that document and do not validate: the file may describe more than the code. */
const ANNOTATIONS = new Set(['description', 'title', 'examples', 'example', '$comment', 'summary']);

/** A schema with its annotations and zod's `$schema`/`$id` removed, `required` as a set. */
function normalize(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(normalize);
  if (typeof schema !== 'object' || schema === null) return schema;
  const out: Json = {};
  for (const [key, value] of Object.entries(schema)) {
    if (ANNOTATIONS.has(key) || key === '$schema' || key === '$id') continue;
    if (key === 'properties') {
      out[key] = Object.fromEntries(Object.entries(value as Json).map(([name, s]) => [name, normalize(s)]));
    } else if (key === 'required') out[key] = [...(value as string[])].sort();
    else out[key] = normalize(value);
  }
  return out;
}

/** Where the document's component schemas and zod's differ: one line per difference, empty when they agree. */
function componentDifferences(doc: OpenApiDocument): string[] {
  const fromZod = contractJsonSchemas();
  const fromDoc = doc.components.schemas;
  const names = [...new Set([...Object.keys(fromZod), ...Object.keys(fromDoc)])].sort();
  return names.flatMap((name) => {
    if (!fromDoc[name]) return [`${name}: in zod, not in the OpenAPI file`];
    if (!fromZod[name]) return [`${name}: in the OpenAPI file, not in zod (register it in contract.ts)`];
    const [a, b] = [normalize(fromDoc[name]), normalize(fromZod[name])];
    if (JSON.stringify(sortKeys(a)) === JSON.stringify(sortKeys(b))) return [];
    return [`${name} differs; zod says:\n${stringify({ [name]: b })}the file says:\n${stringify({ [name]: a })}`];
  });
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (typeof value !== 'object' || value === null) return value;
  return Object.fromEntries(Object.entries(value).sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => [k, sortKeys(v)]));
}

const idOf = (schema: z.ZodType) => contractSchemas.get(schema)?.id;
const ref = (schema: z.ZodType) => `#/components/schemas/${idOf(schema)}`;

function operationsOf(doc: OpenApiDocument): { id: string; method: string; path: string; operation: Json }[] {
  return Object.entries(doc.paths).flatMap(([path, item]) =>
    Object.entries(item).map(([method, operation]) => ({ id: String(operation.operationId), method: method.toUpperCase(), path, operation })),
  );
}

/** Where the document's operations differ from OPERATIONS (paths, methods, bodies, statuses, parameters). */
function operationDifferences(doc: OpenApiDocument): string[] {
  const problems: string[] = [];
  const validator = new OpenApiValidator(doc);
  const documented = operationsOf(doc);
  const ids = Object.keys(OPERATIONS) as OperationId[];
  for (const extra of documented.filter((o) => !ids.includes(o.id as OperationId))) problems.push(`${extra.id}: in the file, not in OPERATIONS`);
  for (const id of ids) {
    const spec = OPERATIONS[id];
    const found = documented.find((o) => o.id === id);
    if (!found) {
      problems.push(`${id}: in OPERATIONS, not in the file`);
      continue;
    }
    const { operation } = found;
    if (found.method !== spec.method || found.path !== spec.path) {
      problems.push(`${id}: the file says ${found.method} ${found.path}, OPERATIONS ${spec.method} ${spec.path}`);
    }
    const body = (operation.requestBody as { content?: Record<string, { schema: Json }> } | undefined)?.content?.['application/json']?.schema;
    const wanted = 'request' in spec ? ref(spec.request) : undefined;
    if (body?.$ref !== wanted) problems.push(`${id}: request body ${String(body?.$ref)} in the file, ${String(wanted)} in OPERATIONS`);

    const statuses = Object.keys(operation.responses as Json).map(Number).sort();
    const expected = [spec.success.status, ...spec.problems].sort();
    if (JSON.stringify(statuses) !== JSON.stringify(expected)) problems.push(`${id}: statuses ${statuses} in the file, ${expected} in OPERATIONS`);
    const success = validator.response(id, spec.success.status) as { content?: Record<string, { schema: Json }> } | undefined;
    if (success?.content?.['application/json']?.schema.$ref !== ref(spec.success.schema)) {
      problems.push(`${id}: ${spec.success.status} is not ${ref(spec.success.schema)} in the file`);
    }
    for (const status of spec.problems) {
      const response = validator.response(id, status) as { content?: Record<string, { schema: Json }> } | undefined;
      if (response?.content?.['application/problem+json']?.schema.$ref !== ref(ProblemSchema)) {
        problems.push(`${id}: ${status} is not application/problem+json Problem in the file`);
      }
    }

    // Query parameters: each one's schema is the zod property's.
    const query = ((operation.parameters ?? []) as Json[]).filter((p) => p.in === 'query');
    const zodQuery = 'query' in spec ? (z.toJSONSchema(spec.query, { io: 'input' }) as { properties: Json }).properties : {};
    const names = [...new Set([...query.map((p) => String(p.name)), ...Object.keys(zodQuery)])];
    for (const name of names) {
      const parameter = query.find((p) => p.name === name);
      if (!parameter) problems.push(`${id}: query parameter ${name} in zod, not in the file`);
      else if (!zodQuery[name]) problems.push(`${id}: query parameter ${name} in the file, not in zod`);
      else if (JSON.stringify(sortKeys(normalize(parameter.schema))) !== JSON.stringify(sortKeys(normalize(zodQuery[name])))) {
        problems.push(`${id}: query parameter ${name} differs`);
      }
    }
  }
  return problems;
}

/** Every example of the document, with the schema it illustrates. */
function examplesOf(doc: OpenApiDocument): { where: string; schema: Json; value: unknown }[] {
  const found: { where: string; schema: Json; value: unknown }[] = [];
  const collect = (where: string, content: Record<string, { schema: Json; examples?: Record<string, { value: unknown }> }> | undefined) => {
    for (const [type, media] of Object.entries(content ?? {})) {
      for (const [name, example] of Object.entries(media.examples ?? {})) found.push({ where: `${where} ${type} ${name}`, schema: media.schema, value: example.value });
    }
  };
  for (const { id, operation } of operationsOf(doc)) {
    collect(`${id} request`, (operation.requestBody as { content?: never } | undefined)?.content);
    for (const [status, response] of Object.entries(operation.responses as Record<string, { content?: never }>)) collect(`${id} ${status}`, response.content);
  }
  for (const [name, response] of Object.entries(doc.components.responses)) collect(`responses.${name}`, (response as { content?: never }).content);
  return found;
}

describe('the registry contract', () => {
  const doc = loadOpenApi();

  it('is a valid OpenAPI 3.1 document', async () => {
    expect(doc.openapi).toMatch(/^3\.1\./);
    const result = await validate(structuredClone(doc) as never);
    expect(result.valid ? [] : result.errors.map((e) => e.message)).toEqual([]);
    expect(result.warnings).toEqual([]);
  });

  it('has exactly the component schemas of contract.ts, keyword for keyword', () => {
    expect(componentDifferences(doc)).toEqual([]);
  });

  it('has exactly the operations of OPERATIONS: paths, methods, bodies, statuses, query parameters', () => {
    expect(operationDifferences(doc)).toEqual([]);
  });

  it('lists every problem code the server knows, with the status the server gives it', () => {
    expect(Object.keys(PROBLEMS).sort()).toEqual([...PROBLEM_CODES].sort());
    // Each problem the file shows has the status and type the server's catalogue gives its code.
    for (const { where, value } of examplesOf(doc).filter((e) => e.where.includes('problem+json'))) {
      const problem = value as { code: keyof typeof PROBLEMS; status: number; type: string };
      expect({ where, status: problem.status, type: problem.type }).toEqual({ where, status: PROBLEMS[problem.code].status, type: `urn:tasjil:registry:problem:${problem.code}` });
    }
  });

  it('every example follows both the zod schema and the OpenAPI schema', () => {
    const validator = new OpenApiValidator(doc);
    const examples = examplesOf(doc);
    expect(examples.length).toBeGreaterThan(15);
    const byRef = new Map<string, z.ZodType>();
    for (const schema of Object.values(OPERATIONS).flatMap((o) => ['request' in o ? [o.request] : [], [o.success.schema]].flat())) byRef.set(ref(schema), schema);
    byRef.set(ref(ProblemSchema), ProblemSchema);
    for (const { where, schema, value } of examples) {
      expect({ where, openapi: validator.errors(schema, value) }).toEqual({ where, openapi: [] });
      const zodSchema = byRef.get(String(schema.$ref));
      expect({ where, zod: zodSchema ? zodSchema.safeParse(value).success : 'no zod schema' }).toEqual({ where, zod: true });
    }
  });

  describe('the checks fail when the two drift apart', () => {
    const mutated = (change: (d: OpenApiDocument) => void) => {
      const copy = structuredClone(doc);
      change(copy);
      return copy;
    };
    it.each<[string, (d: OpenApiDocument) => void]>([
      ['a pattern changed', (d) => ((d.components.schemas.RegistrationNumber as Json).pattern = '^\\d{8}$')],
      ['a field no longer required', (d) => ((d.components.schemas.LookupRequest as Json).required = ['idType', 'idNumber', 'birthDate'])],
      ['a property added', (d) => (((d.components.schemas.ActivationResult as Json).properties as Json).expiresAt = { type: 'string' })],
      ['an enum value added', (d) => ((d.components.schemas.IdType as Json).enum = ['CNIE', 'CARTE_SEJOUR', 'PASSEPORT'])],
      ['an outcome dropped', (d) => ((d.components.schemas.LookupResult as { oneOf: unknown[] }).oneOf.pop())],
      ['a schema removed', (d) => delete d.components.schemas.Health],
    ])('components: %s', (_name, change) => {
      expect(componentDifferences(mutated(change)).length).toBeGreaterThan(0);
    });
    it.each<[string, (d: OpenApiDocument) => void]>([
      ['a path renamed', (d) => ((d.paths['/v1/people/search'] = d.paths['/v1/people/lookup']!), delete d.paths['/v1/people/lookup'])],
      ['a status added', (d) => ((d.paths['/v1/accounts']!.post!.responses as Json)['202'] = { description: 'queued' })],
      ['another request body', (d) => ((d.paths['/v1/accounts']!.post!.requestBody as { content: Record<string, { schema: Json }> }).content['application/json']!.schema = { $ref: '#/components/schemas/LookupRequest' })],
      ['a query bound changed', (d) => (((d.paths['/v1/offices']!.get!.parameters as Json[])[4]!.schema as Json).maximum = 50)],
    ])('operations: %s', (_name, change) => {
      expect(operationDifferences(mutated(change)).length).toBeGreaterThan(0);
    });
    it('an example that breaks its schema', () => {
      const broken = mutated((d) => {
        const examples = ((d.paths['/v1/people/lookup']!.post!.responses as Record<string, { content: Record<string, { examples: Record<string, { value: Json }> }> }>)['200']!.content['application/json']!.examples);
        examples.mismatch!.value = { kind: 'mismatch', fields: [] };
      });
      const validator = new OpenApiValidator(broken);
      const example = examplesOf(broken).find((e) => e.where.startsWith('lookUpPerson 200') && e.where.endsWith('mismatch'))!;
      expect(validator.errors(example.schema, example.value)).not.toEqual([]);
    });
    it('an invalid document', async () => {
      const broken = mutated((d) => delete (d.paths['/v1/health']!.get!.responses as Record<string, Json>)['200']!.description);
      expect((await validate(broken as never)).valid).toBe(false);
    });
  });
});
