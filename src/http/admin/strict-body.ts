import type { TSchema } from 'elysia';
import { BadRequest } from '../../errors';

interface SchemaShape {
  type?: string;
  properties?: Record<string, SchemaShape>;
  additionalProperties?: boolean | SchemaShape;
  anyOf?: SchemaShape[];
  items?: SchemaShape;
}

const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Refuses a field the schema does not name, wherever the schema says `additionalProperties: false`.
 * Elysia cannot be trusted to: with its default `normalize` (decided by the host app's root instance,
 * not by this plugin) it silently drops unknown fields before validating, so `{"descripton": "…"}`
 * would be accepted and do nothing.
 */
export function refuseUnknownFields(schema: SchemaShape, value: unknown, path = ''): void {
  if (schema.anyOf) {
    // Nullable and unions: the object variant (if any) is the one whose fields matter.
    for (const variant of schema.anyOf) if (variant.type === 'object' && isPlainObject(value)) refuseUnknownFields(variant, value, path);
    return;
  }
  if (schema.type === 'array' && schema.items && Array.isArray(value)) {
    for (const [i, item] of value.entries()) refuseUnknownFields(schema.items, item, `${path}[${i}]`);
    return;
  }
  if (schema.type !== 'object' || !isPlainObject(value)) return;
  const known = schema.properties ?? {};
  for (const [key, v] of Object.entries(value)) {
    const where = path ? `${path}.${key}` : key;
    if (key in known) refuseUnknownFields(known[key], v, where);
    else if (schema.additionalProperties === false) {
      const names = Object.keys(known);
      throw new BadRequest(`invalid request: unknown field "${where}"${names.length ? ` (the fields are: ${names.join(', ')})` : ''}`);
    }
  }
}

/** Route options for a JSON body that must match `schema` with no unknown fields: `{ ...strictBody(Create), response }`. */
export function strictBody<S extends TSchema>(schema: S) {
  return {
    body: schema,
    // For the OpenAPI document only: a parser given as a function (the controller's readJsonBody, which runs
    // first and answers every body) leaves the documented request body without a content type or schema.
    parse: 'application/json' as const,
    transform({ body }: { body: unknown }) {
      refuseUnknownFields(schema as SchemaShape, body);
    },
  };
}
