/**
 * Shared by the session's fault tests (`session.faults.*.test.ts`): the real
 * session (`openSession` with only the process faked: the real `TinkerApi`
 * over got, the real reporter and its default transport, node:http) against
 * `startFakeTinker` on 127.0.0.1, both on one accelerated clock, the fault
 * cases, and waiting for a state or a log line. The checks every one of
 * those tests ends with are in `session-faults-checks.ts`, re-exported here.
 *
 * Time: the session, its reporter and the fake share a clock that runs
 * `SPEEDUP` times faster than real time, so the protocol's fixed waits (a
 * 1 s backoff, a 5 s billing pause, a Retry-After in seconds) cost real
 * milliseconds; nothing sleeps, every wait is on a request, a log line or
 * a state. Only got's own timeouts stay in real time. Because the HTTP
 * exchanges take real time too, assertions on the clock are lower bounds
 * ("waited at least the Retry-After"), never upper ones.
 */
import { performance } from 'node:perf_hooks';
import { afterEach, beforeEach } from 'vitest';
import type { InspectionEvent, StateValue } from 'xstate';
import { createConfig } from '../src/config.js';
import type { Clock } from '../src/core/clock.js';
import { type Session, openSession } from '../src/session.js';
import type { SessionOptions } from '../src/session-options.js';
import { type FakeTinker, type FakeTinkerOptions, type RecordedRequest, startFakeTinker } from '../src/testing.js';
import { isolateTinkerEnv, recordingLogger } from './helpers.js';
import { API_KEY, startRecording, stopRecording } from './session-faults-checks.js';
import { fakeHooks } from './session-helpers.js';

export { API_KEY, expectCleanRun, forwardedFutureEvents, futureEvents, sentJwts } from './session-faults-checks.js';

/** How much faster than real time the shared clock runs. */
export const SPEEDUP = 100;

/** The paths of the endpoints a session sends to; the submit of these tests is `optim_step`. */
export const PATHS = {
  config: '/api/v1/client/config',
  token: '/api/v1/auth/token',
  create: '/api/v1/create_session',
  heartbeat: '/api/v1/session_heartbeat',
  telemetry: '/api/v1/telemetry',
  submit: '/api/v1/optim_step',
  future: '/api/v1/retrieve_future',
} as const;

/** An `optim_step` body with every field of the Python SDK's model, its defaults included. */
export const OPTIM_STEP = {
  adam_params: { learning_rate: 0.0001, beta1: 0.9, beta2: 0.95, eps: 1e-12, weight_decay: 0, grad_clip_norm: 0 },
  model_id: 'fake-model',
  type: 'optim_step',
};

/**
 * A clock `speedup` times faster than real time. A timer never fires before
 * its time on this clock: should the real timer come early by a rounding,
 * the clock jumps to the due time, so that code comparing `now()` with a
 * deadline it set sees the deadline reached.
 */
export function acceleratedClock(speedup = SPEEDUP): Clock {
  const originMs = Date.UTC(2026, 0, 1);
  const startedAt = performance.now();
  let aheadMs = 0;
  const raw = () => originMs + (performance.now() - startedAt) * speedup + aheadMs;
  return {
    now: () => Math.floor(raw()),
    setTimeout: (fn, ms) => {
      const dueMs = raw() + ms;
      return globalThis.setTimeout(
        () => {
          aheadMs += Math.max(0, dueMs - raw());
          fn();
        },
        Math.ceil(ms / speedup),
      );
    },
    clearTimeout: (handle) => globalThis.clearTimeout(handle as ReturnType<typeof setTimeout>),
  };
}

let open: { fake: FakeTinker; sessions: Session[] }[] = [];

/** Registers the hooks of a fault test file: env isolation, the request and channel recorders, and closing every session and fake after each test. */
export function useFaultHarness(): void {
  isolateTinkerEnv();
  beforeEach(startRecording);
  afterEach(async () => {
    stopRecording();
    const closing = open;
    open = [];
    for (const { fake, sessions } of closing) {
      await Promise.all(sessions.map((session) => session.close(10_000 * SPEEDUP)));
      await fake.close();
    }
  });
}

/** A fault test's world: the fake, the clock, the session's log, and what the checks read. */
export interface FaultWorld {
  fake: FakeTinker;
  clock: Clock;
  log: ReturnType<typeof recordingLogger>;
  /** The session's machine states, in order, from its inspection events. */
  states: StateValue[];
  /** Errors the test saw (rejections), searched for secrets too. */
  errors: unknown[];
  /** Resolves once the session machine's state satisfies `predicate` (at once when it already does); rejects after 5 s real. */
  waitForState(predicate: (state: StateValue) => boolean): Promise<StateValue>;
  /** Resolves once a log record satisfies `predicate` (counting those already logged); rejects after 5 s real. */
  waitForLog(predicate: (record: { level: string; msg?: string; obj: object }) => boolean): Promise<void>;
  /** Starts a session with the test's defaults and `overrides`; the promise is `openSession`'s. */
  start(overrides?: Partial<SessionOptions>): Promise<Session>;
}

/**
 * A fake Tinker API on the shared clock, with `API_KEY`, and a session
 * factory whose defaults keep real time short: beats every 10 s (100 ms
 * real) with 200 s to answer, never failing unless a test says so, a
 * start-up deadline of 1000 s (10 s real), telemetry flushed every 5 s with
 * the reporter's 1 s backoff.
 */
export async function faultWorld(fakeOptions: FakeTinkerOptions = {}): Promise<FaultWorld> {
  const clock = acceleratedClock();
  const fake = await startFakeTinker({ apiKey: API_KEY, clock, ...fakeOptions });
  const entry = { fake, sessions: [] as Session[] };
  open.push(entry);
  const log = recordingLogger();
  const states: StateValue[] = [];
  const stateWaiters = new Set<() => void>();
  const logWaiters = new Set<() => void>();
  const notify = (waiters: Set<() => void>) => {
    for (const waiter of [...waiters]) waiter();
  };
  // The recording logger, telling the waiters of each record; its children (the reporter logs through one) too.
  type Logger = typeof log.logger;
  const notifying = (inner: Logger): Logger => {
    const at =
      (level: 'warn' | 'info' | 'error' | 'debug') =>
      (obj: object, msg?: string): void => {
        inner[level](obj, msg);
        notify(logWaiters);
      };
    return { warn: at('warn'), info: at('info'), error: at('error'), debug: at('debug'), child: (bindings: object) => notifying(inner.child(bindings)) };
  };
  const logger = notifying(log.logger);
  const inspect = (event: InspectionEvent) => {
    if (event.type !== '@xstate.snapshot') return;
    const snapshot = event.snapshot as { machine?: { id?: string }; value?: StateValue };
    if (snapshot.machine?.id !== 'session' || snapshot.value === undefined) return;
    if (JSON.stringify(states.at(-1)) !== JSON.stringify(snapshot.value)) states.push(snapshot.value);
    notify(stateWaiters);
  };
  const waitFor = <T>(waiters: Set<() => void>, check: () => T | undefined, what: string): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const now = check();
      if (now !== undefined) return resolve(now);
      const timer = setTimeout(() => {
        waiters.delete(waiter);
        reject(new Error(`timed out waiting for ${what}`));
      }, 5_000);
      const waiter = () => {
        const found = check();
        if (found === undefined) return;
        waiters.delete(waiter);
        clearTimeout(timer);
        resolve(found);
      };
      waiters.add(waiter);
    });
  return {
    fake,
    clock,
    log,
    states,
    errors: [],
    waitForState: (predicate) =>
      waitFor(
        stateWaiters,
        () => {
          const last = states.at(-1);
          return last !== undefined && predicate(last) ? last : undefined;
        },
        'the session state',
      ),
    waitForLog: (predicate) => waitFor(logWaiters, () => (log.records.some(predicate) ? true : undefined), 'a log line').then(() => undefined),
    async start(overrides = {}) {
      const session = await openSession(
        {
          config: createConfig({ apiKey: fake.apiKey, baseUrl: fake.url }),
          tags: ['faults'],
          heartbeatIntervalMs: 10_000,
          heartbeatTimeoutMs: 200_000,
          heartbeatWarnAfterMs: 100_000_000,
          createTimeoutMs: 1_000_000,
          logger,
          ...overrides,
          telemetry: { enabled: true, flushIntervalMs: 5_000, retryBaseDelayMs: 1_000, httpTimeoutMs: 5_000, inspect, ...overrides.telemetry },
        },
        { hooks: fakeHooks().hooks, clock },
      );
      entry.sessions.push(session);
      return session;
    },
  };
}

/** What `promise` rejected with, kept in `world.errors` for the secrets check; fails the test when it resolves. */
export async function rejection(world: FaultWorld, promise: Promise<unknown>): Promise<Error & Record<string, unknown>> {
  try {
    await promise;
  } catch (error) {
    world.errors.push(error);
    return error as Error & Record<string, unknown>;
  }
  throw new Error('expected a rejection, but the promise resolved');
}

/** The requests the fake received on `path`. */
export function requestsTo(fake: FakeTinker, path: string): RecordedRequest[] {
  return fake.requests.filter((request) => request.path === path);
}

/** `close()`'s deadline in these tests: 500 s on the clock, 5 s real; a close ends as soon as telemetry is drained. */
export const CLOSE_MS = 500_000;

/** A status fault, as `fake.inject` takes it. */
export interface StatusCase {
  /** How the test names it: `503`, `429 with Retry-After: 3`. */
  name: string;
  status: number;
  /** `Retry-After` in seconds. */
  retryAfter?: number;
}

/** The statuses a retried call retries, one with each Retry-After of interest. */
export const RETRIED_STATUSES: readonly StatusCase[] = [
  { name: '408', status: 408 },
  { name: '409', status: 409 },
  { name: '429 with Retry-After: 3', status: 429, retryAfter: 3 },
  { name: '500', status: 500 },
  { name: '503', status: 503 },
  { name: '503 with Retry-After: 4', status: 503, retryAfter: 4 },
];

/** The statuses no call retries. */
export const REFUSED_STATUSES: readonly StatusCase[] = [
  { name: '401', status: 401 },
  { name: '403', status: 403 },
  { name: '404', status: 404 },
];

/** The fault `fake.inject` answers for a status case. */
export function statusResponse(given: StatusCase): { status: number; retryAfter?: number } {
  return given.retryAfter === undefined ? { status: given.status } : { status: given.status, retryAfter: given.retryAfter };
}

/** How a call settled: its value, or its rejection (kept in `world.errors` for the secrets check). */
export type Settled<T> = { value: T } | { error: Error & Record<string, unknown> };

/**
 * Waits for `promise` to settle, then closes `session`, so that everything
 * the call published is at the backend when the test looks; resolves how it
 * settled and the session's state before the close.
 */
export async function settleThenClose<T>(
  world: FaultWorld,
  session: Session,
  promise: Promise<T>,
): Promise<{ settled: Settled<T>; stateBeforeClose: StateValue }> {
  const settled = await promise.then(
    (value): Settled<T> => ({ value }),
    (error: unknown): Settled<T> => {
      world.errors.push(error);
      return { error: error as Error & Record<string, unknown> };
    },
  );
  const stateBeforeClose = session.state;
  await session.close(CLOSE_MS);
  return { settled, stateBeforeClose };
}

/** The rejection of a settled call; fails the test when it resolved. */
export function errorOf<T>(settled: Settled<T>): Error & Record<string, unknown> {
  if ('error' in settled) return settled.error;
  throw new Error(`expected a rejection, but it resolved with ${JSON.stringify(settled.value)}`);
}
