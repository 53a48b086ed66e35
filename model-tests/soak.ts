/**
 * A chaos soak of the whole reporter: many concurrent producers, one
 * reporter with the default got transport, and a loopback sink that answers
 * at random with every kind of fault the reporter must survive.
 *
 * How it runs. `producers` async loops share `events` calls of `log()` (one
 * of them is a `logException()`, about 0.2 % are invalid on purpose). Each
 * loop logs a chunk of 1–16 events with varied data and severities, then
 * yields with `setImmediate`; a loop that saw a refusal in its chunk pauses
 * 5–25 ms instead, like an application shedding load, so the run spends its
 * time with the queue at its bound rather than ending in a blink (the number
 * of calls is fixed either way). Two loops call `flush()` now and then, one
 * `waitUntilDrained(50)`; the first blocks the event loop for 100–250 ms
 * every `stallEveryChunks` chunks, as a host doing synchronous work would;
 * the last awaits `flush({ sync: true })` every 150 chunks, which slows it
 * down. `stop(stopTimeoutMs)` is called as soon as every other loop is done,
 * so that straggler usually goes on logging into a stopping reporter, and a
 * few late `log()` calls follow `stop()` at once. Then everything below is
 * checked.
 *
 * The sink (node:http on 127.0.0.1, port 0) answers each request with one
 * of `ANSWER_KINDS`: 200; a 200 after 40–120 ms; a 200 with a garbage body;
 * 500; 503; 429 with `Retry-After: 0` or `1`; 413; a connection reset before
 * any answer; or no answer at all (the reporter's `httpTimeoutMs`, 200 ms by
 * default, turns it into a timeout). The first requests take every kind
 * once, in a shuffled order, so that even a short run meets each fault;
 * later ones are drawn by `ANSWER_WEIGHTS`. The seed fixes the answers, the
 * data, the producers' choices and the backoff jitter; timing, and so the
 * interleaving, still varies from run to run.
 *
 * What is checked, and why (`checkSoak`):
 * - The books balance. Every accepted event ends exactly once, so after
 *   stop `pushCounter = deliveredCounter + retries_exhausted + rejected +
 *   shutdown + displaced` with an empty queue and nothing in flight, and
 *   `flushCounter = pushCounter`. `displaced` is 1 when the queue was full at
 *   `stop()`: SESSION_END then pushes out the newest event, which `log()` had
 *   accepted, and counts it as `queue_full` (documented in docs/reporter.md).
 *   Every call returned a boolean; the calls that returned true are
 *   `pushCounter − 2` (SESSION_START and SESSION_END are the reporter's own),
 *   and those that returned false are `queue_full − displaced + invalid +
 *   after_stop`, with `invalid` = the invalid calls made before `stop()` and
 *   `after_stop` = the calls made once `stop()` had been called (none may be
 *   accepted). The drops published on `tinker:telemetry:event:dropped` add
 *   up to `stats().dropped`, and the `batch:sent` sizes to `deliveredCounter`.
 * - Nothing is delivered twice, except where the client cannot know. A 2xx
 *   counts at the sink once its bytes reached the socket ("2xx-answered").
 *   The sink resets connections only before answering, so the client sees
 *   every 2xx unless its own timeout fired first (possible when the process
 *   stalls: both timers fall due in the same turn). Such a "ghost" 2xx
 *   is retried under the same `X-Idempotency-Key`, or dropped when it was
 *   the last attempt. So the rule asserted is: a key always carries the same
 *   body; a key is sent at most `maxRetries + 1` times; a 2xx-answered
 *   request is "superseded" when a later request carries its key; every
 *   event id that is 2xx-answered more than once has all its occurrences but
 *   the last in superseded requests; superseded requests ≤ ghosts (= sink
 *   2xx count − `batch:sent` count, never negative). The sizes the client
 *   saw delivered (`batch:sent`) are a subsequence of the sink's 2xx-answered
 *   batches, and the surplus of distinct accepted ids over
 *   `deliveredCounter` (events of ghosts the client then gave up on) is at
 *   most `retries_exhausted + shutdown`. With no ghost (the usual case) this
 *   is plain equality: every id unique, distinct ids = `deliveredCounter`.
 *   `event_session_index` ↔ `event_id` is one to one, and the 2xx-answered
 *   batches that were not superseded arrive in acceptance order.
 * - One session end. SESSION_END is queued once, as the last event
 *   (index `pushCounter − 1`), and at most one id of it ever reaches the
 *   sink. If the machine ended on an ACK it was delivered (the last batch
 *   holds it); if it ended on FAIL or DEADLINE it was dropped, and counted.
 *   One SESSION_START, at index 0.
 * - `stop()` keeps its word: it resolves within `stopTimeoutMs` + 250 ms
 *   (`performance.now`, acceptable in a soak, never in a unit test), a second
 *   call returns the same promise, and its result is true exactly when
 *   nothing was dropped as `shutdown` and the machine did not end on the
 *   deadline. The machine is `ended`.
 * - Nothing escapes or hangs: no unhandled rejection, no uncaught
 *   exception, no reporter method that throws into its caller, no `error`
 *   from the reporter's logger (that is where internal faults go), no
 *   `flush()`/`waitUntilDrained()` promise that rejects or never settles
 *   (the soak stops waiting 5 s after the deadline and reports it), and
 *   every body the sink receives is the documented wire format.
 * - Memory stays flat: the peak RSS (and heap) of the second half of the run
 *   is at most `max(1.5 × peak of the first half, first + 64 MiB)`. The
 *   sink's own records grow with the run (about 100 bytes per event) and fit
 *   well inside that margin. With `--expose-gc` the heap is also sampled
 *   right after a full collection, once a second.
 */
import diagnostics from 'node:diagnostics_channel';
import { setImmediate as nextTurn, setTimeout as sleep } from 'node:timers/promises';
import {
  CHANNELS,
  DROP_REASONS,
  createConfig,
  startReporter,
  type DropCounts,
  type LoggerLike,
  type ReporterStats,
  type Severity,
  type TelemetryBatchFailedPayload,
  type TelemetryBatchSentPayload,
  type TelemetryEventDroppedPayload,
  type TelemetryReporter,
  type TelemetryStatePayload,
} from '../src/index.js';
import { type SoakFigures, type SoakObservations, type SoakSettings, checkSoak, soakFigures } from './soak-check.js';
import { startChaosSink } from './soak-sink.js';

export { ANSWER_KINDS, ANSWER_WEIGHTS, type AnswerKind } from './soak-sink.js';
export { MEMORY_TOLERANCE, STOP_MARGIN_MS, checkSoak, soakFigures } from './soak-check.js';
export type { SoakFigures, SoakObservations, SoakSettings } from './soak-check.js';

/** Options of `runSoak`. Only `events`, `producers` and `seed` are required; every other one is a whole number. */
export interface SoakOptions {
  /** Calls of `log()`/`logException()` the producers make, in total (the late calls after `stop()` come on top); an integer ≥ `producers`. */
  events: number;
  /** Concurrent producer loops; ≥ 1. */
  producers: number;
  /** Seeds the answers, the data, the producers' choices and the backoff jitter; an integer in 0..2³²−1. */
  seed: number;
  /** The reporter's `maxQueueSize`. Default: 10 000. */
  maxQueueSize?: number;
  /** The reporter's `maxBatchSize`. Default: 100. */
  maxBatchSize?: number;
  /** The reporter's `flushThreshold`. Default: 100. */
  flushThreshold?: number;
  /** The reporter's `flushIntervalMs`, small so that the timer path runs too. Default: 50. */
  flushIntervalMs?: number;
  /** The reporter's `httpTimeoutMs`, small so that a hang costs little; slow answers take 40–120 ms. Default: 200. */
  httpTimeoutMs?: number;
  /** The reporter's `retryBaseDelayMs`. Default: 10. */
  retryBaseDelayMs?: number;
  /** The reporter's `maxRetries`. Default: 3. */
  maxRetries?: number;
  /** The deadline given to `stop()`, in ms. Default: 30 000. */
  stopTimeoutMs?: number;
  /** `log()` calls made right after `stop()` is called, each of which must be refused as `after_stop`. Default: 5. */
  lateCalls?: number;
  /** Milliseconds between memory samples. Default: 100. */
  sampleEveryMs?: number;
  /**
   * The first producer blocks the event loop for 100–250 ms after every this
   * many chunks, as a host doing synchronous work would (never once `stop()`
   * has been called, which would blur its deadline); 0: never. Default: 100.
   */
  stallEveryChunks?: number;
  /** Receives a line of progress after each tenth of the calls. Default: none. */
  onProgress?: (line: string) => void;
}

/** The result of `runSoak`. */
export interface SoakResult {
  figures: SoakFigures;
  /** One line per broken guarantee; empty when the run is clean. */
  violations: string[];
  /** The raw material of both, for a closer look. */
  observations: SoakObservations;
}

const DEFAULTS = {
  maxQueueSize: 10_000,
  maxBatchSize: 100,
  flushThreshold: 100,
  flushIntervalMs: 50,
  httpTimeoutMs: 200,
  retryBaseDelayMs: 10,
  maxRetries: 3,
  stopTimeoutMs: 30_000,
  lateCalls: 5,
  sampleEveryMs: 100,
  stallEveryChunks: 100,
} as const;

/** How long past its deadline `stop()`, and then the producers, may take before the soak calls them hung. */
const HANG_GRACE_MS = 5_000;

const NAMES = ['train.step', 'eval.batch', 'checkpoint.saved', 'sampler.tokens', 'queue.depth', 'optimizer.lr'];
// Mixed case on purpose: the reporter accepts any case.
const SEVERITIES = ['debug', 'info', 'info', 'info', 'warning', 'error', 'critical', 'INFO', 'Warning'] as unknown as Severity[];

/**
 * A small seeded generator (mulberry32) returning numbers in [0, 1): the
 * same seed gives the same sequence, which is all a replayable soak needs.
 */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** An independent stream per consumer, so that a change in one producer does not shift the sink's answers. */
function stream(seed: number, n: number): () => number {
  return seededRandom((seed + Math.imul(n + 1, 0x9e3779b9)) >>> 0);
}

/**
 * Runs one soak: starts the sink and the reporter, runs the producers,
 * stops the reporter, closes the sink, and judges what happened. Throws a
 * TypeError or RangeError naming the option for a bad option; never throws
 * for what the reporter does (that is what `violations` are for).
 */
export async function runSoak(input: SoakOptions): Promise<SoakResult> {
  const settings = resolveSoakOptions(input);
  const observations = await observe(settings, input.onProgress);
  return { figures: soakFigures(observations), violations: checkSoak(observations), observations };
}

function resolveSoakOptions(input: SoakOptions): SoakSettings {
  if (typeof input !== 'object' || input === null) throw new TypeError(`Expected soak options to be an object, got \`${String(input)}\``);
  const whole = (name: string, value: unknown, min: number, max = Number.MAX_SAFE_INTEGER): number => {
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
      throw new RangeError(`Expected \`${name}\` to be an integer in ${min}..${max}, got \`${String(value)}\` (${typeof value})`);
    }
    return value;
  };
  const producers = whole('producers', input.producers, 1);
  const pick = (name: keyof typeof DEFAULTS, min: number): number => (input[name] === undefined ? DEFAULTS[name] : whole(name, input[name], min));
  return {
    events: whole('events', input.events, producers),
    producers,
    seed: whole('seed', input.seed, 0, 2 ** 32 - 1),
    maxQueueSize: pick('maxQueueSize', 1),
    maxBatchSize: pick('maxBatchSize', 1),
    flushThreshold: pick('flushThreshold', 1),
    flushIntervalMs: pick('flushIntervalMs', 0),
    httpTimeoutMs: pick('httpTimeoutMs', 1),
    retryBaseDelayMs: pick('retryBaseDelayMs', 0),
    maxRetries: pick('maxRetries', 0),
    stopTimeoutMs: pick('stopTimeoutMs', 1),
    lateCalls: pick('lateCalls', 0),
    sampleEveryMs: pick('sampleEveryMs', 1),
    stallEveryChunks: pick('stallEveryChunks', 0),
  };
}

async function observe(options: SoakSettings, onProgress?: (line: string) => void): Promise<SoakObservations> {
  const sessionId = `soak-${options.seed}`;
  const errors: SoakObservations['errors'] = { unhandledRejections: [], uncaughtExceptions: [], thrownIntoCaller: [], loggerErrors: [], loggerWarnings: 0 };
  const onRejection = (reason: unknown) => errors.unhandledRejections.push(describe(reason));
  const onUncaught = (error: unknown) => errors.uncaughtExceptions.push(describe(error));
  process.on('unhandledRejection', onRejection);
  process.on('uncaughtException', onUncaught);

  const batchesSent: SoakObservations['batchesSent'] = [];
  const batchesFailed: SoakObservations['batchesFailed'] = [];
  const droppedOnChannel = Object.fromEntries(DROP_REASONS.map((reason) => [reason, 0])) as DropCounts;
  const machine = { endedBy: undefined as string | undefined };
  const listeners: [string, (message: unknown) => void][] = [
    [
      CHANNELS.telemetryBatchSent,
      (message) => {
        const p = message as TelemetryBatchSentPayload;
        if (p.sessionId === sessionId) batchesSent.push({ size: p.size, attempt: p.attempt });
      },
    ],
    [
      CHANNELS.telemetryBatchFailed,
      (message) => {
        const p = message as TelemetryBatchFailedPayload;
        if (p.sessionId === sessionId) batchesFailed.push({ size: p.size, attempt: p.attempt, kind: p.kind, willRetry: p.willRetry });
      },
    ],
    [
      CHANNELS.telemetryEventDropped,
      (message) => {
        const p = message as TelemetryEventDroppedPayload;
        if (p.sessionId === sessionId) droppedOnChannel[p.reason] += p.count;
      },
    ],
    [
      CHANNELS.telemetryState,
      (message) => {
        const p = message as TelemetryStatePayload;
        if (p.sessionId === sessionId && p.to === 'ended') machine.endedBy = p.event;
      },
    ],
  ];
  for (const [name, listener] of listeners) diagnostics.subscribe(name, listener);

  const memory: SoakObservations['memory'] = { samples: [], startMs: 0, endMs: 0, gcExposed: typeof global.gc === 'function' };
  const sample = (afterGc: boolean) => {
    const { rss, heapUsed } = process.memoryUsage();
    memory.samples.push({ atMs: performance.now(), rss, heapUsed, afterGc });
  };
  // A full collection once a second: often enough to see a leak, rare enough not to slow the run.
  const gcEvery = Math.max(1, Math.round(1000 / options.sampleEveryMs));
  let ticks = 0;
  const sampler = setInterval(() => {
    ticks++;
    const collect = memory.gcExposed && ticks % gcEvery === 0;
    if (collect) global.gc?.();
    sample(collect);
  }, options.sampleEveryMs);
  sampler.unref();

  const sink = await startChaosSink(stream(options.seed, 0), sessionId, options.maxBatchSize);
  try {
    const reporter = startReporter({
      config: createConfig({ apiKey: 'sk-soak-0123456789abcdef', baseUrl: sink.url }),
      sessionId,
      enabled: true,
      // Nothing in the soak publishes on the forwarded channels; off keeps the count of calls exact.
      attachEvents: false,
      flushIntervalMs: options.flushIntervalMs,
      flushThreshold: options.flushThreshold,
      httpTimeoutMs: options.httpTimeoutMs,
      retryBaseDelayMs: options.retryBaseDelayMs,
      maxRetries: options.maxRetries,
      maxQueueSize: options.maxQueueSize,
      maxBatchSize: options.maxBatchSize,
      logger: countingLogger(errors),
      random: stream(options.seed, 1),
    }) as TelemetryReporter;

    memory.startMs = performance.now();
    sample(false);
    const tally = { calls: 0, accepted: 0, refused: 0, nonBoolean: 0, invalid: 0, afterStop: 0, acceptedAfterStop: 0 };
    const flushes: SoakObservations['flushes'] = { plain: 0, plainNotTrue: 0, rejected: 0, sync: 0, waits: 0, nonBoolean: 0 };
    const plainFlushes: Promise<void>[] = [];
    const stalls = { count: 0 };
    const hangs: string[] = [];
    const progressEvery = Math.max(1, Math.floor(options.events / 10));
    let nextProgress = progressEvery;
    let stopCalled = false;
    const record = (value: unknown) => {
      tally.calls++;
      if (value === true) tally.accepted++;
      else if (value === false) tally.refused++;
      else tally.nonBoolean++;
      if (stopCalled) {
        tally.afterStop++;
        if (value === true) tally.acceptedAfterStop++;
      }
      if (onProgress !== undefined && tally.calls >= nextProgress) {
        nextProgress += progressEvery;
        const s = reporter.stats();
        onProgress(`${tally.calls} calls, ${s.pushCounter} accepted, ${s.deliveredCounter} delivered, queue ${s.queueSize}, ${sink.requests.length} requests`);
      }
    };

    const straggler = options.producers - 1;
    const producer = async (p: number, quota: number): Promise<void> => {
      const rand = stream(options.seed, 2 + p);
      let made = 0;
      let chunks = 0;
      let threw = false;
      while (made < quota) {
        const size = Math.min(quota - made, 1 + Math.floor(rand() * 16));
        let refusedInChunk = false;
        for (let k = 0; k < size; k++) {
          made++;
          let value: unknown;
          if (p === 0 && !threw && made >= quota / 2) {
            threw = true;
            value = reporter.logException(new RangeError(`soak: step ${made} failed`, { cause: new Error('disk full') }));
          } else if (rand() < 0.002) {
            // Invalid on purpose. Once stop() was called, after_stop wins, so it is not counted as invalid.
            if (!stopCalled) tally.invalid++;
            value = rand() < 0.5 ? reporter.log(pickOne(rand, NAMES), { made }, 'loud' as Severity) : reporter.log('', { made });
          } else {
            value = reporter.log(pickOne(rand, NAMES), eventData(rand, p, made), pickOne(rand, SEVERITIES));
          }
          record(value);
          if (value !== true) refusedInChunk = true;
        }
        chunks++;
        if (p === 0 && straggler > 0 && options.stallEveryChunks > 0 && chunks % options.stallEveryChunks === 0 && !stopCalled) {
          // A stalled loop lets a slow 2xx and the client's timeout fall due in the same turn: the "ghost" case of the checks.
          stalls.count++;
          const until = performance.now() + 100 + rand() * 150;
          while (performance.now() < until) {
            // Busy on purpose.
          }
        }
        if ((p === 1 || p === 2) && chunks % 40 === 0) {
          flushes.plain++;
          plainFlushes.push(
            reporter.flush().then(
              (done) => {
                if (done !== true) flushes.plainNotTrue++;
              },
              () => {
                flushes.rejected++;
              },
            ),
          );
        }
        if (p === 2 && chunks % 60 === 0) {
          flushes.waits++;
          const drained: unknown = await reporter.waitUntilDrained(50).catch(() => {
            flushes.rejected++;
          });
          if (typeof drained !== 'boolean') flushes.nonBoolean++;
        }
        if (p === straggler && chunks % 150 === 0) {
          flushes.sync++;
          const done: unknown = await reporter.flush({ sync: true }).catch(() => {
            flushes.rejected++;
          });
          if (typeof done !== 'boolean') flushes.nonBoolean++;
        }
        // A stopped reporter refuses at once: there is no load left to shed by pausing.
        if (refusedInChunk && !stopCalled) await sleep(5 + Math.floor(rand() * 20));
        else await nextTurn();
      }
    };

    const base = Math.floor(options.events / options.producers);
    const extra = options.events % options.producers;
    // No reporter method may throw; if one does, the producer ends and the throw is a violation.
    const runs = Array.from({ length: options.producers }, (_, p) =>
      producer(p, base + (p < extra ? 1 : 0)).catch((error: unknown) => {
        errors.thrownIntoCaller.push(`producer ${p}: ${describe(error)}`);
      }),
    );
    // The straggler is left running; with a single producer there is none, and stop() waits for it.
    await Promise.all(options.producers > 1 ? runs.slice(0, straggler) : runs);

    const beforeStop: ReporterStats = reporter.stats();
    const stopStarted = performance.now();
    const stopping = reporter.stop(options.stopTimeoutMs);
    stopCalled = true;
    const samePromise = reporter.stop(1) === stopping;
    for (let i = 0; i < options.lateCalls; i++) record(reporter.log('late.event', { i }));
    // A stop() or a waiter that never settles is a finding, not a reason for the soak to hang.
    let drained: boolean | undefined;
    try {
      const outcome = await within(stopping, options.stopTimeoutMs + HANG_GRACE_MS);
      if (outcome.settled) drained = outcome.value;
      else hangs.push(`stop(${options.stopTimeoutMs}) had not resolved ${options.stopTimeoutMs + HANG_GRACE_MS} ms after it was called`);
    } catch (error) {
      errors.unhandledRejections.push(`stop() rejected: ${describe(error)}`);
    }
    const elapsedMs = performance.now() - stopStarted;
    memory.endMs = performance.now();
    sample(false);
    const rest = await within(Promise.all([...runs, ...plainFlushes]), HANG_GRACE_MS);
    if (!rest.settled) hangs.push(`producers or flush() promises still pending ${HANG_GRACE_MS} ms after stop() resolved`);

    return {
      options,
      sessionId,
      calls: tally.calls,
      acceptedCalls: tally.accepted,
      refusedCalls: tally.refused,
      nonBooleanResults: tally.nonBoolean,
      invalidCalls: tally.invalid,
      callsAfterStop: tally.afterStop,
      acceptedAfterStop: tally.acceptedAfterStop,
      stalls: stalls.count,
      beforeStop,
      after: reporter.stats(),
      stop: { elapsedMs, drained, samePromise },
      endedBy: machine.endedBy,
      batchesSent,
      batchesFailed,
      droppedOnChannel,
      sink: { requests: sink.requests, problems: sink.problems },
      flushes,
      errors,
      hangs,
      memory,
      durationMs: memory.endMs - memory.startMs,
    };
  } finally {
    clearInterval(sampler);
    await sink.close();
    // An unhandled rejection is reported after the turn that made it; give it two turns.
    await nextTurn();
    await nextTurn();
    for (const [name, listener] of listeners) diagnostics.unsubscribe(name, listener);
    process.off('unhandledRejection', onRejection);
    process.off('uncaughtException', onUncaught);
  }
}

/** Settles with the promise's value, or with `settled: false` after `ms`; rejects when the promise does. */
async function within<T>(promise: Promise<T>, ms: number): Promise<{ settled: true; value: T } | { settled: false }> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<{ settled: false }>((resolve) => {
    timer = setTimeout(() => resolve({ settled: false }), ms);
  });
  try {
    return await Promise.race([promise.then((value) => ({ settled: true as const, value })), late]);
  } finally {
    clearTimeout(timer);
  }
}

/** A logger that keeps only what the checks need: internal errors, and how many warnings. */
function countingLogger(errors: SoakObservations['errors']): LoggerLike {
  return {
    warn: () => {
      errors.loggerWarnings++;
    },
    info: () => undefined,
    debug: () => undefined,
    error: (obj: object, msg?: string) => {
      errors.loggerErrors.push(`${msg ?? ''} ${describe((obj as { err?: unknown }).err ?? '')}`.trim());
    },
  };
}

/** Data of every shape `toJsonSafe` maps: plain, empty, bare values, cycles, BigInt, Map/Set, Date, Error, functions, too deep, long. */
function eventData(rand: () => number, producer: number, n: number): unknown {
  const r = rand();
  if (r < 0.5) return { step: n, producer, loss: rand(), lr: 1e-4 * rand() };
  if (r < 0.65) return { tags: ['a', 'b', String(n % 7)], text: 'x'.repeat(Math.floor(rand() * 200)), ok: rand() < 0.5, nothing: null };
  if (r < 0.7) return undefined;
  if (r < 0.75) return `a bare string ${n}`;
  if (r < 0.8) {
    const loop: Record<string, unknown> = { producer };
    loop.self = loop;
    return loop;
  }
  if (r < 0.85) return { when: new Date(1_700_000_000_000 + n), big: BigInt(n) ** 3n, map: new Map([['k', n]]), set: new Set([1, 2, n]) };
  if (r < 0.9) return { error: new Error(`inner ${n}`), nan: Number.NaN, inf: Number.POSITIVE_INFINITY, missing: undefined, fn() {} };
  if (r < 0.93) {
    let deep: Record<string, unknown> = { leaf: n };
    for (let i = 0; i < 12; i++) deep = { deeper: deep };
    return deep;
  }
  if (r < 0.995) return Array.from({ length: 20 }, (_, i) => i * n);
  return { blob: 'y'.repeat(8_000) };
}

function pickOne<T>(rand: () => number, list: readonly T[]): T {
  return list[Math.floor(rand() * list.length)]!;
}

function describe(value: unknown): string {
  if (value instanceof Error) return `${value.name}: ${value.message}`;
  try {
    return typeof value === 'string' ? value : JSON.stringify(value);
  } catch {
    return String(value);
  }
}
