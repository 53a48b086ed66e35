/**
 * Keeping the API key out of everything but the `X-API-Key` header: logs,
 * channel payloads and event bodies. got's errors carry the request options,
 * headers included, so an error is only ever described by a plain summary.
 */
import type { JsonValue } from './json.js';
import { setOwnEntry } from './own-entry.js';

/** What stands in for the key wherever it would have appeared. */
export const REDACTED = '[redacted]';

/** `text` with every occurrence of `secret` replaced by `[redacted]`; an empty secret changes nothing. */
export function redactText(text: string, secret: string): string {
  return secret.length > 0 ? text.split(secret).join(REDACTED) : text;
}

/** Characters of a failed send's reason kept (300); a cut one ends in `…`. */
export const MAX_REASON_CHARS = 300;

/**
 * A failed send's reason as the library logs and publishes it: `secret`
 * redacted first, then cut to `MAX_REASON_CHARS`, a cut one ending in `…`
 * (a key across the cut goes whole; see `redactCut`).
 */
export function redactReason(reason: string, secret: string): string {
  const { kept, omitted } = redactCut(reason, MAX_REASON_CHARS, secret);
  return omitted > 0 ? `${kept}…` : kept;
}

/** What `redactCut` keeps of a text. */
export interface RedactedCut {
  /** The kept head, with `secret` redacted; a flat copy that shares no memory with the input. */
  readonly kept: string;
  /** UTF-16 code units of the input left out after the head; 0 when nothing was cut. */
  readonly omitted: number;
}

/**
 * The head of `text`, at most `limit` UTF-16 code units of it (more only to
 * keep a `secret` that straddles the cut whole, so it is redacted rather
 * than left in part), with every occurrence of `secret` redacted: redaction
 * comes first, so no fragment of the key survives the cut. Reads only about
 * `limit + secret.length` code units, so cutting a 50 MB string costs what
 * cutting its head does. `limit` must be an integer ≥ 0.
 */
export function redactCut(text: string, limit: number, secret: string): RedactedCut {
  if (text.length <= limit) return { kept: flat(redactText(text, secret)), omitted: 0 };
  let end = limit;
  if (secret.length > 0) {
    // An occurrence that starts before the cut and ends after it moves the cut to its end; repeated,
    // because a secret that overlaps itself ("abab") can straddle the new cut too.
    // Only the window around the cut is searched (a slice is a view, not a copy): a miss must not scan the rest of a 50 MB string.
    for (let at = straddling(text, end, secret); at !== -1; at = straddling(text, end, secret)) end = at + secret.length;
  }
  return { kept: flat(redactText(text.slice(0, end), secret)), omitted: text.length - end };
}

/** Where an occurrence of `secret` starts that begins before `end` and ends after it, or -1; reads only around `end`. */
function straddling(text: string, end: number, secret: string): number {
  const from = Math.max(0, end - secret.length + 1);
  const at = text.slice(from, end + secret.length - 1).indexOf(secret);
  return at === -1 ? -1 : from + at;
}

/**
 * A copy of `text` that does not keep a larger string alive. V8 represents a
 * `slice` of 13 or more code units as a view into its parent, so a 32 KiB cut
 * of a 4 MiB string would pin all 4 MiB for as long as the event is queued.
 * Slicing a concatenation makes V8 first flatten it into a new string of its
 * own, which the result then views: it holds one code unit more than it
 * keeps, and nothing of the parent.
 */
export function flat(text: string): string {
  return text.length < 13 ? text : ` ${text}`.slice(1);
}

/** A JSON value with `secret` redacted from every string and every object key; a fresh copy. */
export function redactJson(value: JsonValue, secret: string): JsonValue {
  if (typeof value === 'string') return redactText(value, secret);
  if (typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) return value.map((item) => redactJson(item, secret));
  const out: Record<string, JsonValue> = {};
  for (const [key, item] of Object.entries(value)) setOwnEntry(out, redactText(key, secret), redactJson(item, secret));
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
 * the expected type, the strings with `secret` redacted; never the error
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
  if (typeof code === 'string') summary.code = redactText(code, secret);
  if (typeof name === 'string') summary.name = redactText(name, secret);
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
