/**
 * A got client for the Tinker API that reports every request on the
 * `tinker:http:request:*` channels, which a reporter of the same session
 * forwards as telemetry. The reporter's own telemetry requests use a
 * separate transport, so they never show up here.
 */
import { performance } from 'node:perf_hooks';
import { type Got, type RequestError, got } from 'got';

/** The request options fields read here; got hands several shapes of them to its hooks. */
type RequestShape = { readonly method?: unknown; readonly url?: unknown };
import { CHANNELS, isObserved, publish, type HttpRequestExceptionPayload } from './channels.js';
import { hasApiKey, missingApiKey } from './config.js';
import { describeNetworkError } from './transport.js';

/** Options of `createHttpClient`. */
export interface HttpClientOptions {
  /**
   * Where to send and with which key; a `Config` from `createConfig` fits.
   * @prop __type.apiKey Sent as `X-API-Key` on every request, and scrubbed from the `reason` of exception messages.
   * @prop __type.baseUrl The `prefixUrl` of the client: request paths are relative to it.
   */
  config: { readonly apiKey: string; readonly baseUrl: string };
  /** The session whose reporter should hear about these requests. */
  sessionId: string;
}

/**
 * A got instance with `prefixUrl` set to the base URL and `X-API-Key` sent,
 * whose hooks publish `tinker:http:request:start` (each attempt), `…:stop`
 * (each response, any status) and `…:exception` (a request that failed: a
 * network error, a timeout, an abort through its `signal`, or an HTTP error
 * status) with the real method, path, status, duration in ms and retry
 * count. Publishing costs nothing when no one listens. With the stream API
 * (`client.stream()`) an abort publishes no exception: got reports it only
 * as the stream's `error` event, which this client does not listen to (a
 * listener would stop an unhandled `error` from crashing, as it should).
 *
 * Everything else is got's default: up to 2 retries of idempotent methods,
 * and no timeout; pass your own through `.extend()`. The client does not
 * read the telemetry switch: it publishes whether telemetry is on or off, so
 * with telemetry disabled no reporter forwards these messages, but other
 * subscribers (such as `attachLogger`) still hear them.
 *
 * Throws an Error with code `ERR_TINKER_TELEMETRY_MISSING_API_KEY` when
 * `config.apiKey` is empty or blank: the Tinker API needs the key whether
 * telemetry is on or off, so the client fails here rather than with a 401 on
 * every request.
 */
export function createHttpClient(options: HttpClientOptions): Got {
  const { config, sessionId } = options;
  if (!hasApiKey(config)) throw missingApiKey('createHttpClient()');
  const started = new WeakMap<object, number>();
  /** Errors already published by `beforeError`; got skips that hook for an abort, which the handler then publishes. */
  const published = new WeakSet<object>();
  const since = (requestOptions: object) => {
    const at = started.get(requestOptions);
    return at === undefined ? 0 : performance.now() - at;
  };
  const publishException = (error: RequestError, requestOptions: RequestShape & object) => {
    published.add(error);
    if (!isObserved(CHANNELS.httpRequestException)) return;
    publish(CHANNELS.httpRequestException, {
      sessionId,
      method: methodOf(requestOptions),
      path: pathOf(requestOptions),
      kind: kindOf(error),
      reason: describeNetworkError(error, config.apiKey),
      durationMs: since(requestOptions),
    });
  };
  return got.extend({
    prefixUrl: config.baseUrl,
    headers: { 'X-API-Key': config.apiKey },
    handlers: [
      (requestOptions, next) => {
        const result = next(requestOptions);
        if (!requestOptions.isStream) {
          // got's promise is a thenable (p-cancelable), returned unchanged; this branch only watches it.
          void (result as PromiseLike<unknown>).then(undefined, (error: unknown) => {
            if (typeof error !== 'object' || error === null || published.has(error)) return;
            const requestError = error as RequestError;
            publishException(requestError, requestError.options ?? requestOptions);
          });
        }
        return result;
      },
    ],
    hooks: {
      beforeRequest: [
        (requestOptions) => {
          started.set(requestOptions, performance.now());
          if (!isObserved(CHANNELS.httpRequestStart)) return;
          publish(CHANNELS.httpRequestStart, { sessionId, method: methodOf(requestOptions), path: pathOf(requestOptions), systemTime: Date.now() });
        },
      ],
      afterResponse: [
        (response) => {
          if (isObserved(CHANNELS.httpRequestStop)) {
            const requestOptions = response.request.options;
            publish(CHANNELS.httpRequestStop, {
              sessionId,
              method: methodOf(requestOptions),
              path: pathOf(requestOptions),
              status: response.statusCode,
              durationMs: since(requestOptions),
              retryCount: response.retryCount,
            });
          }
          return response;
        },
      ],
      beforeError: [
        (error: RequestError) => {
          publishException(error, error.options);
          return error;
        },
      ],
    },
  });
}

function methodOf(options: RequestShape): string {
  return String(options.method).toUpperCase();
}

function pathOf(options: RequestShape): string {
  // got parses the URL when it takes the options, so it is a URL, or missing when the options were invalid.
  return options.url instanceof URL ? options.url.pathname : '';
}

function kindOf(error: RequestError): HttpRequestExceptionPayload['kind'] {
  if (error.name === 'TimeoutError' || error.code === 'ETIMEDOUT') return 'timeout';
  if (error.name === 'HTTPError') return 'http';
  // got's AbortError always has the code ERR_ABORTED; Node's, wrapped in a RequestError, has ABORT_ERR.
  if (error.code === 'ERR_ABORTED' || error.code === 'ABORT_ERR') return 'aborted';
  // Node's system error codes (ECONNRESET, EAI_AGAIN); got's own ERR_… codes are not network errors.
  if (typeof error.code === 'string' && /^E[A-Z0-9_]+$/.test(error.code) && !error.code.startsWith('ERR_')) return 'network';
  return 'other';
}
