/**
 * One HTTP attempt against the Tinker API, as a value: a response (any
 * status), a body over the call's byte limit, a request that could not be
 * built, a network failure described without secrets, or an abort. The
 * callers decide what each means; got's own retries, redirects and status
 * errors are off, so every answer reaches them as it came.
 */
import type { ClientRequest, IncomingHttpHeaders, IncomingMessage } from 'node:http';
import { type Got, got } from 'got';
import { SDK_VERSION } from '../core/version.js';
import { createHttpClient } from '../host/http-client.js';
import type { JsonValue } from '../core/json.js';
import type { Credentials } from './credentials.js';
import { ApiConnectionError, ApiStatusError, InvalidResponseError } from './errors.js';

/** What one attempt came to. */
export type Attempt =
  /** The server answered, any status; `body` is the raw body. */
  | { kind: 'response'; status: number; headers: IncomingHttpHeaders; body: Buffer }
  /** The body grew past `limitBytes` (or its `Content-Length` said it would): the request was aborted before more arrived. Never retried. */
  | { kind: 'too_large'; status: number; limitBytes: number }
  /** got or Node refused to send the request (a header value with a newline, a bad URL…): trying again cannot help. Same `reason` and `cause` as `network`. */
  | { kind: 'unbuildable'; reason: string; cause: Error }
  /** No response: a network error or the attempt's timeout. `reason` is short and redacted; `cause` is a plain Error made from it, never got's error. */
  | { kind: 'network'; reason: string; cause: Error }
  /** The attempt's signal aborted it. */
  | { kind: 'aborted' };

/** One request: a POST of `body` (JSON text) to `path`, relative to the base URL. */
export interface AttemptRequest {
  /** E.g. `api/v1/create_session`; a leading `/` is ignored. */
  path: string;
  /** The JSON text of the body. */
  body: string;
  /** Headers of this request, lower-case names; `x-api-key` among them. */
  headers: Record<string, string>;
  /** got's whole-request timeout in ms; default: the client's (connect 5 s, idle socket 60 s). */
  timeoutMs?: number;
  /** Aborts the attempt. */
  signal: AbortSignal;
  /** Bytes of response body accepted, after decompression; default: `responseLimitBytes(path)`. */
  maxBodyBytes?: number;
}

/** The path polled for a future's result. */
export const RETRIEVE_FUTURE_PATH = '/api/v1/retrieve_future';

/** The response body limit of every call but `retrieve_future`: 1 MiB. */
export const MAX_RESPONSE_BYTES = 1024 * 1024;

/** The response body limit of `retrieve_future`, whose results (e.g. sampled tokens, protobuf) may be large: 64 MiB. */
export const MAX_FUTURE_RESPONSE_BYTES = 64 * 1024 * 1024;

/** The response body limit of a call to `path`, in bytes: 64 MiB for `retrieve_future`, 1 MiB for every other call. */
export function responseLimitBytes(path: string): number {
  return path.replace(/^\/+/, '') === RETRIEVE_FUTURE_PATH.slice(1) ? MAX_FUTURE_RESPONSE_BYTES : MAX_RESPONSE_BYTES;
}

/**
 * got's and Node's codes for a request that was never sent because it could
 * not be built: a header name or value with a forbidden character, a bad
 * URL, an option of the wrong type. The same request fails the same way
 * every time, so it is never retried.
 */
const UNBUILDABLE_CODES: ReadonlySet<string> = new Set([
  'ERR_INVALID_CHAR',
  'ERR_INVALID_HEADER_VALUE',
  'ERR_HTTP_INVALID_HEADER_VALUE',
  'ERR_INVALID_HTTP_TOKEN',
  'ERR_INVALID_URL',
  'ERR_INVALID_ARG_TYPE',
  'ERR_INVALID_ARG_VALUE',
]);

/** The `User-Agent` of every request: this package, its version and Node's. */
export const USER_AGENT = `tinker-telemetry/${SDK_VERSION} node/${process.version}`;

/** Characters of a network failure's reason kept; a cut one ends in `…`. */
const MAX_REASON = 300;

/** What every call of this layer turns off in got: it reads each answer itself. */
const CALL_DEFAULTS = { retry: { limit: 0 }, throwHttpErrors: false, followRedirect: false } as const;

/** The client used before the session exists: no channel messages, the timeouts of `createHttpClient`. */
export function unboundClient(baseUrl: string): Got {
  return got.extend({ prefixUrl: baseUrl, timeout: { connect: 5_000, socket: 60_000 }, ...CALL_DEFAULTS });
}

/**
 * The clients of a session: `http`, the `createHttpClient` handed to users
 * (its requests carry `credentials.current`), and `calls`, the same with
 * got's retries, redirects and status errors off, for this layer's own
 * requests; both publish HTTP telemetry with `sessionId`.
 */
export function boundClients(config: { readonly apiKey: string; readonly baseUrl: string }, sessionId: string, credentials: Credentials) {
  const http = createHttpClient({ config, sessionId, credential: () => credentials.current });
  return { http, calls: http.extend(CALL_DEFAULTS) };
}

/** The headers every request of this layer sends, but the idempotency key and the request's own. */
export function baseHeaders(credential: string): Record<string, string> {
  return { 'x-api-key': credential, 'content-type': 'application/json', accept: 'application/json', 'user-agent': USER_AGENT };
}

/**
 * Sends one attempt; never throws. The body is counted as got reads it
 * and the request is aborted as soon as it exceeds `maxBodyBytes`, or
 * before any of it is read when `Content-Length` says it will: at most the
 * limit plus one chunk is ever held.
 */
export async function attempt(client: Got, request: AttemptRequest, credentials: Credentials): Promise<Attempt> {
  const limitBytes = request.maxBodyBytes ?? responseLimitBytes(request.path);
  const overLimit = new AbortController();
  let tooLarge: { kind: 'too_large'; status: number; limitBytes: number } | undefined;
  const refuse = (status: number) => {
    tooLarge ??= { kind: 'too_large', status, limitBytes };
    overLimit.abort();
  };
  try {
    const pending = client.post(request.path.replace(/^\/+/, ''), {
      body: request.body,
      headers: request.headers,
      signal: AbortSignal.any([request.signal, overLimit.signal]),
      responseType: 'buffer',
      ...(request.timeoutMs === undefined ? {} : { timeout: { request: request.timeoutMs } }),
    });
    // got buffers the body before its own 'response' event, so the status comes from Node's response and the size from got's progress.
    // Prepended: got's own listener on Node's response emits the first progress at once, and that one must already see the status.
    let status = 0;
    void pending.on('request', (sent: ClientRequest) =>
      sent.prependOnceListener('response', (response: IncomingMessage) => (status = response.statusCode ?? 0)),
    );
    // The first progress comes before any of the body, with `total` from Content-Length; the others as each chunk is read.
    void pending.on('downloadProgress', ({ transferred, total }: { transferred: number; total?: number }) => {
      if (transferred > limitBytes || (total ?? 0) > limitBytes) refuse(status);
    });
    const response = await pending;
    if (tooLarge !== undefined) return tooLarge;
    return { kind: 'response', status: response.statusCode, headers: response.headers, body: response.body };
  } catch (error) {
    if (tooLarge !== undefined) return tooLarge;
    if (request.signal.aborted) return { kind: 'aborted' };
    const reason = describe(error, credentials);
    const cause = new Error(reason);
    const code = readString(error, 'code');
    if (code !== undefined) Object.assign(cause, { code: credentials.redact(code) });
    return { kind: code !== undefined && UNBUILDABLE_CODES.has(code) ? 'unbuildable' : 'network', reason, cause };
  }
}

/**
 * `code: message` of a failure, from those fields only: got's errors carry
 * the request options, headers included, so the error itself goes nowhere.
 */
function describe(error: unknown, credentials: Credentials): string {
  const code = readString(error, 'code');
  const name = readString(error, 'name');
  const message = readString(error, 'message');
  const label = code ?? name ?? 'Error';
  return credentials.redactCut(message === undefined || message === '' ? label : `${label}: ${message}`, MAX_REASON);
}

/** `value[key]` when it is a string; undefined otherwise, or when reading throws (as it does for `null` and `undefined`). */
function readString(value: unknown, key: string): string | undefined {
  try {
    const field = (value as Record<string, unknown>)[key];
    return typeof field === 'string' ? field : undefined;
  } catch {
    return undefined;
  }
}

/** Characters of a response body quoted in an error message; a cut one ends in `…`. */
const MAX_DETAIL = 200;

/** A short excerpt of a response body for an error message, redacted, on one line. */
export function detailOf(body: Buffer, credentials: Credentials): string {
  return credentials.redactCut(
    body
      .subarray(0, 64 * 1024)
      .toString('utf8')
      .replace(/\s+/g, ' ')
      .trim(),
    MAX_DETAIL,
  );
}

/**
 * The typed error of a failed attempt: `ApiStatusError` for a response,
 * `InvalidResponseError` for a body over the limit, `ApiConnectionError`
 * for none (its reason says when the request could not be built).
 */
export function failureOf(
  outcome: Exclude<Attempt, { kind: 'aborted' }>,
  path: string,
  credentials: Credentials,
  requestId?: string,
): ApiStatusError | ApiConnectionError | InvalidResponseError {
  if (outcome.kind === 'network') return new ApiConnectionError({ path, requestId, reason: outcome.reason, cause: outcome.cause });
  if (outcome.kind === 'unbuildable')
    return new ApiConnectionError({ path, requestId, reason: `the request could not be built: ${outcome.reason}`, cause: outcome.cause });
  if (outcome.kind === 'too_large')
    return new InvalidResponseError({ path, requestId, status: outcome.status, expected: `within this call's limit of ${outcome.limitBytes} bytes` });
  return new ApiStatusError({ status: outcome.status, path, requestId, detail: detailOf(outcome.body, credentials) });
}

/** The body parsed as JSON, or undefined when it is not JSON. */
export function parseJson(body: Buffer): JsonValue | undefined {
  try {
    return JSON.parse(body.toString('utf8')) as JsonValue;
  } catch {
    return undefined;
  }
}
