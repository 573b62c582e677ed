import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Ajv2020, { type ValidateFunction } from 'ajv/dist/2020';
import { parse } from 'yaml';

/** The registry contract as a document, and an ajv that validates against its schemas. */

export const OPENAPI_FILE = join(__dirname, '..', '..', 'contract', 'registry.openapi.yaml');

type Json = Record<string, unknown>;
export interface OpenApiDocument {
  openapi: string;
  paths: Record<string, Record<string, Json>>;
  components: { schemas: Record<string, Json>; responses: Record<string, Json>; parameters: Record<string, Json> };
  [key: string]: unknown;
}

export function loadOpenApi(): OpenApiDocument {
  return parse(readFileSync(OPENAPI_FILE, 'utf8')) as OpenApiDocument;
}

const SCHEMA_ID = 'urn:tasjil:registry-openapi';

/**
 * Validates values against the document's own schemas (JSON Schema 2020-12, OpenAPI 3.1's
 * dialect), refs resolved inside the document: an independent check of what zod says.
 */
export class OpenApiValidator {
  private readonly ajv: Ajv2020;

  constructor(readonly doc: OpenApiDocument = loadOpenApi()) {
    // OpenAPI adds keywords (discriminator, example) that plain JSON Schema does not know.
    this.ajv = new Ajv2020({ strict: false, allErrors: true });
    this.ajv.addFormat('date', (value: string) => {
      const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value);
      if (!match) return false;
      const date = new Date(Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3])));
      return date.toISOString().slice(0, 10) === value;
    });
    this.ajv.addSchema({ $id: SCHEMA_ID, components: { schemas: doc.components.schemas } });
  }

  /** A validator for `#/components/schemas/NAME`, or any `$ref` of the document. */
  forRef(ref: string): ValidateFunction {
    const validate = this.ajv.getSchema(`${SCHEMA_ID}${ref}`);
    if (!validate) throw new Error(`no schema at ${ref}`);
    return validate;
  }

  /** Errors of a value against a schema object of the document (inline or a $ref). */
  errors(schema: Json, value: unknown): string[] {
    const validate = typeof schema.$ref === 'string' ? this.forRef(schema.$ref) : this.ajv.compile({ $id: `${SCHEMA_ID}/inline-${Math.random()}`, ...schema });
    return validate(value) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath || '(root)'} ${e.message}`);
  }

  /** The response the document gives for an operation and status, $refs to components.responses followed. */
  response(operationId: string, status: number): Json | undefined {
    const operation = this.operation(operationId);
    let response = (operation.responses as Record<string, Json>)[String(status)];
    if (response && typeof response.$ref === 'string') {
      response = this.doc.components.responses[response.$ref.split('/').pop()!];
    }
    return response;
  }

  operation(operationId: string): Json {
    for (const item of Object.values(this.doc.paths)) {
      for (const operation of Object.values(item)) if (operation.operationId === operationId) return operation;
    }
    throw new Error(`no operation ${operationId}`);
  }

  /**
   * Errors of a real HTTP answer against the document: its status must be documented for the
   * operation, with that content type, and the body must match the schema.
   */
  answerErrors(operationId: string, status: number, contentType: string, body: unknown): string[] {
    const response = this.response(operationId, status);
    if (!response) return [`${operationId} does not document status ${status}`];
    const content = response.content as Record<string, { schema: Json }> | undefined;
    const type = contentType.split(';')[0]!.trim();
    const media = content?.[type];
    if (!media) return [`${operationId} ${status} does not document ${type} (has ${Object.keys(content ?? {}).join(', ')})`];
    return this.errors(media.schema, body);
  }
}
