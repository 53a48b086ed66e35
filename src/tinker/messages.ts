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

/** `{ jwt }` → the JWT, or undefined when the body has no non-empty string `jwt`. */
export function parseJwt(body: JsonValue): string | undefined {
  return isObject(body) && nonEmpty(body.jwt) ? body.jwt : undefined;
}

/** `create_session`'s answer, or undefined when it has no non-empty string `session_id`. */
export function parseCreatedSession(body: JsonValue): CreatedSession | undefined {
  if (!isObject(body) || !nonEmpty(body.session_id)) return undefined;
  const created: CreatedSession = { sessionId: body.session_id };
  if (nonEmpty(body.info_message)) created.infoMessage = body.info_message;
  if (nonEmpty(body.warning_message)) created.warningMessage = body.warning_message;
  if (nonEmpty(body.error_message)) created.errorMessage = body.error_message;
  return created;
}

/** A submit's answer, or undefined when it has no non-empty string `request_id`; a `model_id` that is not a string is ignored. */
export function parseFutureHandle(body: JsonValue): FutureHandle | undefined {
  if (!isObject(body) || !nonEmpty(body.request_id)) return undefined;
  const handle: FutureHandle = { requestId: body.request_id };
  if (nonEmpty(body.model_id)) handle.modelId = body.model_id;
  return handle;
}
