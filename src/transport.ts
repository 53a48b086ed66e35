/**
 * The I/O port: one function that POSTs a batch and says what came of it,
 * as a value, never as a thrown error. The default implementation uses got.
 */
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { got } from 'got';
import { redactCut } from './internal/redact.js';
import { classifyStatus, parseRetryAfter } from './retry.js';

/**
 * What one POST came to, as a value: `kind` names the outcome and decides
 * what the reporter does next; `status` is the HTTP status of the response.
 */
export type SendResult =
  /** A 2xx: the batch is delivered, whatever the body says; `status` is that 2xx. */
  | { kind: 'ok'; status: number }
  /**
   * A network error, a timeout, an abort, 408, 429 or 5xx: retried up to
   * `maxRetries` times. `status` is absent when no response came;
   * `retryAfterMs` is the parsed Retry-After in ms, capped at 60 s, and wins
   * over a shorter backoff; `reason` is a short text for logs and the
   * `batch:failed` channel (e.g. `HTTP 503`), without secrets.
   */
  | { kind: 'retryable'; status?: number; retryAfterMs?: number; reason: string }
  /** Any other 4xx (and 1xx/3xx), given in `status`: the batch is dropped as `rejected`, never retried. */
  | { kind: 'rejected'; status: number }
  /** 413 (`status`): the batch is split in halves, or dropped as `rejected` when it holds one event. */
  | { kind: 'too_large'; status: number };

/** One POST of a batch. */
export interface TelemetryRequest {
  /** The JSON text of the body, already serialized. */
  body: string;
  /** The same for every retry of a batch, so the server can deduplicate. */
  idempotencyKey: string;
  /** Aborted at the stop deadline. */
  signal: AbortSignal;
}

/** The port the reporter sends through. Supply your own with the `transport` option. */
export interface Transport {
  /** Sends one batch. Should never reject; a rejection is treated as a retryable network error. */
  send(request: TelemetryRequest): Promise<SendResult>;
  /** Releases sockets; called once when the reporter stops. Optional. */
  close?(): void;
}

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

/** Characters of a network error's reason kept; a cut one ends in `…`. */
const MAX_REASON = 300;

/**
 * A short reason built only from the error's code, name and message. got's
 * errors carry the request options, headers included, so the error object
 * itself is never logged; the key is scrubbed from the text anyway, before
 * it is cut to 300 characters, so that a key across the cut goes whole.
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
  const { kept, omitted } = redactCut(text, MAX_REASON, apiKey);
  return omitted > 0 ? `${kept}…` : kept;
}
