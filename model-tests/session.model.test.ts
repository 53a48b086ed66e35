/**
 * fast-check model-based runs of the whole session: the real façade, machine
 * and reporter on a simulated clock, against a double of the Tinker API and a
 * telemetry transport whose answers the commands choose, with the process an
 * EventEmitter. Each run mixes start-up outcomes, heartbeat answers, futures,
 * telemetry answers, close() calls, signals and fatal captures, checks the
 * invariants after every command, and closes the books at the end.
 *
 * Proven on every run: no heartbeat is in flight outside `active`, nor two at
 * once; close() ends in `closed` by its deadline; at most one SESSION_END
 * ever reaches the server, and exactly one when telemetry was delivered in
 * full, whether the session ended by close(), a signal, a fatal capture, or
 * several; no timer is left once closed, and nothing is sent after.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createMachine } from 'xstate';
import type { sessionMachine } from '../machines/session.machine.js';
import { type Session, type SessionInternals, openSession } from '../src/session.js';
import { fcRuns } from '../test/fc-runs.js';
import { TEST_CONFIG, manualTransport, recordingLogger } from '../test/helpers.js';
import { type Call, fakeHooks, fakeTinkerApi } from '../test/session-helpers.js';
import { SimulatedClock, settle } from './harness.js';

const seed = Number(process.env.FC_SEED ?? Date.now() % 2 ** 31);
console.log(`fast-check seed (session): ${seed} (set FC_SEED to replay)`);

const HEARTBEAT = { heartbeatIntervalMs: 100, heartbeatTimeoutMs: 90, heartbeatWarnAfterMs: 300 };
/** The default close deadline: the telemetry's flushTimeoutMs, also what a signal closes with. */
const DEFAULT_CLOSE_MS = 800;

interface Model {
  phase: 'creating' | 'running' | 'over';
  /** When the first close (close() or a signal) was asked for, and its deadline. */
  closeAskedAtMs: number | undefined;
  closeDeadlineMs: number | undefined;
}

interface Real {
  clock: SimulatedClock;
  fake: ReturnType<typeof fakeTinkerApi>;
  wire: ReturnType<typeof manualTransport>;
  hooks: ReturnType<typeof fakeHooks>;
  abort: AbortController;
  starting: Promise<Session>;
  session: Session | undefined;
  startError: unknown;
  telemetry: boolean;
  /** Telemetry sends answer at once, or wait for a command. */
  transportHangs: boolean;
  answered: Set<Call<unknown>>;
  futures: { settled: boolean }[];
  closed: boolean;
  /** Calls of close() with the promise each returned. */
  closes: Promise<void>[];
}

type Command = fc.AsyncCommand<Model, Real>;

/** What the runs exercised, so a suite that silently stopped exploring would show. */
const exercised = { runs: 0, started: 0, failedStart: 0, aborted: 0, failing: 0, beats: 0, futuresAborted: 0, deadlines: 0, signals: 0, fatals: 0 };

const isActive = (session: Session) => typeof session.state === 'object' && 'active' in session.state;

/** Heartbeats neither answered by a command nor aborted (by their timeout or by the close). */
function beatsInFlight(real: Real): number {
  return real.fake.calls.heartbeat.filter((c) => !real.answered.has(c as Call<unknown>) && c.signal?.aborted !== true).length;
}

/** Distinct SESSION_END events the transport was sent (a retried batch sends the same event again). */
function sessionEndIds(real: Real): Set<string> {
  return new Set(
    real.wire.sent
      .flatMap((b) => b.events)
      .filter((e) => e.event === 'SESSION_END')
      .map((e) => e.event_id),
  );
}

function checkInvariants(model: Model, real: Real): void {
  expect(beatsInFlight(real), 'at most one heartbeat in flight').toBeLessThanOrEqual(1);
  expect(sessionEndIds(real).size, 'at most one SESSION_END').toBeLessThanOrEqual(1);
  const { session } = real;
  if (session === undefined) {
    expect(real.fake.calls.heartbeat, 'no heartbeat before the session exists').toEqual([]);
    return;
  }
  if (!isActive(session)) expect(beatsInFlight(real), `no heartbeat in flight in ${JSON.stringify(session.state)}`).toBe(0);
  if (session.state === 'closed') {
    expect(real.clock.pending, 'no timer left once closed').toBe(0);
    expect(
      real.futures.every((f) => f.settled),
      'every future settled once closed',
    ).toBe(true);
  }
  if (model.closeAskedAtMs !== undefined && real.clock.now() >= model.closeAskedAtMs + model.closeDeadlineMs! && real.clock.now() > model.closeAskedAtMs) {
    expect(session.state, 'closed by the close deadline').toBe('closed');
  }
  if (session.state === 'closed' && real.closes.length > 0) expect(real.closed, 'close() resolved once closed').toBe(true);
}

const step = async (model: Model, real: Real) => {
  await settle();
  await settle();
  if (real.session !== undefined && typeof real.session.state === 'object' && (real.session.state as { active?: string }).active === 'failing')
    exercised.failing++;
  checkInvariants(model, real);
};

function askClose(model: Model, real: Real, deadlineMs: number): void {
  if (model.closeAskedAtMs !== undefined || real.session === undefined || real.session.state === 'closed') return;
  model.closeAskedAtMs = real.clock.now();
  model.closeDeadlineMs = deadlineMs;
}

class AnswerCreate implements Command {
  constructor(readonly ok: boolean) {}
  check = (model: Readonly<Model>) => model.phase === 'creating';
  async run(model: Model, real: Real) {
    const pending = real.fake.calls.createSession[0]!;
    if (this.ok) pending.resolve({ sessionId: 'model-session' });
    else pending.reject(Object.assign(new Error('HTTP 500 on api/v1/create_session'), { code: 'TINKER_API_STATUS' }));
    await settleStart(model, real);
    await step(model, real);
  }
  toString = () => `create ${this.ok ? 'succeeds' : 'fails'}`;
}

class AbortStart implements Command {
  check = (model: Readonly<Model>) => model.phase === 'creating';
  async run(model: Model, real: Real) {
    real.abort.abort(new Error('caller gave up'));
    await settleStart(model, real);
    expect(real.startError).toBe(real.abort.signal.reason);
    await step(model, real);
  }
  toString = () => 'abort start-up';
}

async function settleStart(model: Model, real: Real): Promise<void> {
  try {
    real.session = await real.starting;
    model.phase = 'running';
    exercised.started++;
  } catch (error) {
    real.startError = error;
    model.phase = 'over';
    if (real.abort.signal.aborted) exercised.aborted++;
    else exercised.failedStart++;
    expect(real.clock.pending, 'no timer left after a failed start-up').toBe(0);
    expect(real.fake.closed(), 'the API closed after a failed start-up').toBe(1);
  }
}

class Advance implements Command {
  constructor(readonly ms: number) {}
  check = () => true;
  async run(model: Model, real: Real) {
    await real.clock.advance(this.ms);
    await step(model, real);
  }
  toString = () => `advance(${this.ms} ms)`;
}

class AnswerBeat implements Command {
  constructor(readonly ok: boolean) {}
  check = (model: Readonly<Model>) => model.phase === 'running';
  async run(model: Model, real: Real) {
    const beat = real.fake.calls.heartbeat.find((c) => !real.answered.has(c as Call<unknown>) && c.signal?.aborted !== true);
    if (beat !== undefined) {
      real.answered.add(beat);
      exercised.beats++;
      if (this.ok) beat.resolve();
      else beat.reject(new Error('HTTP 503 on api/v1/session_heartbeat'));
    }
    await step(model, real);
  }
  toString = () => `heartbeat ${this.ok ? 'succeeds' : 'fails'}`;
}

class StartFuture implements Command {
  check = (model: Readonly<Model>) => model.phase === 'running';
  async run(model: Model, real: Real) {
    const session = real.session!;
    const active = isActive(session);
    const future = { settled: false };
    real.futures.push(future);
    const outcome = session.retrieveFuture(`req-${real.futures.length}`, { requestType: 'OptimStep' }).then(
      () => 'resolved',
      (error: unknown) => error,
    );
    void outcome.then((result) => {
      future.settled = true;
      if (!active) expect(result, 'a closed session refuses futures').toMatchObject({ code: 'TINKER_SESSION_CLOSED' });
      else if (result !== 'resolved' && (result as Error).name === 'FutureAbortedError') {
        exercised.futuresAborted++;
        expect((result as Error).cause, 'aborted by the close').toMatchObject({ code: 'TINKER_SESSION_CLOSED', sessionId: 'model-session' });
      }
    });
    await step(model, real);
  }
  toString = () => 'retrieveFuture';
}

class SettleFuture implements Command {
  constructor(readonly ok: boolean) {}
  check = (model: Readonly<Model>) => model.phase === 'running';
  async run(model: Model, real: Real) {
    const call = real.fake.calls.retrieveFuture.find((c) => !real.answered.has(c as Call<unknown>) && c.signal?.aborted !== true);
    if (call !== undefined) {
      real.answered.add(call);
      if (this.ok) call.resolve({ kind: 'json', value: { ok: true } });
      else call.reject(Object.assign(new Error('request failed'), { name: 'RequestFailedError' }));
    }
    await step(model, real);
  }
  toString = () => `future ${this.ok ? 'resolves' : 'fails'}`;
}

class Close implements Command {
  constructor(readonly timeoutMs: number) {}
  check = (model: Readonly<Model>) => model.phase === 'running';
  async run(model: Model, real: Real) {
    askClose(model, real, this.timeoutMs);
    const closing = real.session!.close(this.timeoutMs);
    if (real.closes.length > 0) expect(closing, 'close() is idempotent').toBe(real.closes[0]);
    real.closes.push(closing);
    void closing.then(() => (real.closed = true));
    await step(model, real);
  }
  toString = () => `close(${this.timeoutMs})`;
}

class Signal implements Command {
  check = (model: Readonly<Model>) => model.phase === 'running';
  async run(model: Model, real: Real) {
    if (real.hooks.host.listenerCount('SIGTERM') > 0) {
      exercised.signals++;
      askClose(model, real, DEFAULT_CLOSE_MS);
    }
    real.hooks.host.emit('SIGTERM');
    await step(model, real);
  }
  toString = () => 'SIGTERM';
}

class Fatal implements Command {
  constructor(readonly via: 'uncaught' | 'instrumented') {}
  check = (model: Readonly<Model>) => model.phase === 'running';
  async run(model: Model, real: Real) {
    exercised.fatals++;
    if (this.via === 'uncaught') {
      real.hooks.host.emit('uncaughtException', new Error('crash'));
    } else {
      const client = real.session!.instrument(
        {
          async train() {
            await Promise.resolve();
            throw new Error('diverged');
          },
        },
        { fatal: true },
      );
      void client.train().catch(() => undefined);
    }
    await step(model, real);
  }
  toString = () => `fatal (${this.via})`;
}

class Transport implements Command {
  constructor(readonly mode: 'hang' | 'answer') {}
  check = () => true;
  async run(model: Model, real: Real) {
    real.transportHangs = this.mode === 'hang';
    if (this.mode === 'answer') for (const pending of real.wire.pending.splice(0)) pending.respond({ kind: 'ok', status: 200 });
    await step(model, real);
  }
  toString = () => `telemetry transport ${this.mode === 'hang' ? 'hangs' : 'answers'}`;
}

const commands = [
  fc.oneof(
    { weight: 2, arbitrary: fc.boolean().map((ok) => new AnswerCreate(ok)) },
    { weight: 1, arbitrary: fc.constant(new AbortStart()) },
    { weight: 6, arbitrary: fc.constantFrom(1, 49, 50, 90, 100, 150, 400, 1000).map((ms) => new Advance(ms)) },
    { weight: 4, arbitrary: fc.boolean().map((ok) => new AnswerBeat(ok)) },
    { weight: 2, arbitrary: fc.constant(new StartFuture()) },
    { weight: 2, arbitrary: fc.boolean().map((ok) => new SettleFuture(ok)) },
    { weight: 1, arbitrary: fc.constantFrom(0, 50, 1000).map((t) => new Close(t)) },
    { weight: 1, arbitrary: fc.constant(new Signal()) },
    { weight: 1, arbitrary: fc.constantFrom('uncaught', 'instrumented').map((via) => new Fatal(via)) },
    { weight: 1, arbitrary: fc.constantFrom('hang', 'answer').map((mode) => new Transport(mode)) },
  ),
];

/** Ends the run: the session (if any) is closed and the books are checked. */
async function closeBooks(model: Model, real: Real): Promise<void> {
  if (model.phase === 'creating') {
    real.abort.abort(new Error('end of run'));
    await settleStart(model, real);
  }
  const session = real.session;
  if (session === undefined) {
    expect(real.wire.sent, 'no telemetry without a session').toEqual([]);
    expect(real.fake.calls.heartbeat).toEqual([]);
    return;
  }
  askClose(model, real, 1000);
  const closing = session.close(1000);
  void closing.then(() => (real.closed = true));
  for (let i = 0; i < 30 && !real.closed; i++) await real.clock.advance(100);
  expect(real.closed, 'close() resolved within its deadline').toBe(true);
  expect(session.state).toBe('closed');
  checkInvariants(model, real);
  if (session.reporter === null) {
    expect(real.telemetry, 'a reporter whenever telemetry is on').toBe(false);
    expect(sessionEndIds(real).size).toBe(0);
  } else {
    const stats = session.reporter.stats();
    expect(stats.sessionEnded, 'the session ended its telemetry').toBe(true);
    // SESSION_END reached the server unless the close deadline (or a failing server) dropped it with what was left.
    if (stats.deliveredCounter === stats.pushCounter) expect(sessionEndIds(real).size, 'exactly one SESSION_END delivered').toBe(1);
    if (stats.dropped.shutdown > 0) exercised.deadlines++;
  }
  expect(real.hooks.host.eventNames(), 'unhooked from the process').toEqual([]);
  const beats = real.fake.calls.heartbeat.length;
  const sends = real.wire.sent.length;
  for (const pending of real.wire.pending.splice(0)) pending.respond({ kind: 'ok', status: 200 });
  await real.clock.advance(120_000);
  expect(real.fake.calls.heartbeat.length, 'no heartbeat after closed').toBe(beats);
  expect(real.wire.sent.length, 'no telemetry after closed').toBe(sends);
  expect(real.clock.pending).toBe(0);
}

/** How start-up ends before the commands run; `later` leaves it to the commands. Most runs start, so most runs explore a session. */
type StartUp = 'ok' | 'fail' | 'abort' | 'later';
const startUps = fc.oneof(
  { weight: 6, arbitrary: fc.constant<StartUp>('ok') },
  { weight: 1, arbitrary: fc.constant<StartUp>('fail') },
  { weight: 1, arbitrary: fc.constant<StartUp>('abort') },
  { weight: 2, arbitrary: fc.constant<StartUp>('later') },
);

function sessionProperty(telemetry: boolean, internals: SessionInternals = {}) {
  return fc.asyncProperty(startUps, fc.commands(commands, { maxCommands: 30, size: 'max' }), async (startUp, cmds) => {
    const clock = new SimulatedClock();
    const fake = fakeTinkerApi({ created: false });
    const hooks = fakeHooks();
    const abort = new AbortController();
    const real: Real = {
      clock,
      fake,
      wire: undefined as unknown as Real['wire'],
      hooks,
      abort,
      starting: undefined as unknown as Promise<Session>,
      session: undefined,
      startError: undefined,
      telemetry,
      transportHangs: false,
      answered: new Set(),
      futures: [],
      closed: false,
      closes: [],
    };
    real.wire = manualTransport(() => (real.transportHangs ? undefined : { kind: 'ok', status: 200 }));
    real.starting = openSession(
      {
        config: TEST_CONFIG,
        ...HEARTBEAT,
        signal: abort.signal,
        logger: recordingLogger().logger,
        telemetry: {
          enabled: telemetry,
          attachEvents: false,
          flushIntervalMs: 100,
          flushTimeoutMs: DEFAULT_CLOSE_MS,
          retryBaseDelayMs: 10,
          maxRetries: 1,
          random: () => 0,
          transport: real.wire.transport,
          clock,
          handleSignals: ['SIGTERM'],
          captureUncaught: true,
        },
      },
      { createApi: fake.factory, clock, hooks: hooks.hooks, ...internals },
    );
    real.starting.catch(() => undefined);
    await settle();
    const model: Model = { phase: 'creating', closeAskedAtMs: undefined, closeDeadlineMs: undefined };
    if (startUp === 'ok' || startUp === 'fail') await new AnswerCreate(startUp === 'ok').run(model, real);
    if (startUp === 'abort') await new AbortStart().run(model, real);
    try {
      await fc.asyncModelRun(() => ({ model, real }), cmds);
      await closeBooks(model, real);
    } finally {
      // After a failure mid-run, end the session all the same so nothing of it outlives the run.
      real.abort.abort();
      real.transportHangs = false;
      for (const pending of real.wire.pending.splice(0)) pending.respond({ kind: 'ok', status: 200 });
      if (real.session !== undefined) {
        const closing = real.session.close(1);
        await clock.advance(10);
        await closing;
      }
    }
    exercised.runs++;
  });
}

describe('the session against its model', () => {
  it('keeps every invariant over random runs of start-up, heartbeats, futures, closes, signals and fatal captures', async () => {
    const runs = fcRuns(300);
    const before = { ...exercised };
    await fc.assert(sessionProperty(true), { numRuns: runs, seed });
    console.log(`session model runs: ${JSON.stringify(exercised)}`);
    expect(exercised.runs - before.runs).toBe(runs);
    // The runs must really explore: every way start-up ends, failing heartbeats, aborted futures, deadlines, signals and fatal captures.
    expect(
      Math.min(exercised.started, exercised.failedStart, exercised.aborted, exercised.failing, exercised.futuresAborted, exercised.deadlines),
    ).toBeGreaterThan(0);
    expect(Math.min(exercised.signals, exercised.fatals, exercised.beats)).toBeGreaterThan(0);
  }, 120_000);

  it('keeps them with telemetry disabled, where the session has no reporter', async () => {
    await fc.assert(sessionProperty(false), { numRuns: fcRuns(100), seed });
  }, 120_000);
});

describe('planted bugs are caught by the session property', () => {
  // Each planted bug comes with a run known to expose it, tried first, so whether it is caught does not hang on the seed
  // (the pinned CI seed's 200 random runs missed the first one); the random runs follow it.
  const fails = async (internals: SessionInternals, exposing: [StartUp, Command[]]) =>
    (await fc.check(sessionProperty(true, internals), { numRuns: fcRuns(200), seed, examples: [exposing] })).failed;

  it('catches a heartbeat left running after active ends', async () => {
    const keepBeating = (machine: typeof sessionMachine) => {
      const config = machine.config as unknown as { states: Record<string, object> };
      return createMachine(
        { ...(machine.config as object), states: { ...config.states, active: { ...config.states.active, exit: [] } } } as never,
        machine.implementations as never,
      ) as unknown as typeof sessionMachine;
    };
    // A beat in flight when close(0) starts: with the machine's exit actions gone, nothing stops it in `closing`.
    expect(await fails({ adjustMachine: keepBeating }, ['ok', [new Transport('hang'), new Advance(150), new Close(0)]])).toBe(true);
  }, 60_000);

  it('catches a close that never stops the reporter, so SESSION_END is never sent', async () => {
    // Closing at once: without stopReporter, no SESSION_END is ever queued, which the books at the end of the run see.
    expect(await fails({ adjustMachine: (machine) => machine.provide({ actions: { stopReporter: () => undefined } }) }, ['ok', [new Close(1000)]])).toBe(true);
  }, 60_000);
});
