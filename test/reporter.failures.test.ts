/**
 * Telemetry never throws into the host: a failure inside a public method is
 * logged at error, with a summary of the cause, and the method returns (or
 * resolves) false; a failure inside the lifecycle machine abandons the
 * session, counting what was left as `shutdown`.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Clock } from '../src/core/clock.js';
import { SafeLogger } from '../src/host/logger.js';
import { type ReporterOptions, resolveOptions } from '../src/options.js';
import { type FlushOptions, TelemetryReporter, startReporter } from '../src/reporter.js';
import { manualTransport, recordingLogger, settle, testOptions } from './helpers.js';

const ok = { kind: 'ok', status: 200 } as const;

/** The real clock, except that `now()` throws while `broken` runs its callback. */
function breakableClock() {
  let broken = false;
  const clock: Clock = {
    now: () => {
      if (broken) throw new Error('clock stopped');
      return Date.now();
    },
    setTimeout: (fn, ms) => setTimeout(fn, ms),
    clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
  };
  return {
    clock,
    broken<T>(fn: () => T): T {
      broken = true;
      try {
        return fn();
      } finally {
        broken = false;
      }
    },
  };
}

function options(overrides: Partial<ReporterOptions> = {}) {
  const wire = manualTransport();
  const log = recordingLogger();
  const given = testOptions(wire.transport, log.logger, { flushTimeoutMs: 500, ...overrides });
  const errors = () => log.records.filter((r) => r.level === 'error');
  return { given, wire, log, errors };
}

function start(overrides: Partial<ReporterOptions> = {}) {
  const { given, ...rest } = options(overrides);
  return { reporter: startReporter(given) as TelemetryReporter, ...rest };
}

/** The error record of an internal failure in `method`, with the cause summarised. */
function internalFailure(method: string, message: string) {
  return {
    level: 'error',
    msg: `Telemetry ${method}() failed internally`,
    obj: { component: 'tinker-telemetry', sessionId: 'session-1', err: { name: 'Error', message } },
  };
}

describe('an internal failure in a public method', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('makes log() return false and log the failure at error, not throw', async () => {
    const time = breakableClock();
    const { reporter, errors, wire } = start({ clock: time.clock });
    expect(time.broken(() => reporter.log('step', { i: 1 }))).toBe(false);
    expect(errors()).toEqual([internalFailure('log', 'clock stopped')]);
    expect(reporter.log('step', { i: 2 })).toBe(true);
    wire.answerAll();
    expect(await reporter.stop()).toBe(true);
  });

  it('makes logException() return false and log the failure at error, not throw', async () => {
    const time = breakableClock();
    const { reporter, errors, wire } = start({ clock: time.clock });
    expect(time.broken(() => reporter.logException(new Error('user code failed')))).toBe(false);
    expect(errors()).toEqual([internalFailure('logException', 'clock stopped')]);
    wire.answerAll();
    expect(await reporter.stop()).toBe(true);
  });

  it('makes logFatalException() resolve false and log the failure at error, not reject', async () => {
    const time = breakableClock();
    const { reporter, errors, wire } = start({ clock: time.clock });
    const fatal = time.broken(() => reporter.logFatalException(new Error('user code failed')));
    await expect(fatal).resolves.toBe(false);
    expect(errors()).toEqual([internalFailure('logFatalException', 'clock stopped')]);
    wire.answerAll();
    expect(await reporter.stop()).toBe(true);
  });

  it('makes flush() resolve false and log the failure at error, not reject', async () => {
    const { reporter, errors, wire } = start();
    const hostile = {
      get sync(): boolean {
        throw new Error('options unreadable');
      },
    } as FlushOptions;
    await expect(reporter.flush(hostile)).resolves.toBe(false);
    expect(errors()).toEqual([internalFailure('flush', 'options unreadable')]);
    wire.answerAll();
    expect(await reporter.stop()).toBe(true);
  });

  it('makes waitUntilDrained() resolve false and log the failure at error, not reject', async () => {
    const { reporter, errors, wire } = start();
    // SESSION_START is pending, so the wait sets its deadline, and the clock's setTimeout is made to fail.
    const setTimeoutOf = vi.spyOn(globalThis, 'setTimeout').mockImplementationOnce(() => {
      throw new Error('no timers');
    });
    await expect(reporter.waitUntilDrained(1000)).resolves.toBe(false);
    setTimeoutOf.mockRestore();
    expect(errors()).toEqual([internalFailure('waitUntilDrained', 'no timers')]);
    wire.answerAll();
    expect(await reporter.stop()).toBe(true);
  });

  it('makes waitUntilDrained() fall back to flushTimeoutMs, not fail, for a timeout that cannot be printed', async () => {
    const { reporter, errors, wire } = start();
    const unprintable = {
      [Symbol.toPrimitive]() {
        throw new Error('timeout unprintable');
      },
    };
    const waited = reporter.waitUntilDrained(unprintable as unknown as number);
    wire.answerAll();
    await expect(waited).resolves.toBe(true);
    expect(errors()).toEqual([]);
    expect(await reporter.stop()).toBe(true);
  });

  it('makes stop() resolve false and log the failure at error, not reject, and still close the transport', async () => {
    const time = breakableClock();
    const { reporter, errors, wire } = start({ clock: time.clock });
    const stopped = time.broken(() => reporter.stop());
    await expect(stopped).resolves.toBe(false);
    expect(errors()).toEqual([internalFailure('stop', 'clock stopped')]);
    expect(wire.closed()).toBe(1);
    expect(reporter.stop()).toBe(stopped);
  });
});

describe('a failure inside the lifecycle machine', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
    vi.restoreAllMocks();
  });

  it('is logged at error, abandons the session counting what was left as shutdown, and lets stop() resolve', async () => {
    const { given, wire, log, errors } = options({ maxBatchSize: 2 });
    const resolved = resolveOptions(given);
    const logger = new SafeLogger(resolved.logger, { component: 'tinker-telemetry', sessionId: resolved.sessionId });
    const reporter = new TelemetryReporter(resolved, logger, {
      adjustMachine: (machine) =>
        machine.provide({
          actions: {
            deliverBatch: () => {
              throw new Error('deliver failed');
            },
          },
        }),
    });
    reporter.log('a');
    reporter.log('b');
    void reporter.flush();
    await settle();
    expect(wire.pending).toHaveLength(1);
    wire.answer(ok);
    await settle(10);
    expect(errors()).toEqual([
      {
        level: 'error',
        msg: 'Telemetry lifecycle failed; the session is abandoned',
        obj: { component: 'tinker-telemetry', sessionId: 'session-1', err: { name: 'Error', message: 'deliver failed' } },
      },
    ]);
    const stats = reporter.stats();
    expect(stats).toMatchObject({ queueSize: 0, inFlight: 0, pushCounter: 3, flushCounter: 3, deliveredCounter: 0 });
    expect(stats.dropped.shutdown).toBe(3);
    expect(log.text()).not.toContain('sk-test-0123456789abcdef');
    // Nothing is sent to the stopped machine, so XState prints nothing outside the logger.
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    await expect(reporter.stop()).resolves.toBe(true);
    await expect(reporter.flush()).resolves.toBe(true);
    expect(warn).not.toHaveBeenCalled();
    expect(wire.sent).toHaveLength(1);
  });

  it('sends nothing to the machine once the session has ended: no warning from XState on stderr', async () => {
    const { given, wire } = options();
    const reporter = new TelemetryReporter(resolveOptions(given), new SafeLogger(resolveOptions(given).logger, {}));
    wire.answerAll();
    await expect(reporter.stop()).resolves.toBe(true);
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    await expect(reporter.flush()).resolves.toBe(true);
    await expect(reporter.waitUntilDrained()).resolves.toBe(true);
    await expect(reporter.stop()).resolves.toBe(true);
    expect(reporter.logException(new Error('late'))).toBe(false);
    expect(warn).not.toHaveBeenCalled();
  });
});
