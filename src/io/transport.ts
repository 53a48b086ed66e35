/**
 * The default `Transport` (the port is in `../core/ports.ts`): got, with a
 * keep-alive agent, turning every answer and every error into a `SendResult`.
 */
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { got } from 'got';
import { redactReason } from '../core/redact.js';
import type { SendResult, Transport } from '../core/ports.js';
import { classifyStatus, parseRetryAfter } from '../core/retry.js';

/** Options of the got transport. */
export interface GotTransportOptions {
  /** The full URL of `/api/v1/telemetry`. */
  endpoint: string;
  /** Sent as `X-API-Key`, and nowhere else. */
  apiKey: string;
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
      try {
        const response = await client(endpoint, { body, signal, headers: { 'X-Idempotency-Key': idempotencyKey } });
        const status = response.statusCode;
        const kind = classifyStatus(status);
        if (kind === 'ok' || kind === 'rejected' || kind === 'too_large') return { kind, status };
        const retryAfterMs = parseRetryAfter(response.headers['retry-after'], now());
        const result: SendResult = { kind: 'retryable', status, reason: `HTTP ${status}` };
        if (retryAfterMs !== undefined) result.retryAfterMs = retryAfterMs;
        return result;
      } catch (error) {
        if (signal.aborted) return { kind: 'retryable', reason: 'aborted' };
        return { kind: 'retryable', reason: describeNetworkError(error, apiKey) };
      }
    },
    close() {
      agent.http.destroy();
      agent.https.destroy();
    },
  };
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
