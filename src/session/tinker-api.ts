/**
 * The Tinker API as the session uses it: the interface `src/session.ts`
 * depends on, so the façade is built and tested against its calls rather
 * than their HTTP. `TinkerApi` (`../tinker/api.ts`) implements it, and
 * `createTinkerApi` makes one; tests hand in a double through the
 * session's factory seam.
 */
import type { Got } from 'got';
import type { JsonObject } from '../core/json.js';
import { TinkerApi, type SubmittedRequest, type TinkerApiOptions } from '../tinker/api.js';
import type { ClientConfig } from '../tinker/client-config.js';
import type { FutureResult, RetrieveFutureOptions } from '../tinker/futures.js';
import type { CreatedSession, CreateSessionRequest } from '../tinker/messages.js';

export type { SubmittedRequest, TinkerApiOptions } from '../tinker/api.js';
export type { FutureOptions, FutureResult } from '../tinker/futures.js';
export type { CreatedSession } from '../tinker/messages.js';

/** The calls the session makes; see `TinkerApi` for their retries, deadlines and errors. */
export interface TinkerApiLike {
  /** `client/config`, then `auth/token` when the config asks for it; retried until `deadlineAtMs` (clock ms). */
  start(deadlineAtMs: number, signal?: AbortSignal): Promise<ClientConfig>;
  /** `create_session`, retried until `deadlineAtMs`; logs the answer's info, warning and error messages at their levels. */
  createSession(request: CreateSessionRequest, deadlineAtMs: number, signal?: AbortSignal): Promise<CreatedSession>;
  /** From now on, requests go through a client bound to `sessionId`, so their telemetry carries it. */
  bind(sessionId: string): void;
  /** The got instance bound to the session; throws before `bind`. */
  readonly http: Got;
  /** What `X-API-Key` carries now: the JWT in use after the exchange, else the key. The session's telemetry sends it too. */
  readonly credential: string;
  /** One `session_heartbeat` within `timeoutMs`, no retries; rejects with a typed error on failure. */
  heartbeat(sessionId: string, timeoutMs: number, signal?: AbortSignal): Promise<void>;
  /** POSTs `body` to `path` and returns the future it answers with. */
  submit(path: string, body: JsonObject, options: { requestType: string; signal?: AbortSignal }): Promise<SubmittedRequest>;
  /** Polls `retrieve_future` until the result, a typed error, `timeoutMs` or the signal. */
  retrieveFuture(requestId: string, options: RetrieveFutureOptions): Promise<FutureResult>;
  /** Futures being polled now. */
  readonly pendingFutures: number;
  /** Stops the API's own timers (the JWT refresh). Idempotent. */
  close(): void;
}

/** Makes the session's API. */
export type TinkerApiFactory = (options: TinkerApiOptions) => TinkerApiLike;

/** The default factory: the real `TinkerApi`. */
export const createTinkerApi: TinkerApiFactory = (options) => new TinkerApi(options);
