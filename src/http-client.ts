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
 * network error, a timeout, an abort, or an HTTP error status) with the real
 * method, path, status, duration in ms and retry count. Publishing costs
 * nothing when no one listens.
 *
 * Everything else is got's default: up to 2 retries of idempotent methods,
 * and no timeout; pass your own through `.extend()`. The client does not
 * read the telemetry switch: it publishes whether telemetry is on or off, so
 * with telemetry disabled no reporter forwards these messages, but other
 * subscribers (such as `attachLogger`) still hear them.
 */
export function createHttpClient(options: HttpClientOptions): Got {
  const { config, sessionId } = options;
  const started = new WeakMap<object, number>();
  const since = (requestOptions: object) => {
    const at = started.get(requestOptions);
    return at === undefined ? 0 : performance.now() - at;
  };
  return got.extend({
    prefixUrl: config.baseUrl,
    headers: { 'X-API-Key': config.apiKey },
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
          if (isObserved(CHANNELS.httpRequestException)) {
            const requestOptions = error.options;
            publish(CHANNELS.httpRequestException, {
              sessionId,
              method: methodOf(requestOptions),
              path: pathOf(requestOptions),
              kind: kindOf(error),
              reason: describeNetworkError(error, config.apiKey),
              durationMs: since(requestOptions),
            });
          }
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
  if (typeof error.code === 'string' && /^E[A-Z]/.test(error.code)) return 'network';
  return 'other';
}
