/**
 * One logical POST to the Tinker API, retried: the start-up calls and the
 * submits. It sends the same `X-Idempotency-Key` on every attempt, retries
 * 408, 409, 429, 5xx and network failures (or what `x-should-retry` says;
 * never a body over the limit or a request that could not be built)
 * with the reporter's backoff and Retry-After, pauses on a 402 while the
 * billing window lasts, and gives up at the deadline or when the signal
 * aborts.
 */
import { randomUUID } from 'node:crypto';
import type { Got } from 'got';
import type { Clock } from '../core/clock.js';
import type { JsonObject, JsonValue } from '../core/json.js';
import type { Log } from '../core/ports.js';
import { parseRetryAfter } from '../core/retry.js';
import type { BillingPause } from './billing.js';
import type { Credentials } from './credentials.js';
import { DeadlineExceededError, InvalidResponseError, type TinkerError } from './errors.js';
import { attempt, baseHeaders, detailOf, failureOf, parseJson } from './http.js';
import { BILLING_PAUSE_MS, callRetryDelayMs, isRetryableStatus } from './retry-policy.js';
import { sleep } from './wait.js';

/** What a call needs from its API client. */
export interface CallContext {
  /** The client to send through now: the session's once bound, else one that publishes nothing. */
  client(): Got;
  /** The `X-API-Key` value for the next attempt; may first refresh a JWT that is about to expire. */
  credential(): Promise<string>;
  readonly credentials: Credentials;
  readonly clock: Clock;
  readonly log: Log;
  readonly random: () => number;
  readonly billing: BillingPause;
  /** How long a billing pause may last, in ms. */
  billingMaxPauseMs(): number;
}

/** One call. */
export interface CallRequest {
  /** E.g. `/api/v1/create_session`; named in errors as given. */
  path: string;
  body: JsonObject;
  /** Retry what can be retried; false: one attempt. */
  retry: boolean;
  /** Give up at this clock time (ms), rejecting `DeadlineExceededError`; default: never. */
  deadlineAtMs?: number;
  /** The `deadlineMs` the `DeadlineExceededError` reports; default: from this call's start to `deadlineAtMs`. */
  deadlineMs?: number;
  /** Aborts the call, which then rejects with the signal's reason. */
  signal?: AbortSignal;
  /** got's timeout of each attempt in ms; default: connect 5 s, idle socket 60 s. */
  timeoutMs?: number;
  /** The operation's name (e.g. `OptimStep`), for the retry log line. */
  requestType?: string;
}

/** A 2xx answer. */
export interface CallResponse {
  status: number;
  /** The body, parsed. */
  json: JsonValue;
}

/** `x-idempotency-key`: one per logical request, the same on each of its attempts. */
export function idempotencyKey(): string {
  return `tinker-telemetry-retry-${randomUUID()}`;
}

/**
 * Sends `request` until it gets a 2xx, whose JSON it resolves. Rejects with
 * `ApiStatusError` (a status not retried), `ApiConnectionError` (a network
 * failure with `retry` off, or at once a request that could not be built,
 * e.g. a header value with a newline), `InvalidResponseError` (a 2xx that
 * is not JSON, or at once a body over the call's limit: 1 MiB, 64 MiB for
 * `retrieve_future`; see `responseLimitBytes`), `DeadlineExceededError` (the deadline came first, or the next wait
 * would end after it; `cause` is the last failure), or the signal's reason.
 */
export async function call(context: CallContext, request: CallRequest): Promise<CallResponse> {
  const { clock, credentials } = context;
  const { path, deadlineAtMs } = request;
  const startedAtMs = clock.now();
  const body = JSON.stringify(request.body);
  const key = idempotencyKey();
  const deadline = new AbortController();
  const signal = request.signal === undefined ? deadline.signal : AbortSignal.any([request.signal, deadline.signal]);
  const timer = deadlineAtMs === undefined ? undefined : clock.setTimeout(() => deadline.abort(), Math.max(0, deadlineAtMs - startedAtMs));
  let last: TinkerError | undefined;
  const expired = () => new DeadlineExceededError({ path, deadlineMs: request.deadlineMs ?? (deadlineAtMs ?? startedAtMs) - startedAtMs, cause: last });
  const stopped = (): unknown => (request.signal?.aborted === true ? request.signal.reason : expired());
  try {
    for (let retry = 0; ;) {
      if (signal.aborted) throw stopped();
      const credential = await context.credential();
      if (signal.aborted) throw stopped();
      const headers = { ...baseHeaders(credential), 'x-idempotency-key': key };
      const outcome = await attempt(context.client(), { path, body, headers, timeoutMs: request.timeoutMs, signal }, credentials);
      if (outcome.kind === 'aborted') throw stopped();
      if (outcome.kind === 'response' && outcome.status >= 200 && outcome.status < 300) {
        const json = parseJson(outcome.body);
        if (json === undefined) throw new InvalidResponseError({ path, status: outcome.status, expected: 'JSON' });
        return { status: outcome.status, json };
      }
      const failure = failureOf(outcome, path, credentials);
      // A body over the limit, or a request that cannot be built, would fail the same way again.
      if (!request.retry || outcome.kind === 'too_large' || outcome.kind === 'unbuildable') throw failure;
      let delayMs: number;
      if (outcome.kind === 'response' && outcome.status === 402) {
        if (!context.billing.shouldPause(clock.now(), context.billingMaxPauseMs(), detailOf(outcome.body, credentials))) throw failure;
        delayMs = BILLING_PAUSE_MS;
      } else if (outcome.kind === 'response') {
        if (!isRetryableStatus(outcome.status, outcome.headers['x-should-retry'])) throw failure;
        delayMs = callRetryDelayMs(++retry, parseRetryAfter(headerText(outcome.headers['retry-after']), clock.now()), context.random);
      } else {
        delayMs = callRetryDelayMs(++retry, undefined, context.random);
      }
      last = failure;
      if (deadlineAtMs !== undefined && clock.now() + delayMs >= deadlineAtMs) throw expired();
      context.log.debug({ path, requestType: request.requestType, retry, delayMs, failure: failure.message }, 'Tinker API call failed; retrying');
      try {
        await sleep(clock, delayMs, signal);
      } catch {
        throw stopped();
      }
    }
  } finally {
    if (timer !== undefined) clock.clearTimeout(timer);
  }
}

/** A header's value as one string (the first of a repeated one). */
function headerText(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
