/**
 * Describing a thrown value for the wire, and telling user errors (a 4xx the
 * caller caused) from real failures. Any value can be thrown, and the
 * description is read while the application is already failing, so every
 * property access is guarded and nothing here throws.
 *
 * The API key is redacted from every text before it is cut (`redactCut`), so
 * a key that straddles a cut is replaced whole rather than left in part, and
 * a cut never reads more than the head of a huge message or stack.
 *
 * The traceback is the error's stack, then its inner errors, then one
 * `Caused by: …` entry for each link of its `cause` chain (at most
 * `MAX_CAUSES`), each link followed by its own inner errors. Inner errors are
 * the items of an array-valued `errors` property (`AggregateError`, as from
 * `Promise.any` or a connection tried on IPv6 and IPv4): at most
 * `MAX_INNER_ERRORS` of them, each written as `[n] <its stack>` with every
 * line indented two spaces deeper and followed by its own inner errors and
 * causes, then `…N more errors` for the rest:
 *
 * ```text
 * AggregateError: all attempts failed
 *     at main (app.js:3:9)
 *   [1] TypeError: fetch failed
 *       at fetch (node:internal/deps/undici:1:1)
 *   Caused by: Error: connect ECONNREFUSED 127.0.0.1:443
 *   [2] [Circular]
 *   …7 more errors
 * Caused by: Error: the job failed
 * ```
 *
 * An error met again on its own way down (a cause or inner error that is one
 * of the errors it is reached from) is written `[Circular]` and not followed.
 * Each entry is a stack (or, without one, `Type: message`) of at most
 * `MAX_STACK` characters; a traceback holds at most `MAX_ENTRIES` entries and
 * `MAX_TRACEBACK` characters, and ends with `…[traceback limit reached]` when
 * something was left out for that reason.
 */
import { redactCut, redactJson } from './redact.js';
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
/** Characters kept of an error type, a message or a body string; a cut one ends in `…`. */
const MAX_TEXT = 4096;
/** Characters kept of one traceback entry (a stack, or `Type: message`); a cut one ends in `…`. */
const MAX_STACK = 8192;
/** Inner errors (the `errors` array of an AggregateError) written per error at most. */
const MAX_INNER_ERRORS = 8;
/** Entries of one traceback at most: stacks, causes, inner errors, `[Circular]` and `…N more errors` lines. */
const MAX_ENTRIES = 64;
/** Characters of a traceback's entries at most, indentation and newlines included; the closing marker comes on top. */
const MAX_TRACEBACK = 65_536;
/** The last line of a traceback that hit `MAX_ENTRIES` or `MAX_TRACEBACK`. */
const LIMIT_MARKER = '…[traceback limit reached]';

/**
 * `error_type` (the constructor name, or `typeof` for a primitive),
 * `error_message` and `traceback` (see the module comment), with `secret`
 * (the API key; required, so that no caller can forget it, and '' for none)
 * redacted from each before it is cut. Never throws.
 */
export function describeException(error: unknown, secret: string): ExceptionFields {
  const fields: ExceptionFields = {
    error_type: cutText(typeName(error), MAX_TEXT, secret),
    error_message: cutText(messageOf(error, secret), MAX_TEXT, secret),
  };
  const traceback = tracebackOf(error, secret);
  if (traceback !== undefined) fields.traceback = traceback;
  return fields;
}

/**
 * The user-error data when `error`, or the first link of its `cause` chain
 * that carries an HTTP status, has a status in 400–499 other than 408 and
 * 429; otherwise undefined. A status is read from `status`, `statusCode`,
 * `response.statusCode` or `response.status`. `secret` (the API key, '' for
 * none) is redacted from the type, the message and the body before any cut. Never throws.
 */
export function findUserError(error: unknown, secret: string): UserErrorData | undefined {
  const seen = new Set<unknown>();
  let link: unknown = error;
  for (let i = 0; i <= MAX_CAUSES && isObject(link) && !seen.has(link); i++) {
    seen.add(link);
    const status = statusOf(link);
    if (status !== undefined) {
      if (status < 400 || status > 499 || status === 408 || status === 429) return undefined;
      const data: UserErrorData = {
        error_type: cutText(typeName(link), MAX_TEXT, secret),
        message: cutText(messageOf(link, secret), MAX_TEXT, secret),
        status_code: status,
      };
      const body = bodyOf(link, secret);
      if (body !== undefined) data.body = body;
      return data;
    }
    link = read(link, 'cause');
  }
  return undefined;
}

/** At most `limit` characters of `text` (more only to redact a key across the cut), `secret` redacted first; `…` marks a cut. */
function cutText(text: string, limit: number, secret: string): string {
  const { kept, omitted } = redactCut(text, limit, secret);
  return omitted > 0 ? `${kept}…` : kept;
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
    // A null prototype, or one without a constructor, throws here like a hostile Proxy does.
    const name = (Object.getPrototypeOf(value) as { constructor: { name?: unknown } }).constructor.name;
    if (typeof name === 'string' && name.length > 0) return name;
  } catch {
    // No constructor to name it, or a hostile Proxy: fall through to `name`.
  }
  const name = read(value, 'name');
  return typeof name === 'string' && name.length > 0 ? name : 'Object';
}

/**
 * The whole message, uncut: the caller redacts and cuts it. An object without
 * a string `message` is shown as its JSON, redacted as a value first so that
 * a key inside it is found before JSON escapes could hide it.
 */
function messageOf(value: unknown, secret: string): string {
  try {
    // Any value can be an Error's message; String() is how one is read (a throwing toString is caught below).
    // eslint-disable-next-line @typescript-eslint/no-base-to-string
    if (value instanceof Error) return String(read(value, 'message') ?? '');
    if (isObject(value) && typeof value !== 'function') {
      const message = read(value, 'message');
      return typeof message === 'string' ? message : JSON.stringify(redactJson(toJsonSafe(value, undefined, secret), secret));
    }
    return String(value);
  } catch {
    return '[unreadable]';
  }
}

function stackOf(value: unknown): string | undefined {
  const stack = isObject(value) ? read(value, 'stack') : undefined;
  return typeof stack === 'string' && stack.length > 0 ? stack : undefined;
}

/** A traceback entry for `value`: its stack, or `Type: message` without one. */
function entryOf(value: unknown, secret: string): string {
  return stackOf(value) ?? `${typeName(value)}: ${messageOf(value, secret)}`;
}

/** The traceback text, built entry by entry within the limits. */
class TracebackWriter {
  /** The API key, redacted from every entry before its cut. */
  readonly secret: string;
  readonly #lines: string[] = [];
  /** Characters written so far, the newlines between entries included. */
  #chars = 0;
  /** An entry was refused: the text ends with LIMIT_MARKER. */
  #full = false;

  constructor(secret: string) {
    this.secret = secret;
  }

  /** Whether another entry may still be written. */
  get open(): boolean {
    return !this.#full;
  }

  /**
   * Writes `label` and `text` at `indent`, every line of `text` indented,
   * `text` redacted and then cut; nothing is written once the traceback is
   * full, and `open` tells when that is.
   */
  add(indent: string, label: string, text: string): void {
    const newline = this.#lines.length > 0 ? 1 : 0;
    const left = MAX_TRACEBACK - this.#chars - newline;
    if (this.#full || this.#lines.length >= MAX_ENTRIES || left <= indent.length + label.length) {
      this.#full = true;
      return;
    }
    // Cut before indenting, and by the text as it was, where the key is found whole; one character is kept for `…`.
    let entry = indent + label + cutText(text, Math.min(MAX_STACK, left - indent.length - label.length - 1), this.secret).replaceAll('\n', `\n${indent}`);
    // Indentation, or a key redacted across the cut, can still overflow: the text is redacted now, so any cut is safe.
    if (entry.length > left) entry = `${entry.slice(0, left - 1)}…`;
    this.#lines.push(entry);
    this.#chars += newline + entry.length;
  }

  text(): string | undefined {
    if (this.#lines.length === 0) return undefined;
    return this.#full ? `${this.#lines.join('\n')}\n${LIMIT_MARKER}` : this.#lines.join('\n');
  }
}

function tracebackOf(error: unknown, secret: string): string | undefined {
  const writer = new TracebackWriter(secret);
  writeChain(writer, error, stackOf(error), '', '', new Set());
  return writer.text();
}

/**
 * Writes `error` at `indent` (its entry `text` after `label`; nothing for it
 * when `text` is undefined), its inner errors, then each link of its cause
 * chain with theirs. `path` holds the errors it is reached from, for
 * `[Circular]`; what this call adds to it, it takes out again, so an error
 * shared by two branches is written in both.
 */
function writeChain(writer: TracebackWriter, error: unknown, text: string | undefined, label: string, indent: string, path: Set<object>): void {
  const added: object[] = [];
  let link = error;
  let entry = text;
  let prefix = label;
  for (let causes = 0; ; causes++) {
    // A refused entry closes the writer: the inner errors then write nothing, and the loop stops below.
    if (entry !== undefined) writer.add(indent, prefix, entry);
    // Only an object can be met again: a primitive has no cause and no inner errors.
    if (isObject(link)) {
      path.add(link);
      added.push(link);
      writeInner(writer, link, indent, path);
    }
    const next = causes < MAX_CAUSES && isObject(link) ? read(link, 'cause') : undefined;
    if (next === undefined || !writer.open) break;
    if (isObject(next) && path.has(next)) {
      writer.add(indent, 'Caused by: ', '[Circular]');
      break;
    }
    link = next;
    entry = entryOf(next, writer.secret);
    prefix = 'Caused by: ';
  }
  for (const link of added) path.delete(link);
}

/** Writes the inner errors of `error` (an array-valued `errors`), two spaces deeper than `indent`. */
function writeInner(writer: TracebackWriter, error: object, indent: string, path: Set<object>): void {
  const errors = read(error, 'errors');
  let count = 0;
  try {
    if (Array.isArray(errors)) count = errors.length;
  } catch {
    // A revoked Proxy: Array.isArray throws, and there are no inner errors to write.
  }
  const inner = `${indent}  `;
  for (let i = 0; i < Math.min(count, MAX_INNER_ERRORS) && writer.open; i++) {
    const item = read(errors, String(i));
    const label = `[${i + 1}] `;
    if (isObject(item) && path.has(item)) writer.add(inner, label, '[Circular]');
    else writeChain(writer, item, entryOf(item, writer.secret), label, inner, path);
  }
  if (count > MAX_INNER_ERRORS) writer.add(inner, '', `…${count - MAX_INNER_ERRORS} more errors`);
}

function statusOf(value: object): number | undefined {
  const response = read(value, 'response');
  const candidates = [
    read(value, 'status'),
    read(value, 'statusCode'),
    isObject(response) ? read(response, 'statusCode') : undefined,
    isObject(response) ? read(response, 'status') : undefined,
  ];
  for (const candidate of candidates) {
    if (typeof candidate === 'number' && Number.isInteger(candidate)) return candidate;
    if (typeof candidate === 'string' && /^\d{3}$/.test(candidate)) return Number(candidate);
  }
  return undefined;
}

/**
 * The body, from `body` or `response.body`: a string is redacted and cut
 * here; anything else is mapped by `toJsonSafe` and then redacted.
 */
function bodyOf(value: object, secret: string): JsonValue | undefined {
  let body = read(value, 'body');
  if (body === undefined) {
    const response = read(value, 'response');
    body = isObject(response) ? read(response, 'body') : undefined;
  }
  if (body === undefined) return undefined;
  // A string body skips toJsonSafe, whose own cut (at 32 768 characters) would come before the redaction.
  // An object body's snapshot redacts a string before it cuts one; redactJson below covers what it kept whole.
  const safe = typeof body === 'string' ? body : toJsonSafe(body, undefined, secret);
  return typeof safe === 'string' ? cutText(safe, MAX_TEXT, secret) : redactJson(safe, secret);
}
