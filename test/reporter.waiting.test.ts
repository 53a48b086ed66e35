/**
 * What the waiting calls resolve to, and when: `flush()` with and without
 * its options, `waitUntilDrained()` and `stop()` with good and bad timeouts,
 * and the deadline timers they leave behind (none).
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Clock } from '../src/core/clock.js';
import type { ReporterOptions } from '../src/options.js';
import type { FlushOptions, TelemetryReporter } from '../src/reporter.js';
import { manualTransport, settle, startTestReporter, stopNow } from './helpers.js';

const ok = { kind: 'ok', status: 200 } as const;
const TIMER_MAX_MS = 2 ** 31 - 1;

function start(overrides: Partial<ReporterOptions> = {}) {
  const { reporter, wire, log } = startTestReporter({ flushThreshold: 100, flushTimeoutMs: 500, retryBaseDelayMs: 100, random: () => 0, ...overrides });
  /** The warnings about bad timeouts (the stop deadline has its own). */
  const warnings = () => log.records.filter((r) => r.level === 'warn' && /timeout/.test(r.msg ?? '')).map((r) => r.msg);
  return { reporter, wire, log, warnings };
}

/** Tracks a promise's outcome without awaiting it, so a test can check it is still pending. */
function track<T>(promise: Promise<T>) {
  const state: { settled: boolean; value: T | undefined } = { settled: false, value: undefined };
  void promise.then((value) => {
    state.settled = true;
    state.value = value;
  });
  return state;
}

/** Lets the reporter deliver SESSION_START, so nothing is pending afterwards. */
async function deliverStart(reporter: TelemetryReporter, wire: ReturnType<typeof manualTransport>): Promise<void> {
  const flushed = reporter.flush({ sync: true });
  await settle();
  wire.answer(ok);
  expect(await flushed).toBe(true);
}

describe('flush()', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('with waitDrained, waits for a batch that never answers until flushTimeoutMs and resolves false', async () => {
    const { reporter, wire } = start({ flushTimeoutMs: 500 });
    const flushed = track(reporter.flush({ waitDrained: true }));
    await vi.advanceTimersByTimeAsync(499);
    expect(wire.pending).toHaveLength(1);
    expect(flushed.settled).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(flushed).toEqual({ settled: true, value: false });
    await stopNow(reporter);
  });

  it('with waitDrained, resolves true once the batch is delivered before the deadline', async () => {
    const { reporter, wire } = start({ flushTimeoutMs: 500 });
    const flushed = reporter.flush({ waitDrained: true });
    await vi.advanceTimersByTimeAsync(200);
    wire.answer(ok);
    expect(await flushed).toBe(true);
    await stopNow(reporter);
  });

  it('with sync and no waitDrained, waits past flushTimeoutMs for the outcome', async () => {
    const { reporter, wire } = start({ flushTimeoutMs: 500 });
    const flushed = track(reporter.flush({ sync: true }));
    await vi.advanceTimersByTimeAsync(5000);
    expect(flushed.settled).toBe(false);
    wire.answer(ok);
    await settle(10);
    expect(flushed).toEqual({ settled: true, value: true });
    await stopNow(reporter);
  });

  it('without options, or with null, or with both flags false, starts a send and resolves true at once', async () => {
    const { reporter, wire } = start();
    expect(await reporter.flush()).toBe(true);
    await settle();
    expect(wire.pending).toHaveLength(1);
    expect(await reporter.flush(null as unknown as FlushOptions)).toBe(true);
    expect(await reporter.flush({ sync: false, waitDrained: false })).toBe(true);
    expect(wire.pending).toHaveLength(1);
    await stopNow(reporter);
  });

  it('with sync resolves true at once when everything accepted has already been delivered', async () => {
    const { reporter, wire } = start();
    await deliverStart(reporter, wire);
    await expect(reporter.flush({ sync: true })).resolves.toBe(true);
    await expect(reporter.flush({ waitDrained: true })).resolves.toBe(true);
    expect(wire.sent).toHaveLength(1);
    await stopNow(reporter);
  });

  it('with sync resolves true when only an event accepted after the call was dropped (SESSION_END displacing it)', async () => {
    const { reporter, wire } = start({ maxQueueSize: 3 });
    reporter.log('a');
    reporter.log('b');
    const flushed = track(reporter.flush({ sync: true }));
    await settle();
    expect(wire.pending[0]!.body.events.map((e) => e.event_session_index)).toEqual([0, 1, 2]);
    for (const name of ['c', 'd', 'e']) expect(reporter.log(name)).toBe(true);
    const stopped = reporter.stop();
    expect(reporter.stats().dropped.queue_full).toBe(1);
    expect(flushed.settled).toBe(false);
    wire.answer(ok);
    await settle(10);
    expect(flushed).toEqual({ settled: true, value: true });
    wire.answerAll();
    expect(await stopped).toBe(true);
  });

  it('with sync waits for the events before the call even when a later one, displaced by SESSION_END, reaches its outcome first', async () => {
    // One displaced event raises flushCounter to the waiter's target while SESSION_START, accepted before the call, is still in flight.
    const { reporter, wire } = start({ maxQueueSize: 1 });
    const flushed = track(reporter.flush({ sync: true }));
    await settle();
    expect(wire.pending[0]!.body.events.map((e) => e.event)).toEqual(['SESSION_START']);
    expect(reporter.log('a')).toBe(true);
    const stopped = reporter.stop();
    expect(reporter.stats()).toMatchObject({ flushCounter: 1, dropped: { queue_full: 1 } });
    await settle(10);
    expect(flushed.settled).toBe(false);
    wire.answer({ kind: 'rejected', status: 400 });
    await settle(10);
    expect(flushed).toEqual({ settled: true, value: false });
    wire.answerAll();
    expect(await stopped).toBe(true);
  });

  it('with sync resolves true when the event dropped is the very first one accepted after the call', async () => {
    const { reporter, wire } = start({ maxQueueSize: 1 });
    const flushed = track(reporter.flush({ sync: true }));
    await settle();
    // `a` gets the index the flush waits below (1), and SESSION_END displaces it.
    expect(reporter.log('a')).toBe(true);
    const stopped = reporter.stop();
    expect(reporter.stats().dropped.queue_full).toBe(1);
    wire.answer(ok);
    await settle(10);
    expect(flushed).toEqual({ settled: true, value: true });
    wire.answerAll();
    expect(await stopped).toBe(true);
  });

  it('with sync resolves false when an event accepted before the call is dropped by the stop deadline', async () => {
    const { reporter, wire } = start();
    reporter.log('a');
    const flushed = track(reporter.flush({ sync: true }));
    await settle();
    const stopped = reporter.stop(50);
    await vi.advanceTimersByTimeAsync(50);
    expect(await stopped).toBe(false);
    expect(reporter.stats().dropped.shutdown).toBe(3);
    expect(flushed).toEqual({ settled: true, value: false });
    expect(wire.sent).toHaveLength(1);
  });

  it('leaves no timer behind once a waitDrained flush is answered', async () => {
    const { reporter, wire } = start({ flushTimeoutMs: 10_000 });
    const flushed = reporter.flush({ waitDrained: true });
    await settle();
    wire.answer(ok);
    expect(await flushed).toBe(true);
    expect(reporter.stats().state).toBe('idle');
    expect(vi.getTimerCount()).toBe(0);
    wire.answerAll();
    await reporter.stop();
  });

  it('never hands the clock a timer handle it did not make, even for a wait without a deadline', async () => {
    const made = new Set<unknown>();
    const strictClock: Clock = {
      now: () => Date.now(),
      setTimeout: (fn, ms) => {
        const handle = setTimeout(fn, ms);
        made.add(handle);
        return handle;
      },
      clearTimeout: (handle) => {
        if (!made.has(handle)) throw new TypeError(`unknown timer handle ${String(handle)}`);
        clearTimeout(handle as ReturnType<typeof setTimeout>);
      },
    };
    const { reporter, wire, log } = start({ clock: strictClock });
    const flushed = track(reporter.flush({ sync: true }));
    await settle();
    wire.answer(ok);
    await settle(10);
    expect(flushed).toEqual({ settled: true, value: true });
    expect(log.records.filter((r) => r.level === 'error')).toEqual([]);
    expect(reporter.stats()).toMatchObject({ state: 'idle', deliveredCounter: 1 });
    await stopNow(reporter);
  });
});

describe('waitUntilDrained()', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('resolves true at once when nothing is left to send', async () => {
    const { reporter, wire } = start();
    await deliverStart(reporter, wire);
    await expect(reporter.waitUntilDrained()).resolves.toBe(true);
    await expect(reporter.waitUntilDrained(0)).resolves.toBe(true);
    await stopNow(reporter);
  });

  it('takes a timeout of 0 as "do not wait": false at once, without a warning', async () => {
    const { reporter, warnings } = start();
    const drained = track(reporter.waitUntilDrained(0));
    await vi.advanceTimersByTimeAsync(0);
    expect(drained).toEqual({ settled: true, value: false });
    expect(warnings()).toEqual([]);
    await stopNow(reporter);
  });

  it('waits the given timeout exactly: pending 1 ms before it, false at it', async () => {
    const { reporter, warnings } = start({ flushTimeoutMs: 500 });
    const drained = track(reporter.waitUntilDrained(1234));
    await vi.advanceTimersByTimeAsync(1233);
    expect(drained.settled).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(drained).toEqual({ settled: true, value: false });
    expect(warnings()).toEqual([]);
    await stopNow(reporter);
  });

  it.each([
    [-1, '-1'],
    [Number.NaN, 'NaN'],
    [Number.POSITIVE_INFINITY, 'Infinity'],
    ['250', '250'],
  ])('falls back to flushTimeoutMs for a timeout of %s, with a warning naming the value', async (value, shown) => {
    const { reporter, warnings } = start({ flushTimeoutMs: 500 });
    const drained = track(reporter.waitUntilDrained(value as number));
    await vi.advanceTimersByTimeAsync(499);
    expect(drained.settled).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(drained).toEqual({ settled: true, value: false });
    expect(warnings()).toEqual([`Telemetry waitUntilDrained(): expected a timeout in ms ≥ 0, got ${shown}; using flushTimeoutMs (500)`]);
    await stopNow(reporter);
  });

  it('caps a timeout above 2³¹−1 ms at the timer maximum instead of firing at once', async () => {
    const { reporter, warnings } = start();
    const drained = track(reporter.waitUntilDrained(2 ** 31 + 5));
    await vi.advanceTimersByTimeAsync(TIMER_MAX_MS - 1);
    expect(drained.settled).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(drained).toEqual({ settled: true, value: false });
    expect(warnings()).toEqual([]);
    await stopNow(reporter);
  });

  it('leaves no timer behind once the wait is answered before its deadline', async () => {
    const { reporter, wire } = start();
    const drained = reporter.waitUntilDrained(10_000);
    await settle();
    wire.answer(ok);
    expect(await drained).toBe(true);
    expect(reporter.stats().state).toBe('idle');
    expect(vi.getTimerCount()).toBe(0);
    wire.answerAll();
    await reporter.stop();
  });

  it('warns about a bad timeout once per method: waitUntilDrained() and stop() each warn once', async () => {
    const { reporter, warnings } = start({ flushTimeoutMs: 500 });
    const first = reporter.waitUntilDrained(-1);
    const second = reporter.waitUntilDrained(-2);
    const stopped = reporter.stop(-1);
    await vi.advanceTimersByTimeAsync(500);
    expect(await first).toBe(false);
    expect(await second).toBe(false);
    expect(await stopped).toBe(false);
    expect(warnings()).toEqual([
      'Telemetry waitUntilDrained(): expected a timeout in ms ≥ 0, got -1; using flushTimeoutMs (500)',
      'Telemetry stop(): expected a timeout in ms ≥ 0, got -1; using flushTimeoutMs (500)',
    ]);
  });
});

describe('stop()', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('falls back to flushTimeoutMs for a NaN timeout, warning with the value and the fallback', async () => {
    const { reporter, wire, warnings } = start({ flushTimeoutMs: 500 });
    const stopped = track(reporter.stop(Number.NaN));
    await vi.advanceTimersByTimeAsync(499);
    expect(stopped.settled).toBe(false);
    expect(wire.pending).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(stopped).toEqual({ settled: true, value: false });
    expect(warnings()).toEqual(['Telemetry stop(): expected a timeout in ms ≥ 0, got NaN; using flushTimeoutMs (500)']);
  });

  it('never throws for a timeout that cannot even be printed, and falls back to flushTimeoutMs', async () => {
    const { reporter, wire, warnings } = start({ flushTimeoutMs: 500 });
    const stopped = track(reporter.stop(Object.create(null) as number));
    await vi.advanceTimersByTimeAsync(499);
    expect(stopped.settled).toBe(false);
    expect(wire.pending).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(stopped).toEqual({ settled: true, value: false });
    expect(warnings()).toEqual(['Telemetry stop(): expected a timeout in ms ≥ 0, got an unprintable object; using flushTimeoutMs (500)']);
  });

  it('caps a timeout above 2³¹−1 ms at the timer maximum', async () => {
    const { reporter, warnings } = start();
    const stopped = track(reporter.stop(Number.MAX_SAFE_INTEGER));
    await vi.advanceTimersByTimeAsync(TIMER_MAX_MS - 1);
    expect(stopped.settled).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(stopped).toEqual({ settled: true, value: false });
    expect(warnings()).toEqual([]);
  });
});
