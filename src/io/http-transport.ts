/**
 * What every HTTP `Transport` of `../core/ports.ts` shares, whichever client
 * sends the request (`node:http` in `node-transport.ts`, the default; got in
 * `transport.ts`; undici in `undici-transport.ts`):
 * their options, the credential read at each send, the reading of a status
 * into a `SendResult`, and the reason of a failure, with the secrets
 * redacted. Keeping it in one place keeps the transports interchangeable.
 */
import { redactReason, redactText } from '../core/redact.js';
import type { SendResult } from '../core/ports.js';
import { classifyStatus, parseRetryAfter } from '../core/retry.js';

/**
 * Bytes of an answer's body at which the connection is cut rather than the
 * body read on: 64 KiB. The answer is never used, but reading a shorter one
 * to its end (and throwing it away) keeps the connection for the next
 * request; one of 64 KiB or more, read so far or announced by its
 * content-length, ends the connection and is never buffered. The undici
 * and `node:http` transports use it; got reads the (short) answer whole.
 */
export const MAX_ANSWER_BYTES = 64 * 1024;

/** Options of an HTTP transport (`createNodeTransport`, `createGotTransport`, `createUndiciTransport`). */
export interface HttpTransportOptions {
  /** The full URL of `/api/v1/telemetry`. */
  endpoint: string;
  /** Sent as `X-API-Key` (unless `credential` gives another value), and nowhere else. */
  apiKey: string;
  /**
   * The `X-API-Key` value of each send when it is not `apiKey` itself, such
   * as the short-lived JWT a Tinker session exchanged the key for: read once
   * per send (its retries read it again), so a refreshed token takes over at
   * the next attempt, and redacted from a failure's reason as the key is.
   * When it throws or returns an empty string, `apiKey` is sent. Default:
   * none (the key is sent).
   */
  credential?: () => string;
  /** The `user-agent` header. */
  userAgent: string;
  /** Per-request timeout in ms, from the start of the send to the end of the answer. */
  httpTimeoutMs: number;
  /** The clock for Retry-After dates, in epoch ms. Default `Date.now`. */
  now?: () => number;
}

/** What `credential` returns, or '' when there is none, or it throws or returns no string. */
export function currentCredential(credential: (() => string) | undefined): string {
  if (credential === undefined) return '';
  try {
    const value = credential();
    return typeof value === 'string' ? value : '';
  } catch {
    return '';
  }
}

/**
 * The `SendResult` of an answer with `status`: Retry-After (a first value
 * when the header came more than once) is read only when the status is
 * retried, against `now()` (epoch ms) for an HTTP date.
 */
export function statusResult(status: number, retryAfter: string | readonly string[] | undefined, now: () => number): SendResult {
  const kind = classifyStatus(status);
  if (kind === 'ok' || kind === 'rejected' || kind === 'too_large') return { kind, status };
  const retryAfterMs = parseRetryAfter(typeof retryAfter === 'string' ? retryAfter : retryAfter?.[0], now());
  const result: SendResult = { kind: 'retryable', status, reason: `HTTP ${status}` };
  if (retryAfterMs !== undefined) result.retryAfterMs = retryAfterMs;
  return result;
}

/** The reason of a send that got no answer: `describeNetworkError`, with the credential sent (when not the key) redacted first. */
export function failureReason(error: unknown, apiKey: string, credential: string): string {
  return describeNetworkError(credential === '' ? error : without(error, credential), apiKey);
}

/** The fields of `error` that `describeNetworkError` reads, with `secret` redacted from each string before the key is and the reason cut. */
function without(error: unknown, secret: string): { code?: unknown; name?: unknown; message?: unknown } {
  const clean = (value: unknown) => (typeof value === 'string' ? redactText(value, secret) : value);
  try {
    const { code, name, message } = error as { code?: unknown; name?: unknown; message?: unknown };
    return { code: clean(code), name: clean(name), message: clean(message) };
  } catch {
    return {};
  }
}

/**
 * A short reason built only from the error's code, name and message. got's
 * errors carry the request options, headers included, so the error object
 * itself is never logged; the key is scrubbed from the text anyway, before
 * it is cut to 300 characters (`redactReason`), so that a key across the cut goes whole.
 */
export function describeNetworkError(error: unknown, apiKey: string): string {
  let text: string;
  try {
    const { code, name, message } = error as { code?: unknown; name?: unknown; message?: unknown };
    const label = typeof code === 'string' ? code : typeof name === 'string' ? name : 'Error';
    text = typeof message === 'string' && message.length > 0 ? `${label}: ${message}` : label;
  } catch {
    text = 'unknown network error';
  }
  return redactReason(text, apiKey);
}
