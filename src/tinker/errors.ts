/**
 * The typed errors of the Tinker service protocol. Each has a stable `code`
 * and `name`, wraps what caused it in `cause`, and names the method and
 * path (or the request id) and the status in its message: never the API
 * key, a JWT or a header. A `cause` that came from got is never got's own
 * error (whose options hold the request headers, the key among them) but a
 * plain Error with its code, name and redacted message.
 */

/** The wire values of a failed request's `category`; anything else the server sends reads as `unknown`. */
export type RequestFailedCategory = 'user' | 'server' | 'unknown';

/** Names a class on its prototype, so the stack's first line and `error.name` agree and no own property shows. */
function named(constructor: { prototype: Error }, name: string): void {
  Object.defineProperty(constructor.prototype, 'name', { value: name, writable: true, configurable: true, enumerable: false });
}

/** The base of every error of the Tinker protocol layer; `code` tells them apart. */
export class TinkerError extends Error {
  /** A stable code, e.g. `TINKER_API_STATUS`. */
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
  }
}
named(TinkerError, 'TinkerError');

/** `for request <id>`, or nothing. */
const forRequest = (requestId: string | undefined) => (requestId === undefined ? '' : ` for request ${requestId}`);

/** The server answered an HTTP status that is not retried (or no longer). Code `TINKER_API_STATUS`. */
export class ApiStatusError extends TinkerError {
  /** The HTTP status. */
  readonly status: number;
  /** The path, e.g. `/api/v1/create_session`. */
  readonly path: string;
  /** The request polled for, when the call was a `retrieve_future`. */
  readonly requestId: string | undefined;

  /** `detail` is a short, already redacted excerpt of the response body, or empty. */
  constructor(options: { status: number; path: string; requestId?: string; detail?: string; cause?: unknown }) {
    const detail = options.detail === undefined || options.detail === '' ? '' : `: ${options.detail}`;
    super('TINKER_API_STATUS', `Tinker API POST ${options.path}${forRequest(options.requestId)} answered HTTP ${options.status}${detail}`, options);
    this.status = options.status;
    this.path = options.path;
    this.requestId = options.requestId;
  }
}
named(ApiStatusError, 'ApiStatusError');

/** No response: a network error or a per-call timeout. `cause` describes got's error. Code `TINKER_API_CONNECTION`. */
export class ApiConnectionError extends TinkerError {
  /** The path, e.g. `/api/v1/session_heartbeat`. */
  readonly path: string;
  /** The request polled for, when the call was a `retrieve_future`. */
  readonly requestId: string | undefined;

  /** `reason` is a short, already redacted description of the failure, e.g. `ECONNREFUSED: connect ECONNREFUSED 127.0.0.1:9`. */
  constructor(options: { path: string; requestId?: string; reason: string; cause?: unknown }) {
    super('TINKER_API_CONNECTION', `Tinker API POST ${options.path}${forRequest(options.requestId)} got no response (${options.reason})`, options);
    this.path = options.path;
    this.requestId = options.requestId;
  }
}
named(ApiConnectionError, 'ApiConnectionError');

/** The start-up deadline ran out while a call was being retried. `cause` is the last failure, if any. Code `TINKER_DEADLINE`. */
export class DeadlineExceededError extends TinkerError {
  /** The path of the call that was still failing. */
  readonly path: string;
  /** The deadline, in ms from the start of start-up (or of the call, when it was not part of one). */
  readonly deadlineMs: number;

  constructor(options: { path: string; deadlineMs: number; cause?: unknown }) {
    const last = options.cause instanceof Error ? `; last failure: ${options.cause.message}` : '; no attempt had finished';
    super('TINKER_DEADLINE', `Tinker API POST ${options.path} did not succeed within the start-up deadline of ${options.deadlineMs} ms${last}`, options);
    this.path = options.path;
    this.deadlineMs = options.deadlineMs;
  }
}
named(DeadlineExceededError, 'DeadlineExceededError');

/** The server reports that the request itself failed (a body with `error` and `category`). Code `TINKER_REQUEST_FAILED`. */
export class RequestFailedError extends TinkerError {
  /** The server's id of the failed request. */
  readonly requestId: string;
  /** The server's category, as on the wire: `user`, `server` or `unknown`. */
  readonly category: RequestFailedCategory;
  /** The server's error text, with the key and any JWT redacted. */
  readonly error: string;

  constructor(options: { requestId: string; category: RequestFailedCategory; error: string }) {
    super('TINKER_REQUEST_FAILED', `Tinker request ${options.requestId} failed (category ${options.category}): ${options.error}`);
    this.requestId = options.requestId;
    this.category = options.category;
    this.error = options.error;
  }
}
named(RequestFailedError, 'RequestFailedError');

/** The server no longer holds the future (HTTP 410): the request must be submitted again. Code `TINKER_FUTURE_EXPIRED`. */
export class FutureExpiredError extends TinkerError {
  /** The server's id of the request whose future expired. */
  readonly requestId: string;
  /** Always 410 (Gone). */
  readonly status = 410 as const;

  constructor(options: { requestId: string; cause?: unknown }) {
    super('TINKER_FUTURE_EXPIRED', `The future of Tinker request ${options.requestId} expired (HTTP 410); submit the request again`, options);
    this.requestId = options.requestId;
  }
}
named(FutureExpiredError, 'FutureExpiredError');

/** `retrieveFuture`'s `timeoutMs` ran out before a result. Code `TINKER_FUTURE_TIMEOUT`. */
export class FutureTimeoutError extends TinkerError {
  /** The server's id of the request waited for. */
  readonly requestId: string;
  /** The `timeoutMs` given, in ms. */
  readonly timeoutMs: number;

  constructor(options: { requestId: string; timeoutMs: number; cause?: unknown }) {
    super('TINKER_FUTURE_TIMEOUT', `Tinker request ${options.requestId} had no result within ${options.timeoutMs} ms`, options);
    this.requestId = options.requestId;
    this.timeoutMs = options.timeoutMs;
  }
}
named(FutureTimeoutError, 'FutureTimeoutError');

/** `retrieveFuture`'s `signal` aborted the wait. `cause` is the signal's reason. Code `TINKER_FUTURE_ABORTED`. */
export class FutureAbortedError extends TinkerError {
  /** The server's id of the request waited for. */
  readonly requestId: string;

  constructor(options: { requestId: string; cause?: unknown }) {
    super('TINKER_FUTURE_ABORTED', `Waiting for the result of Tinker request ${options.requestId} was aborted`, options);
    this.requestId = options.requestId;
  }
}
named(FutureAbortedError, 'FutureAbortedError');

/** A 2xx whose body is not valid JSON or not the shape the call expects, or a body of any status over the call's limit. Code `TINKER_INVALID_RESPONSE`. */
export class InvalidResponseError extends TinkerError {
  /** The path called, e.g. `/api/v1/retrieve_future`. */
  readonly path: string;
  /** The server's id of the request, when the call was about one. */
  readonly requestId: string | undefined;
  /** The HTTP status: a 2xx, or any status whose body was over the call's limit. */
  readonly status: number;

  /** `expected` names what the body should have been, e.g. `JSON` or `an object with a session_id of 1–256 printable ASCII characters`. */
  constructor(options: { path: string; requestId?: string; status: number; expected: string; cause?: unknown }) {
    super(
      'TINKER_INVALID_RESPONSE',
      `Tinker API POST ${options.path}${forRequest(options.requestId)} answered HTTP ${options.status} with a body that is not ${options.expected}`,
      options,
    );
    this.path = options.path;
    this.requestId = options.requestId;
    this.status = options.status;
  }
}
named(InvalidResponseError, 'InvalidResponseError');

/** A call on a closed session, or the reason its futures were aborted. Code `TINKER_SESSION_CLOSED`. */
export class SessionClosedError extends TinkerError {
  /** The closed session's id. */
  readonly sessionId: string;

  constructor(options: { sessionId: string }) {
    super('TINKER_SESSION_CLOSED', `Tinker session ${options.sessionId} is closed`);
    this.sessionId = options.sessionId;
  }
}
named(SessionClosedError, 'SessionClosedError');
