/**
 * One HTTP attempt against the Tinker API, as a value: a response (any
 * status), a network failure described without secrets, or an abort. The
 * callers decide what each means; got's own retries, redirects and status
 * errors are off, so every answer reaches them as it came.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { type Got, got } from 'got';
import { SDK_VERSION } from '../core/version.js';
import { createHttpClient } from '../host/http-client.js';
import type { JsonValue } from '../core/json.js';
import type { Credentials } from './credentials.js';
import { ApiConnectionError, ApiStatusError } from './errors.js';

/** What one attempt came to. */
export type Attempt =
  /** The server answered, any status; `body` is the raw body. */
  | { kind: 'response'; status: number; headers: IncomingHttpHeaders; body: Buffer }
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
}

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

/** Sends one attempt; never throws. */
export async function attempt(client: Got, request: AttemptRequest, credentials: Credentials): Promise<Attempt> {
  try {
    const response = await client.post(request.path.replace(/^\/+/, ''), {
      body: request.body,
      headers: request.headers,
      signal: request.signal,
      responseType: 'buffer',
      ...(request.timeoutMs === undefined ? {} : { timeout: { request: request.timeoutMs } }),
    });
    return { kind: 'response', status: response.statusCode, headers: response.headers, body: response.body };
  } catch (error) {
    if (request.signal.aborted) return { kind: 'aborted' };
    const reason = describe(error, credentials);
    const cause = new Error(reason);
    const code = readString(error, 'code');
    if (code !== undefined) Object.assign(cause, { code: credentials.redact(code) });
    return { kind: 'network', reason, cause };
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

/** `value[key]` when it is a string; undefined otherwise, or when reading throws. */
function readString(value: unknown, key: string): string | undefined {
  try {
    const field = (value as Record<string, unknown> | null | undefined)?.[key];
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

/** The typed error of a failed attempt: `ApiStatusError` for a response, `ApiConnectionError` for none. */
export function failureOf(
  outcome: Exclude<Attempt, { kind: 'aborted' }>,
  path: string,
  credentials: Credentials,
  requestId?: string,
): ApiStatusError | ApiConnectionError {
  if (outcome.kind === 'network') return new ApiConnectionError({ path, requestId, reason: outcome.reason, cause: outcome.cause });
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
