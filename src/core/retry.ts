/**
 * The retry policy: pure functions of the attempt and the response. The
 * machine owns the waiting (its `retryBackoff` delay); this only says how long.
 */

/** A Retry-After longer than this waits this long: 60 000 ms. */
export const MAX_RETRY_AFTER_MS = 60_000;

/**
 * The backoff before retry number `retry` (1 for the first retry), in ms:
 * `baseDelayMs × 2^(retry−1) × (1 + U[0, 0.1))`, rounded. `random` returns a
 * number in [0, 1); default `Math.random`.
 */
export function backoffDelayMs(retry: number, baseDelayMs: number, random: () => number = Math.random): number {
  const exponent = Math.max(0, Math.min(retry - 1, 30));
  const jitter = Math.min(Math.max(random(), 0), 0.999_999) * 0.1;
  return Math.round(baseDelayMs * 2 ** exponent * (1 + jitter));
}

/**
 * Reads a `Retry-After` header, either delay-seconds or an HTTP date (relative
 * to `nowMs`; a past date means 0). Returns ms, capped at
 * `MAX_RETRY_AFTER_MS`, or undefined for a missing, empty, negative or
 * unparsable value.
 */
export function parseRetryAfter(value: string | undefined, nowMs: number): number | undefined {
  if (typeof value !== 'string') return undefined;
  const text = value.trim();
  if (/^\d+(\.\d+)?$/.test(text)) return Math.min(Math.round(Number(text) * 1000), MAX_RETRY_AFTER_MS);
  // An HTTP date always names a weekday or a month; this keeps Date.parse from
  // accepting bare numbers such as "-1" or "12", and an empty value.
  if (!/[a-z]{3}/i.test(text)) return undefined;
  const at = Date.parse(text);
  if (Number.isNaN(at)) return undefined;
  return Math.min(Math.max(0, at - nowMs), MAX_RETRY_AFTER_MS);
}

/**
 * The wait before retry `retry`: the backoff, or `retryAfterMs` (already
 * capped) when that is longer.
 */
export function retryDelayMs(retry: number, baseDelayMs: number, retryAfterMs: number | undefined, random?: () => number): number {
  const backoff = backoffDelayMs(retry, baseDelayMs, random);
  return retryAfterMs !== undefined && retryAfterMs > backoff ? retryAfterMs : backoff;
}

/**
 * How a response status is treated: 2xx is delivered; 408, 429 and 5xx are
 * retried; 413 splits the batch; every other status (other 4xx, 3xx, 1xx) is
 * a rejection, never retried.
 */
export function classifyStatus(status: number): 'ok' | 'retryable' | 'too_large' | 'rejected' {
  if (status >= 200 && status < 300) return 'ok';
  if (status === 408 || status === 429 || (status >= 500 && status < 600)) return 'retryable';
  if (status === 413) return 'too_large';
  return 'rejected';
}
