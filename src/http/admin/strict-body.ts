import type { TSchema } from 'elysia';
import { BadRequest } from '../../errors';

interface SchemaShape {
  type?: string;
  format?: string;
  const?: unknown;
  minimum?: number;
  maximum?: number;
  properties?: Record<string, SchemaShape>;
  additionalProperties?: boolean | SchemaShape;
  anyOf?: SchemaShape[];
  items?: SchemaShape;
}

const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Elysia's `t.Integer` is itself a union with a string of format "integer" (and `t.Numeric`, `t.BooleanString`
 * alike), decoded into the number: the variant that makes `"30"` pass as 30. A JSON body has real numbers.
 */
const isCoercion = (variant: SchemaShape) =>
  variant.type === 'string' && (variant.format === 'integer' || variant.format === 'numeric' || variant.format === 'boolean');
const variants = (schema: SchemaShape) => (schema.anyOf ?? []).filter((v) => !isCoercion(v));

/** Whether the value has the schema's JSON type (a literal: its value). Lengths, ranges and formats are the schema's to check after. */
function typeMatches(schema: SchemaShape, value: unknown): boolean {
  if (schema.anyOf) return variants(schema).some((variant) => typeMatches(variant, value));
  if (schema.const !== undefined) return value === schema.const;
  switch (schema.type) {
    case 'string':
      return typeof value === 'string';
    case 'boolean':
      return typeof value === 'boolean';
    case 'integer':
      return typeof value === 'number' && Number.isInteger(value);
    case 'number':
      return typeof value === 'number' && Number.isFinite(value);
    case 'null':
      return value === null;
    case 'array':
      return Array.isArray(value);
    case 'object':
      return isPlainObject(value);
    default:
      return true;
  }
}

/** What the schema takes, for people: `a whole number from 1 to 100000 or null`, `one of "hosted", "proxy", "group"`. */
function expected(schema: SchemaShape): string {
  if (schema.anyOf) {
    const literals = variants(schema).filter((v) => v.const !== undefined);
    const rest = variants(schema).filter((v) => v.const === undefined);
    const parts = [...new Set(rest.map(expected))];
    if (literals.length) parts.unshift(`one of ${literals.map((v) => JSON.stringify(v.const)).join(', ')}`);
    return parts.join(' or ');
  }
  if (schema.const !== undefined) return JSON.stringify(schema.const);
  const range =
    schema.minimum !== undefined && schema.maximum !== undefined
      ? ` from ${schema.minimum} to ${schema.maximum}`
      : schema.minimum !== undefined
        ? ` of at least ${schema.minimum}`
        : '';
  const names: Record<string, string> = {
    string: 'a string',
    boolean: 'true or false',
    integer: `a whole number${range}`,
    number: `a number${range}`,
    null: 'null',
    array: 'an array',
    object: 'an object',
  };
  return names[schema.type ?? ''] ?? 'a JSON value';
}

/** The value as sent, short: `"true"`, `3.5`, `an array`. */
function shown(value: unknown): string {
  if (Array.isArray(value)) return 'an array';
  if (isPlainObject(value)) return 'an object';
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 40 ? `${text.slice(0, 37)}...` : text;
}

/**
 * Refuses a JSON body that is not exactly what the schema says, before Elysia sees it: a field the schema
 * does not name (wherever it says `additionalProperties: false`), and a value of the wrong JSON type, each
 * a 400 naming the field. Elysia cannot be trusted with either: with its default `normalize` (decided by
 * the host app's root instance, not by this plugin) it silently drops unknown fields, so `{"descripton": "…"}`
 * would be accepted and do nothing; and its `t.Integer` takes numeric strings (`"30"` became 30), so a
 * client's wrong type would work here and fail somewhere stricter. Lengths, ranges and formats stay the schema's.
 */
export function refuseLooseBody(schema: SchemaShape, value: unknown, path = ''): void {
  if (path === '' && schema.type === 'object' && !isPlainObject(value)) {
    throw new BadRequest(`invalid request: the body must be a JSON object, not ${value === undefined ? 'nothing' : shown(value)}`);
  }
  if (schema.anyOf) {
    // Nullable and unions: the object variant (if any) is the one whose fields matter.
    for (const variant of schema.anyOf) if (variant.type === 'object' && isPlainObject(value)) refuseLooseBody(variant, value, path);
    return;
  }
  if (schema.type === 'array' && schema.items && Array.isArray(value)) {
    for (const [i, item] of value.entries()) {
      const where = `${path}[${i}]`;
      if (!typeMatches(schema.items, item)) throw wrongType(where, schema.items, item);
      refuseLooseBody(schema.items, item, where);
    }
    return;
  }
  if (schema.type !== 'object' || !isPlainObject(value)) return;
  const known = schema.properties ?? {};
  for (const [key, v] of Object.entries(value)) {
    const where = path ? `${path}.${key}` : key;
    if (key in known) {
      if (!typeMatches(known[key], v)) throw wrongType(where, known[key], v);
      refuseLooseBody(known[key], v, where);
    } else if (schema.additionalProperties === false) {
      const names = Object.keys(known);
      throw new BadRequest(`invalid request: unknown field "${where}"${names.length ? ` (the fields are: ${names.join(', ')})` : ''}`, {
        field: where.split(/[.[]/)[0],
      });
    }
  }
}

function wrongType(where: string, schema: SchemaShape, value: unknown): BadRequest {
  return new BadRequest(`invalid request: ${where} must be ${expected(schema)}, not ${shown(value)}`, { field: where.split(/[.[]/)[0] });
}

/** Route options for a JSON body that must match `schema` with no unknown fields: `{ ...strictBody(Create), response }`. */
export function strictBody<S extends TSchema>(schema: S) {
  return {
    body: schema,
    // For the OpenAPI document only: a parser given as a function (the controller's readJsonBody, which runs
    // first and answers every body) leaves the documented request body without a content type or schema.
    parse: 'application/json' as const,
    transform({ body }: { body: unknown }) {
      refuseLooseBody(schema as SchemaShape, body);
    },
  };
}
