/**
 * A `Transport` (the port is in `../core/ports.ts`) on undici's `Pool`, with
 * the same options and the same results as the others. It was the default
 * of the reporter and of a session's telemetry, at less than half got's
 * work per request, until the `node:http` transport (`node-transport.ts`)
 * measured less again (BENCHMARKS.md, "Where the time goes"); it is kept
 * as a reference the shared transport tests and the bench run against.
 */
import { Pool } from 'undici';
import type { SendResult, Transport } from '../core/ports.js';
import { type HttpTransportOptions, MAX_ANSWER_BYTES, currentCredential, failureReason, statusResult } from './http-transport.js';

export { MAX_ANSWER_BYTES };

/**
 * A transport on one undici `Pool` of a single keep-alive connection (one
 * request is in flight at a time, by design), made at the first send and
 * again at the first send after `close()`. Like the got transport: POST,
 * no retries (the machine retries), no redirects followed, no
 * decompression, `httpTimeoutMs` bounding the whole request, the answer's
 * body discarded unread, and every answer and every failure a `SendResult`:
 * `send` never throws and never rejects.
 */
export function createUndiciTransport(options: HttpTransportOptions): Transport {
  const { endpoint, apiKey, userAgent, httpTimeoutMs } = options;
  const now = options.now ?? Date.now;
  let pool: Pool | undefined;
  /** The endpoint's path and query: set by `open()`, which every send calls before it is read. */
  let path: string;

  /** The pool, made on first use so that a bad endpoint is a failed send rather than a throw, and so that a send after `close()` connects again. */
  const open = (): Pool => {
    if (pool !== undefined) return pool;
    const url = new URL(endpoint);
    path = `${url.pathname}${url.search}`;
    // undici follows no redirect unless asked to (maxRedirections), and its request() never decompresses.
    pool = new Pool(url.origin, { connections: 1, pipelining: 1 });
    return pool;
  };

  return {
    async send({ body, idempotencyKey, signal }): Promise<SendResult> {
      if (signal.aborted) return { kind: 'retryable', reason: 'aborted' };
      const credential = currentCredential(options.credential);
      // One controller per send: aborted by the caller's signal, or by the timer, whichever comes first.
      const controller = new AbortController();
      const onAbort = () => controller.abort();
      // Removed in `finally`, whether or not it ran; an AbortSignal fires 'abort' at most once.
      signal.addEventListener('abort', onAbort);
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        controller.abort();
      }, httpTimeoutMs);
      timer.unref();
      try {
        const client = open();
        const response = await client.request({
          path,
          method: 'POST',
          headers: [
            'X-API-Key',
            credential === '' ? apiKey : credential,
            'content-type',
            'application/json',
            'user-agent',
            userAgent,
            'X-Idempotency-Key',
            idempotencyKey,
          ],
          body,
          signal: controller.signal,
        });
        // The status is the outcome; the body is read to its end (or cut) only to free the connection.
        // dump() settles on the body's close whatever happened to it, the timer and an abort included.
        await response.body.dump({ limit: MAX_ANSWER_BYTES });
        return statusResult(response.statusCode, response.headers['retry-after'], now);
      } catch (error) {
        if (signal.aborted) return { kind: 'retryable', reason: 'aborted' };
        if (timedOut)
          return { kind: 'retryable', reason: failureReason({ code: 'ETIMEDOUT', message: `no answer within ${httpTimeoutMs} ms` }, apiKey, credential) };
        return { kind: 'retryable', reason: failureReason(error, apiKey, credential) };
      } finally {
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
      }
    },
    close() {
      const closing = pool;
      pool = undefined;
      // destroy() ends the socket now (close() would wait for requests in flight); its promise cannot reject here, but is caught anyway.
      closing?.destroy().catch(() => undefined);
    },
  };
}
