/**
 * A `Transport` (the port is in `../core/ports.ts`) over got, with a
 * keep-alive agent, turning every answer and every error into a
 * `SendResult`. The default was this one until the undici transport
 * (`undici-transport.ts`) measured less than half its work per request, and
 * then the `node:http` one (`node-transport.ts`) less again; it is kept as a
 * reference the shared transport tests run against.
 */
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { got } from 'got';
import type { Transport } from '../core/ports.js';
import { type HttpTransportOptions, currentCredential, failureReason, statusResult } from './http-transport.js';

/**
 * The got transport: got with its own retries off (the machine retries),
 * no redirects, a per-request timeout, and one keep-alive agent per protocol,
 * made once per transport.
 */
export function createGotTransport(options: HttpTransportOptions): Transport {
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
      const credential = currentCredential(options.credential);
      const headers: Record<string, string> = { 'X-Idempotency-Key': idempotencyKey };
      if (credential !== '') headers['X-API-Key'] = credential;
      try {
        const response = await client(endpoint, { body, signal, headers });
        return statusResult(response.statusCode, response.headers['retry-after'], now);
      } catch (error) {
        if (signal.aborted) return { kind: 'retryable', reason: 'aborted' };
        return { kind: 'retryable', reason: failureReason(error, apiKey, credential) };
      }
    },
    close() {
      agent.http.destroy();
      agent.https.destroy();
    },
  };
}
