/**
 * The edges of the session's option checks: values that are not objects
 * where an object is wanted (null, a string, a function), the options of
 * `submit()` that are no object at all or carry a foreign signal, and the
 * deadline `close(value)` takes: its bounds, and how its warning shows each
 * kind of wrong value.
 */
import { describe, expect, it } from 'vitest';
import { checkCloseTimeout, checkFutureOptions, resolveSessionOptions } from '../src/session-options.js';
import { TEST_CONFIG, thrownBy } from './helpers.js';

const base = { config: TEST_CONFIG };
const METADATA_EXPECTED = 'a JSON object (plain data that JSON.stringify can write)';
const LOGGER_EXPECTED = 'a pino-compatible logger (warn, info, error and debug functions)';

function expectTypeError(error: Error & { code?: string }, message: string): void {
  expect(error).toBeInstanceOf(TypeError);
  expect(error.message).toBe(message);
  expect(error.code).toBe('ERR_TINKER_TELEMETRY_INVALID_OPTION');
}

describe('createSession’s object options, given something that is not an object', () => {
  it('refuse null as `telemetry` in the one template, not with a TypeError from reading its keys', () => {
    const error = thrownBy(() => resolveSessionOptions({ ...base, telemetry: null }, {}));
    expectTypeError(error, 'Expected `telemetry` to be an object of reporter options, got `null` (null)');
  });

  it.each<[string, unknown, string]>([
    ['null', null, '`null` (null)'],
    ['a string', 'step=1', '`"step=1"` (string)'],
    ['a number', 7, '`7` (number)'],
  ])('refuse %s as `userMetadata`, which JSON could write but is no object', (_label, userMetadata, got) => {
    const error = thrownBy(() => resolveSessionOptions({ ...base, userMetadata }, {}));
    expectTypeError(error, `Expected \`userMetadata\` to be ${METADATA_EXPECTED}, got ${got}`);
  });

  it('refuse null as `logger` in the one template, not with a TypeError from reading its methods', () => {
    const error = thrownBy(() => resolveSessionOptions({ ...base, logger: null }, {}));
    expectTypeError(error, `Expected \`logger\` to be ${LOGGER_EXPECTED}, got \`null\` (null)`);
  });

  it('refuse a function as `logger` even when it carries all four methods', () => {
    const noop = () => undefined;
    const logger = Object.assign(() => undefined, { warn: noop, info: noop, error: noop, debug: noop });
    const error = thrownBy(() => resolveSessionOptions({ ...base, logger }, {}));
    expectTypeError(error, `Expected \`logger\` to be ${LOGGER_EXPECTED}, got \`[function]\` (function)`);
  });
});

describe('the options of submit() and retrieveFuture(), at their edges', () => {
  it.each<[string, unknown, string]>([
    ['null', null, '`null` (null)'],
    ['a string', 'OptimStep', '`"OptimStep"` (string)'],
  ])('refuse %s as the options, naming `options` rather than a missing requestType', (_label, options, got) => {
    expectTypeError(
      thrownBy(() => checkFutureOptions(options)),
      `Expected \`options\` to be an object with a requestType, got ${got}`,
    );
  });

  it('refuse a signal that is not an AbortSignal', () => {
    expectTypeError(
      thrownBy(() => checkFutureOptions({ requestType: 'OptimStep', signal: { aborted: false } })),
      'Expected `signal` to be an AbortSignal, got `[object]` (object)',
    );
  });

  it('pass an AbortSignal through', () => {
    const signal = new AbortController().signal;
    expect(checkFutureOptions({ requestType: 'OptimStep', signal }).signal).toBe(signal);
  });
});

describe('the deadline of close(value)', () => {
  const API_KEY = 'sk-test-0123456789abcdef';
  const warningFor = (shown: string) => `Tinker session close(): expected a timeout in ms from 0 to 2^31−1, got ${shown}; using 5000`;

  it('use the fallback, without a warning, when no value is given', () => {
    expect(checkCloseTimeout(undefined, 5000, API_KEY)).toStrictEqual({ timeoutMs: 5000 });
  });

  it.each([0, 1, 2 ** 31 - 1])('take %d, an integer from 0 to 2^31−1, without a warning', (value) => {
    expect(checkCloseTimeout(value, 5000, API_KEY)).toStrictEqual({ timeoutMs: value });
  });

  it.each<[unknown, string]>([
    [-1, '-1'],
    [2 ** 31, '2147483648'],
    [2 ** 31 + 1, '2147483649'],
    [1.5, '1.5'],
    [Number.NaN, 'NaN'],
    ['100', '"100"'],
    [true, 'a boolean'],
    [null, 'a object'],
    [{ timeoutMs: 100 }, 'a object'],
  ])('fall back for %j with a warning that shows it as %s', (value, shown) => {
    expect(checkCloseTimeout(value, 5000, API_KEY)).toStrictEqual({ timeoutMs: 5000, warning: warningFor(shown) });
  });

  it('quote a string value with the API key redacted from it', () => {
    const { warning } = checkCloseTimeout(`key ${API_KEY}`, 5000, API_KEY);
    expect(warning).toContain('got "key ');
    expect(warning).not.toContain(API_KEY);
  });
});
