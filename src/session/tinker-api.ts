/**
 * The Tinker API as the session uses it: the interface `src/session.ts`
 * depends on, so the façade can be built and tested without the HTTP client
 * behind it. `TinkerApi` (in `src/tinker/api.ts`) implements it; tests hand
 * in a double through the factory. The shapes follow the service protocol
 * (`client/config`, `create_session`, `session_heartbeat`, a submit endpoint,
 * `retrieve_future`) in camelCase.
 */
import type { Got } from 'got';
import type { Clock } from '../core/clock.js';
import type { JsonObject, JsonValue } from '../core/json.js';
import type { Log } from '../core/ports.js';

/** What the session hands the factory of its API. */
export interface TinkerApiOptions {
  /** Where to send and with which key; a `Config` from `createConfig` fits. */
  config: { readonly apiKey: string; readonly baseUrl: string };
  /** This package's version, sent as `sdk_version`. */
  sdkVersion: string;
  /** The session's logger; the API logs create_session's info, warning and error messages through it. */
  log: Log;
  /** Time and timers; the session's own, so closing the session clears them. */
  clock?: Clock;
  /** The jitter source of the retry backoff, returning [0, 1). Default: `Math.random`. */
  random?: () => number;
}

/** The server's client configuration (`client/config`), as far as the session reads it. */
export interface ClientConfigLike {
  /** Exchange the key for a JWT at `auth/token` and send that instead. */
  pjwtAuthEnabled: boolean;
}

/** The answer to `create_session`. */
export interface CreatedSession {
  /** The id the server issued; the session's telemetry is reported under it. */
  sessionId: string;
  infoMessage?: string;
  warningMessage?: string;
  errorMessage?: string;
}

/** The answer to a submit endpoint: the future to poll. */
export interface SubmittedRequest {
  requestId: string;
  modelId?: string;
  /** Clock ms when the submit was sent. */
  submittedAtMs: number;
  /** Milliseconds from sending the submit to its answer; sent with the first poll. */
  roundTripMs: number;
}

/** How to poll one future. */
export interface FutureOptions {
  /** The operation's PascalCase name, sent as `X-Tinker-Request-Type` (e.g. `OptimStep`). */
  requestType: string;
  /** Give up after this many ms in all. Default: no limit. */
  timeoutMs?: number;
  /** Aborts the polling. */
  signal?: AbortSignal;
}

/** A future's result: parsed JSON, or the bytes of a binary (protobuf) answer with its content type. */
export type FutureResult = { kind: 'json'; value: JsonValue } | { kind: 'binary'; contentType: string; bytes: Uint8Array };

/** The calls the session makes; see `TinkerApi` for their retries, deadlines and errors. */
export interface TinkerApiLike {
  /** `client/config`, then `auth/token` when the config asks for it; retried until `deadlineAtMs` (clock ms). */
  start(deadlineAtMs: number, signal?: AbortSignal): Promise<ClientConfigLike>;
  /** `create_session`, retried until `deadlineAtMs`; logs the answer's info, warning and error messages at their levels. */
  createSession(request: { tags: string[]; userMetadata: JsonObject; projectId?: string }, deadlineAtMs: number, signal?: AbortSignal): Promise<CreatedSession>;
  /** From now on, requests go through a client bound to `sessionId`, so their telemetry carries it. */
  bind(sessionId: string): void;
  /** The got instance bound to the session; throws before `bind`. */
  readonly http: Got;
  /** One `session_heartbeat` within `timeoutMs`, no retries; rejects with a typed error on failure. */
  heartbeat(sessionId: string, timeoutMs: number, signal?: AbortSignal): Promise<void>;
  /** POSTs `body` to `path` and returns the future it answers with. */
  submit(path: string, body: JsonObject, options: { requestType: string; signal?: AbortSignal }): Promise<SubmittedRequest>;
  /** Polls `retrieve_future` until the result, a typed error, `timeoutMs` or the signal. */
  retrieveFuture(requestId: string, options: FutureOptions & { createRoundTripMs?: number }): Promise<FutureResult>;
  /** Futures being polled now. */
  readonly pendingFutures: number;
  /** Stops the API's own timers (the JWT refresh). Idempotent. */
  close(): void;
}

/** Makes the session's API. */
export type TinkerApiFactory = (options: TinkerApiOptions) => TinkerApiLike;
