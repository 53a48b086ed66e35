/**
 * The Tinker telemetry wire format: what one POST to `/api/v1/telemetry`
 * carries. Events are queued in a compact form (`QueuedEvent`) and turned
 * into wire objects only at send time, off the caller's path.
 */
import { randomUUID } from 'node:crypto';
import type { ExceptionFields } from './exception.js';
import { REDACTED, redactJson, redactText } from './redact.js';
import { MARKER_RESERVE, capEventData, cutString, jsonBytes } from './truncate.js';
import type { JsonObject } from './json.js';
import { SDK_VERSION } from './version.js';

/** The four event types the server accepts. */
export type WireEventType = 'SESSION_START' | 'SESSION_END' | 'UNHANDLED_EXCEPTION' | 'GENERIC_EVENT';

/** Severities as sent on the wire. */
export type WireSeverity = 'DEBUG' | 'INFO' | 'WARNING' | 'ERROR' | 'CRITICAL';

/** Severities as callers write them; any case is accepted (`'info'`, `'INFO'`, `'Info'`). */
export type Severity = 'debug' | 'info' | 'warning' | 'error' | 'critical';

const SEVERITY_BY_NAME: Readonly<Record<string, WireSeverity>> = Object.freeze(
  Object.assign(Object.create(null) as Record<string, WireSeverity>, {
    debug: 'DEBUG',
    info: 'INFO',
    warning: 'WARNING',
    error: 'ERROR',
    critical: 'CRITICAL',
    DEBUG: 'DEBUG',
    INFO: 'INFO',
    WARNING: 'WARNING',
    ERROR: 'ERROR',
    CRITICAL: 'CRITICAL',
  }),
);

/** The wire severity for `value`, in any case, or undefined when it is not one of the five. */
export function parseSeverity(value: unknown): WireSeverity | undefined {
  if (typeof value !== 'string') return undefined;
  return SEVERITY_BY_NAME[value] ?? SEVERITY_BY_NAME[value.toLowerCase()];
}

/** Fields every wire event has. */
export interface WireEventBase {
  event: WireEventType;
  event_id: string;
  event_session_index: number;
  severity: WireSeverity;
  /** ISO-8601 UTC with a `Z`, as `Date.prototype.toISOString` writes it. */
  timestamp: string;
}

export type WireEvent =
  | (WireEventBase & { event: 'SESSION_START' })
  | (WireEventBase & { event: 'SESSION_END'; duration: string })
  | (WireEventBase & { event: 'UNHANDLED_EXCEPTION' } & ExceptionFields)
  | (WireEventBase & { event: 'GENERIC_EVENT'; event_name: string; event_data: JsonObject });

/** The request body. The server forbids any other top-level field. */
export interface WireBody {
  session_id: string;
  platform: string;
  sdk_version: string;
  process_uuid: string;
  events: WireEvent[];
}

/**
 * An accepted event, as it waits in the queue: one small object with a fixed
 * shape, so `log()` stays monomorphic. `id` is given when the event is first
 * serialized and then kept, so every retry of a batch carries the same ids.
 */
export class QueuedEvent {
  id: string | undefined = undefined;
  /** The JSON text, redacted and capped, made when the event is first taken into a batch and then kept (by `encoded`). */
  json: string | undefined = undefined;
  /** The UTF-8 size of `json` once counted; -1 until then. */
  #jsonBytes = -1;
  constructor(
    readonly type: WireEventType,
    readonly index: number,
    readonly severity: WireSeverity,
    /** When it was logged, in epoch milliseconds. */
    readonly timestampMs: number,
    /** GENERIC_EVENT: event_name. */
    readonly name: string | undefined,
    /** GENERIC_EVENT: event_data, already a JSON-safe snapshot. */
    readonly data: JsonObject | undefined,
    /** UNHANDLED_EXCEPTION: its fields. */
    readonly exception: ExceptionFields | undefined,
    /** SESSION_END: milliseconds since the session started. */
    readonly durationMs: number | undefined,
    /**
     * What the event counts against `maxQueueBytes` while it is queued, in
     * bytes, set when it is accepted: the UTF-8 size of its JSON, measured
     * (see `MEASURED_FROM_CHARS`), or an upper bound of it (`eventBytesAtMost`).
     */
    public queuedBytes = 0,
  ) {}

  /** Keeps the event's JSON, and its UTF-8 size in bytes when that was counted (-1 when it was not). */
  encoded(json: string, bytes: number): void {
    this.json = json;
    this.#jsonBytes = bytes;
  }

  /**
   * The UTF-8 size of `json` in bytes (0 before it is made), counted on the
   * first read that needs it and kept: `encodeEvent` counts it only when the
   * event could be over `maxEventBytes`, and a batch only when it could be
   * over `maxBatchBytes` (see `jsonBytesAtMost`).
   */
  get jsonBytes(): number {
    if (this.#jsonBytes < 0) {
      if (this.json === undefined) return 0;
      this.#jsonBytes = Buffer.byteLength(this.json);
    }
    return this.#jsonBytes;
  }

  /** At least `jsonBytes`, without counting: the count once made, else 3 bytes per UTF-16 code unit of `json` (see `utf8BytesNearCap`). */
  get jsonBytesAtMost(): number {
    return this.#jsonBytes >= 0 ? this.#jsonBytes : (this.json?.length ?? 0) * 3;
  }
}

/**
 * The UTF-8 size of `text` in bytes when it could be over `capBytes`, or -1
 * when it cannot be, without counting: a UTF-16 code unit is at most 3 UTF-8
 * bytes (a surrogate pair, 2 units, is 4 bytes; a lone surrogate is written
 * as U+FFFD, 3 bytes), so text of at most `capBytes / 3` units is within the
 * cap. Over the cap exactly when `Buffer.byteLength(text) > capBytes`.
 */
export function utf8BytesNearCap(text: string, capBytes: number): number {
  return text.length * 3 <= capBytes ? -1 : Buffer.byteLength(text);
}

/**
 * The JSON of an event's fixed fields (type, id, index, severity, timestamp,
 * duration, and the keys of the variable ones), rounded up: what every queued
 * event adds to the queue's bytes besides its name, data or exception.
 */
export const EVENT_OVERHEAD_BYTES = 256;

/**
 * The most UTF-8 bytes one UTF-16 code unit of an event's name, data or
 * exception fields takes in the event's JSON (6): a control character or a
 * lone surrogate is written as `\u001f`, six ASCII characters; any other code
 * unit takes at most 3 bytes (a surrogate pair, 2 units, takes 4).
 */
export const WIRE_BYTES_PER_CHAR = 6;

/**
 * Above how many UTF-16 code units of name, data or exception fields (1024)
 * an event is measured when it is accepted, rather than counted by
 * `eventBytesAtMost`: its JSON is made then to be counted (`eventJsonBytes`).
 * Below it, the bound costs a multiplication on the caller's path where
 * measuring would cost a JSON encoding, and over-counts by at most
 * 6 × 1024 bytes an event: with the default options, the 10 000 events
 * `maxQueueSize` holds could not reach the default `maxQueueBytes` even so.
 */
export const MEASURED_FROM_CHARS = 1024;

/**
 * The most UTF-8 bytes one code unit of an event's contents takes on the
 * wire once `secret` is redacted: `WIRE_BYTES_PER_CHAR`, or more for a secret
 * of one code unit, which becomes `[redacted]`, 10 bytes.
 */
export function wireBytesPerChar(secret: string): number {
  return secret.length === 1 ? REDACTED.length : WIRE_BYTES_PER_CHAR;
}

/**
 * An upper bound of the UTF-8 size of an event's JSON, redacted and capped
 * as `encodeEvent` makes it, from the UTF-16 code units of its contents
 * (`contentChars`: the name and the snapshot's JSON length, or the
 * exception's fields, an escape counted as one, less the parts counted in
 * `exactBytes`): `EVENT_OVERHEAD_BYTES`, plus `bytesPerChar` (see
 * `wireBytesPerChar`) a code unit, plus `exactBytes` (default 0: the strings
 * the snapshot cut, counted exactly), and never more than `maxEventBytes`,
 * the size an event over it is cut to. What an event of at most
 * `MEASURED_FROM_CHARS` such code units counts against `maxQueueBytes`.
 */
export function eventBytesAtMost(contentChars: number, bytesPerChar: number, maxEventBytes: number, exactBytes = 0): number {
  return Math.min(EVENT_OVERHEAD_BYTES + contentChars * bytesPerChar + exactBytes, maxEventBytes);
}

/** The wire form of one queued event. */
export function toWireEvent(event: QueuedEvent): WireEvent {
  event.id ??= randomUUID();
  const base = {
    event_id: event.id,
    event_session_index: event.index,
    severity: event.severity,
    timestamp: isoTimestamp(event.timestampMs),
  };
  switch (event.type) {
    case 'SESSION_START':
      return { event: 'SESSION_START', ...base };
    case 'SESSION_END':
      return { event: 'SESSION_END', ...base, duration: formatDuration(event.durationMs ?? 0) };
    case 'UNHANDLED_EXCEPTION': {
      const fields = event.exception ?? { error_type: 'undefined', error_message: 'undefined' };
      const wire: WireEvent = {
        event: 'UNHANDLED_EXCEPTION',
        ...base,
        error_type: fields.error_type,
        error_message: fields.error_message,
      };
      // Never send `traceback: null`: the key is left out when there is none.
      if (fields.traceback !== undefined) wire.traceback = fields.traceback;
      return wire;
    }
    case 'GENERIC_EVENT':
      return { event: 'GENERIC_EVENT', ...base, event_name: event.name ?? '', event_data: event.data ?? {} };
  }
}

/** What every body of one reporter shares. */
export interface BodyMeta {
  sessionId: string;
  /** The cap on one event's JSON in UTF-8 bytes (see `encodeEvent`). Default: none. */
  maxEventBytes?: number;
  /** Replaced by `[redacted]` in every string of an event (the API key); made by `secretOf`. Default: none. */
  secret?: Secret;
}

/** A secret to redact, with the form it takes inside a JSON string, escaped once rather than per event. */
export interface Secret {
  readonly text: string;
  readonly inJson: string;
}

/** The `Secret` for `text`; undefined for an empty text, which redacts nothing. */
export function secretOf(text: string): Secret | undefined {
  return text === '' ? undefined : { text, inJson: JSON.stringify(text).slice(1, -1) };
}

/**
 * The fields every body of a session shares, as a JSON object:
 * `{"session_id":…,"platform":…,"sdk_version":…,"process_uuid":…}`. A body
 * is this object with `"events":[…]` added last.
 */
export function envelopeJson(sessionId: string): string {
  return `{"session_id":${JSON.stringify(sessionId)},"platform":${JSON.stringify(platform())},"sdk_version":${JSON.stringify(SDK_VERSION)},"process_uuid":"${processUuid()}"}`;
}

/** The UTF-8 size of a body without events: what a request adds to the events it carries. */
export function envelopeBytes(sessionId: string): number {
  return Buffer.byteLength(bodyJson(envelopeJson(sessionId), []));
}

/**
 * The JSON text of one event, made once and kept on the event, so every
 * retry and every split half sends the same text. `meta.secret` is replaced
 * by `[redacted]` wherever a string holds it (event name, `event_data` keys
 * and values, exception fields). An event over `meta.maxEventBytes` is cut
 * to fit, never dropped: a GENERIC_EVENT keeps its top-level `event_data`
 * keys in order while they fit, cuts the first string value that does not
 * fit whole, and adds the `"…"` marker (see `capEventData`), cutting
 * `event_name` only when it alone leaves no room for the marker; an
 * UNHANDLED_EXCEPTION cuts `error_type` to 256 bytes, then shares the rest
 * between `error_message` and `traceback`, each cut string ending in
 * `…[truncated N chars]`.
 */
export function encodeEvent(event: QueuedEvent, meta: BodyMeta): string {
  if (event.json !== undefined) return event.json;
  const json = eventJsonFor(event, meta);
  event.encoded(json, madeBytes);
  return json;
}

/**
 * The UTF-8 size in bytes of the JSON `encodeEvent` makes of `event`, made
 * and let go: the event is left as it was but for its id, given now, so the
 * JSON made when it is sent is the same text.
 */
export function eventJsonBytes(event: QueuedEvent, meta: BodyMeta): number {
  const json = eventJsonFor(event, meta);
  return madeBytes >= 0 ? madeBytes : Buffer.byteLength(json);
}

/** The UTF-8 size of the JSON `eventJsonFor` made last, when it counted it; -1 when it did not. */
let madeBytes = -1;

/** The JSON of `encodeEvent`, made anew; its UTF-8 size goes to `madeBytes` when counted. */
function eventJsonFor(event: QueuedEvent, meta: BodyMeta): string {
  let source = event;
  let json = eventJson(event);
  const secret = meta.secret;
  if (secret !== undefined && json.includes(secret.inJson)) {
    source = redacted(event, secret.text);
    json = eventJson(source);
  }
  const cap = meta.maxEventBytes ?? Infinity;
  // Most events are far below the cap, and their length alone shows it: their bytes are counted only if a batch needs them.
  let bytes = utf8BytesNearCap(json, cap);
  if (bytes > cap) {
    json = eventJson(capped(source, cap));
    bytes = Buffer.byteLength(json);
  }
  madeBytes = bytes;
  return json;
}

/** A copy of `event`, with the same id (already given by `encodeEvent`), whose fields are replaced. */
function withFields(event: QueuedEvent, name: string | undefined, data: JsonObject | undefined, exception: ExceptionFields | undefined): QueuedEvent {
  const copy = new QueuedEvent(event.type, event.index, event.severity, event.timestampMs, name, data, exception, event.durationMs, event.queuedBytes);
  copy.id = event.id;
  return copy;
}

function redacted(event: QueuedEvent, secret: string): QueuedEvent {
  const name = event.name === undefined ? undefined : redactText(event.name, secret);
  const data = event.data === undefined ? undefined : (redactJson(event.data, secret) as JsonObject);
  const fields = event.exception;
  let exception: ExceptionFields | undefined;
  if (fields !== undefined) {
    exception = { error_type: redactText(fields.error_type, secret), error_message: redactText(fields.error_message, secret) };
    if (fields.traceback !== undefined) exception.traceback = redactText(fields.traceback, secret);
  }
  return withFields(event, name, data, exception);
}

/** Bytes of an `error_type` kept at most, quotes included, when an exception is cut. */
const ERROR_TYPE_BYTES = 258;

function capped(event: QueuedEvent, cap: number): QueuedEvent {
  if (event.type === 'GENERIC_EVENT') {
    const data = event.data ?? {};
    const dataBytes = jsonBytes(data);
    // Everything but the name's and the data's contents: quotes and braces stay.
    const fixed = Buffer.byteLength(eventJson(withFields(event, '', {}, undefined))) - 4;
    const name = cutString(event.name ?? '', cap - fixed - Math.min(dataBytes, MARKER_RESERVE + 2));
    const room = cap - fixed - jsonBytes(name);
    return withFields(event, name, dataBytes <= room ? data : capEventData(data, room, dataBytes), undefined);
  }
  // Only GENERIC_EVENT and UNHANDLED_EXCEPTION carry anything unbounded.
  const fields = event.exception ?? { error_type: 'undefined', error_message: 'undefined' };
  const empty: ExceptionFields = { error_type: '', error_message: '' };
  if (fields.traceback !== undefined) empty.traceback = '';
  let room = cap - Buffer.byteLength(eventJson(withFields(event, undefined, undefined, empty)));
  const type = cutString(fields.error_type, ERROR_TYPE_BYTES);
  room -= jsonBytes(type) - 2;
  const tracebackBytes = fields.traceback === undefined ? 0 : jsonBytes(fields.traceback) - 2;
  const message = cutString(fields.error_message, Math.max(Math.floor(room / 2), room - tracebackBytes) + 2);
  room -= jsonBytes(message) - 2;
  const out: ExceptionFields = { error_type: type, error_message: message };
  if (fields.traceback !== undefined) out.traceback = cutString(fields.traceback, room + 2);
  return withFields(event, undefined, undefined, out);
}

/**
 * The JSON text of one POST, written directly: building a wire object per
 * event and then stringifying it cost about twice as much, and this runs for
 * every batch on the send path. `toWireEvent` gives the same JSON as objects.
 */
export function serializeBatch(meta: BodyMeta, events: readonly QueuedEvent[]): string {
  // Appended one event at a time, with no array of texts to map and join: the same text, made with less copying.
  let body = sessionBodyHead(meta.sessionId);
  for (let i = 0; i < events.length; i++) {
    if (i > 0) body += ',';
    body += encodeEvent(events[i] as QueuedEvent, meta);
  }
  return body + BODY_END;
}

/**
 * A request body from a session's `envelope` (an object's JSON, as
 * `envelopeJson` writes it) and the JSON texts of its events, added last as
 * `"events":[…]`. Also how the spool rebuilds bodies from stored JSON.
 */
export function bodyJson(envelope: string, events: readonly string[]): string {
  return `${bodyHead(envelope)}${events.join(',')}${BODY_END}`;
}

/** A body's text up to its first event: `envelope` (as `envelopeJson` writes it) with `"events":[` added last. */
export function bodyHead(envelope: string): string {
  return `${envelope.slice(0, -1)},"events":[`;
}

/** What ends a body after its last event. */
export const BODY_END = ']}';

/** The session whose body head was made last, and that head: every batch of a reporter has the same one. */
let lastHeadSessionId: string | undefined;
let lastHead = '';

/** `bodyHead(envelopeJson(sessionId))`, made once for a run of calls with the same session. */
function sessionBodyHead(sessionId: string): string {
  if (sessionId !== lastHeadSessionId) {
    lastHead = bodyHead(envelopeJson(sessionId));
    lastHeadSessionId = sessionId;
  }
  return lastHead;
}

function eventJson(event: QueuedEvent): string {
  event.id ??= randomUUID();
  const head = `{"event":"${event.type}","event_id":"${event.id}","event_session_index":${event.index},"severity":"${event.severity}","timestamp":"${isoTimestamp(event.timestampMs)}"`;
  switch (event.type) {
    case 'SESSION_START':
      return `${head}}`;
    case 'SESSION_END':
      return `${head},"duration":"${formatDuration(event.durationMs ?? 0)}"}`;
    case 'UNHANDLED_EXCEPTION': {
      const fields = event.exception ?? { error_type: 'undefined', error_message: 'undefined' };
      const traceback = fields.traceback === undefined ? '' : `,"traceback":${JSON.stringify(fields.traceback)}`;
      return `${head},"error_type":${JSON.stringify(fields.error_type)},"error_message":${JSON.stringify(fields.error_message)}${traceback}}`;
    }
    case 'GENERIC_EVENT':
      return `${head},"event_name":${JSON.stringify(event.name ?? '')},"event_data":${JSON.stringify(event.data ?? {})}}`;
  }
}

/** The last time `isoTimestamp` formatted, in epoch ms, and its text. */
let lastTimestampMs = Number.NaN;
let lastTimestampIso = '';

/**
 * `new Date(ms).toISOString()`, formatted once for a run of calls with the
 * same `ms`: the events of one batch are often logged in the same
 * millisecond, and formatting a date is a good part of an event's JSON.
 * Throws the same RangeError for a time out of range (NaN never matches the
 * cache, and a failed call leaves it as it was).
 */
export function isoTimestamp(ms: number): string {
  if (ms !== lastTimestampMs) {
    lastTimestampIso = new Date(ms).toISOString();
    lastTimestampMs = ms;
  }
  return lastTimestampIso;
}

/**
 * A duration as `H:MM:SS` or `H:MM:SS.ffffff` (microseconds, as Python's
 * `timedelta` prints it; hours are not wrapped at 24). Negative or non-finite
 * input counts as 0.
 */
export function formatDuration(ms: number): string {
  const totalUs = Number.isFinite(ms) && ms > 0 ? Math.round(ms * 1000) : 0;
  const us = totalUs % 1_000_000;
  const totalSeconds = (totalUs - us) / 1_000_000;
  const seconds = totalSeconds % 60;
  const minutes = Math.floor(totalSeconds / 60) % 60;
  const hours = Math.floor(totalSeconds / 3600);
  const hms = `${hours}:${String(minutes).padStart(2, '0')}:${String(seconds).padStart(2, '0')}`;
  return us === 0 ? hms : `${hms}.${String(us).padStart(6, '0')}`;
}

/** The platform in the Tinkex form: `unix/linux`, `unix/darwin`, `win32/nt`. */
export function platformName(nodePlatform: NodeJS.Platform): string {
  return nodePlatform === 'win32' ? 'win32/nt' : `unix/${nodePlatform}`;
}

let cachedPlatform: string | undefined;
function platform(): string {
  return (cachedPlatform ??= platformName(process.platform));
}

let cachedProcessUuid: string | undefined;
/** One UUID v4 per process, made on first use and shared by every reporter in it. */
export function processUuid(): string {
  return (cachedProcessUuid ??= randomUUID());
}
