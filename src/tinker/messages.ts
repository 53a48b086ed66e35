/**
 * The bodies this layer sends and the answers it reads, shaped exactly as
 * the Python SDK's request and response models: snake_case fields, the
 * `type` discriminator where the model has one, and an optional field left
 * out rather than sent as null.
 */
import type { JsonObject, JsonValue } from '../core/json.js';

/** The paths of the calls, as named in errors. */
export const PATHS = Object.freeze({
  clientConfig: '/api/v1/client/config',
  authToken: '/api/v1/auth/token',
  createSession: '/api/v1/create_session',
  sessionHeartbeat: '/api/v1/session_heartbeat',
} as const);

/** What `create_session` asks for. */
export interface CreateSessionRequest {
  /** Sent as given. */
  tags: readonly string[];
  /** Sent as given; `{}` for none. */
  userMetadata: JsonObject;
  /** Left out of the body when undefined (or null). */
  projectId?: string;
}

/** `client/config`: `{ sdk_version }`. */
export function clientConfigBody(sdkVersion: string): JsonObject {
  return { sdk_version: sdkVersion };
}

/** `auth/token`: `{}`. */
export function authTokenBody(): JsonObject {
  return {};
}

/** `create_session`: `{ tags, user_metadata, sdk_version, project_id?, type: 'create_session' }`. */
export function createSessionBody(request: CreateSessionRequest, sdkVersion: string): JsonObject {
  const body: JsonObject = { tags: [...request.tags], user_metadata: request.userMetadata, sdk_version: sdkVersion };
  if (request.projectId !== undefined && request.projectId !== null) body.project_id = request.projectId;
  body.type = 'create_session';
  return body;
}

/** `session_heartbeat`: `{ session_id, type: 'session_heartbeat' }`. */
export function heartbeatBody(sessionId: string): JsonObject {
  return { session_id: sessionId, type: 'session_heartbeat' };
}

/** What `create_session` answered: the id, and the messages to log (present only when non-empty strings). */
export interface CreatedSession {
  /** The id the server issued. */
  sessionId: string;
  /** Logged at info. */
  infoMessage?: string;
  /** Logged at warn. */
  warningMessage?: string;
  /** Logged at error; the session is created all the same, as in the Python SDK. */
  errorMessage?: string;
}

/** A submit's answer (`UntypedAPIFuture`): the request id to poll, and the model id some operations add. */
export interface FutureHandle {
  requestId: string;
  modelId?: string;
}

function isObject(value: JsonValue): value is Record<string, JsonValue> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function nonEmpty(value: JsonValue | undefined): value is string {
  return typeof value === 'string' && value !== '';
}

/** The longest id the server may issue, in characters. */
export const MAX_ID_LENGTH = 256;

/** The longest JWT the server may issue, in characters (16 KiB; all ASCII, so bytes too). */
export const MAX_JWT_LENGTH = 16 * 1024;

// Printable ASCII without the space (0x21–0x7E): such an id cannot forge a log line, break a header or carry a terminal escape.
const ID = /^[\x21-\x7e]+$/;
// Header, payload and signature in base64url without padding (RFC 7515's compact form); none is empty, as the server's JWTs are signed.
const JWT = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

/**
 * Whether `value` is an id as the server issues them (`session_id`,
 * `request_id`, `model_id`): 1 to 256 characters of printable ASCII
 * (0x21–0x7E). The id goes into every heartbeat, header, log line and error
 * message, so a longer one or one with a control character is refused.
 */
export function isServerId(value: unknown): value is string {
  return typeof value === 'string' && value.length <= MAX_ID_LENGTH && ID.test(value);
}

/** Whether `value` has a JWT's shape: three non-empty base64url parts joined by dots, at most 16 KiB. */
export function isJwtShape(value: unknown): value is string {
  return typeof value === 'string' && value.length <= MAX_JWT_LENGTH && JWT.test(value);
}

/** `{ jwt }` → the JWT, or undefined when the body has no string `jwt` of a JWT's shape (see `isJwtShape`). */
export function parseJwt(body: JsonValue): string | undefined {
  return isObject(body) && isJwtShape(body.jwt) ? body.jwt : undefined;
}

/** `create_session`'s answer, or undefined when its `session_id` is not an id as `isServerId` reads one. */
export function parseCreatedSession(body: JsonValue): CreatedSession | undefined {
  if (!isObject(body) || !isServerId(body.session_id)) return undefined;
  const created: CreatedSession = { sessionId: body.session_id };
  if (nonEmpty(body.info_message)) created.infoMessage = body.info_message;
  if (nonEmpty(body.warning_message)) created.warningMessage = body.warning_message;
  if (nonEmpty(body.error_message)) created.errorMessage = body.error_message;
  return created;
}

/**
 * A submit's answer, or undefined when its `request_id` is not an id as
 * `isServerId` reads one, or its `model_id` is a non-empty string that is
 * not; a `model_id` that is absent, not a string, or empty is ignored.
 */
export function parseFutureHandle(body: JsonValue): FutureHandle | undefined {
  if (!isObject(body) || !isServerId(body.request_id)) return undefined;
  const handle: FutureHandle = { requestId: body.request_id };
  if (nonEmpty(body.model_id)) {
    if (!isServerId(body.model_id)) return undefined;
    handle.modelId = body.model_id;
  }
  return handle;
}
