/**
 * What the fake records, for a test to assert on. The lists are live: the
 * fake appends to them while it runs, and fills in a request's `status`
 * and `outcome` once it has answered.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { JsonObject, JsonValue } from '../core/json.js';
import type { ValidationIssue } from './schema.js';

/**
 * Which credential a request's `X-API-Key` held (the key itself is never recorded):
 * - `api_key`: the fake's API key;
 * - `jwt`: a JWT the fake issued at `auth/token`, not yet expired;
 * - `expired_jwt`: a JWT the fake issued, expired;
 * - `invalid`: anything else;
 * - `missing`: no header.
 */
export type Credential = 'api_key' | 'jwt' | 'expired_jwt' | 'invalid' | 'missing';

/**
 * How a request ended:
 * - `pending`: not answered yet (delayed);
 * - `answered`: answered with `status`;
 * - `hung`: held open on purpose, never answered;
 * - `reset`: its connection was reset, unanswered.
 */
export type RequestOutcome = 'pending' | 'answered' | 'hung' | 'reset';

/** One request the fake received. */
export interface RecordedRequest {
  /** 0 for the first request, then 1, 2, … */
  readonly index: number;
  /** The fake clock's time when its body had arrived, in epoch milliseconds. */
  readonly atMs: number;
  /** The HTTP method: `POST`, `GET`. */
  readonly method: string;
  /** The path without the query: `/api/v1/create_session`. */
  readonly path: string;
  /** The headers, lower-case, without `x-api-key`. */
  readonly headers: Readonly<IncomingHttpHeaders>;
  /** Which credential `X-API-Key` held. */
  readonly credential: Credential;
  /** With `credential` `jwt` or `expired_jwt`: which issued JWT, 0 for the first. */
  readonly jwtIndex: number | undefined;
  /** The body parsed as JSON; undefined when empty, not JSON, or not sent as JSON. */
  readonly body: JsonValue | undefined;
  /** The body's size in bytes. */
  readonly bodyBytes: number;
  /** The raw body when it was not sent as JSON (e.g. protobuf); undefined otherwise. */
  readonly binaryBody: Uint8Array | undefined;
  /** The status the fake answered; undefined while pending, and for a hang or a reset. */
  status: number | undefined;
  /** How it ended. */
  outcome: RequestOutcome;
  /** Whether an injected fault answered it (not the fake's own logic). */
  faulted: boolean;
}

/** A session the fake created. */
export interface RecordedSession {
  /** The id the fake issued: `fake-session-1`, `fake-session-2`, … */
  readonly sessionId: string;
  /** The request's `tags`. */
  readonly tags: readonly string[];
  /** The request's `user_metadata`. */
  readonly userMetadata: JsonObject;
  /** Undefined when the request left `project_id` out. */
  readonly projectId: string | undefined;
  /** The request's `sdk_version`. */
  readonly sdkVersion: string;
  /** The fake clock's time of creation, in epoch milliseconds. */
  readonly createdAtMs: number;
  /** Whether `dropSession` has forgotten it (its heartbeats then get 404). */
  dropped: boolean;
}

/** One accepted heartbeat. */
export interface RecordedHeartbeat {
  /** The session it kept alive. */
  readonly sessionId: string;
  /** The fake clock's time, in epoch milliseconds. */
  readonly atMs: number;
}

/** One accepted telemetry batch, as it was sent. */
export interface TelemetryBatch {
  /** The session the batch reports on. */
  readonly session_id: string;
  /** The sender's platform: `Linux`, `Darwin`, `Windows`. */
  readonly platform: string;
  /** The sender's version. */
  readonly sdk_version: string;
  /** One id per sending process. */
  readonly process_uuid: string;
  /** The events, in order. */
  readonly events: readonly TelemetryEvent[];
}

/** One telemetry event, as it was sent (see docs/wire-format.md). */
export interface TelemetryEvent {
  /** The event type; it decides which of the optional fields below are present. */
  readonly event: 'SESSION_START' | 'SESSION_END' | 'UNHANDLED_EXCEPTION' | 'GENERIC_EVENT';
  /** A unique id per event, kept across retries. */
  readonly event_id: string;
  /** 0 for SESSION_START, then one more per event of the session. */
  readonly event_session_index: number;
  /** The severity. */
  readonly severity: 'DEBUG' | 'INFO' | 'WARNING' | 'ERROR' | 'CRITICAL';
  /** ISO-8601 with a zone. */
  readonly timestamp: string;
  /** GENERIC_EVENT: its name, e.g. `tinker.queue.state_change`. */
  readonly event_name?: string;
  /** GENERIC_EVENT: its data. */
  readonly event_data?: JsonObject;
  /** SESSION_END: how long the session lasted, as `H:MM:SS.ffffff`. */
  readonly duration?: string;
  /** UNHANDLED_EXCEPTION: the error's class name. */
  readonly error_type?: string;
  /** UNHANDLED_EXCEPTION: its message. */
  readonly error_message?: string;
  /** UNHANDLED_EXCEPTION: its stack, when there is one. */
  readonly traceback?: string;
}

/** The telemetry the fake accepted. */
export interface RecordedTelemetry {
  /** Every accepted batch, in arrival order. */
  readonly batches: readonly TelemetryBatch[];
  /** Every event of those batches, flat, in arrival order. */
  readonly events: readonly TelemetryEvent[];
}

/** A request answered 422 because its body broke the request model. */
export interface Violation {
  /** The request's `index` in `requests`. */
  readonly requestIndex: number;
  /** The request's HTTP method. */
  readonly method: string;
  /** The request path: `/api/v1/create_session`. */
  readonly path: string;
  /** The request model it was checked against: `CreateSessionRequest`. */
  readonly model: string;
  /** Every issue found (up to 20), each naming its field. */
  readonly issues: readonly ValidationIssue[];
  /** The issues' messages, joined with `; `. */
  readonly reason: string;
}
