/**
 * Waiting for a future: polling `POST /api/v1/retrieve_future` as the
 * Python SDK 0.25 does, and publishing what happens on the queue and future
 * channels with the session's id. Every wait goes through the clock.
 */
import type { Clock } from '../core/clock.js';
import type { JsonObject, JsonValue } from '../core/json.js';
import type { Log } from '../core/ports.js';
import { CHANNELS, type FuturePayload, type QueueStateChangePayload, publishFuture, publishQueueStateChange } from '../host/channels.js';
import type { BillingPause } from './billing.js';
import type { Credentials } from './credentials.js';
import {
  ApiStatusError,
  FutureAbortedError,
  FutureExpiredError,
  FutureTimeoutError,
  InvalidResponseError,
  type RequestFailedCategory,
  RequestFailedError,
} from './errors.js';
import { type Attempt, RETRIEVE_FUTURE_PATH, detailOf, failureOf, parseJson } from './http.js';
import { type PausedWarnings, QueueStateTracker, toQueueReason, toQueueState } from './queue-state.js';
import { BILLING_PAUSE_MS, pollBackoffMs } from './retry-policy.js';
import { sleep } from './wait.js';

/** Each poll may take this long before it fails as a connection error: 45 s. */
export const POLL_TIMEOUT_MS = 45_000;
/** A 400 is polled again this many times before it fails: 3. */
export const MAX_BAD_REQUEST_RETRIES = 3;
/** The path polled. */
export { RETRIEVE_FUTURE_PATH };
/** Characters of a failed request's `error` text kept in `RequestFailedError`; a cut one ends in `…`. */
const MAX_ERROR_TEXT = 4096;

/** How to wait for a future. */
export interface FutureOptions {
  /**
   * The operation's PascalCase name, sent as `X-Tinker-Request-Type`, e.g.
   * `OptimStep`, `Sample`: a letter, then letters, digits or `_`
   * (`/^[A-Za-z][A-Za-z0-9_]*$/`); the session's `submit()` and
   * `retrieveFuture()` reject anything else.
   */
  requestType: string;
  /** Give up after this many ms with `FutureTimeoutError` (and `tinker:future:timeout`); default: wait as long as it takes. */
  timeoutMs?: number;
  /** Aborts the wait with `FutureAbortedError`, whose `cause` is the signal's reason. */
  signal?: AbortSignal;
  /**
   * How long a job paused by its billing status (HTTP 402) keeps polling, in
   * ms, from the first 402 of an incident; then the future fails with
   * `ApiStatusError` 402. Default: the server's
   * `billing_exception_max_pause_duration_sec` (3600 s unless the client
   * config says otherwise).
   */
  billingMaxPauseMs?: number;
}

/** What a future resolves to: parsed JSON, or the bytes of a binary (protobuf) result, not decoded. */
export type FutureResult =
  | {
      /** A JSON result. */
      kind: 'json';
      /** The parsed body. */
      value: JsonValue;
    }
  | {
      /** A binary result, such as protobuf; decoding it is the caller's. */
      kind: 'binary';
      /** The response's `Content-Type`, e.g. `application/x-protobuf`. */
      contentType: string;
      /** The body as received. */
      bytes: Uint8Array;
    };

/** `FutureOptions` and what only the API client knows. */
export interface RetrieveFutureOptions extends FutureOptions {
  /** From the start of the submit to its answer, in ms, when `submit` made the request: sent on the first poll. */
  createRoundTripMs?: number;
}

/** One poll, as the API client sends it. */
export interface PollRequest {
  body: JsonObject;
  /** The poll's own headers (iteration, request type, round trip), lower-case. */
  headers: Record<string, string>;
  timeoutMs: number;
  signal: AbortSignal;
}

/** What polling needs from its API client. */
export interface FutureContext {
  /** Sends one poll, with the common headers and a fresh idempotency key. */
  poll(request: PollRequest): Promise<Attempt>;
  readonly credentials: Credentials;
  readonly clock: Clock;
  readonly log: Log;
  readonly billing: BillingPause;
  readonly pausedWarnings: PausedWarnings;
  /** The default bound of a billing pause, in ms. */
  billingMaxPauseMs(): number;
  /** The bound session's id; nothing is published before there is one. */
  sessionId(): string | undefined;
  /** Counts a future as being polled until the returned release is called. */
  track(): () => void;
  /** Futures being polled now. */
  pending(): number;
}

type FutureChannel =
  'tinker:future:timeout' | 'tinker:future:api_error' | 'tinker:future:connection_error' | 'tinker:future:request_failed' | 'tinker:future:validation_error';

/**
 * Polls until the future has a result. Rejects with `RequestFailedError`
 * (the server says the request failed), `FutureExpiredError` (410),
 * `ApiStatusError` (another 4xx, a 400 past its retries, a 402 past the
 * billing bound), `InvalidResponseError` (a 2xx that is not JSON, or a
 * body over 64 MiB, `MAX_FUTURE_RESPONSE_BYTES`: the poll is aborted once
 * more has arrived), `ApiConnectionError` (at once, publishing nothing,
 * when the poll could not be built, e.g. a `requestType` with a newline),
 * `FutureTimeoutError` or `FutureAbortedError`.
 */
export async function retrieveFuture(context: FutureContext, requestId: string, options: RetrieveFutureOptions): Promise<FutureResult> {
  const { clock } = context;
  const { requestType, timeoutMs, signal } = options;
  const startedAtMs = clock.now();
  const publish = (name: FutureChannel, extra: Pick<FuturePayload, 'status' | 'category'> = {}) => {
    const sessionId = context.sessionId();
    if (sessionId !== undefined) publishFuture(name, { sessionId, requestId, requestType, ...extra, elapsedMs: clock.now() - startedAtMs });
  };
  if (signal?.aborted === true) throw new FutureAbortedError({ requestId, cause: signal.reason });

  const stop = new AbortController();
  let stopReason: 'timeout' | 'abort' | undefined;
  const onAbort = () => {
    stopReason ??= 'abort';
    stop.abort();
  };
  // Not `once`: a signal aborts at most once, and the finally below removes the listener either way.
  signal?.addEventListener('abort', onAbort);
  const timer =
    timeoutMs === undefined
      ? undefined
      : clock.setTimeout(() => {
          if (stopReason === undefined) {
            stopReason = 'timeout';
            publish(CHANNELS.futureTimeout);
          }
          stop.abort();
        }, timeoutMs);
  const stopped = () =>
    stopReason === 'timeout' ? new FutureTimeoutError({ requestId, timeoutMs: timeoutMs ?? 0 }) : new FutureAbortedError({ requestId, cause: signal?.reason });
  const release = context.track();
  try {
    return await poll(context, requestId, options, { publish, stopped, isStopped: () => stopReason !== undefined, signal: stop.signal });
  } finally {
    release();
    if (timer !== undefined) clock.clearTimeout(timer);
    signal?.removeEventListener('abort', onAbort);
  }
}

/** How the loop reports and stops. */
interface Loop {
  publish(name: FutureChannel, extra?: Pick<FuturePayload, 'status' | 'category'>): void;
  /** The error for a stopped wait: timeout or abort. */
  stopped(): Error;
  isStopped(): boolean;
  signal: AbortSignal;
}

async function poll(context: FutureContext, requestId: string, options: RetrieveFutureOptions, loop: Loop): Promise<FutureResult> {
  const { clock, credentials, log } = context;
  const { requestType } = options;
  const queue = new QueueStateTracker();
  const wait = async (ms: number) => {
    try {
      await sleep(clock, ms, loop.signal);
    } catch {
      throw loop.stopped();
    }
  };
  const observeQueue = (body: Record<string, JsonValue>) => {
    const state = toQueueState(body.queue_state);
    const given = toQueueReason(body.queue_state_reason);
    const reason = given === undefined ? undefined : credentials.redactCut(given, 1024);
    context.pausedWarnings.observe(requestType, requestId, state, reason, clock.now());
    const change = queue.observe(state, reason);
    const sessionId = context.sessionId();
    if (change === undefined || sessionId === undefined) return;
    publishQueueStateChange({ sessionId, requestId, queueDepth: context.pending(), ...change } satisfies QueueStateChangePayload);
  };
  let allowMetadataOnly = true;
  /** 429s and connection errors in a row: the exponent of their backoff. */
  let backoffs = 0;
  let badRequests = 0;
  for (let iteration = 0; ; iteration++) {
    const headers: Record<string, string> = { 'x-tinker-request-iteration': String(iteration), 'x-tinker-request-type': requestType };
    if (iteration === 0 && options.createRoundTripMs !== undefined)
      headers['x-tinker-create-promise-roundtrip-time'] = (options.createRoundTripMs / 1000).toFixed(3);
    const body = { request_id: requestId, allow_metadata_only: allowMetadataOnly };
    const outcome = await context.poll({ body, headers, timeoutMs: POLL_TIMEOUT_MS, signal: loop.signal });
    if (outcome.kind === 'aborted' || loop.isStopped()) throw loop.stopped();
    if (outcome.kind === 'unbuildable') throw failureOf(outcome, RETRIEVE_FUTURE_PATH, credentials, requestId);
    if (outcome.kind === 'too_large') {
      loop.publish(CHANNELS.futureValidationError, { status: outcome.status });
      throw failureOf(outcome, RETRIEVE_FUTURE_PATH, credentials, requestId);
    }
    if (outcome.kind === 'network') {
      loop.publish(CHANNELS.futureConnectionError);
      const delayMs = pollBackoffMs(backoffs++);
      log.debug({ requestId, requestType, iteration, delayMs, reason: outcome.reason }, 'Tinker future poll got no response; backing off');
      await wait(delayMs);
      continue;
    }
    const { status } = outcome;
    if (status >= 200 && status < 300) {
      backoffs = 0;
      const contentType = headerText(outcome.headers['content-type']);
      if (contentType.toLowerCase().includes('application/x-protobuf')) return { kind: 'binary', contentType, bytes: new Uint8Array(outcome.body) };
      const json = parseJson(outcome.body);
      if (json === undefined) {
        loop.publish(CHANNELS.futureValidationError, { status });
        throw new InvalidResponseError({ path: RETRIEVE_FUTURE_PATH, requestId, status, expected: 'JSON' });
      }
      if (!isObject(json)) return { kind: 'json', value: json };
      if (json.type === 'try_again') {
        observeQueue(json);
        continue;
      }
      if (json.status === 'complete_metadata') {
        if (!allowMetadataOnly) {
          loop.publish(CHANNELS.futureValidationError, { status });
          throw new InvalidResponseError({ path: RETRIEVE_FUTURE_PATH, requestId, status, expected: 'the result (a second complete_metadata came)' });
        }
        allowMetadataOnly = false;
        continue;
      }
      if (Object.hasOwn(json, 'error')) {
        const category = toCategory(json.category);
        loop.publish(CHANNELS.futureRequestFailed, { category });
        const text = typeof json.error === 'string' ? json.error : JSON.stringify(json.error);
        throw new RequestFailedError({ requestId, category, error: credentials.redactCut(text, MAX_ERROR_TEXT) });
      }
      return { kind: 'json', value: json };
    }
    // Any answer but a 429 shows the connection works: the backoff starts over.
    if (status !== 429) backoffs = 0;
    const maxPauseMs = options.billingMaxPauseMs ?? context.billingMaxPauseMs();
    if (status === 402 && context.billing.shouldPause(clock.now(), maxPauseMs, detailOf(outcome.body, credentials))) {
      await wait(BILLING_PAUSE_MS);
      continue;
    }
    loop.publish(CHANNELS.futureApiError, { status });
    if (status === 408 || (status >= 500 && status < 600)) {
      if (status === 408) {
        // A 408 is a try_again in an error status: its body may carry the queue state.
        const parsed = parseJson(outcome.body);
        if (parsed !== undefined) badRequests = 0;
        if (isObject(parsed) && parsed.queue_state !== undefined && parsed.queue_state !== null && parsed.queue_state !== '') observeQueue(parsed);
      }
      continue;
    }
    if (status === 429) {
      const delayMs = pollBackoffMs(backoffs++);
      log.debug({ requestId, requestType, iteration, delayMs }, 'Tinker future poll rate limited (HTTP 429); backing off');
      await wait(delayMs);
      continue;
    }
    if (status === 400 && badRequests < MAX_BAD_REQUEST_RETRIES) {
      badRequests++;
      continue;
    }
    const failure = new ApiStatusError({ status, path: RETRIEVE_FUTURE_PATH, requestId, detail: detailOf(outcome.body, credentials) });
    throw status === 410 ? new FutureExpiredError({ requestId, cause: failure }) : failure;
  }
}

function isObject(value: JsonValue | undefined): value is Record<string, JsonValue> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The wire's category; anything else reads as `unknown`, as in the Python SDK. */
function toCategory(value: JsonValue | undefined): RequestFailedCategory {
  return value === 'user' || value === 'server' ? value : 'unknown';
}

function headerText(value: string | string[] | undefined): string {
  return (Array.isArray(value) ? value[0] : value) ?? '';
}
