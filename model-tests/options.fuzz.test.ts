/**
 * Fuzzing of `startReporter`'s options: whatever a caller passes, it gets
 * either a working reporter or, at once, a TypeError or RangeError whose
 * message names the offending option, never another error and never a
 * failure later inside the host application.
 */
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FORWARDABLE_CHANNELS } from '../src/host/channels.js';
import { createConfig, startReporter } from '../src/index.js';
import type { ReporterOptions } from '../src/options.js';

const seed = Number(process.env.FC_SEED ?? Date.now() % 2 ** 31);
console.log(`options.fuzz FC_SEED=${seed}`);
const runOptions = { seed, numRuns: 200 };

const silentLogger = { warn() {}, info() {}, error() {}, debug() {} };

/** A valid base that touches neither the network, the disk nor the process's hooks. */
function baseOptions(): Record<string, unknown> {
  return {
    config: createConfig({ apiKey: 'k', baseUrl: 'http://127.0.0.1:9' }),
    sessionId: 's',
    enabled: true,
    attachEvents: false,
    transport: { send: async () => ({ kind: 'ok', status: 200 }) },
    logger: silentLogger,
    drainOnExit: false,
  };
}

// spoolDir and handleSignals/captureUncaught get their own generators below:
// a real directory would touch the disk, and real signals or uncaught
// handlers would hook this process.
const FREE_KEYS = [
  'config',
  'sessionId',
  'handlerId',
  'events',
  'attachEvents',
  'flushIntervalMs',
  'flushThreshold',
  'flushTimeoutMs',
  'httpTimeoutMs',
  'maxRetries',
  'retryBaseDelayMs',
  'maxQueueSize',
  'maxBatchSize',
  'maxEventBytes',
  'maxBatchBytes',
  'maxQueueBytes',
  'drainOnExit',
  'maxSpoolBytes',
  'enabled',
  'logger',
  'inspect',
  'transport',
  'clock',
  'random',
] as const;
const UNKNOWN_KEYS = ['maxBatchSise', 'timeout', 'apiKey', 'flushinterval', '__proto__x', 'x'] as const;

const targeted = fc.constantFrom<unknown>(
  -1,
  0,
  0.5,
  1,
  1023,
  1024,
  2 ** 31 - 1,
  2 ** 31,
  Number.MAX_SAFE_INTEGER,
  1e300,
  Number.NaN,
  Number.POSITIVE_INFINITY,
  Number.NEGATIVE_INFINITY,
  -0,
  '',
  ' ',
  '10',
  'abc',
  [],
  ['tinker:telemetry:http'],
  [1],
  {},
  null,
  undefined,
  true,
  false,
  () => undefined,
  () => 0.5,
  Symbol('s'),
  10n,
);
const anyValue = fc.oneof(fc.anything(), targeted);

const MAX_TIMER = 2 ** 31 - 1;
const nonBlank = fc.string({ minLength: 1 }).filter((s) => s.trim() !== '');
const throwing = (): never => {
  throw new Error('hostile callback');
};
/** Valid values, edge ones included, so that many runs start a reporter with them instead of failing validation. */
const VALID: Record<string, fc.Arbitrary<unknown>> = {
  sessionId: nonBlank,
  handlerId: nonBlank,
  events: fc.subarray([...FORWARDABLE_CHANNELS]),
  attachEvents: fc.boolean(),
  drainOnExit: fc.boolean(),
  enabled: fc.boolean(),
  flushIntervalMs: fc.oneof(fc.constantFrom(0, 1, MAX_TIMER), fc.integer({ min: 0, max: MAX_TIMER })),
  flushThreshold: fc.oneof(fc.constantFrom(1, MAX_TIMER), fc.integer({ min: 1, max: MAX_TIMER })),
  flushTimeoutMs: fc.oneof(fc.constantFrom(1, MAX_TIMER), fc.integer({ min: 1, max: MAX_TIMER })),
  httpTimeoutMs: fc.oneof(fc.constantFrom(1, MAX_TIMER), fc.integer({ min: 1, max: MAX_TIMER })),
  maxRetries: fc.oneof(fc.constantFrom(0, MAX_TIMER), fc.integer({ min: 0, max: MAX_TIMER })),
  retryBaseDelayMs: fc.oneof(fc.constantFrom(0, MAX_TIMER), fc.integer({ min: 0, max: MAX_TIMER })),
  maxQueueSize: fc.oneof(fc.constantFrom(1, MAX_TIMER), fc.integer({ min: 1, max: MAX_TIMER })),
  maxBatchSize: fc.oneof(fc.constantFrom(1, MAX_TIMER), fc.integer({ min: 1, max: MAX_TIMER })),
  maxEventBytes: fc.oneof(fc.constantFrom(1024, 2 ** 26), fc.integer({ min: 1024, max: 2 ** 21 })),
  maxBatchBytes: fc.oneof(fc.constant(2 ** 28), fc.integer({ min: 2 ** 27, max: 2 ** 28 })),
  maxQueueBytes: fc.oneof(fc.constantFrom(2 ** 27 + 512, Number.MAX_SAFE_INTEGER), fc.integer({ min: 2 ** 27 + 512, max: Number.MAX_SAFE_INTEGER })),
  maxSpoolBytes: fc.oneof(fc.constantFrom(1, Number.MAX_SAFE_INTEGER), fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER })),
  logger: fc.constantFrom<unknown>(
    { warn: throwing, info: throwing, error: throwing, debug: throwing },
    { ...silentLogger, child: () => silentLogger },
    { ...silentLogger, child: throwing },
  ),
  inspect: fc.constantFrom<unknown>(() => undefined, throwing, { next: throwing }, { next() {}, error: throwing }),
  transport: fc.constantFrom<unknown>(
    { send: async () => ({ kind: 'ok', status: 200 }) },
    { send: async () => ({ kind: 'rejected', status: 400 }) },
    { send: async () => ({ kind: 'retryable', reason: 'down' }) },
    { send: async () => Promise.reject(new Error('down')) },
    { send: throwing },
  ),
  random: fc.constantFrom<unknown>(
    () => Number.NaN,
    () => 1,
    () => -5,
    () => Number.POSITIVE_INFINITY,
    throwing,
    Math.random,
  ),
};

/** True for values that would hook the process: any array naming a signal, or `true`. */
function hooksProcess(value: unknown): boolean {
  return value === true || (Array.isArray(value) && value.some((v) => typeof v === 'string' && v.startsWith('SIG')));
}

const override = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...Object.keys(VALID)).chain((key) => fc.tuple(fc.constant(key), VALID[key]!)) },
  fc.tuple(fc.constantFrom<string>(...FREE_KEYS), anyValue),
  fc.tuple(fc.constantFrom<string>(...UNKNOWN_KEYS), anyValue),
  fc.tuple(
    fc.constant('spoolDir'),
    anyValue.filter((v) => typeof v !== 'string'),
  ),
  fc.tuple(
    fc.constantFrom('handleSignals', 'captureUncaught'),
    anyValue.filter((v) => !hooksProcess(v)),
  ),
);
const overrides = fc.uniqueArray(override, { minLength: 1, maxLength: 3, selector: ([key]) => key });

/** Whether `message` names `key` in backticks, an element of it (`events[0]`) included. */
function namesKey(message: string, key: string): boolean {
  return message.includes(`\`${key}\``) || message.includes(`\`${key}[`);
}

describe('startReporter with fuzzed options', () => {
  const rejections: unknown[] = [];
  const onRejection = (reason: unknown): void => {
    rejections.push(reason);
  };
  beforeEach(() => {
    rejections.length = 0;
    process.on('unhandledRejection', onRejection);
  });
  afterEach(() => {
    process.off('unhandledRejection', onRejection);
  });

  it('either throws a TypeError/RangeError naming an overridden option, or gives a reporter that logs and stops cleanly', async () => {
    const beforeExit = process.listenerCount('beforeExit');
    const uncaught = process.listenerCount('uncaughtException');
    const outcomes = { thrown: 0, started: 0, disabled: 0 };
    await fc.assert(
      fc.asyncProperty(overrides, async (pairs) => {
        const options = baseOptions();
        for (const [key, value] of pairs) options[key] = value;
        let reporter: ReturnType<typeof startReporter>;
        try {
          reporter = startReporter(options as unknown as ReporterOptions);
        } catch (error) {
          expect(error instanceof TypeError || error instanceof RangeError, String(error)).toBe(true);
          const message = (error as Error).message;
          expect(
            pairs.some(([key]) => namesKey(message, key)),
            `${message} names none of ${pairs.map(([k]) => k).join(', ')}`,
          ).toBe(true);
          outcomes.thrown++;
          return;
        }
        if (reporter === null) {
          expect(options.enabled).toBe(false);
          outcomes.disabled++;
          return;
        }
        expect(typeof reporter.log('e', {})).toBe('boolean');
        expect(typeof reporter.stats()).toBe('object');
        await expect(reporter.stop(50)).resolves.toSatisfy((v: unknown) => typeof v === 'boolean');
        // Lets a rejection left behind by the stop surface before the next run.
        await new Promise((resolve) => setImmediate(resolve));
        expect(rejections).toEqual([]);
        outcomes.started++;
      }),
      runOptions,
    );
    console.log(`options.fuzz outcomes ${JSON.stringify(outcomes)}`);
    // Both branches must be exercised, or the property holds vacuously.
    expect(outcomes.thrown).toBeGreaterThan(0);
    expect(outcomes.started).toBeGreaterThan(0);
    // A stopped reporter leaves none of the process's hooks behind.
    expect(process.listenerCount('beforeExit')).toBe(beforeExit);
    expect(process.listenerCount('uncaughtException')).toBe(uncaught);
  });
});
