/**
 * `startFakeTinker`: a loopback `node:http` server that speaks the Tinker
 * API (`api.ts`), records what it receives, and answers faults and scripted
 * futures. This file is the HTTP plumbing: reading bodies, the order of
 * faults, auth and validation, writing replies, waiting, and closing.
 */
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { JsonValue } from '../core/json.js';
import { integerInRange, invalidType } from '../core/validate.js';
import { FakeApi } from './api.js';
import { type Fault, FaultList, type FaultSpec, type RequestMatch, checkMatch, matches, normalizePath } from './faults.js';
import { type FutureStep, type RecordedFuture, checkSteps } from './futures.js';
import { type FakeTinkerOptions, resolveFakeOptions } from './options.js';
import type { RecordedHeartbeat, RecordedRequest, RecordedSession, RecordedTelemetry, Violation } from './records.js';
import { type Reply, jsonReply, toReply } from './scripted-response.js';

/** A running fake Tinker API. */
export interface FakeTinker extends AsyncDisposable {
  /** The base URL, `http://127.0.0.1:<port>`, to pass as `createConfig({ baseUrl })`. */
  readonly url: string;
  /** The API key it accepts as `X-API-Key` (see `FakeTinkerOptions.apiKey`). */
  readonly apiKey: string;
  /** Every request received, in arrival order (a request is listed once its body has arrived). */
  readonly requests: readonly RecordedRequest[];
  /** Every session `create_session` made. */
  readonly sessions: readonly RecordedSession[];
  /** Every accepted heartbeat. */
  readonly heartbeats: readonly RecordedHeartbeat[];
  /** The accepted telemetry: batches, and their events flat. */
  readonly telemetry: RecordedTelemetry;
  /** Every request answered 422, with the issues found. */
  readonly violations: readonly Violation[];
  /** Every future: made by a submit, or scripted by id; with its polls. */
  readonly futures: readonly RecordedFuture[];
  /** Errors inside the fake (a throwing predicate or `defaultFutureScript`); each request concerned got a 500. */
  readonly errors: readonly unknown[];
  /** Answers the matching requests with `fault.response` instead, `fault.times` times (default once). Faults apply in the order injected. */
  inject(fault: FaultSpec): Fault;
  /** Removes every injected fault. */
  clearFaults(): void;
  /** Scripts the future of the next submit (to `options.path` when given); several calls queue up in order. */
  scriptNextFuture(
    steps: readonly FutureStep[],
    options?: {
      /** Only a submit to this path takes the script (`'api/v1/optim_step'`). Default: any submit. */
      path?: string;
    },
  ): void;
  /**
   * Scripts the future `requestId` from its next poll on. An id not yet submitted is answered from
   * the script when polled; a submit that is later given that id (`fake-request-N`) keeps the script.
   */
  scriptFuture(requestId: string, steps: readonly FutureStep[]): void;
  /** Forgets a session: its heartbeats are answered 404 from now on. */
  dropSession(sessionId: string): void;
  /**
   * Resolves with the `count`-th request (default 1st) matching `match` once the fake has dealt
   * with it (answered, reset, or hung on purpose), counting those already received.
   * Rejects after `timeoutMs` (default 5,000 ms) or when the fake closes.
   */
  waitForRequest(
    match: RequestMatch,
    options?: {
      /** Which matching request: 1 for the first. Default 1. */
      count?: number;
      /** How long to wait, in milliseconds. Default 5,000. */
      timeoutMs?: number;
    },
  ): Promise<RecordedRequest>;
  /** Stops the server and destroys every connection, hung requests included; pending waits reject. Idempotent. */
  close(): Promise<void>;
}

interface Waiter {
  readonly match: RequestMatch;
  readonly count: number;
  readonly resolve: (request: RecordedRequest) => void;
  readonly reject: (error: Error) => void;
  timer: ReturnType<typeof setTimeout> | undefined;
}

// Not a JSON type: the body is kept as bytes. A missing type is tried as JSON, since the record is more useful parsed.
const BINARY_TYPE = /^(?!application\/json)(?!.*\+json)[a-z]+\/[^;\s]+/i;

const internalError = (error: unknown) => ({ detail: `fake-tinker internal error: ${error instanceof Error ? error.message : String(error)}` });

function parseJson(bytes: Buffer): JsonValue | undefined {
  if (bytes.length === 0) return undefined;
  try {
    return JSON.parse(bytes.toString('utf8')) as JsonValue;
  } catch {
    return undefined;
  }
}

/**
 * Starts a fake Tinker API on 127.0.0.1 (port 0 by default) and resolves
 * once it listens. Close it with `close()` or `await using`.
 */
export async function startFakeTinker(options?: FakeTinkerOptions): Promise<FakeTinker> {
  const resolved = resolveFakeOptions(options);
  const { clock } = resolved;
  const api = new FakeApi(resolved);
  const faults = new FaultList();
  const requests: RecordedRequest[] = [];
  const errors: unknown[] = [];
  const sockets = new Set<Socket>();
  const timers = new Set<unknown>();
  const waiters = new Set<Waiter>();
  let closing: Promise<void> | undefined;

  // Each waiter counts every dealt-with request that matches, so one registered late still sees the earlier ones.
  const checkWaiters = (): void => {
    for (const waiter of [...waiters]) {
      let seen = 0;
      try {
        for (const one of requests) {
          if (one.outcome !== 'pending' && matches(waiter.match, one) && ++seen === waiter.count) {
            finishWaiter(waiter);
            waiter.resolve(one);
            break;
          }
        }
      } catch (error) {
        finishWaiter(waiter);
        waiter.reject(error instanceof Error ? error : new Error(String(error)));
      }
    }
  };

  const finishWaiter = (waiter: Waiter): void => {
    waiters.delete(waiter);
    if (waiter.timer !== undefined) clearTimeout(waiter.timer);
  };

  // Never throws: a reply that cannot be written (a scripted header Node refuses, a socket already gone)
  // is kept in `errors` and answered 500 when the socket still can take it.
  const write = (req: IncomingMessage, res: ServerResponse, request: RecordedRequest, reply: Reply): void => {
    if (closing !== undefined) return;
    if (reply.delayMs > 0) {
      const handle = clock.setTimeout(() => {
        timers.delete(handle);
        write(req, res, request, { ...reply, delayMs: 0 });
      }, reply.delayMs);
      timers.add(handle);
      return;
    }
    try {
      if (reply.kind === 'hang') request.outcome = 'hung';
      else if (reply.kind === 'reset') {
        request.outcome = 'reset';
        req.socket.resetAndDestroy();
      } else {
        res.writeHead(reply.status, { ...reply.headers, 'content-length': String(reply.body.byteLength) });
        request.status = reply.status;
        request.outcome = 'answered';
        res.end(reply.body);
      }
    } catch (error) {
      errors.push(error);
      answerInternalError(res, request, error);
    }
    checkWaiters();
  };

  const answerInternalError = (res: ServerResponse, request: RecordedRequest, error: unknown): void => {
    try {
      if (res.headersSent || res.destroyed) return;
      const body = JSON.stringify(internalError(error));
      res.writeHead(500, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) });
      request.status = 500;
      request.outcome = 'answered';
      res.end(body);
    } catch (again) {
      errors.push(again);
    }
  };

  const record = (req: IncomingMessage, body: Buffer, size: number): RecordedRequest => {
    const headers = { ...req.headers };
    delete headers['x-api-key'];
    const { credential, jwtIndex } = api.credentialOf(req.headers['x-api-key']);
    const binary = BINARY_TYPE.test(req.headers['content-type'] ?? '');
    const request: RecordedRequest = {
      index: requests.length,
      atMs: clock.now(),
      method: req.method ?? 'GET',
      path: normalizePath(req.url ?? '/'),
      headers,
      credential,
      jwtIndex,
      body: binary ? undefined : parseJson(body),
      bodyBytes: size,
      binaryBody: binary ? new Uint8Array(body) : undefined,
      status: undefined,
      outcome: 'pending',
      faulted: false,
    };
    requests.push(request);
    return request;
  };

  const handle = (req: IncomingMessage, res: ServerResponse, body: Buffer, size: number): void => {
    const request = record(req, body, size);
    const tooLarge = size > resolved.maxBodyBytes;
    let reply: Reply;
    try {
      const fault = faults.take(request);
      if (fault !== undefined) request.faulted = true;
      reply =
        fault !== undefined ? toReply(fault) : tooLarge ? jsonReply(413, { detail: `Request body over ${resolved.maxBodyBytes} bytes` }) : api.answer(request);
    } catch (error) {
      errors.push(error);
      reply = jsonReply(500, internalError(error));
    }
    write(req, res, request, reply);
  };

  const server: Server = createServer((req, res) => {
    res.on('error', () => undefined);
    req.on('error', () => undefined);
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      // Past the limit the rest is read and dropped, so the 413 reaches a client still writing.
      if (size <= resolved.maxBodyBytes) chunks.push(chunk);
    });
    req.on('end', () => {
      try {
        handle(req, res, size > resolved.maxBodyBytes ? Buffer.alloc(0) : Buffer.concat(chunks), size);
      } catch (error) {
        // Recording the request failed: nothing sensible to answer, but never let it reach the test process.
        errors.push(error);
      }
    });
  });
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
  });
  server.on('clientError', (_error, socket) => socket.destroy());
  server.on('error', (error) => errors.push(error));

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(resolved.port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;

  const close = (): Promise<void> => {
    closing ??= new Promise<void>((resolve) => {
      for (const handle of timers) clock.clearTimeout(handle);
      timers.clear();
      for (const waiter of [...waiters]) {
        finishWaiter(waiter);
        waiter.reject(new Error('The fake Tinker API closed before the request arrived'));
      }
      server.close(() => resolve());
      server.closeAllConnections();
      for (const socket of sockets) socket.destroy();
    });
    return closing;
  };

  return {
    url: `http://127.0.0.1:${port}`,
    apiKey: resolved.apiKey,
    requests,
    sessions: api.sessions,
    heartbeats: api.heartbeats,
    telemetry: { batches: api.batches, events: api.events },
    violations: api.violations,
    futures: api.futures.list,
    errors,
    inject: (fault) => faults.add(fault),
    clearFaults: () => faults.clear(),
    scriptNextFuture(steps, options = {}) {
      checkSteps('steps', steps);
      if (options.path !== undefined && typeof options.path !== 'string') throw invalidType('options.path', 'a string', options.path);
      api.futures.scriptNext(steps, options.path === undefined ? undefined : normalizePath(options.path));
    },
    scriptFuture(requestId, steps) {
      if (typeof requestId !== 'string') throw invalidType('requestId', 'a string', requestId);
      checkSteps('steps', steps);
      api.futures.script(requestId, steps);
    },
    dropSession: (sessionId) => api.dropSession(sessionId),
    waitForRequest(match, options = {}) {
      checkMatch('match', match);
      const count = integerInRange('count', options.count ?? 1, 1);
      const timeoutMs = integerInRange('timeoutMs', options.timeoutMs ?? 5_000, 1);
      return new Promise<RecordedRequest>((resolve, reject) => {
        if (closing !== undefined) return reject(new Error('The fake Tinker API is closed'));
        const waiter: Waiter = { match, count, resolve, reject, timer: undefined };
        waiter.timer = setTimeout(() => {
          waiters.delete(waiter);
          reject(
            new Error(`No ${count === 1 ? '' : `${count}th `}request matching ${typeof match === 'string' ? match : 'the predicate'} within ${timeoutMs} ms`),
          );
        }, timeoutMs);
        waiters.add(waiter);
        checkWaiters();
      });
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}
