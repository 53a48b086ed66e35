/**
 * A small strict schema language for JSON request bodies, and its validator.
 * It states a pydantic request model the way the Python SDK serializes it:
 * every field it always sends is required, a field whose default is `None`
 * may be left out but is never `null`, and no other field is allowed.
 */
import { invalidType } from '../core/validate.js';

/** A JSON value's expected shape. */
export type Schema =
  | { readonly kind: 'string' }
  | { readonly kind: 'integer' }
  | { readonly kind: 'number' }
  | { readonly kind: 'boolean' }
  /** Any JSON value (a pydantic `Any` or `object`). */
  | { readonly kind: 'any' }
  /** An ISO-8601 date and time with a zone, as pydantic writes a `datetime`. */
  | { readonly kind: 'datetime' }
  /** One of fixed strings: a `Literal[…]` (one value: a discriminator). */
  | { readonly kind: 'literal'; readonly values: readonly string[] }
  | { readonly kind: 'array'; readonly items: Schema }
  /** A `dict[str, X]`: an object whose every value is `values`. */
  | { readonly kind: 'record'; readonly values: Schema }
  /** The first of `options` that matches, or a `type` issue saying `expected`. */
  | { readonly kind: 'union'; readonly options: readonly Schema[]; readonly expected: string }
  | ModelSchema
  /** One of several models, chosen by the string field `tag` (a discriminated union). */
  | { readonly kind: 'tagged'; readonly tag: string; readonly models: Readonly<Record<string, ModelSchema>> };

/** A request model: a JSON object with exactly these fields. */
export interface ModelSchema {
  readonly kind: 'model';
  readonly name: string;
  readonly fields: Readonly<Record<string, Field>>;
}

/**
 * How a field may appear:
 * - `required`: no default, or the `type` discriminator; always present, never null;
 * - `defaulted`: a default other than `None`, which the SDK always sends (it dumps with `exclude_unset=False`):
 *   present and never null, unless the validator is told to accept the server's defaults;
 * - `optional`: default `None`, which the SDK leaves out (`exclude_none=True`): absent or a value, never null.
 */
export type Presence = 'required' | 'defaulted' | 'optional';

/** One field of a model. */
export interface Field {
  readonly schema: Schema;
  readonly presence: Presence;
}

/**
 * What a violation broke:
 * - `json`: the body is empty or not JSON;
 * - `content_type`: it was not sent as `application/json`;
 * - `missing`: a field the SDK always sends is absent;
 * - `extra`: a field the model does not have;
 * - `null`: a field is `null` (the SDK leaves out what is `None`);
 * - `type`: a value of the wrong type (a fraction for an integer included);
 * - `literal`: a value outside a fixed set: the `type` discriminator, a severity, an event type;
 * - `format`: a string of the wrong form (a timestamp).
 */
export type ViolationRule = 'json' | 'content_type' | 'missing' | 'extra' | 'null' | 'type' | 'literal' | 'format';

/** One thing wrong with a body. */
export interface ValidationIssue {
  /** Where, as a path into the body: `[]` for the body itself, `['events', 0, 'event_id']`. */
  readonly loc: readonly (string | number)[];
  /** The same path as text: `body`, `events[0].event_id`. */
  readonly field: string;
  /** Which rule it broke. */
  readonly rule: ViolationRule;
  /** ``Expected `events[0].event_id` to be a string, got `1` (number)``. */
  readonly message: string;
}

/** Options of `validate`. */
export interface ValidateOptions {
  /** Whether `defaulted` fields must be present, as the SDK sends them. Default true. */
  readonly requireDefaulted?: boolean;
  /** Stop after this many issues. Default 20. */
  readonly maxIssues?: number;
}

/** Shorthands to write the models with. */
export const s = {
  string: { kind: 'string' },
  integer: { kind: 'integer' },
  number: { kind: 'number' },
  boolean: { kind: 'boolean' },
  any: { kind: 'any' },
  datetime: { kind: 'datetime' },
  literal: (...values: string[]): Schema => ({ kind: 'literal', values }),
  array: (items: Schema): Schema => ({ kind: 'array', items }),
  record: (values: Schema): Schema => ({ kind: 'record', values }),
  union: (expected: string, ...options: Schema[]): Schema => ({ kind: 'union', options, expected }),
  model: (name: string, fields: Record<string, Field>): ModelSchema => ({ kind: 'model', name, fields }),
  tagged: (tag: string, models: Record<string, ModelSchema>): Schema => ({ kind: 'tagged', tag, models }),
  required: (schema: Schema): Field => ({ schema, presence: 'required' }),
  defaulted: (schema: Schema): Field => ({ schema, presence: 'defaulted' }),
  optional: (schema: Schema): Field => ({ schema, presence: 'optional' }),
} as const;

// Pydantic's datetime accepts more, but both SDKs send this form, and a body that does not is a bug of the sender.
const DATETIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;

/** The path as text: `events[0].event_id`; the body itself is `body`. */
export function fieldName(loc: readonly (string | number)[]): string {
  if (loc.length === 0) return 'body';
  return loc.map((part, i) => (typeof part === 'number' ? `[${part}]` : i === 0 ? part : `.${part}`)).join('');
}

/** A single issue at `loc`, in the one message template of src/core/validate.ts. */
export function issue(loc: readonly (string | number)[], rule: ViolationRule, expected: string, value: unknown): ValidationIssue {
  const field = fieldName(loc);
  return { loc, field, rule, message: invalidType(field, expected, value).message };
}

function describe(schema: Schema): string {
  switch (schema.kind) {
    case 'string':
      return 'a string';
    case 'integer':
      return 'an integer';
    case 'number':
      return 'a finite number';
    case 'boolean':
      return 'a boolean';
    case 'any':
      return 'a JSON value';
    case 'datetime':
      return 'an ISO-8601 date-time string with a zone';
    case 'literal':
      return schema.values.map((v) => JSON.stringify(v)).join(' or ');
    case 'array':
      return 'an array';
    case 'record':
      return 'an object';
    case 'union':
      return schema.expected;
    case 'model':
      return `an object (${schema.name})`;
    case 'tagged':
      return `an object with \`${schema.tag}\` one of ${Object.keys(schema.models).join(', ')}`;
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Every issue of `value` against `schema` (up to `maxIssues`); an empty list when it conforms. */
export function validate(schema: Schema, value: unknown, options: ValidateOptions = {}): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  const limit = options.maxIssues ?? 20;
  const requireDefaulted = options.requireDefaulted ?? true;

  const check = (schema: Schema, value: unknown, loc: (string | number)[]): void => {
    if (issues.length >= limit) return;
    const wrong = (rule: ViolationRule = 'type') => void issues.push(issue(loc, rule, describe(schema), value));
    switch (schema.kind) {
      case 'any':
        return;
      case 'string':
        if (typeof value !== 'string') wrong();
        return;
      case 'integer':
        if (typeof value !== 'number' || !Number.isInteger(value)) wrong();
        return;
      case 'number':
        if (typeof value !== 'number' || !Number.isFinite(value)) wrong();
        return;
      case 'boolean':
        if (typeof value !== 'boolean') wrong();
        return;
      case 'datetime':
        if (typeof value !== 'string') wrong();
        else if (!DATETIME.test(value) || Number.isNaN(Date.parse(value))) wrong('format');
        return;
      case 'literal':
        if (typeof value !== 'string' || !schema.values.includes(value)) wrong('literal');
        return;
      case 'array':
        if (!Array.isArray(value)) return wrong();
        value.forEach((item, i) => check(schema.items, item, [...loc, i]));
        return;
      case 'record':
        if (!isObject(value)) return wrong();
        for (const [key, item] of Object.entries(value)) check(schema.values, item, [...loc, key]);
        return;
      case 'union':
        if (!schema.options.some((option) => validate(option, value, { requireDefaulted, maxIssues: 1 }).length === 0)) wrong();
        return;
      case 'tagged': {
        if (!isObject(value)) return wrong();
        const tag = value[schema.tag];
        const model = typeof tag === 'string' && Object.hasOwn(schema.models, tag) ? schema.models[tag] : undefined;
        if (model === undefined) {
          issues.push(issue([...loc, schema.tag], tag === undefined ? 'missing' : 'literal', describe(s.literal(...Object.keys(schema.models))), tag));
          return;
        }
        return check(model, value, loc);
      }
      case 'model': {
        if (!isObject(value)) return wrong();
        for (const [key, field] of Object.entries(schema.fields)) {
          const at = [...loc, key];
          if (!Object.hasOwn(value, key)) {
            if (field.presence === 'required' || (field.presence === 'defaulted' && requireDefaulted)) {
              issues.push(issue(at, 'missing', describe(field.schema), undefined));
            }
          } else if (value[key] === null) {
            const expected = field.presence === 'optional' ? `${describe(field.schema)} or absent, never null` : describe(field.schema);
            issues.push(issue(at, 'null', expected, null));
          } else check(field.schema, value[key], at);
          if (issues.length >= limit) return;
        }
        for (const key of Object.keys(value)) {
          if (!Object.hasOwn(schema.fields, key)) issues.push(issue([...loc, key], 'extra', `absent (${schema.name} forbids extra fields)`, value[key]));
          if (issues.length >= limit) return;
        }
        return;
      }
    }
  };

  check(schema, value, []);
  return issues.slice(0, limit);
}
