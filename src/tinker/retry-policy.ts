/**
 * The retry rules of the Tinker protocol layer, as pure functions: which
 * answers a start-up call or a submit retries, how long it waits first, and
 * how long a future's poll backs off. The callers own the waiting.
 */
import { retryDelayMs } from '../core/retry.js';

/** The first retry of a call waits this long (1 s, the reporter's `retryBaseDelayMs`), doubled for each further one, plus up to 10 % jitter. */
export const RETRY_BASE_DELAY_MS = 1_000;

/** A call's backoff never grows past this (30 s, the cap of the Python SDK's `execute_with_retries`); a longer Retry-After still wins. */
export const MAX_BACKOFF_MS = 30_000;

/** A job paused by its billing status (HTTP 402) is asked again after this long: 5 s. */
export const BILLING_PAUSE_MS = 5_000;

/**
 * Whether a call that got `status` is tried again: the server's
 * `x-should-retry` header decides when it says `true` or `false`; otherwise
 * 408, 409, 429 and 5xx are retried and nothing else is.
 */
export function isRetryableStatus(status: number, shouldRetry: string | string[] | undefined): boolean {
  const said = typeof shouldRetry === 'string' ? shouldRetry.trim().toLowerCase() : undefined;
  if (said === 'true') return true;
  if (said === 'false') return false;
  return status === 408 || status === 409 || status === 429 || (status >= 500 && status < 600);
}

/**
 * The wait before retry `retry` (1 for the first) of a call, in ms: the
 * reporter's backoff (`retryDelayMs` with a 1 s base), capped at 30 s; a
 * `retryAfterMs` (the parsed Retry-After, itself capped at 60 s) wins when
 * it is longer.
 */
export function callRetryDelayMs(retry: number, retryAfterMs: number | undefined, random?: () => number): number {
  const backoff = Math.min(retryDelayMs(retry, RETRY_BASE_DELAY_MS, undefined, random), MAX_BACKOFF_MS);
  return retryAfterMs !== undefined && retryAfterMs > backoff ? retryAfterMs : backoff;
}

/**
 * The backoff of a future's poll after a 429 or a connection error, in ms:
 * `min(2^n, 30)` s, where `n` counts such failures in a row (0 for the
 * first), as the Python SDK's polling does.
 */
export function pollBackoffMs(n: number): number {
  return Math.min(2 ** Math.min(Math.max(n, 0), 5), 30) * 1000;
}
