/**
 * fast-check model-based runs of the whole reporter: random sequences of
 * calls, timer advances and server answers, with the invariants checked after
 * every step and the books closed at the end of every run. The model is a
 * pair of flags; everything else is checked against the reporter's own
 * observable counters and what reached the server.
 */
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { Outbox } from '../src/core/outbox.js';
import type { ReporterInternals, TelemetryReporter } from '../src/reporter.js';
import { QueuedEvent } from '../src/core/wire.js';
import { ANSWERS, type Answer, type Bounds, RUN_BOUNDS, SimulatedClock, type TestServer, httpServer, makeReporter, memoryServer, settle } from './harness.js';

const seed = Number(process.env.FC_SEED ?? Date.now() % 2 ** 31);
console.log(`fast-check seed: ${seed} (set FC_SEED to replay)`);
/**
 * Under Stryker every mutant reruns the tests that cover it, so the runs are
 * cut to a tenth there (same seed); `npm test` always runs the full 1,000.
 */
const MUTATION_RUN = process.env.STRYKER_MUTATOR_WORKER !== undefined;
const RUNS = MUTATION_RUN ? 100 : 1000;

interface Model {
  sessionEnded: boolean;
  stopCalled: boolean;
}

interface Real {
  reporter: TelemetryReporter;
  server: TestServer;
  clock: SimulatedClock;
  bounds: Bounds;
  promises: Promise<boolean>[];
  stopPromise: Promise<boolean> | undefined;
  /** Requests already checked. */
  checked: number;
  indexById: Map<string, number>;
  idByIndex: Map<number, string>;
  highestSeen: number;
  endIds: Set<string>;
}

type Command = fc.AsyncCommand<Model, Real>;

const stateName = (value: unknown): string =>
  typeof value === 'string' ? value : (Object.entries(value as Record<string, unknown>).map(([k, v]) => `${k}.${stateName(v)}`)[0] ?? '');

/** The invariants, checked after every command. */
function checkInvariants(model: Model, real: Real): void {
  const { reporter, server, bounds } = real;
  const s = reporter.stats();
  const state = stateName(s.state);
  expect(s.pushCounter, 'pushCounter = flushCounter + queueSize + inFlight').toBe(s.flushCounter + s.queueSize + s.inFlight);
  expect(s.flushCounter).toBeLessThanOrEqual(s.pushCounter);
  expect(s.queueSize, 'queue bound').toBeLessThanOrEqual(bounds.maxQueueSize);
  expect(s.inFlight, 'one batch at a time').toBeLessThanOrEqual(bounds.maxBatchSize);
  const droppedAfter = s.dropped.retries_exhausted + s.dropped.rejected + s.dropped.shutdown;
  expect(s.deliveredCounter + droppedAfter, 'every outcome is counted').toBeLessThanOrEqual(s.flushCounter);
  expect(s.flushCounter - s.deliveredCounter - droppedAfter, 'only SESSION_END displaces a queued event').toBeLessThanOrEqual(s.dropped.queue_full);
  if (state === 'idle') expect([s.queueSize, s.inFlight], 'idle means nothing is left').toEqual([0, 0]);
  if (state === 'batching') expect(s.inFlight, 'batching means nothing in flight').toBe(0);
  expect(s.sessionEnded).toBe(model.sessionEnded);
  expect(server.requests.filter((r) => r.open).length, 'at most one request in flight').toBeLessThanOrEqual(1);

  for (const request of server.requests.slice(real.checked)) {
    expect(request.body.events.length, 'batch size').toBeLessThanOrEqual(bounds.maxBatchSize);
    expect(request.body.session_id).toBe('model-session');
    for (const event of request.body.events) {
      const index = event.event_session_index;
      const knownIndex = real.indexById.get(event.event_id);
      if (knownIndex === undefined) {
        expect(real.idByIndex.has(index), `index ${index} reused by another id`).toBe(false);
        // Batches go out in enqueue order: a new event always comes after every earlier one.
        expect(index, 'enqueue order').toBeGreaterThan(real.highestSeen);
        real.highestSeen = index;
        real.indexById.set(event.event_id, index);
        real.idByIndex.set(index, event.event_id);
      } else {
        expect(knownIndex, 'an id keeps its index across retries').toBe(index);
      }
      if (index === 0) expect(event.event).toBe('SESSION_START');
      else expect(event.event).not.toBe('SESSION_START');
      if (event.event === 'SESSION_END') {
        real.endIds.add(event.event_id);
        expect(index, 'SESSION_END is the last event accepted').toBe(s.pushCounter - 1);
      }
    }
  }
  real.checked = server.requests.length;
  expect(real.endIds.size, 'at most one SESSION_END').toBeLessThanOrEqual(1);
  const kept = new Set(server.requests.filter((r) => r.kept).flatMap((r) => r.body.events.map((e) => e.event_id)));
  expect(s.deliveredCounter, 'delivered events reached the server').toBeLessThanOrEqual(kept.size);
}

/** What the runs exercised, so a suite that silently stopped exploring would show. */
const exercised = { runs: 0, commands: 0, requests: 0, accepted: 0, shutdownDrops: 0, rejected: 0, exhausted: 0, splits: 0 };

const step = async (real: Real) => {
  exercised.commands++;
  await real.server.quiesce(real.reporter);
};

class LogCommand implements Command {
  constructor(readonly valid: boolean) {}
  check = () => true;
  async run(model: Model, real: Real) {
    const room = real.reporter.stats().queueSize < real.bounds.maxQueueSize;
    const accepted = real.reporter.log('model.event', { valid: this.valid }, this.valid ? 'info' : ('loud' as 'info'));
    expect(accepted).toBe(!model.sessionEnded && this.valid && room);
    await step(real);
    checkInvariants(model, real);
  }
  toString = () => `log(${this.valid ? 'valid' : 'bad severity'})`;
}

class LogExceptionCommand implements Command {
  constructor(readonly userError: boolean) {}
  check = () => true;
  async run(model: Model, real: Real) {
    const room = real.reporter.stats().queueSize < real.bounds.maxQueueSize;
    const error = this.userError ? Object.assign(new Error('bad input'), { status: 422 }) : new TypeError('boom');
    expect(real.reporter.logException(error)).toBe(!model.sessionEnded && room);
    await step(real);
    checkInvariants(model, real);
  }
  toString = () => `logException(${this.userError ? 'user error' : 'TypeError'})`;
}

class FatalCommand implements Command {
  check = (model: Readonly<Model>) => !model.sessionEnded;
  async run(model: Model, real: Real) {
    real.promises.push(real.reporter.logFatalException(new Error('fatal')));
    model.sessionEnded = true;
    await step(real);
    checkInvariants(model, real);
  }
  toString = () => 'logFatalException';
}

class FlushCommand implements Command {
  constructor(readonly variant: 'async' | 'sync' | 'waitDrained') {}
  check = () => true;
  async run(model: Model, real: Real) {
    const pending = real.reporter.flush(this.variant === 'async' ? {} : { [this.variant]: true });
    real.promises.push(pending);
    if (this.variant === 'async') expect(await pending).toBe(true);
    await step(real);
    checkInvariants(model, real);
  }
  toString = () => `flush(${this.variant})`;
}

class WaitCommand implements Command {
  constructor(readonly timeoutMs: number) {}
  check = () => true;
  async run(model: Model, real: Real) {
    real.promises.push(real.reporter.waitUntilDrained(this.timeoutMs));
    await step(real);
    checkInvariants(model, real);
  }
  toString = () => `waitUntilDrained(${this.timeoutMs})`;
}

class StopCommand implements Command {
  constructor(readonly timeoutMs: number) {}
  check = () => true;
  async run(model: Model, real: Real) {
    const pending = real.reporter.stop(this.timeoutMs);
    if (real.stopPromise !== undefined) expect(pending, 'stop is idempotent').toBe(real.stopPromise);
    real.stopPromise ??= pending;
    model.sessionEnded = model.stopCalled = true;
    await step(real);
    checkInvariants(model, real);
  }
  toString = () => `stop(${this.timeoutMs})`;
}

class AdvanceCommand implements Command {
  constructor(readonly ms: number) {}
  check = () => true;
  async run(model: Model, real: Real) {
    await real.clock.advance(this.ms);
    await step(real);
    checkInvariants(model, real);
  }
  toString = () => `advance(${this.ms} ms)`;
}

class AnswerCommand implements Command {
  constructor(readonly answer: Answer) {}
  check = () => true;
  async run(model: Model, real: Real) {
    await real.server.answer(this.answer);
    await step(real);
    checkInvariants(model, real);
  }
  toString = () => `server answers ${this.answer}`;
}

/** Calls that end the session are rare, so that most runs log, fail and retry for a while first. */
const commands = [
  fc.oneof(
    { weight: 6, arbitrary: fc.constant(new LogCommand(true)) },
    { weight: 1, arbitrary: fc.constant(new LogCommand(false)) },
    { weight: 1, arbitrary: fc.boolean().map((user) => new LogExceptionCommand(user)) },
    { weight: 1, arbitrary: fc.constantFrom('async', 'sync', 'waitDrained').map((v) => new FlushCommand(v)) },
    { weight: 1, arbitrary: fc.constantFrom(10, 500, 3000).map((t) => new WaitCommand(t)) },
    { weight: 4, arbitrary: fc.constantFrom(1, 99, 100, 250, 1000, 2000, 5000).map((ms) => new AdvanceCommand(ms)) },
    { weight: 6, arbitrary: fc.constantFrom(...ANSWERS).map((a) => new AnswerCommand(a)) },
    { weight: 1, arbitrary: fc.constant(new FatalCommand()) },
    { weight: 1, arbitrary: fc.constantFrom(1, 200, 5000).map((t) => new StopCommand(t)) },
  ),
];

/** Ends the run: the server accepts everything, stop() is awaited on the simulated clock, and the books are closed. */
async function closeBooks(model: Model, real: Real): Promise<void> {
  const { reporter, server, clock } = real;
  server.acceptEverything();
  const stopped = reporter.stop(real.bounds.flushTimeoutMs);
  let done = false;
  void stopped.then(() => (done = true));
  for (let i = 0; i < 200 && !done; i++) {
    await server.quiesce(reporter);
    await clock.advance(100);
  }
  expect(done, 'stop() resolved within its deadline').toBe(true);
  expect(typeof (await stopped)).toBe('boolean');
  model.sessionEnded = true;
  checkInvariants(model, real);
  const s = reporter.stats();
  expect(s.state).toBe('ended');
  expect(s.flushCounter, 'every accepted event reached an outcome').toBe(s.pushCounter);
  expect(
    s.deliveredCounter + s.dropped.retries_exhausted + s.dropped.rejected + s.dropped.shutdown,
    'delivered or dropped after acceptance, exactly once',
  ).toBeGreaterThanOrEqual(s.pushCounter - s.dropped.queue_full);
  expect(clock.pending, 'no timer left once stop() resolved').toBe(0);
  const requests = server.requests.length;
  await clock.advance(120_000);
  await server.quiesce(reporter);
  expect(server.requests.length, 'no request after stop() resolved').toBe(requests);
  const outcomes = await Promise.race([Promise.all(real.promises).then(() => 'settled'), settle().then(() => 'pending')]);
  expect(outcomes, 'every flush, wait and fatal drain settled').toBe('settled');
}

function reporterProperty(makeServer: () => TestServer | Promise<TestServer>, internals: ReporterInternals = {}, maxCommands = 40) {
  return fc.asyncProperty(fc.commands(commands, { maxCommands, size: 'max' }), async (cmds) => {
    const server = await makeServer();
    const clock = new SimulatedClock();
    const reporter = makeReporter(server, clock, RUN_BOUNDS, internals);
    const real: Real = {
      reporter,
      server,
      clock,
      bounds: RUN_BOUNDS,
      promises: [],
      stopPromise: undefined,
      checked: 0,
      indexById: new Map(),
      idByIndex: new Map(),
      highestSeen: -1,
      endIds: new Set(),
    };
    const model: Model = { sessionEnded: false, stopCalled: false };
    try {
      await fc.asyncModelRun(() => ({ model, real }), cmds);
      await closeBooks(model, real);
      const s = reporter.stats();
      exercised.runs++;
      exercised.requests += server.requests.length;
      exercised.accepted += s.pushCounter;
      exercised.shutdownDrops += s.dropped.shutdown;
      exercised.rejected += s.dropped.rejected;
      exercised.exhausted += s.dropped.retries_exhausted;
      exercised.splits += server.requests.filter(
        (r, i, all) =>
          i > 0 && r.body.events.length < (all[i - 1]?.body.events.length ?? 0) && r.body.events[0]?.event_id === all[i - 1]?.body.events[0]?.event_id,
      ).length;
    } finally {
      // After a failure mid-run the drain may be stuck: let the deadline end it.
      server.acceptEverything();
      const stopped = reporter.stop(1);
      await clock.advance(10);
      await stopped;
      await server.close();
    }
  });
}

describe('the reporter against its model', () => {
  it('keeps every invariant over 1,000 random runs with an in-memory server', async () => {
    await fc.assert(reporterProperty(memoryServer), { numRuns: RUNS, seed });
    console.log(`model runs: ${JSON.stringify(exercised)}`);
    // The runs must really explore: long sequences, retries, splits, rejections and deadlines.
    expect(exercised.runs).toBe(RUNS);
    expect(exercised.commands).toBeGreaterThan(RUNS * 10);
    expect(Math.min(exercised.shutdownDrops, exercised.rejected, exercised.exhausted, exercised.splits)).toBeGreaterThan(0);
  }, 120_000);

  it('keeps every invariant over random runs against a real loopback HTTP server', async () => {
    const before = { ...exercised };
    const runs = MUTATION_RUN ? 5 : 25;
    await fc.assert(reporterProperty(httpServer, {}, 15), { numRuns: runs, seed });
    console.log(
      `HTTP model runs: ${exercised.runs - before.runs} runs, ${exercised.commands - before.commands} commands, ${exercised.requests - before.requests} requests`,
    );
    expect(exercised.requests - before.requests).toBeGreaterThan(runs);
  }, 120_000);
});

describe('planted bugs are caught by the property suite', () => {
  const restore: (() => void)[] = [];
  afterEach(() => restore.splice(0).forEach((undo) => undo()));
  const fails = async (internals: ReporterInternals = {}) => {
    const result = await fc.check(reporterProperty(memoryServer, internals), { numRuns: MUTATION_RUN ? 100 : 300, seed });
    return result.failed;
  };

  it('catches a failed batch that is dropped without being counted', async () => {
    expect(await fails({ adjustMachine: (m) => m.provide({ actions: { dropBatch: () => undefined } }) })).toBe(true);
  }, 60_000);

  it('catches SESSION_END emitted twice', async () => {
    const original = Outbox.prototype.acceptAlways;
    Outbox.prototype.acceptAlways = function (this: Outbox, event: QueuedEvent) {
      original.call(this, event);
      return original.call(this, new QueuedEvent('SESSION_END', event.index + 1, 'INFO', event.timestampMs, undefined, undefined, undefined, 0));
    };
    restore.push(() => (Outbox.prototype.acceptAlways = original));
    expect(await fails()).toBe(true);
  }, 60_000);

  it('catches the queue bound being ignored', async () => {
    const descriptor = Object.getOwnPropertyDescriptor(Outbox.prototype, 'full')!;
    Object.defineProperty(Outbox.prototype, 'full', { get: () => false, configurable: true });
    restore.push(() => Object.defineProperty(Outbox.prototype, 'full', descriptor));
    expect(await fails()).toBe(true);
  }, 60_000);
});
