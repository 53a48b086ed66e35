/**
 * A response a test scripts instead of the fake's own answer: a hang, a
 * reset, or any status with a body and headers. Faults and future scripts
 * both use it; the server turns it into a `Reply` and writes that.
 */
import type { JsonValue } from '../core/json.js';
import { integerInRange, invalidType, outOfRange, unknownOption } from '../core/validate.js';

/** Never answer: the request stays open until the client gives up or the fake closes. */
export interface HangResponse {
  /** Always true. */
  readonly hang: true;
}

/** Destroy the connection with a TCP reset, without an answer: the client sees a connection error. */
export interface ResetResponse {
  /** Always true. */
  readonly reset: true;
}

/** Answer with `status`. */
export interface StatusResponse {
  /** The HTTP status, 100–599. */
  readonly status: number;
  /** The body: a JSON value (sent as JSON) or a string (sent as is, `text/plain`). Default: `{"detail":"<status text>"}`. */
  readonly body?: JsonValue;
  /** The `Retry-After` header: a number of seconds, or an HTTP-date or any text. Default: none. */
  readonly retryAfter?: number | string;
  /** The `retry-after-ms` header, in milliseconds. Default: none. */
  readonly retryAfterMs?: number;
  /** More headers. Default: none. */
  readonly headers?: Readonly<Record<string, string>>;
  /** Wait this long, in milliseconds, before answering. Default 0. */
  readonly delayMs?: number;
}

/** A scripted response. */
export type ScriptedResponse = HangResponse | ResetResponse | StatusResponse;

/** What the server writes for one request. */
export type Reply = (
  | { readonly kind: 'hang' }
  | { readonly kind: 'reset' }
  | { readonly kind: 'send'; readonly status: number; readonly headers: Readonly<Record<string, string>>; readonly body: Uint8Array }
) & {
  /** How long to wait before it, in milliseconds. */
  readonly delayMs: number;
};

const STATUS_KEYS = ['status', 'body', 'retryAfter', 'retryAfterMs', 'headers', 'delayMs'];

/** The reply for a JSON body. */
export function jsonReply(status: number, value: JsonValue, headers: Readonly<Record<string, string>> = {}, delayMs = 0): Reply {
  return { kind: 'send', status, headers: { 'content-type': 'application/json', ...headers }, body: Buffer.from(JSON.stringify(value)), delayMs };
}

/** The reply for a scripted response (already checked by `checkScriptedResponse`). */
export function toReply(response: ScriptedResponse): Reply {
  if ('hang' in response) return { kind: 'hang', delayMs: 0 };
  if ('reset' in response) return { kind: 'reset', delayMs: 0 };
  const headers: Record<string, string> = {};
  if (response.retryAfter !== undefined) headers['retry-after'] = String(response.retryAfter);
  if (response.retryAfterMs !== undefined) headers['retry-after-ms'] = String(response.retryAfterMs);
  Object.assign(headers, response.headers);
  const delayMs = response.delayMs ?? 0;
  if (typeof response.body === 'string') {
    return { kind: 'send', status: response.status, headers: { 'content-type': 'text/plain', ...headers }, body: Buffer.from(response.body), delayMs };
  }
  return jsonReply(response.status, response.body === undefined ? { detail: `Scripted status ${response.status}` } : response.body, headers, delayMs);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Throws a TypeError or RangeError (the message template of src/core/validate.ts)
 * unless `value` is a `ScriptedResponse`; `name` names it in the message.
 */
export function checkScriptedResponse(name: string, value: unknown): asserts value is ScriptedResponse {
  if (!isObject(value)) throw invalidType(name, 'an object: { hang: true }, { reset: true } or { status, … }', value);
  if ('hang' in value || 'reset' in value) {
    const key = 'hang' in value ? 'hang' : 'reset';
    if (value[key] !== true) throw invalidType(`${name}.${key}`, 'true', value[key]);
    for (const other of Object.keys(value)) if (other !== key) throw unknownOption(name, other, [key]);
    return;
  }
  for (const key of Object.keys(value)) if (!STATUS_KEYS.includes(key)) throw unknownOption(name, key, STATUS_KEYS);
  integerInRange(`${name}.status`, value.status, 100, 599);
  if (value.retryAfter !== undefined && typeof value.retryAfter !== 'string') nonNegative(`${name}.retryAfter`, value.retryAfter);
  if (value.retryAfterMs !== undefined) integerInRange(`${name}.retryAfterMs`, value.retryAfterMs, 0);
  if (value.delayMs !== undefined) integerInRange(`${name}.delayMs`, value.delayMs, 0);
  if (value.headers !== undefined) {
    if (!isObject(value.headers)) throw invalidType(`${name}.headers`, 'an object of strings', value.headers);
    for (const [key, header] of Object.entries(value.headers)) if (typeof header !== 'string') throw invalidType(`${name}.headers.${key}`, 'a string', header);
  }
  if (value.body !== undefined) checkJson(`${name}.body`, value.body);
}

/** Checks a number of seconds ≥ 0, fractions allowed (`Retry-After: 1.5`). */
function nonNegative(name: string, value: unknown): void {
  if (typeof value !== 'number') throw invalidType(name, 'a number ≥ 0 or a string', value);
  if (!Number.isFinite(value) || value < 0) throw outOfRange(name, 'a finite number ≥ 0', value);
}

/** Throws unless `value` survives JSON as it is (no undefined, functions, cycles or non-finite numbers). */
export function checkJson(name: string, value: unknown): asserts value is JsonValue {
  const seen = new Set<object>();
  const visit = (value: unknown, at: string): void => {
    if (value === null || typeof value === 'string' || typeof value === 'boolean') return;
    if (typeof value === 'number') {
      if (!Number.isFinite(value)) throw invalidType(at, 'a JSON value (finite numbers only)', value);
      return;
    }
    if (typeof value !== 'object' || seen.has(value)) throw invalidType(at, 'a JSON value', value);
    seen.add(value);
    if (Array.isArray(value)) value.forEach((item: unknown, i) => visit(item, `${at}[${i}]`));
    else if (Object.getPrototypeOf(value) === Object.prototype || Object.getPrototypeOf(value) === null) {
      for (const [key, item] of Object.entries(value)) visit(item, `${at}.${key}`);
    } else throw invalidType(at, 'a JSON value (plain objects only)', value);
    seen.delete(value);
  };
  visit(value, name);
}
