/**
 * The Tinker telemetry wire format: what one POST to `/api/v1/telemetry`
 * carries. Events are queued in a compact form (`QueuedEvent`) and turned
 * into wire objects only at send time, off the caller's path.
 */
import { randomUUID } from 'node:crypto';
import type { ExceptionFields } from './exception.js';
import type { JsonObject } from './serialize.js';
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
  ) {}
}

/** The wire form of one queued event. */
export function toWireEvent(event: QueuedEvent): WireEvent {
  event.id ??= randomUUID();
  const base = {
    event_id: event.id,
    event_session_index: event.index,
    severity: event.severity,
    timestamp: new Date(event.timestampMs).toISOString(),
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
}

/**
 * The JSON text of one POST, written directly: building a wire object per
 * event and then stringifying it cost about twice as much, and this runs for
 * every batch on the send path. `toWireEvent` gives the same JSON as objects.
 */
export function serializeBatch(meta: BodyMeta, events: readonly QueuedEvent[]): string {
  let out = `{"session_id":${JSON.stringify(meta.sessionId)},"platform":${JSON.stringify(platform())},"sdk_version":${JSON.stringify(SDK_VERSION)},"process_uuid":"${processUuid()}","events":[`;
  for (let i = 0; i < events.length; i++) {
    if (i > 0) out += ',';
    out += eventJson(events[i] as QueuedEvent);
  }
  return `${out}]}`;
}

function eventJson(event: QueuedEvent): string {
  event.id ??= randomUUID();
  const head = `{"event":"${event.type}","event_id":"${event.id}","event_session_index":${event.index},"severity":"${event.severity}","timestamp":"${new Date(event.timestampMs).toISOString()}"`;
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
