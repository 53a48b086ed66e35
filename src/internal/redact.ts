/**
 * Keeping the API key out of everything but the `X-API-Key` header: logs,
 * channel payloads and event bodies. got's errors carry the request options,
 * headers included, so an error is only ever described by a plain summary.
 */
import type { JsonValue } from '../serialize.js';

/** What stands in for the key wherever it would have appeared. */
export const REDACTED = '[redacted]';

/** `text` with every occurrence of `secret` replaced by `[redacted]`; an empty secret changes nothing. */
export function redactText(text: string, secret: string): string {
  return secret.length > 0 ? text.split(secret).join(REDACTED) : text;
}

/** A JSON value with `secret` redacted from every string and every object key; a fresh copy. */
export function redactJson(value: JsonValue, secret: string): JsonValue {
  if (typeof value === 'string') return redactText(value, secret);
  if (typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) return value.map((item) => redactJson(item, secret));
  const out: Record<string, JsonValue> = {};
  for (const [key, item] of Object.entries(value)) out[redactText(key, secret)] = redactJson(item, secret);
  return out;
}

/** A loggable summary of a thrown value. */
export interface ErrorSummary {
  code?: string;
  name?: string;
  message?: string;
  status?: number;
}

/**
 * `{ code, name, message, status }` of `error`, each present only when it has
 * the expected type, the message with `secret` redacted; never the error
 * itself, whose `options`, `request` or `response` may hold the key. Never throws.
 */
export function errorSummary(error: unknown, secret: string): ErrorSummary {
  const summary: ErrorSummary = {};
  if (typeof error !== 'object' || error === null) {
    summary.message = redactText(String(error), secret);
    return summary;
  }
  const { code, name, message } = { code: read(error, 'code'), name: read(error, 'name'), message: read(error, 'message') };
  const status = read(read(error, 'response'), 'statusCode');
  if (typeof code === 'string') summary.code = code;
  if (typeof name === 'string') summary.name = name;
  if (typeof message === 'string') summary.message = redactText(message, secret);
  if (typeof status === 'number') summary.status = status;
  return summary;
}

/** `object[key]`, or undefined when reading throws (a hostile getter, or `object` is undefined). */
function read(object: unknown, key: string): unknown {
  try {
    return (object as Record<string, unknown>)[key];
  } catch {
    return undefined;
  }
}
