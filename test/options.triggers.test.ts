/**
 * Options that can never start a send by themselves: refused at start when
 * nothing would ever send before the queue is full, warned about when only
 * the flush timer is left to send.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createConfig } from '../src/config.js';
import { DEFAULT_OPTIONS, resolveOptions } from '../src/options.js';
import { startReporter } from '../src/reporter.js';
import { eventsOf, manualTransport, recordingLogger, settle, startTestReporter, stopNow, testOptions, thrownBy } from './helpers.js';

const config = createConfig({ apiKey: 'k', baseUrl: 'http://127.0.0.1:1' });
const base = { config, sessionId: 's' };

/** What `resolveOptions(input)` throws; fails the test when it returns. */
const errorOf = (input: unknown) => thrownBy(() => resolveOptions(input));

const deadThreshold = (threshold: number, queue: number, intervalMs: number) =>
  `Telemetry option \`flushThreshold\` (${threshold}) is above \`maxQueueSize\` (${queue}), so it is never reached: ` +
  `only the flush timer (\`flushIntervalMs\`, ${intervalMs} ms) starts a send, and events logged while the queue is full are dropped as queue_full`;

describe('a flushThreshold that maxQueueBytes can never hold', () => {
  // 4096 bytes hold at most 16 events of 256 bytes of fixed fields each.
  const small = { ...base, maxEventBytes: 1024, maxQueueBytes: 4096, flushIntervalMs: 0 };

  it('is refused without the flush timer at 17 events, naming flushThreshold and maxQueueBytes', () => {
    const error = errorOf({ ...small, flushThreshold: 17 });
    expect(error).toBeInstanceOf(RangeError);
    expect(error.message).toBe(
      'Expected `flushThreshold` to be ≤ 16 (the most events `maxQueueBytes` holds, at 256 bytes each) when `flushIntervalMs` is 0, got `17` (number)',
    );
  });

  it('is accepted at 16 events, and with the flush timer on', () => {
    expect(resolveOptions({ ...small, flushThreshold: 16 }).flushThreshold).toBe(16);
    expect(resolveOptions({ ...small, flushThreshold: 17, flushIntervalMs: 1 }).flushThreshold).toBe(17);
  });

  it('leaves the maxQueueSize message to a queue smaller than the bytes can hold', () => {
    expect(errorOf({ ...small, maxQueueSize: 10, flushThreshold: 17 }).message).toBe(
      'Expected `flushThreshold` to be ≤ `maxQueueSize` (10) when `flushIntervalMs` is 0, got `17` (number)',
    );
  });

  it('leaves the maxQueueSize message to a queue exactly as large as the bytes can hold', () => {
    expect(errorOf({ ...small, maxQueueSize: 16, flushThreshold: 17 }).message).toBe(
      'Expected `flushThreshold` to be ≤ `maxQueueSize` (16) when `flushIntervalMs` is 0, got `17` (number)',
    );
  });
});

describe('a flushThreshold the queue can never reach', () => {
  it('is refused without the flush timer, with a RangeError naming flushThreshold, maxQueueSize and flushIntervalMs', () => {
    const error = errorOf({ ...base, flushThreshold: 20_000, flushIntervalMs: 0 });
    expect(error).toBeInstanceOf(RangeError);
    expect(error.message).toBe('Expected `flushThreshold` to be ≤ `maxQueueSize` (10000) when `flushIntervalMs` is 0, got `20000` (number)');
    expect(error.code).toBe('ERR_TINKER_TELEMETRY_OPTION_OUT_OF_RANGE');
  });

  it('is refused at maxQueueSize + 1 and accepted at maxQueueSize, without a warning', () => {
    expect(errorOf({ ...base, maxQueueSize: 50, flushThreshold: 51, flushIntervalMs: 0 }).message).toBe(
      'Expected `flushThreshold` to be ≤ `maxQueueSize` (50) when `flushIntervalMs` is 0, got `51` (number)',
    );
    expect(resolveOptions({ ...base, maxQueueSize: 50, flushThreshold: 50, flushIntervalMs: 0 })).toMatchObject({ flushThreshold: 50, warnings: [] });
  });

  it('is refused when a small maxQueueSize leaves the default threshold out of reach', () => {
    expect(DEFAULT_OPTIONS.flushThreshold).toBe(100);
    expect(errorOf({ ...base, maxQueueSize: 99, flushIntervalMs: 0 }).message).toBe(
      'Expected `flushThreshold` to be ≤ `maxQueueSize` (99) when `flushIntervalMs` is 0, got `100` (number)',
    );
    expect(resolveOptions({ ...base, maxQueueSize: 100, flushIntervalMs: 0 }).warnings).toEqual([]);
  });

  it('is accepted with the flush timer, with one warning naming both options and the interval', () => {
    expect(resolveOptions({ ...base, flushThreshold: 20_000 }).warnings).toEqual([deadThreshold(20_000, 10_000, 10_000)]);
    expect(resolveOptions({ ...base, maxQueueSize: 5, flushThreshold: 6, flushIntervalMs: 1 }).warnings).toEqual([deadThreshold(6, 5, 1)]);
    expect(resolveOptions({ ...base, maxQueueSize: 5, flushThreshold: 5, flushIntervalMs: 1 }).warnings).toEqual([]);
  });

  it('leaves the defaults without a warning', () => {
    expect(resolveOptions(base).warnings).toEqual([]);
  });
});

describe('startReporter with a dead flushThreshold', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('throws rather than start a reporter that would drop all but the first maxQueueSize events', () => {
    const log = recordingLogger();
    expect(() => startReporter(testOptions(manualTransport().transport, log.logger, { maxQueueSize: 10, flushThreshold: 11, flushIntervalMs: 0 }))).toThrow(
      'Expected `flushThreshold` to be ≤ `maxQueueSize` (10) when `flushIntervalMs` is 0, got `11` (number)',
    );
  });

  it('throws even when telemetry is disabled, as for any bad option', () => {
    expect(() => startReporter({ config, sessionId: 's', enabled: false, flushIntervalMs: 0, flushThreshold: 20_000 })).toThrow(RangeError);
  });

  it('logs the warning once, with the session bindings, and the timer still sends', async () => {
    const { reporter, wire, log } = startTestReporter({ maxQueueSize: 3, flushThreshold: 4, flushIntervalMs: 1000 });
    expect(log.records).toEqual([{ level: 'warn', obj: { component: 'tinker-telemetry', sessionId: 'session-1' }, msg: deadThreshold(4, 3, 1000) }]);
    reporter.log('a');
    reporter.log('b');
    await settle();
    expect(wire.sent).toEqual([]);
    await vi.advanceTimersByTimeAsync(1000);
    expect(eventsOf(wire.sent).map((e) => e.event)).toEqual(['SESSION_START', 'GENERIC_EVENT', 'GENERIC_EVENT']);
    wire.answerAll();
    await stopNow(reporter);
    expect(log.records.filter((r) => r.msg === deadThreshold(4, 3, 1000))).toHaveLength(1);
  });

  it('warns nothing when telemetry is disabled: there is no reporter to warn about', () => {
    const log = recordingLogger();
    expect(startReporter({ config, sessionId: 's', enabled: false, flushThreshold: 20_000, logger: log.logger })).toBeNull();
    expect(log.records).toEqual([]);
  });
});
