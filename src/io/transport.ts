/**
 * The default `Transport` (the port is in `../core/ports.ts`): got, with a
 * keep-alive agent, turning every answer and every error into a `SendResult`.
 */
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { got } from 'got';
import { redactReason, redactText } from '../core/redact.js';
import type { SendResult, Transport } from '../core/ports.js';
import { classifyStatus, parseRetryAfter } from '../core/retry.js';

/** Options of the got transport. */
export interface GotTransportOptions {
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
  /** Per-request timeout in ms. */
  httpTimeoutMs: number;
  /** The clock for Retry-After dates, in epoch ms. Default `Date.now`. */
  now?: () => number;
}

/**
 * The default transport: got with its own retries off (the machine retries),
 * no redirects, a per-request timeout, and one keep-alive agent per protocol,
 * made once per transport.
 */
export function createGotTransport(options: GotTransportOptions): Transport {
  const { endpoint, apiKey, userAgent, httpTimeoutMs } = options;
  const now = options.now ?? Date.now;
  const agent = { http: new HttpAgent({ keepAlive: true }), https: new HttpsAgent({ keepAlive: true }) };
  const client = got.extend({
    method: 'POST',
    agent,
    retry: { limit: 0 },
    throwHttpErrors: false,
    followRedirect: false,
    // The answer's body is never read, so no decompression stream per response
    // (and no accept-encoding asking for one): a measurable share of each request.
    decompress: false,
    timeout: { request: httpTimeoutMs },
    responseType: 'text',
    headers: { 'X-API-Key': apiKey, 'content-type': 'application/json', 'user-agent': userAgent },
  });

  return {
    async send({ body, idempotencyKey, signal }) {
      const credential = options.credential === undefined ? '' : currentCredential(options.credential);
      const headers: Record<string, string> = { 'X-Idempotency-Key': idempotencyKey };
      if (credential !== '') headers['X-API-Key'] = credential;
      try {
        const response = await client(endpoint, { body, signal, headers });
        const status = response.statusCode;
        const kind = classifyStatus(status);
        if (kind === 'ok' || kind === 'rejected' || kind === 'too_large') return { kind, status };
        const retryAfterMs = parseRetryAfter(response.headers['retry-after'], now());
        const result: SendResult = { kind: 'retryable', status, reason: `HTTP ${status}` };
        if (retryAfterMs !== undefined) result.retryAfterMs = retryAfterMs;
        return result;
      } catch (error) {
        if (signal.aborted) return { kind: 'retryable', reason: 'aborted' };
        return { kind: 'retryable', reason: describeNetworkError(credential === '' ? error : without(error, credential), apiKey) };
      }
    },
    close() {
      agent.http.destroy();
      agent.https.destroy();
    },
  };
}

/** What `credential` returns, or '' when it throws or returns no string. */
function currentCredential(credential: () => string): string {
  try {
    const value = credential();
    return typeof value === 'string' ? value : '';
  } catch {
    return '';
  }
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
