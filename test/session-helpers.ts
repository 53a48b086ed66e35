/**
 * A hand-written double of the Tinker API (`TinkerApiLike`) whose every call
 * waits for the test's answer, and a session built on it with a reporter
 * that sends through a `manualTransport` and a process that is an
 * EventEmitter.
 */
import { EventEmitter } from 'node:events';
import { vi } from 'vitest';
import type { Got } from 'got';
import type { JsonObject } from '../src/core/json.js';
import type { Log } from '../src/core/ports.js';
import { type HandledSignal, type HostProcess, ProcessHooks, type Reraise } from '../src/host/process-hooks.js';
import { type Session, type SessionInternals, openSession } from '../src/session.js';
import type { SessionOptions } from '../src/session-options.js';
import type { CreatedSession, FutureResult, SubmittedRequest, TinkerApiLike, TinkerApiOptions } from '../src/session/tinker-api.js';
import { type ClientConfig, DEFAULT_CLIENT_CONFIG } from '../src/tinker/client-config.js';
import { ApiStatusError, FutureAbortedError } from '../src/tinker/errors.js';
import { TEST_CONFIG, manualTransport, recordingLogger } from './helpers.js';

/** A promise the test settles by hand. */
export interface Deferred<T> {
  promise: Promise<T>;
  resolve(value: T): void;
  reject(error: unknown): void;
}

export function deferred<T>(): Deferred<T> {
  let resolve: (value: T) => void = () => undefined;
  let reject: (error: unknown) => void = () => undefined;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** One call to the double, with its arguments, waiting for an answer; an abort of its signal rejects it with the signal's reason. */
export interface Call<T> extends Deferred<T> {
  args: unknown[];
  signal: AbortSignal | undefined;
}

/**
 * The double. `auto` answers start-up at once (default on); otherwise each
 * call waits in its list. As the real API does, an abort rejects a call with
 * the signal's reason, and a future with `FutureAbortedError` caused by it.
 */
export function fakeTinkerApi(auto: { start?: boolean; created?: CreatedSession | false } = {}) {
  const calls = {
    start: [] as Call<ClientConfig>[],
    createSession: [] as Call<CreatedSession>[],
    heartbeat: [] as Call<void>[],
    submit: [] as Call<SubmittedRequest>[],
    retrieveFuture: [] as Call<FutureResult>[],
  };
  const bound: string[] = [];
  let closed = 0;
  let options: TinkerApiOptions | undefined;
  const http = { marker: 'the bound got instance' } as unknown as Got;

  function call<T>(list: Call<T>[], args: unknown[], signal: AbortSignal | undefined, onAbort?: (reason: unknown) => unknown): Promise<T> {
    const entry: Call<T> = { ...deferred<T>(), args, signal };
    list.push(entry);
    signal?.addEventListener('abort', () => entry.reject(onAbort === undefined ? signal.reason : onAbort(signal.reason)), { once: true });
    return entry.promise;
  }

  const api: TinkerApiLike = {
    start(deadlineAtMs, signal) {
      const promise = call(calls.start, [deadlineAtMs], signal);
      if (auto.start !== false) calls.start.at(-1)!.resolve({ ...DEFAULT_CLIENT_CONFIG });
      return promise;
    },
    createSession(request, deadlineAtMs, signal) {
      const promise = call(calls.createSession, [request, deadlineAtMs], signal);
      const created = auto.created ?? { sessionId: 'sess-from-server' };
      if (created !== false) {
        // As the real API does: the server's messages at their levels.
        const log = options!.log;
        if (created.infoMessage !== undefined) log.info({}, created.infoMessage);
        if (created.warningMessage !== undefined) log.warn({}, created.warningMessage);
        if (created.errorMessage !== undefined) log.error({}, created.errorMessage);
        calls.createSession.at(-1)!.resolve(created);
      }
      return promise;
    },
    bind(sessionId) {
      bound.push(sessionId);
    },
    get http() {
      if (bound.length === 0) throw new Error('http before bind');
      return http;
    },
    heartbeat(sessionId, timeoutMs, signal) {
      return call(calls.heartbeat, [sessionId, timeoutMs], signal);
    },
    submit(path, body, submitOptions) {
      return call(calls.submit, [path, body, submitOptions.requestType], submitOptions.signal);
    },
    retrieveFuture(requestId, futureOptions) {
      const { signal, ...rest } = futureOptions;
      return call(calls.retrieveFuture, [requestId, rest], signal, (reason) => new FutureAbortedError({ requestId, cause: reason }));
    },
    get credential() {
      return TEST_CONFIG.apiKey;
    },
    get pendingFutures() {
      return calls.retrieveFuture.length;
    },
    close() {
      closed++;
    },
  };
  return {
    api,
    calls,
    bound,
    http,
    closed: () => closed,
    options: () => options,
    factory: (given: TinkerApiOptions) => {
      options = given;
      return api;
    },
    /** The heartbeats sent so far. */
    beats: () => calls.heartbeat.length,
    /** Answers the newest heartbeat. */
    answerBeat(ok: boolean) {
      const beat = calls.heartbeat.at(-1);
      if (beat === undefined) throw new Error('no heartbeat was sent');
      if (ok) beat.resolve();
      else beat.reject(new ApiStatusError({ status: 503, path: '/api/v1/session_heartbeat' }));
    },
  };
}

/** `process` as the hooks see it: an EventEmitter with a pid and a recorded `kill`. */
export class FakeProcess extends EventEmitter implements HostProcess {
  readonly pid = 4242;
  readonly kill = vi.fn((_pid: number, _signal: HandledSignal) => true);
}

/** Hooks on a FakeProcess, whose re-raise of a fatal error is recorded instead of crashing the test. */
export function fakeHooks() {
  const host = new FakeProcess();
  const reraise = {
    exception: vi.fn((_error: unknown) => undefined),
    rejection: vi.fn((_reason: unknown) => new Promise<never>(() => undefined)),
  } satisfies Reraise;
  return { host, reraise, hooks: new ProcessHooks(host, reraise) };
}

/** A session on the double: telemetry on, sent through a manual transport that accepts everything, the process faked. */
export async function startTestSession(overrides: Partial<SessionOptions> = {}, internals: SessionInternals = {}, fake = fakeTinkerApi()) {
  const wire = manualTransport(() => ({ kind: 'ok', status: 200 }));
  const log = recordingLogger();
  const hooks = fakeHooks();
  const session = await openSession(
    {
      config: TEST_CONFIG,
      logger: log.logger,
      ...overrides,
      telemetry: { enabled: true, attachEvents: false, flushIntervalMs: 1000, transport: wire.transport, ...overrides.telemetry },
    },
    { createApi: fake.factory, hooks: hooks.hooks, ...internals },
  );
  return { session, fake, wire, log, ...hooks };
}

/** The SESSION_END events the transport was sent. */
export function sessionEnds(wire: ReturnType<typeof manualTransport>): number {
  return wire.sent.flatMap((body) => body.events).filter((event) => event.event === 'SESSION_END').length;
}

/** A JSON body for `submit`. */
export const BODY: JsonObject = { model_id: 'm', type: 'optim_step' };

/** The log of the double's API, as the session handed it. */
export function apiLog(fake: ReturnType<typeof fakeTinkerApi>): Log {
  return fake.options()!.log;
}

export type { Session };
