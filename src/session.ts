/**
 * The Tinker session: start-up against the service, the reporter scoped to
 * the id the server issued, heartbeats, futures, and a close that drains.
 * Its lifecycle is `machines/session.machine.ts`; this file supplies the
 * machine's effects and is the API.
 */
import type { Got } from 'got';
import { type Actor, type InspectionEvent, type StateValue, createActor, fromCallback, fromPromise } from 'xstate';
import { type CreatedSessionOutput, type HeartbeatInput, type SessionMachineEvent, sessionMachine } from '../machines/session.machine.js';
import type { Clock } from './core/clock.js';
import { systemClock } from './core/clock.js';
import type { JsonObject } from './core/json.js';
import type { Transport } from './core/ports.js';
import { errorSummary } from './core/redact.js';
import { KeepAliveTimers } from './core/timers.js';
import { hasApiKey, invalidType, missingApiKey } from './core/validate.js';
import { SDK_VERSION } from './core/version.js';
import { type CaptureReporter, instrumentClient } from './host/capture.js';
import { FORWARDABLE_CHANNELS } from './host/channels.js';
import { SafeLogger } from './host/logger.js';
import { type HookedReporter, type ProcessHooks, processHooks } from './host/process-hooks.js';
import { createNodeTransport } from './io/node-transport.js';
import { type TelemetryReporter, forwardInspection, startReporter } from './reporter.js';
import {
  type ResolvedSessionOptions,
  type SessionOptions,
  type SubmitOptions,
  checkCloseTimeout,
  checkFutureOptions,
  resolveSessionOptions,
} from './session-options.js';
import { FutureTracker } from './session/future-tracker.js';
import { Heartbeat } from './session/heartbeat.js';
import { type FutureOptions, type FutureResult, type TinkerApiFactory, type TinkerApiLike, createTinkerApi } from './session/tinker-api.js';
import { SessionClosedError } from './tinker/errors.js';
import { USER_AGENT } from './tinker/http.js';

/**
 * Seams for tests, not part of the public API: the API factory (a double
 * instead of `TinkerApi`), the clock, the process hooks (an EventEmitter
 * instead of `process`), and the machine after the session has supplied its
 * effects.
 */
export interface SessionInternals {
  createApi?: TinkerApiFactory;
  clock?: Clock;
  hooks?: ProcessHooks;
  adjustMachine?: (machine: typeof sessionMachine) => typeof sessionMachine;
}

type SessionActor = Actor<typeof sessionMachine>;

/** Starts a session made by `createSession`; set by `Session`'s static block, so starting stays private to this module. */
let beginStartUp: (session: Session) => Promise<Session>;

/**
 * A Tinker session. Make one with `createSession()`; end it with `close()`
 * (or `await using`).
 *
 * No method throws into the caller at run time: `submit` and
 * `retrieveFuture` reject with typed errors, and everything the session does
 * by itself (heartbeats, telemetry) reports to the logger. Its timers never
 * keep the process alive by themselves, but a pending `createSession`,
 * `submit`, `retrieveFuture` or `close()` does, through its waits.
 */
export class Session implements AsyncDisposable {
  readonly #options: ResolvedSessionOptions;
  readonly #timers: KeepAliveTimers;
  readonly #api: TinkerApiLike;
  readonly #hooks: ProcessHooks;
  readonly #internals: SessionInternals;
  readonly #futures = new FutureTracker();
  readonly #actor: SessionActor;
  #log: SafeLogger;
  #sessionId = '';
  #reporter: TelemetryReporter | null = null;
  #unhook: () => void = () => undefined;
  /** The reporter's stop, started on entering `closing`. */
  #reporterStopped: Promise<boolean> = Promise.resolve(true);
  /** Whether the close drained telemetry in time. */
  #drained = false;
  #closing: Promise<void> | undefined;
  #ended: () => void = () => undefined;
  readonly #endedPromise: Promise<void>;
  readonly #heartbeat: Heartbeat;
  /** Settles `createSession()`'s promise once start-up has an outcome. */
  #settleStart: ((outcome: { ok: true } | { ok: false; error: unknown }) => void) | undefined;
  readonly #started: Promise<Session>;

  /** @internal Use `createSession()`. */
  constructor(options: ResolvedSessionOptions, internals: SessionInternals = {}) {
    this.#options = options;
    this.#internals = internals;
    this.#timers = new KeepAliveTimers(internals.clock ?? systemClock);
    this.#hooks = internals.hooks ?? processHooks;
    this.#log = new SafeLogger(options.logger, { component: 'tinker-telemetry' });
    this.#endedPromise = new Promise((resolve) => (this.#ended = resolve));
    this.#started = new Promise((resolve, reject) => {
      this.#settleStart = (outcome) => {
        this.#settleStart = undefined;
        if (outcome.ok) resolve(this);
        // The API's typed error, or whatever the caller's signal was aborted with, handed on unchanged.
        // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors
        else reject(outcome.error);
      };
    });
    this.#api = (internals.createApi ?? createTinkerApi)({ config: options.config, sdkVersion: SDK_VERSION, log: this.#log, clock: this.#timers });
    this.#heartbeat = new Heartbeat({ api: this.#api, timers: this.#timers, timeoutMs: options.heartbeatTimeoutMs, apiKey: options.config.apiKey });
    this.#actor = this.#createActor();
  }

  /** The id the server issued for this session. */
  get sessionId(): string {
    return this.#sessionId;
  }

  /** The session's telemetry reporter; null when telemetry is disabled. */
  get reporter(): TelemetryReporter | null {
    return this.#reporter;
  }

  /** A got instance for the Tinker API bound to this session: its requests are published on the HTTP channels under this session's id. */
  get http(): Got {
    return this.#api.http;
  }

  /** The session machine's state value: `{ active: 'ok' }`, `{ active: 'failing' }`, `closing` or `closed` once you hold a session. */
  get state(): StateValue {
    return this.#actor.getSnapshot().value;
  }

  /**
   * POSTs `body` to `path` (e.g. `api/v1/optim_step`) and polls the future
   * it answers with until its result. Rejects with the API's typed errors;
   * with `SessionClosedError` when the session is not active; and, when
   * `close()` aborts the polling, with `FutureAbortedError` whose cause is a
   * `SessionClosedError`.
   */
  async submit(path: string, body: JsonObject, options: SubmitOptions): Promise<FutureResult> {
    const checked = checkFutureOptions(options);
    if (typeof path !== 'string' || path.trim() === '') throw invalidType('path', 'a non-empty string', path);
    if (typeof body !== 'object' || body === null || Array.isArray(body)) throw invalidType('body', 'a JSON object', body);
    this.#assertActive();
    return this.#waitedFor(() =>
      this.#futures.run(checked.signal, async (signal) => {
        const submitted = await this.#api.submit(path, body, { requestType: checked.requestType, signal });
        return this.#api.retrieveFuture(submitted.requestId, {
          requestType: checked.requestType,
          timeoutMs: checked.timeoutMs,
          billingMaxPauseMs: checked.billingMaxPauseMs,
          signal,
          createRoundTripMs: submitted.roundTripMs,
        });
      }),
    );
  }

  /** Polls the future `requestId` until its result; rejects as `submit()` does. */
  async retrieveFuture(requestId: string, options: FutureOptions): Promise<FutureResult> {
    const checked = checkFutureOptions(options);
    if (typeof requestId !== 'string' || requestId.trim() === '') throw invalidType('requestId', 'a non-empty string', requestId);
    this.#assertActive();
    return this.#waitedFor(() =>
      this.#futures.run(checked.signal, (signal) =>
        this.#api.retrieveFuture(requestId, {
          requestType: checked.requestType,
          timeoutMs: checked.timeoutMs,
          billingMaxPauseMs: checked.billingMaxPauseMs,
          signal,
        }),
      ),
    );
  }

  /**
   * `instrumentClient` with this session's reporter: every public method of
   * `client` reports what it throws. With `fatal`, an error ends the
   * reporter's session (SESSION_END, drained) before it propagates; the
   * Tinker session itself stays active until `close()`. With telemetry
   * disabled, the view's methods are plain calls.
   */
  instrument<T extends object>(client: T, options: { fatal?: boolean } = {}): T {
    const reporter = this.#reporter;
    const target: CaptureReporter | null =
      reporter === null
        ? null
        : {
            logException: (error, severity) => reporter.logException(error, severity as 'error'),
            logFatalException: (error, severity) => this.#fatal(reporter, error, severity),
          };
    return instrumentClient(client, { reporter: target, fatal: options?.fatal === true });
  }

  /**
   * Ends the session: stops the heartbeat, aborts the futures still polling
   * (`FutureAbortedError`, caused by `SessionClosedError`), and stops the
   * reporter (SESSION_END, then a drain of at most `timeoutMs` ms; default:
   * the telemetry's `flushTimeoutMs`, 30 000). Resolves once the session is
   * `closed`, within `timeoutMs`. Idempotent: later calls return the same
   * promise and their `timeoutMs` is ignored. A `timeoutMs` that is not an
   * integer from 0 to 2³¹−1 falls back to the default with a warning. Never
   * rejects.
   */
  close(timeoutMs?: number): Promise<void> {
    this.#closing ??= this.#close({ type: 'CLOSE', timeoutMs: this.#closeTimeout(timeoutMs) });
    return this.#closing;
  }

  /** `close()` with its default deadline, so that `await using session = await createSession(…)` closes it. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  static {
    beginStartUp = (session) => session.#start();
  }

  /** Starts the machine; resolves this session once start-up has succeeded, rejects with why it did not. */
  #start(): Promise<Session> {
    const signal = this.#options.signal;
    if (signal?.aborted === true) {
      this.#settleStart?.({ ok: false, error: signal.reason });
      this.#finish();
      return this.#started;
    }
    const onAbort = () => this.#send({ type: 'CLOSE', timeoutMs: this.#options.closeTimeoutMs });
    signal?.addEventListener('abort', onAbort, { once: true });
    const forget = () => signal?.removeEventListener('abort', onAbort);
    this.#started.then(forget, forget);
    this.#actor.start();
    return this.#started;
  }

  /**
   * Keeps the process alive while a caller waits on `work`: the session's
   * timers are unref'd so that heartbeats never hold the process, but a
   * retry's backoff or a billing pause is something a caller awaits, and a
   * script ending in `await` must not exit in the middle of one (nor, with
   * `drainOnExit`, have its session closed under it).
   */
  async #waitedFor<T>(work: () => Promise<T>): Promise<T> {
    const release = this.#timers.hold();
    try {
      return await work();
    } finally {
      release();
    }
  }

  #close(event: SessionMachineEvent): Promise<void> {
    return this.#waitedFor(async () => {
      this.#send(event);
      await this.#endedPromise;
    });
  }

  /** What the process hooks call: a signal or the end of the process closes the session (once), with the default deadline. */
  #hookTarget(reporter: TelemetryReporter): HookedReporter {
    return {
      stop: async () => {
        this.#closing ??= this.#close({ type: 'SIGNAL' });
        await this.#closing;
        return this.#drained;
      },
      logFatalException: (error) => this.#fatal(reporter, error, 'critical'),
    };
  }

  /** The reporter's fatal path (SESSION_END, drained), and the machine told of it. Only a started reporter has one. */
  #fatal(reporter: TelemetryReporter, error: unknown, severity: string | undefined): Promise<boolean> {
    const drained = reporter.logFatalException(error, (severity ?? 'critical') as 'critical');
    this.#send({ type: 'FATAL' });
    return drained;
  }

  #createActor(): SessionActor {
    const options = this.#options;
    const machine = sessionMachine.provide({
      actors: {
        // Awaited by createSession()'s caller, so its waits between retries keep the process alive;
        // released before `active` schedules the first heartbeat, whose timers stay unref'd.
        createSession: fromPromise<CreatedSessionOutput>(({ signal }) =>
          this.#waitedFor(async () => {
            const deadlineAtMs = this.#timers.now() + options.createTimeoutMs;
            await this.#api.start(deadlineAtMs, signal);
            const request = { tags: options.tags, userMetadata: options.userMetadata };
            const created = await this.#api.createSession(
              options.projectId === undefined ? request : { ...request, projectId: options.projectId },
              deadlineAtMs,
              signal,
            );
            this.#api.bind(created.sessionId);
            return { sessionId: created.sessionId };
          }),
        ),
        heartbeat: fromCallback<SessionMachineEvent, HeartbeatInput>(({ sendBack, input }) =>
          // Leaving `active` stops the beat in flight, which aborts its request.
          this.#heartbeat.beat(input.sessionId, (ok) => sendBack({ type: ok ? 'HEARTBEAT_OK' : 'HEARTBEAT_FAILED' })),
        ),
        closeSession: fromPromise<void>(async () => {
          this.#drained = await this.#reporterStopped;
        }),
      },
      actions: {
        // A microtask later, outside XState's action: starting the reporter creates its actor, which
        // XState's development build warns about inside an action. Nothing runs in between but promise
        // callbacks, and createSession() has not handed out the session yet.
        startReporter: (_args, params) => {
          this.#becameActive(params.sessionId);
          queueMicrotask(() => this.#startTelemetry());
        },
        warnFailing: () => this.#heartbeat.warnFailing(this.#log, this.#sessionId),
        abortFutures: () => {
          this.#futures.abortAll(new SessionClosedError({ sessionId: this.#sessionId }));
        },
        stopReporter: (_args, params) => {
          this.#reporterStopped = this.#reporter?.stop(params.timeoutMs) ?? Promise.resolve(true);
        },
      },
    });
    const userInspect = options.inspect;
    const actor: SessionActor = createActor(this.#internals.adjustMachine?.(machine) ?? machine, {
      input: { heartbeatIntervalMs: options.heartbeatIntervalMs, heartbeatWarnAfterMs: options.heartbeatWarnAfterMs, closeTimeoutMs: options.closeTimeoutMs },
      clock: this.#timers,
      inspect: userInspect === undefined ? undefined : (event: InspectionEvent) => forwardInspection(userInspect, event),
    });
    actor.subscribe({
      next: (snapshot) => {
        if (snapshot.value !== 'creating' && this.#settleStart !== undefined) {
          if (snapshot.value === 'failed') this.#settleStart({ ok: false, error: snapshot.context.error });
          else if (snapshot.value === 'closed') this.#settleStart({ ok: false, error: options.signal?.reason ?? new SessionClosedError({ sessionId: '' }) });
          else this.#settleStart({ ok: true });
        }
        if (snapshot.status === 'done') this.#finish();
      },
      error: (error) => {
        // An error inside the machine would otherwise be rethrown globally.
        this.#log.error({ err: errorSummary(error, options.config.apiKey) }, 'Tinker session lifecycle failed; the session is abandoned');
        this.#settleStart?.({ ok: false, error });
        // #finish aborts the futures still polling.
        void this.#reporter?.stop(options.closeTimeoutMs);
        this.#finish();
      },
    });
    return actor;
  }

  /** The session exists: log under its id, and count the heartbeat's silence from now. */
  #becameActive(sessionId: string): void {
    this.#sessionId = sessionId;
    this.#log = new SafeLogger(this.#options.logger, { component: 'tinker-telemetry', sessionId });
    this.#heartbeat.started();
    this.#log.info({}, `Tinker session ${sessionId} started`);
  }

  /** Starts the reporter under the session's id and hooks the process, as the telemetry options ask. */
  #startTelemetry(): void {
    // An abort of start-up in the microtask before may have closed the session already.
    if (!this.#actor.getSnapshot().matches('active')) return;
    const options = this.#options;
    const sessionId = this.#sessionId;
    const { telemetry } = options;
    const clock = telemetry.clock ?? this.#internals.clock;
    try {
      this.#reporter = startReporter({
        ...telemetry,
        config: options.config,
        sessionId,
        logger: telemetry.logger ?? options.logger,
        events: telemetry.events ?? FORWARDABLE_CHANNELS,
        clock,
        transport: telemetry.transport ?? this.#telemetryTransport(clock ?? systemClock),
        // The session hooks the process itself (below), so that a signal closes the whole session, once.
        drainOnExit: false,
        handleSignals: [],
        captureUncaught: false,
      });
    } catch (error) {
      this.#log.error(
        { err: errorSummary(error, options.config.apiKey) },
        `Telemetry could not start for Tinker session ${sessionId}; the session goes on without it`,
      );
      this.#reporter = null;
    }
    if (this.#reporter !== null) this.#unhook = this.#hooks.register(this.#hookTarget(this.#reporter), options.hooks);
  }

  /**
   * The reporter's default transport, but sending the session's credential
   * as `X-API-Key`, as every other request of the session does: the JWT once
   * the server has asked for one (the Python SDK's telemetry goes through
   * the same authenticated client), read at each send so that a refreshed
   * token takes over. The reporter closes it when it stops.
   */
  #telemetryTransport(clock: Clock): Transport {
    const { config, telemetryHttpTimeoutMs } = this.#options;
    const api = this.#api;
    return createNodeTransport({
      endpoint: config.telemetryEndpoint,
      apiKey: config.apiKey,
      credential: () => api.credential,
      userAgent: USER_AGENT,
      httpTimeoutMs: telemetryHttpTimeoutMs,
      now: () => clock.now(),
    });
  }

  /** Sends to the machine while it runs; a stopped actor would print a warning to stderr, outside the logger. */
  #send(event: SessionMachineEvent): void {
    if (this.#actor.getSnapshot().status === 'active') this.#actor.send(event);
  }

  #assertActive(): void {
    if (!this.#actor.getSnapshot().matches('active')) throw new SessionClosedError({ sessionId: this.#sessionId });
  }

  #closeTimeout(value: unknown): number {
    const fallback = this.#options.closeTimeoutMs;
    const checked = checkCloseTimeout(value, fallback, this.#options.config.apiKey);
    // Called once per session at most: close() memoises its promise.
    if (checked.warning !== undefined) this.#log.warn({}, checked.warning);
    return checked.timeoutMs;
  }

  /**
   * The machine has ended (closed or failed): nothing of the session may run
   * any more. Runs once: on the `done` snapshot, on the machine's error, or
   * for a signal aborted before start (the actor never starts), never two of these.
   */
  #finish(): void {
    this.#unhook();
    this.#futures.abortAll(new SessionClosedError({ sessionId: this.#sessionId }));
    try {
      this.#api.close();
    } catch (error) {
      this.#log.error({ err: errorSummary(error, this.#options.config.apiKey) }, 'Tinker API close() failed');
    }
    this.#timers.clearAll();
    this.#ended();
  }
}

/**
 * Starts a Tinker session: validates `options` (a TypeError or RangeError
 * naming the option, as `startReporter`), runs start-up (client config, the
 * JWT when the server asks for one, create_session; retried within
 * `createTimeoutMs`), then starts the session's reporter under the id the
 * server issued and the heartbeats. Rejects with the API's typed error when
 * start-up fails, with the signal's reason when `options.signal` aborts it,
 * and with an Error coded `ERR_TINKER_TELEMETRY_MISSING_API_KEY` without an
 * API key (the service needs one whether telemetry is on or off).
 */
export function createSession(options: SessionOptions): Promise<Session> {
  return openSession(options);
}

/**
 * `createSession` with the test seams of `SessionInternals`; not exported
 * from the package.
 * @internal
 */
export async function openSession(options: SessionOptions, internals: SessionInternals = {}): Promise<Session> {
  const resolved = resolveSessionOptions(options);
  if (!hasApiKey(resolved.config)) throw missingApiKey('createSession()');
  return beginStartUp(new Session(resolved, internals));
}
