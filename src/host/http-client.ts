/**
 * A got client for the Tinker API that reports every request on the
 * `tinker:http:request:*` channels, which a reporter of the same session
 * forwards as telemetry. The reporter's own telemetry requests use a
 * separate transport, so they never show up here.
 */
import { performance } from 'node:perf_hooks';
import { type Got, type Headers, type RequestError, got } from 'got';
import { CHANNELS, isObserved, publish, type HttpRequestExceptionPayload } from './channels.js';
import { redactText } from '../core/redact.js';
import { describeNetworkError } from '../io/http-transport.js';

/** The request options fields read here; got hands several shapes of them to its hooks. */
type RequestShape = { readonly method?: unknown; readonly url?: unknown; readonly headers?: unknown };
import { hasApiKey, missingApiKey } from '../core/validate.js';

/** got's `timeout`, in ms (see `createHttpClient`): idle time rather than a whole-request bound, so a long transfer that keeps moving is never cut. */
const TIMEOUTS_MS = Object.freeze({ connect: 5_000, socket: 60_000 });

/** Options of `createHttpClient`. */
export interface HttpClientOptions {
  /**
   * Where to send and with which key; a `Config` from `createConfig` fits.
   * @prop __type.apiKey Sent as `X-API-Key` on every request to the base URL's origin, and redacted from the `path` and `reason` of published messages.
   * @prop __type.baseUrl The `prefixUrl` of the client: request paths are relative to it.
   */
  config: { readonly apiKey: string; readonly baseUrl: string };
  /** The session whose reporter should hear about these requests. */
  sessionId: string;
  /**
   * Where the `X-API-Key` value comes from, when it is not `config.apiKey`
   * itself: called once per request (its retries reuse the value), for a
   * credential that changes, such as the short-lived JWT the Tinker API
   * issues for the key, and once more for each message published about the
   * request, only while someone listens. What it returns is redacted from
   * published messages, as the key is, and dropped on a redirect to another
   * origin. When it throws or returns an empty string or no string, the key
   * is sent. Default: none (the key is sent).
   */
  credential?: () => string;
}

/**
 * A got instance with `prefixUrl` set to the base URL and `X-API-Key` sent,
 * whose hooks publish `tinker:http:request:start` (each attempt), `…:stop`
 * (each response, any status) and `…:exception` (a request that failed: a
 * network error, a timeout, an abort through its `signal`, or an HTTP error
 * status) with the real method, path, status, duration in ms and retry
 * count. The published `path` and `reason` have the API key redacted, as
 * they would hold it if the base URL did, and so is the `X-API-Key` value the
 * request carried (a credential, or one a request passed itself). Publishing costs nothing when no one listens. With
 * the stream API (`client.stream()`) an abort publishes no exception: got
 * reports it only as the stream's `error` event, which this client does not
 * listen to (a listener would stop an unhandled `error` from crashing, as it
 * should).
 *
 * Redirects are followed (got's default, at most 10), but a redirect to
 * another origin (scheme, host or port) drops `X-API-Key`, which then stays
 * off for the rest of that request, even if a later redirect comes back:
 * got itself drops only `authorization` and `cookie`, and the key must
 * reach nothing but the Tinker API. A signed storage URL, the usual reason
 * to redirect elsewhere, needs no key. Pass `followRedirect: false` to
 * `.extend()` to follow none.
 *
 * Timeouts: a connection must be made within 5 s, and the socket may then
 * sit idle, nothing sent or received, for at most 60 s (got's `timeout`
 * `{ connect: 5000, socket: 60000 }`, in ms, as in Tinker's Python SDK); a
 * request that keeps moving is never cut off. A timeout fails the attempt
 * with got's `TimeoutError` (published with kind `timeout`), which got
 * retries like a network error. Override with `.extend({ timeout: { … } })`.
 *
 * Everything else is got's default: up to 2 retries of idempotent methods;
 * pass your own through `.extend()`. The client does not read the telemetry
 * switch: it publishes whether telemetry is on or off, so with telemetry
 * disabled no reporter forwards these messages, but other subscribers (such
 * as `attachLogger`) still hear them.
 *
 * Throws an Error with code `ERR_TINKER_TELEMETRY_MISSING_API_KEY` when
 * `config.apiKey` is empty or blank: the Tinker API needs the key whether
 * telemetry is on or off, so the client fails here rather than with a 401 on
 * every request.
 */
export function createHttpClient(options: HttpClientOptions): Got {
  const { config, sessionId, credential } = options;
  if (!hasApiKey(config)) throw missingApiKey('createHttpClient()');
  /** What `credential` returns now, or '' (the key) when there is none. */
  const current = () => (credential === undefined ? '' : stringFrom(credential));
  /** `text` without the `X-API-Key` value the request carried nor the credential current now (a refresh may come between), beside the key. */
  const withoutCredential = (text: string, requestOptions: RequestShape) => redactText(redactText(text, sentCredential(requestOptions)), current());
  const pathOf = (requestOptions: RequestShape) => withoutCredential(redactPath(requestOptions, config.apiKey), requestOptions);
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
      reason: describeNetworkError(
        withoutCredentialIn(error, (text) => withoutCredential(text, requestOptions)),
        config.apiKey,
      ),
      durationMs: since(requestOptions),
    });
  };
  return got.extend({
    prefixUrl: config.baseUrl,
    headers: { 'X-API-Key': config.apiKey },
    timeout: TIMEOUTS_MS,
    handlers: [
      (requestOptions, next) => {
        // Set here, once per request, rather than in beforeRequest: that hook runs again for each redirect and
        // would put back the key that beforeRedirect dropped for another origin.
        const value = current();
        if (value !== '') requestOptions.headers['x-api-key'] = value;
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
      beforeRedirect: [
        (nextOptions, response) => {
          // got drops only `authorization` and `cookie` when a redirect leaves the host (and keeps them from
          // http to https on one host:port). got has parsed the next hop's URL, so its origin is a string, which
          // an undefined origin (what cannot be read as a URL) never equals: that counts as another origin.
          if (originOf(response.url) !== originOf(nextOptions.url)) dropApiKey(nextOptions.headers);
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

/** What `read` returns when it is a string, or '' when it is not or `read` throws: for `credential`, '' sends `config.apiKey`. */
function stringFrom(read: () => unknown): string {
  try {
    const value = read();
    return typeof value === 'string' ? value : '';
  } catch {
    return '';
  }
}

/** The `X-API-Key` value the request carries, or '' (the catch covers options that have no headers). */
function sentCredential(options: RequestShape): string {
  return stringFrom(() => (options.headers as Headers)['x-api-key']);
}

/**
 * The fields of `error` that `describeNetworkError` reads, each string passed through `redact` (which the key then is
 * too); undefined when one throws as it is read, which `describeNetworkError` then describes as an unknown network
 * error, as it would `error` itself.
 */
function withoutCredentialIn(error: RequestError, redact: (text: string) => string): { code?: unknown; name?: unknown; message?: unknown } | undefined {
  const clean = (value: unknown) => (typeof value === 'string' ? redact(value) : value);
  try {
    return { code: clean(error.code), name: clean(error.name), message: clean(error.message) };
  } catch {
    return undefined;
  }
}

function methodOf(options: RequestShape): string {
  return String(options.method).toUpperCase();
}

/** The path of the request, with the API key redacted. */
function redactPath(options: RequestShape, apiKey: string): string {
  // got parses the URL when it takes the options, so it is a URL, or missing when the options were invalid.
  return options.url instanceof URL ? redactText(options.url.pathname, apiKey) : '';
}

/** The origin of a URL, or undefined for what is not one, which then never matches. */
function originOf(url: unknown): string | undefined {
  try {
    return new URL(String(url)).origin;
  } catch {
    return undefined;
  }
}

/** Removes `X-API-Key`, whatever its case, from got's headers of the next hop. */
function dropApiKey(headers: Headers): void {
  for (const name of Object.keys(headers)) if (name.toLowerCase() === 'x-api-key') delete headers[name];
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
