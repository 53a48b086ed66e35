/**
 * The reporter's refusals at their edges: which reason a refusal after the
 * end or on a full queue counts, what a refused event's data or error is
 * never read for, a name exactly as long as a whole event, the bytes an
 * exception's traceback counts, one warning per kind of bad severity, the
 * first queue_bytes warning; and the send path's own guards (a rejected
 * outbox send, a cancelled head start).
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { BatchBuilder } from '../src/core/batch-builder.js';
import { Outbox } from '../src/core/outbox.js';
import { type Severity, WIRE_BYTES_PER_CHAR } from '../src/core/wire.js';
import { LifecycleSignals } from '../src/host/lifecycle.js';
import { SafeLogger } from '../src/host/logger.js';
import { eventsOf, recordingLogger, settle, startTestReporter, stopNow } from './helpers.js';

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.restoreAllMocks();
  vi.useRealTimers();
});

/** An object that counts every property read, of itself and of what it wraps. */
function counted<T extends object>(target: T): { value: T; reads: () => number } {
  let reads = 0;
  const value = new Proxy(target, {
    get(t, p, r) {
      reads++;
      return Reflect.get(t, p, r) as unknown;
    },
  });
  return { value, reads: () => reads };
}

describe('a refusal after the session ended', () => {
  it('counts log() with a bad severity after stop() as after_stop, not invalid', async () => {
    const { reporter } = startTestReporter();
    await stopNow(reporter);
    expect(reporter.log('late', {}, 'loud' as Severity)).toBe(false);
    expect(reporter.stats().dropped).toMatchObject({ after_stop: 1, invalid: 0 });
  });

  it('counts logException() with a bad severity after stop() as after_stop, not invalid', async () => {
    const { reporter } = startTestReporter();
    await stopNow(reporter);
    expect(reporter.logException(new Error('late'), 'loud' as Severity)).toBe(false);
    expect(reporter.stats().dropped).toMatchObject({ after_stop: 1, invalid: 0 });
  });
});

describe('a refusal on a full queue', () => {
  const full = () => {
    const started = startTestReporter({ maxQueueSize: 2, flushThreshold: 2, flushIntervalMs: 60_000 });
    // SESSION_START and 'one' reach the threshold and leave in a send that never answers; 'two' and 'three' fill the queue behind it.
    expect(['one', 'two', 'three'].map((name) => started.reporter.log(name))).toEqual([true, true, true]);
    expect(started.reporter.stats()).toMatchObject({ queueSize: 2, inFlight: 2 });
    return started;
  };

  it('never reads the data of an event log() refuses as queue_full', async () => {
    const { reporter } = full();
    const data = counted({ a: 1 });
    expect(reporter.log('refused', data.value)).toBe(false);
    expect(data.reads()).toBe(0);
    expect(reporter.stats().dropped.queue_full).toBeGreaterThan(0);
    await stopNow(reporter);
  });

  it('never reads the error logException() refuses as queue_full', async () => {
    const { reporter } = full();
    const error = counted(new Error('refused'));
    expect(reporter.logException(error.value)).toBe(false);
    expect(error.reads()).toBe(0);
    await stopNow(reporter);
  });
});

describe('sizes', () => {
  it('keeps a name exactly maxEventBytes long whole when logged: it is cut once, to fit the event, and counted as sent', async () => {
    const name = 'n'.repeat(1024);
    const { reporter, wire } = startTestReporter({ maxEventBytes: 1024, flushIntervalMs: 60_000 }, () => ({ kind: 'ok', status: 200 }));
    const before = reporter.stats().queueBytes;
    expect(reporter.log(name)).toBe(true);
    const counted = reporter.stats().queueBytes - before;
    await stopNow(reporter);
    const event = eventsOf(wire.sent).find((e) => e.event === 'GENERIC_EVENT') as { event_name: string };
    const [, kept = '', omitted = ''] = /^(n*)…\[truncated (\d+) chars\]$/.exec(event.event_name) ?? [];
    // Cut once: had log() cut it too, the count would include the first marker's characters.
    expect(kept.length + Number(omitted)).toBe(1024);
    expect(counted).toBe(Buffer.byteLength(JSON.stringify(event)));
    expect(counted).toBeLessThanOrEqual(1024);
  });

  it('counts an exception’s traceback in the bytes it takes in the queue', () => {
    const { reporter } = startTestReporter({ flushIntervalMs: 60_000 });
    // The first exception starts a send that never answers; the next ones stay queued behind it.
    expect(reporter.logException(new Error('first'))).toBe(true);
    const grows = (stack: string) => {
      const error = new Error('same');
      error.stack = stack;
      const before = reporter.stats().queueBytes;
      expect(reporter.logException(error)).toBe(true);
      return reporter.stats().queueBytes - before;
    };
    // Bounded at 6 bytes a code unit up to MEASURED_FROM_CHARS, measured above it: ASCII takes 1 byte a code unit.
    expect(grows('s'.repeat(1000 + 10)) - grows('s'.repeat(10))).toBe(1000 * WIRE_BYTES_PER_CHAR);
    expect(grows('s'.repeat(5000)) - grows('s'.repeat(4000))).toBe(1000);
  });

  it('refuses a user error as queue_bytes when it would take the queue over maxQueueBytes', async () => {
    const { reporter } = startTestReporter({ maxEventBytes: 1024, maxQueueBytes: 2560, flushIntervalMs: 60_000 });
    while (reporter.log('fill', { pad: 'p'.repeat(300) }));
    const dropped = reporter.stats().dropped.queue_bytes;
    const userError = Object.assign(new Error('m'.repeat(900)), { status: 404 });
    expect(reporter.logException(userError)).toBe(false);
    expect(reporter.stats().dropped.queue_bytes).toBe(dropped + 1);
    await stopNow(reporter);
  });
});

describe('warnings about a bad severity', () => {
  it('warns once for a null severity and once more for an object one: null is a kind of its own', async () => {
    const { reporter, log } = startTestReporter();
    expect(reporter.log('a', {}, null as unknown as Severity)).toBe(false);
    expect(reporter.log('b', {}, {} as Severity)).toBe(false);
    expect(log.records.filter((r) => r.level === 'warn' && r.msg?.includes('severity')).map((r) => r.msg)).toEqual([
      'Telemetry event refused: severity `null` (null) is not one of debug, info, warning, error, critical',
      expect.stringContaining('Telemetry event refused: severity '),
    ]);
    await stopNow(reporter);
  });
});

describe('the send path’s own guards', () => {
  it('logs an outbox send that rejects as an internal error of send(), instead of leaving the rejection unhandled', async () => {
    vi.spyOn(Outbox.prototype, 'send').mockRejectedValue(new Error('outbox broke'));
    const { reporter, log } = startTestReporter();
    reporter.log('x');
    await vi.advanceTimersByTimeAsync(1000);
    await settle();
    expect(log.records.filter((r) => r.level === 'error').map((r) => r.msg)).toContain('Telemetry send() failed internally');
    await stopNow(reporter);
  });

  it('cancels the head start of the next batch when the answer comes before it ran', async () => {
    const ahead = vi.spyOn(BatchBuilder.prototype, 'encodeAhead');
    const { reporter } = startTestReporter({ maxBatchSize: 1, flushIntervalMs: 60_000 }, () => ({ kind: 'ok', status: 200 }));
    for (let i = 0; i < 3; i++) reporter.log(`e${i}`);
    reporter.logException(new Error('starts a flush'));
    // The answers come as microtasks: each cancels its head start before the check phase could run it.
    await settle(50);
    await vi.runAllTimersAsync();
    expect(ahead).not.toHaveBeenCalled();
    await stopNow(reporter);
  });
});

describe('the queue_bytes warning', () => {
  it('warns for the first queue_bytes drop even when it comes at pushCounter 1', () => {
    const { logger, records } = recordingLogger();
    const signals = new LifecycleSignals('session-1', new SafeLogger(logger, {}));
    signals.dropped('queue_bytes', 1, { pushCounter: 1, maxQueueSize: 10, maxQueueBytes: 2560, last: undefined });
    expect(records.map((r) => r.msg)).toEqual(['Telemetry queue holds maxQueueBytes (2560 bytes), dropping event']);
  });
});

describe('the logger’s child', () => {
  it('reads a logger’s child once and binds through what it read, even when child is an accessor that changes', () => {
    const records: object[] = [];
    const sink = { warn: (obj: object) => records.push(obj), info() {}, error() {}, debug() {} };
    let reads = 0;
    const base = {
      ...sink,
      get child() {
        reads++;
        return reads === 1 ? (bindings: Record<string, unknown>) => ({ ...sink, warn: (obj: object) => records.push({ ...bindings, ...obj }) }) : undefined;
      },
    };
    new SafeLogger(base, { component: 'c' }).warn({ a: 1 }, 'm');
    expect(reads).toBe(1);
    expect(records).toEqual([{ component: 'c', a: 1 }]);
  });
});
