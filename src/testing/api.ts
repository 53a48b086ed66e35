/**
 * The fake Tinker API's behaviour, without the HTTP plumbing: for a received
 * request, the reply, and what it changes in the recorded state. The routes
 * are the session endpoints of tinker-protocol.md §2–§4 and the model
 * endpoints of `endpoints.ts`.
 */
import type { JsonObject } from '../core/json.js';
import { MODEL_ENDPOINTS } from './endpoints.js';
import { FutureBook, stepReply } from './futures.js';
import { JwtIssuer } from './jwt.js';
import type { ResolvedFakeOptions } from './options.js';
import type { Credential, RecordedHeartbeat, RecordedRequest, RecordedSession, TelemetryBatch, TelemetryEvent, Violation } from './records.js';
import {
  AUTH_TOKEN_REQUEST,
  CLIENT_CONFIG_REQUEST,
  CREATE_SESSION_REQUEST,
  FUTURE_RETRIEVE_REQUEST,
  SESSION_HEARTBEAT_REQUEST,
  TELEMETRY_SEND_REQUEST,
} from './request-models.js';
import { type ModelSchema, type ValidationIssue, issue, validate } from './schema.js';
import { type Reply, jsonReply } from './scripted-response.js';

interface Route {
  readonly method: 'GET' | 'POST';
  /** The request model of a POST. */
  readonly model?: ModelSchema;
  /** Whether an `application/x-protobuf` body is taken as is, unchecked. */
  readonly acceptsProtobuf?: boolean;
  readonly answer: (body: JsonObject, request: RecordedRequest) => Reply;
}

const JSON_TYPE = /^application\/json\s*(;|$)/i;
const PROTOBUF_TYPE = /^application\/x-protobuf\s*(;|$)/i;

/** The fake's state and its answers. */
export class FakeApi {
  readonly sessions: RecordedSession[] = [];
  readonly heartbeats: RecordedHeartbeat[] = [];
  readonly batches: TelemetryBatch[] = [];
  readonly events: TelemetryEvent[] = [];
  readonly violations: Violation[] = [];
  readonly futures = new FutureBook();
  private readonly jwts = new JwtIssuer();
  private readonly routes: ReadonlyMap<string, Route>;

  constructor(private readonly options: ResolvedFakeOptions) {
    this.routes = new Map<string, Route>([
      ['/api/v1/healthz', { method: 'GET', answer: () => jsonReply(200, { status: 'ok' }) }],
      [
        '/api/v1/get_server_capabilities',
        { method: 'GET', answer: () => jsonReply(200, { supported_models: [{ model_name: 'fake-model', max_context_length: 32_768 }] }) },
      ],
      ['/api/v1/client/config', { method: 'POST', model: CLIENT_CONFIG_REQUEST, answer: () => jsonReply(200, options.clientConfig) }],
      ['/api/v1/client/dynamic_config', { method: 'POST', model: CLIENT_CONFIG_REQUEST, answer: () => this.dynamicConfig() }],
      ['/api/v1/auth/token', { method: 'POST', model: AUTH_TOKEN_REQUEST, answer: () => this.authToken() }],
      ['/api/v1/create_session', { method: 'POST', model: CREATE_SESSION_REQUEST, answer: (body) => this.createSession(body) }],
      ['/api/v1/session_heartbeat', { method: 'POST', model: SESSION_HEARTBEAT_REQUEST, answer: (body) => this.heartbeat(body) }],
      ['/api/v1/telemetry', { method: 'POST', model: TELEMETRY_SEND_REQUEST, answer: (body) => this.telemetry(body) }],
      ['/api/v1/retrieve_future', { method: 'POST', model: FUTURE_RETRIEVE_REQUEST, answer: (body, request) => this.retrieveFuture(body, request) }],
      ...Object.entries(MODEL_ENDPOINTS).map(([path, endpoint]): [string, Route] => [
        path,
        {
          method: 'POST',
          model: endpoint.model,
          acceptsProtobuf: endpoint.kind === 'submit' && endpoint.acceptsProtobuf === true,
          answer: (body) => {
            if (endpoint.kind === 'immediate') return jsonReply(200, endpoint.answer(body));
            const modelId = endpoint.modelId?.(body);
            const future = this.futures.submit(path, endpoint.requestType, modelId, endpoint.defaultResult(body, modelId), (future) =>
              options.defaultFutureScript === undefined ? [] : options.defaultFutureScript(future),
            );
            return jsonReply(200, modelId === undefined ? { request_id: future.requestId } : { request_id: future.requestId, model_id: modelId });
          },
        },
      ]),
    ]);
  }

  /** Which credential an `X-API-Key` value is, and which issued JWT. */
  credentialOf(header: string | string[] | undefined): { credential: Credential; jwtIndex: number | undefined } {
    if (header === undefined) return { credential: 'missing', jwtIndex: undefined };
    if (header === this.options.apiKey) return { credential: 'api_key', jwtIndex: undefined };
    const jwt = typeof header === 'string' ? this.jwts.check(header, this.options.clock.now()) : undefined;
    if (jwt === undefined) return { credential: 'invalid', jwtIndex: undefined };
    return { credential: jwt.expired ? 'expired_jwt' : 'jwt', jwtIndex: jwt.index };
  }

  /** The reply to a request that no fault took: 401, 404, 405, 422, or the route's answer. */
  answer(request: RecordedRequest): Reply {
    if (request.credential !== 'api_key' && request.credential !== 'jwt') {
      return jsonReply(401, { detail: request.credential === 'missing' ? 'Missing X-API-Key' : 'Invalid X-API-Key' });
    }
    const route = this.routes.get(request.path);
    if (route === undefined) return jsonReply(404, { detail: 'Not Found' });
    if (route.method !== request.method) return jsonReply(405, { detail: 'Method Not Allowed' }, { allow: route.method });
    if (route.model === undefined) return route.answer({}, request);
    const contentType = request.headers['content-type'] ?? '';
    if (route.acceptsProtobuf === true && PROTOBUF_TYPE.test(contentType)) return route.answer({}, request);
    const issues = this.check(route.model, request, contentType);
    if (issues.length > 0) return this.reject(route.model, request, issues);
    return route.answer(request.body as JsonObject, request);
  }

  private check(model: ModelSchema, request: RecordedRequest, contentType: string): ValidationIssue[] {
    if (!JSON_TYPE.test(contentType)) return [issue([], 'content_type', 'sent with `Content-Type: application/json`', contentType || undefined)];
    if (request.body === undefined) return [issue([], 'json', 'a JSON document', request.bodyBytes === 0 ? '' : '[unparsable]')];
    return validate(model, request.body, { requireDefaulted: this.options.requireDefaultedFields });
  }

  private reject(model: ModelSchema, request: RecordedRequest, issues: ValidationIssue[]): Reply {
    const reason = issues.map((one) => one.message).join('; ');
    this.violations.push({ requestIndex: request.index, method: request.method, path: request.path, model: model.name, issues, reason });
    const detail = issues.map((one) => ({ loc: ['body', ...one.loc], msg: one.message, type: one.rule }));
    return jsonReply(422, { detail });
  }

  private dynamicConfig(): Reply {
    const interval = this.options.refreshIntervalSec;
    return interval === undefined ? jsonReply(404, { detail: 'Not Found' }) : jsonReply(200, { refresh_interval_sec: interval });
  }

  private authToken(): Reply {
    return jsonReply(200, { jwt: this.jwts.issue(this.options.clock.now(), this.options.jwtTtlMs).jwt });
  }

  private createSession(body: JsonObject): Reply {
    const sessionId = `fake-session-${this.sessions.length + 1}`;
    this.sessions.push({
      sessionId,
      tags: body.tags as string[],
      userMetadata: body.user_metadata as JsonObject,
      projectId: body.project_id as string | undefined,
      sdkVersion: body.sdk_version as string,
      createdAtMs: this.options.clock.now(),
      dropped: false,
    });
    const { info, warning, error } = this.options.createSessionMessages;
    const answer: JsonObject = { type: 'create_session', session_id: sessionId };
    if (info !== undefined) answer.info_message = info;
    if (warning !== undefined) answer.warning_message = warning;
    if (error !== undefined) answer.error_message = error;
    return jsonReply(200, answer);
  }

  private heartbeat(body: JsonObject): Reply {
    const sessionId = body.session_id as string;
    const session = this.sessions.find((one) => one.sessionId === sessionId);
    if (session === undefined || session.dropped) return jsonReply(404, { detail: `Session not found: ${sessionId}` });
    this.heartbeats.push({ sessionId, atMs: this.options.clock.now() });
    return jsonReply(200, { type: 'session_heartbeat' });
  }

  private telemetry(body: JsonObject): Reply {
    const batch = body as unknown as TelemetryBatch;
    this.batches.push(batch);
    this.events.push(...batch.events);
    return jsonReply(200, { status: 'accepted' });
  }

  private retrieveFuture(body: JsonObject, request: RecordedRequest): Reply {
    const requestId = body.request_id as string;
    const taken = this.futures.take(requestId);
    if (taken === undefined) return jsonReply(404, { detail: `Future not found: ${requestId}` });
    const header = (name: string): string | undefined => {
      const value = request.headers[name];
      return Array.isArray(value) ? value.join(', ') : value;
    };
    this.futures.recordPoll(requestId, {
      allowMetadataOnly: body.allow_metadata_only as boolean | undefined,
      iteration: header('x-tinker-request-iteration'),
      requestType: header('x-tinker-request-type'),
      createRoundTrip: header('x-tinker-create-promise-roundtrip-time'),
      step: taken.step,
    });
    const reply = stepReply(taken.step, requestId);
    const waitMs = taken.delaysMs.reduce((sum, ms) => sum + ms, 0);
    return { ...reply, delayMs: reply.delayMs + waitMs };
  }

  /** Forgets a session: its heartbeats are answered 404 from now on. */
  dropSession(sessionId: string): void {
    for (const session of this.sessions) if (session.sessionId === sessionId) session.dropped = true;
  }
}
