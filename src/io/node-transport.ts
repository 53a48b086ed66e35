/**
 * The default `Transport` (the port is in `../core/ports.ts`), of the
 * reporter and of a session's telemetry: Node's own `http.request` (or
 * `https.request`) on a keep-alive agent of one socket, with the same
 * options and the same results as the got transport (`transport.ts`) and
 * the undici one (`undici-transport.ts`). It does the least work per
 * request of the three (BENCHMARKS.md, "Where the time goes"), and with
 * one request in flight that work bounds delivered events per second.
 */
import { Agent as HttpAgent, type ClientRequest, type IncomingMessage, type RequestOptions, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { SendResult, Transport } from '../core/ports.js';
import { type HttpTransportOptions, MAX_ANSWER_BYTES, currentCredential, failureReason, statusResult } from './http-transport.js';

/** Where a transport sends: the endpoint, read once into the options of every request, and its `request` function. */
interface Target {
  readonly options: RequestOptions;
  readonly agent: HttpAgent;
  readonly request: typeof httpRequest;
}

/**
 * A transport on `node:http` or `node:https` (by the endpoint's protocol),
 * with one keep-alive socket (one request is in flight at a time, by
 * design), made at the first send and again at the first send after
 * `close()`. Like the other two: POST, no retries (the machine retries),
 * no redirects followed, no decompression, `httpTimeoutMs` bounding the
 * whole request, the answer's body read and thrown away (at most
 * `MAX_ANSWER_BYTES` of it; a longer one ends the connection), and every
 * answer and every failure a `SendResult`: `send` never throws and never
 * rejects.
 */
export function createNodeTransport(options: HttpTransportOptions): Transport {
  const { endpoint, apiKey, userAgent, httpTimeoutMs } = options;
  const now = options.now ?? Date.now;
  let target: Target | undefined;

  /** The target, made on first use so that a bad endpoint is a failed send rather than a throw, and so that a send after `close()` connects again. */
  const open = (): Target => {
    if (target !== undefined) return target;
    const url = new URL(endpoint);
    // Any other protocol than https goes to node:http, which refuses all but http (ERR_INVALID_PROTOCOL): a failed send.
    const secure = url.protocol === 'https:';
    // One socket, kept alive between requests; the agent unrefs it while idle, so it never holds the process open.
    const agent = secure ? new HttpsAgent({ keepAlive: true, maxSockets: 1 }) : new HttpAgent({ keepAlive: true, maxSockets: 1 });
    // Parsed once here rather than from the URL at every request.
    const options: RequestOptions = {
      protocol: url.protocol,
      hostname: url.hostname,
      port: url.port,
      path: `${url.pathname}${url.search}`,
      method: 'POST',
      agent,
    };
    target = { options, agent, request: secure ? httpsRequest : httpRequest };
    return target;
  };

  return {
    send({ body, idempotencyKey, signal }): Promise<SendResult> {
      if (signal.aborted) return Promise.resolve({ kind: 'retryable', reason: 'aborted' });
      const credential = currentCredential(options.credential);
      return new Promise<SendResult>((resolve) => {
        let request: ClientRequest;
        try {
          const { options: endpointOptions, request: send } = open();
          request = send({
            ...endpointOptions,
            headers: {
              'X-API-Key': credential === '' ? apiKey : credential,
              'content-type': 'application/json',
              'content-length': Buffer.byteLength(body),
              'user-agent': userAgent,
              'X-Idempotency-Key': idempotencyKey,
            },
          });
        } catch (error) {
          resolve({ kind: 'retryable', reason: failureReason(error, apiKey, credential) });
          return;
        }
        /** Whether the answer's status line came: from then on the status is the outcome, however its body ends. */
        let answered = false;
        let timedOut = false;
        // The first outcome stands (a promise settles once); the timer and the listener go with it.
        const settle = (result: SendResult) => {
          clearTimeout(timer);
          signal.removeEventListener('abort', stop);
          resolve(result);
        };
        /** A send that got no answer; the reason says why, the caller's abort and the timer first. */
        const failed = (error: unknown) => {
          if (answered) return;
          if (signal.aborted) settle({ kind: 'retryable', reason: 'aborted' });
          else if (timedOut)
            settle({ kind: 'retryable', reason: failureReason({ code: 'ETIMEDOUT', message: `no answer within ${httpTimeoutMs} ms` }, apiKey, credential) });
          else settle({ kind: 'retryable', reason: failureReason(error, apiKey, credential) });
        };
        /** Ends the request (the caller's abort or the timer): no answer yet is a failure now; a body being read ends, and its close settles. */
        const stop = () => {
          request.destroy();
          failed(undefined);
        };
        // The timer also settles a request that Node would leave without an answer or an error.
        const timer = setTimeout(() => {
          timedOut = true;
          stop();
        }, httpTimeoutMs);
        timer.unref();
        // An 'abort' fires at most once; the listener is removed when the send settles, whether or not it ran.
        signal.addEventListener('abort', stop);
        request.on('error', failed);
        request.on('response', (response: IncomingMessage) => {
          answered = true;
          const done = () => settle(statusResult(Number(response.statusCode), response.headers['retry-after'], now));
          // Settles however the body ends: read to its end, cut here, or cut by the timer or an abort.
          response.on('close', done);
          // A connection reset while the body is read changes nothing: the status came. Node emits no 'error' on
          // an answer without a listener for it (it ends the body and closes it), so none is added.
          const declared = response.headers['content-length'];
          if (declared === undefined) {
            // No length given (a chunked answer): counted as it comes, and cut at the limit.
            let read = 0;
            response.on('data', (chunk: Buffer) => {
              read += chunk.length;
              if (read >= MAX_ANSWER_BYTES) response.destroy();
            });
          } else if (Number(declared) < MAX_ANSWER_BYTES) response.resume();
          else response.destroy();
        });
        request.end(body);
      });
    },
    close() {
      const closing = target;
      target = undefined;
      // Ends the kept socket now, and any request in flight with it.
      closing?.agent.destroy();
    },
  };
}
