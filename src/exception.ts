/**
 * Describing a thrown value for the wire, and telling user errors (a 4xx the
 * caller caused) from real failures. Any value can be thrown, and the
 * description is read while the application is already failing, so every
 * property access is guarded and nothing here throws.
 */
import { type JsonValue, toJsonSafe } from './serialize.js';

/** The UNHANDLED_EXCEPTION fields. `traceback` is absent, never null, when there is no stack. */
export interface ExceptionFields {
  error_type: string;
  error_message: string;
  traceback?: string;
}

/** The `event_data` of a `user_error` GENERIC_EVENT. */
export interface UserErrorData {
  error_type: string;
  message: string;
  status_code: number;
  body?: JsonValue;
}

/** Links of a `cause` chain followed at most. */
const MAX_CAUSES = 16;
/** Characters kept of a message or a body string. */
const MAX_TEXT = 4096;

/**
 * `error_type` (the constructor name, or `typeof` for a primitive),
 * `error_message` and `traceback` (the stack, then `Caused by: …` for each
 * link of the `cause` chain). Never throws.
 */
export function describeException(error: unknown): ExceptionFields {
  const fields: ExceptionFields = { error_type: typeName(error), error_message: messageOf(error) };
  const traceback = tracebackOf(error);
  if (traceback !== undefined) fields.traceback = traceback;
  return fields;
}

/**
 * The user-error data when `error`, or the first link of its `cause` chain
 * that carries an HTTP status, has a status in 400–499 other than 408 and
 * 429; otherwise undefined. A status is read from `status`, `statusCode`,
 * `response.statusCode` or `response.status`. Never throws.
 */
export function findUserError(error: unknown): UserErrorData | undefined {
  const seen = new Set<unknown>();
  let link: unknown = error;
  for (let i = 0; i <= MAX_CAUSES && isObject(link) && !seen.has(link); i++) {
    seen.add(link);
    const status = statusOf(link);
    if (status !== undefined) {
      if (status < 400 || status > 499 || status === 408 || status === 429) return undefined;
      const data: UserErrorData = { error_type: typeName(link), message: messageOf(link), status_code: status };
      const body = bodyOf(link);
      if (body !== undefined) data.body = body;
      return data;
    }
    link = read(link, 'cause');
  }
  return undefined;
}

function isObject(value: unknown): value is object {
  return (typeof value === 'object' && value !== null) || typeof value === 'function';
}

/** Reads `object[key]`, or undefined when reading throws. */
function read(object: unknown, key: string): unknown {
  try {
    return (object as Record<string, unknown>)[key];
  } catch {
    return undefined;
  }
}

function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value !== 'object') return typeof value;
  try {
    const name: unknown = Object.getPrototypeOf(value)?.constructor?.name;
    if (typeof name === 'string' && name.length > 0) return name;
  } catch {
    // A hostile Proxy: fall through to `name`.
  }
  const name = read(value, 'name');
  return typeof name === 'string' && name.length > 0 ? name : 'Object';
}

function messageOf(value: unknown): string {
  let text: string;
  try {
    if (value instanceof Error) text = String(read(value, 'message') ?? '');
    else if (isObject(value) && typeof value !== 'function') {
      const message = read(value, 'message');
      text = typeof message === 'string' ? message : JSON.stringify(toJsonSafe(value));
    } else text = String(value);
  } catch {
    text = '[unreadable]';
  }
  return text.length > MAX_TEXT ? `${text.slice(0, MAX_TEXT)}…` : text;
}

function stackOf(value: unknown): string | undefined {
  const stack = isObject(value) ? read(value, 'stack') : undefined;
  return typeof stack === 'string' && stack.length > 0 ? stack : undefined;
}

function tracebackOf(error: unknown): string | undefined {
  const head = stackOf(error);
  const lines: string[] = head === undefined ? [] : [head];
  const seen = new Set<unknown>([error]);
  let link = isObject(error) ? read(error, 'cause') : undefined;
  for (let i = 0; i < MAX_CAUSES && link !== undefined; i++) {
    if (seen.has(link)) {
      lines.push('Caused by: [Circular]');
      break;
    }
    seen.add(link);
    lines.push(`Caused by: ${stackOf(link) ?? `${typeName(link)}: ${messageOf(link)}`}`);
    link = isObject(link) ? read(link, 'cause') : undefined;
  }
  return lines.length === 0 ? undefined : lines.join('\n');
}

function statusOf(value: object): number | undefined {
  const response = read(value, 'response');
  const candidates = [read(value, 'status'), read(value, 'statusCode'), isObject(response) ? read(response, 'statusCode') : undefined, isObject(response) ? read(response, 'status') : undefined];
  for (const candidate of candidates) {
    if (typeof candidate === 'number' && Number.isInteger(candidate)) return candidate;
    if (typeof candidate === 'string' && /^\d{3}$/.test(candidate)) return Number(candidate);
  }
  return undefined;
}

function bodyOf(value: object): JsonValue | undefined {
  let body = read(value, 'body');
  if (body === undefined) {
    const response = read(value, 'response');
    body = isObject(response) ? read(response, 'body') : undefined;
  }
  if (body === undefined) return undefined;
  const safe = toJsonSafe(body);
  return typeof safe === 'string' && safe.length > MAX_TEXT ? `${safe.slice(0, MAX_TEXT)}…` : safe;
}
