/**
 * `TinkerApi`: the calls a Tinker session makes, as the Python SDK 0.25
 * makes them. Start-up (`client/config`, then `auth/token` when the server
 * wants a JWT), `create_session`, heartbeats, submits and futures. Before
 * `bind()` requests go through a got client that publishes nothing (there is
 * no session yet); after it, through `createHttpClient` bound to the
 * session, so their HTTP telemetry carries its id.
 */
import type { Got } from 'got';
import { type Clock, systemClock } from '../core/clock.js';
import type { JsonObject } from '../core/json.js';
import type { Log } from '../core/ports.js';
import { hasApiKey, integerInRange, invalidType, missingApiKey } from '../core/validate.js';
import { BillingPause } from './billing.js';
import { call, type CallContext, idempotencyKey } from './call.js';
import { type ClientConfig, DEFAULT_CLIENT_CONFIG, parseClientConfig } from './client-config.js';
import { Credentials } from './credentials.js';
import { InvalidResponseError } from './errors.js';
import { type FutureContext, type FutureResult, type RetrieveFutureOptions, RETRIEVE_FUTURE_PATH, retrieveFuture } from './futures.js';
import { attempt, baseHeaders, boundClients, unboundClient } from './http.js';
import { JwtRefresher } from './jwt.js';
import {
  type CreateSessionRequest,
  type CreatedSession,
  PATHS,
  authTokenBody,
  clientConfigBody,
  createSessionBody,
  heartbeatBody,
  parseCreatedSession,
  parseFutureHandle,
  parseJwt,
} from './messages.js';
import { PausedWarnings } from './queue-state.js';

// The contract's names, reachable from here: the façade imports the whole layer through this file.
export type { ClientConfig } from './client-config.js';
export type { CreatedSession, CreateSessionRequest } from './messages.js';
export type { FutureOptions, FutureResult, RetrieveFutureOptions } from './futures.js';

/** A JWT refresh is one attempt of at most this long: 10 s. */
const REFRESH_TIMEOUT_MS = 10_000;

/** Options of `TinkerApi`. */
export interface TinkerApiOptions {
  /**
   * Where to send and with which key; a `Config` from `createConfig` fits.
   * @prop __type.apiKey Sent as `X-API-Key` (or exchanged for a JWT sent in its place); never logged.
   * @prop __type.baseUrl Request paths are relative to it.
   */
  config: { readonly apiKey: string; readonly baseUrl: string };
  /** Sent as `sdk_version`: `SDK_VERSION`, this package's version. */
  sdkVersion: string;
  /** Where the layer logs; see `SafeLogger`. */
  log: Log;
  /** Time and timers, in ms. Default: `systemClock`. */
  clock?: Clock;
  /** Jitter of the backoff, in [0, 1). Default: `Math.random`. */
  random?: () => number;
}

/** What `submit` answered. */
export interface SubmittedRequest {
  /** The id to poll with `retrieveFuture`. */
  requestId: string;
  /** The model id, when the operation returns one (e.g. `create_model`). */
  modelId?: string;
  /** When `submit` was called, in clock ms. */
  submittedAtMs: number;
  /** From `submitted AtMs` to the answer, in ms, retries included: what the first poll reports as the promise's round trip. */
  roundTripMs: number;
}

/**
 * The Tinker API as a session uses it; one per session. Its calls reject
 * with a typed error (`errors.ts`) or the signal's reason; only misuse
 * throws (no key, `http` before `bind()`, binding a second session id). The
 * only timer it leaves running is the JWT refresh (unref'd), which
 * `close()` stops, aborting a refresh in flight.
 */
export class TinkerApi {
  readonly #config: { readonly apiKey: string; readonly baseUrl: string };
  readonly #sdkVersion: string;
  readonly #log: Log;
  readonly #clock: Clock;
  readonly #credentials: Credentials;
  readonly #unbound: Got;
  readonly #billing: BillingPause;
  readonly #pausedWarnings: PausedWarnings;
  /** Calls authenticated with the key itself, never bound to the session: `client/config` and `auth/token`. */
  readonly #keyCalls: CallContext;
  /** Every other call: the JWT when one is in use, the session's client once bound. */
  readonly #sessionCalls: CallContext;
  readonly #futures: FutureContext;
  #bound: { sessionId: string; http: Got; calls: Got } | undefined;
  #clientConfig: ClientConfig = { ...DEFAULT_CLIENT_CONFIG };
  #jwt: JwtRefresher | undefined;
  #startedAtMs: number | undefined;
  #pending = 0;
  #closed = false;

  /** Throws when `config.apiKey` is empty or blank (code `ERR_TINKER_TELEMETRY_MISSING_API_KEY`). */
  constructor(options: TinkerApiOptions) {
    if (!hasApiKey(options.config)) throw missingApiKey('TinkerApi');
    this.#config = options.config;
    this.#sdkVersion = options.sdkVersion;
    this.#log = options.log;
    this.#clock = options.clock ?? systemClock;
    this.#credentials = new Credentials(options.config.apiKey);
    this.#unbound = unboundClient(options.config.baseUrl);
    this.#billing = new BillingPause(options.log);
    this.#pausedWarnings = new PausedWarnings(options.log);
    const common = {
      credentials: this.#credentials,
      clock: this.#clock,
      log: this.#log,
      random: options.random ?? Math.random,
      billing: this.#billing,
      billingMaxPauseMs: () => this.#clientConfig.billingExceptionMaxPauseDurationSec * 1000,
    };
    this.#keyCalls = { ...common, client: () => this.#unbound, credential: async () => this.#credentials.apiKey };
    this.#sessionCalls = { ...common, client: () => this.#bound?.calls ?? this.#unbound, credential: () => this.#sessionCredential() };
    this.#futures = {
      ...common,
      pausedWarnings: this.#pausedWarnings,
      poll: async (request) => {
        const credential = await this.#sessionCredential();
        const headers = { ...baseHeaders(credential), 'x-idempotency-key': idempotencyKey(), ...request.headers };
        const body = JSON.stringify(request.body);
        return attempt(
          this.#sessionCalls.client(),
          { path: RETRIEVE_FUTURE_PATH, body, headers, timeoutMs: request.timeoutMs, signal: request.signal },
          this.#credentials,
        );
      },
      sessionId: () => this.#bound?.sessionId,
      // retrieveFuture calls the release exactly once, in its finally.
      track: () => {
        this.#pending++;
        return () => {
          this.#pending--;
        };
      },
      pending: () => this.#pending,
    };
  }

  /**
   * `client/config`, then `auth/token` when the config says
   * `pjwt_auth_enabled` (the JWT is then sent as `X-API-Key` and refreshed
   * before it expires). Each is retried on 408, 409, 429, 5xx and network
   * failures until `deadlineAtMs` (clock ms). Rejects with a typed error
   * (`DeadlineExceededError`, `ApiStatusError`, `InvalidResponseError`), or
   * the signal's reason.
   */
  async start(deadlineAtMs: number, signal?: AbortSignal): Promise<ClientConfig> {
    this.#startedAtMs = this.#clock.now();
    const deadline = { deadlineAtMs, deadlineMs: deadlineAtMs - this.#startedAtMs, signal };
    const { status, json } = await call(this.#keyCalls, { path: PATHS.clientConfig, body: clientConfigBody(this.#sdkVersion), retry: true, ...deadline });
    const config = parseClientConfig(json);
    if (config === undefined) throw new InvalidResponseError({ path: PATHS.clientConfig, status, expected: 'a JSON object' });
    this.#clientConfig = config;
    if (config.pjwtAuthEnabled) {
      const jwt = await this.#exchange({ retry: true, ...deadline });
      this.#jwt ??= new JwtRefresher({
        credentials: this.#credentials,
        exchange: (signal) => this.#exchange({ retry: false, timeoutMs: REFRESH_TIMEOUT_MS, signal }),
        clock: this.#clock,
        log: this.#log,
      });
      // close() came while the exchange was in flight: use the JWT, but arm no refresh.
      if (this.#closed) this.#jwt.close();
      this.#jwt.adopt(jwt);
    }
    return { ...config };
  }

  /**
   * `create_session`, retried as `start` is, within the same deadline.
   * Logs the answer's `info_message`, `warning_message` and
   * `error_message` at info, warn and error (an `error_message` does not
   * fail the call, as in the Python SDK).
   */
  async createSession(request: CreateSessionRequest, deadlineAtMs: number, signal?: AbortSignal): Promise<CreatedSession> {
    const deadlineMs = deadlineAtMs - (this.#startedAtMs ?? this.#clock.now());
    const body = createSessionBody(request, this.#sdkVersion);
    const { status, json } = await call(this.#sessionCalls, { path: PATHS.createSession, body, retry: true, deadlineAtMs, deadlineMs, signal });
    const created = parseCreatedSession(json);
    if (created === undefined)
      throw new InvalidResponseError({ path: PATHS.createSession, status, expected: 'an object with a session_id of 1–256 printable ASCII characters' });
    const where = { sessionId: created.sessionId };
    if (created.infoMessage !== undefined) this.#log.info(where, this.#credentials.redact(created.infoMessage));
    if (created.warningMessage !== undefined) this.#log.warn(where, this.#credentials.redact(created.warningMessage));
    if (created.errorMessage !== undefined) this.#log.error(where, this.#credentials.redact(created.errorMessage));
    return created;
  }

  /** From now on requests go through `createHttpClient` bound to `sessionId`. Binding the same id again does nothing; another id throws. */
  bind(sessionId: string): void {
    if (typeof sessionId !== 'string' || sessionId === '') throw invalidType('sessionId', 'a non-empty string', sessionId);
    if (this.#bound !== undefined) {
      if (this.#bound.sessionId === sessionId) return;
      throw new Error(`TinkerApi is already bound to session ${this.#bound.sessionId}`);
    }
    this.#bound = { sessionId, ...boundClients(this.#config, sessionId, this.#credentials) };
  }

  /** The `createHttpClient` instance bound to the session, whose requests carry the current credential. Throws before `bind()`. */
  get http(): Got {
    if (this.#bound === undefined) throw new Error('TinkerApi.http is available once bind() has been called with the session id');
    return this.#bound.http;
  }

  /**
   * One `session_heartbeat`, timed out after `timeoutMs`, never retried.
   * Rejects with `ApiStatusError`, `ApiConnectionError` (a timeout too),
   * `InvalidResponseError`, or the signal's reason.
   */
  async heartbeat(sessionId: string, timeoutMs: number, signal?: AbortSignal): Promise<void> {
    await call(this.#sessionCalls, { path: PATHS.sessionHeartbeat, body: heartbeatBody(sessionId), retry: false, timeoutMs, signal });
  }

  /**
   * POSTs `body` to `path` (`api/v1/optim_step` or `/api/v1/optim_step`),
   * retried as `start` is but with no deadline, until the signal aborts; a
   * 402 pauses while the billing window lasts. Expects
   * `{ request_id, model_id? }`.
   */
  async submit(path: string, body: JsonObject, options: { requestType: string; signal?: AbortSignal }): Promise<SubmittedRequest> {
    const fullPath = `/${path.replace(/^\/+/, '')}`;
    const submittedAtMs = this.#clock.now();
    const { status, json } = await call(this.#sessionCalls, { path: fullPath, body, retry: true, signal: options.signal, requestType: options.requestType });
    const handle = parseFutureHandle(json);
    if (handle === undefined)
      throw new InvalidResponseError({ path: fullPath, status, expected: 'an object with a request_id of 1–256 printable ASCII characters' });
    return { ...handle, submittedAtMs, roundTripMs: this.#clock.now() - submittedAtMs };
  }

  /** Polls `retrieve_future` until the request has a result (see `retrieveFuture` in futures.ts for every answer and status). */
  async retrieveFuture(requestId: string, options: RetrieveFutureOptions): Promise<FutureResult> {
    if (typeof requestId !== 'string' || requestId === '') throw invalidType('requestId', 'a non-empty string', requestId);
    if (typeof options?.requestType !== 'string' || options.requestType === '') throw invalidType('requestType', 'a non-empty string', options?.requestType);
    if (options.timeoutMs !== undefined) integerInRange('timeoutMs', options.timeoutMs, 1);
    return retrieveFuture(this.#futures, requestId, options);
  }

  /** What `X-API-Key` carries now: the JWT in use (refreshed in the background) after the exchange, else the key. */
  get credential(): string {
    return this.#credentials.current;
  }

  /** Futures being polled now: the `queueDepth` of queue events. */
  get pendingFutures(): number {
    return this.#pending;
  }

  /** Stops the JWT refresh timer and aborts a refresh in flight. Idempotent. */
  close(): void {
    this.#closed = true;
    this.#jwt?.close();
  }

  /** The credential for the next request, after a refresh when the JWT has 60 s or less left. */
  async #sessionCredential(): Promise<string> {
    await this.#jwt?.fresh();
    return this.#credentials.current;
  }

  /** `auth/token` with the key: a JWT. */
  async #exchange(request: { retry: boolean; deadlineAtMs?: number; deadlineMs?: number; signal?: AbortSignal; timeoutMs?: number }): Promise<string> {
    const { status, json } = await call(this.#keyCalls, { path: PATHS.authToken, body: authTokenBody(), ...request });
    const jwt = parseJwt(json);
    if (jwt === undefined)
      throw new InvalidResponseError({ path: PATHS.authToken, status, expected: 'an object with a jwt of three base64url parts, at most 16 KiB' });
    return jwt;
  }
}
