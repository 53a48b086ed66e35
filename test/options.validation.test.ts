/**
 * The exact errors of `resolveOptions`: every check names its option, what it
 * expected and what it got, with the error class and code of its kind.
 */
import { describe, expect, it } from 'vitest';
import { FORWARDABLE_CHANNELS } from '../src/host/channels.js';
import { createConfig } from '../src/config.js';
import { resolveOptions } from '../src/options.js';
import { thrownBy } from './helpers.js';

const config = createConfig({ apiKey: 'k', baseUrl: 'http://127.0.0.1:1' });
const base = { config, sessionId: 's' };

const KNOWN =
  'config, sessionId, handlerId, events, attachEvents, flushIntervalMs, flushThreshold, flushTimeoutMs, httpTimeoutMs, maxRetries, ' +
  'retryBaseDelayMs, maxQueueSize, maxBatchSize, maxEventBytes, maxBatchBytes, maxQueueBytes, drainOnExit, handleSignals, captureUncaught, spoolDir, ' +
  'maxSpoolBytes, enabled, logger, inspect, transport, clock, random';

/** What `resolveOptions(input)` throws; fails the test when it returns. */
const errorOf = (input: unknown) => thrownBy(() => resolveOptions(input));

function expectTypeError(input: unknown, message: string): void {
  const error = errorOf(input);
  expect(error).toBeInstanceOf(TypeError);
  expect(error.message).toBe(message);
}

function expectRangeError(input: unknown, message: string): void {
  const error = errorOf(input);
  expect(error).toBeInstanceOf(RangeError);
  expect(error.message).toBe(message);
  expect(error.code).toBe('ERR_TINKER_TELEMETRY_OPTION_OUT_OF_RANGE');
}

const noop = () => undefined;
const logger = { warn: noop, info: noop, error: noop, debug: noop };
const clock = { now: () => 0, setTimeout: noop, clearTimeout: noop };
const transport = { send: noop };

describe('the options object', () => {
  it.each([
    [42, 'Expected `options` to be an object, got `42` (number)'],
    ['s', 'Expected `options` to be an object, got `"s"` (string)'],
    [undefined, 'Expected `options` to be an object, got `undefined` (undefined)'],
    [null, 'Expected `options` to be an object, got `null` (null)'],
    [[base], 'Expected `options` to be an object, got `[array]` (array)'],
  ])('refuses %j as the options, naming `options`', (input, message) => {
    expectTypeError(input, message);
    expect(errorOf(input).code).toBe('ERR_TINKER_TELEMETRY_INVALID_OPTION');
  });

  it('lists every known option when a name is not close to any of them', () => {
    expectTypeError({ ...base, zzzzzzzzzzzz: 1 }, `Unknown option \`zzzzzzzzzzzz\` for startReporter. Known options: ${KNOWN}`);
  });

  it('suggests the close option in the unknown-option message', () => {
    expectTypeError(
      { ...base, flushIntervalMS: 5 },
      `Unknown option \`flushIntervalMS\` for startReporter. Did you mean \`flushIntervalMs\`? Known options: ${KNOWN}`,
    );
  });
});

describe('config', () => {
  const made = { apiKey: 'k', baseUrl: 'http://x.test', telemetryEndpoint: 'http://x.test/api/v1/telemetry' };
  const refusal = (got: string) => `Expected \`config\` to be a Config made by createConfig(), got ${got}`;

  it('accepts a plain object with the three string fields of a Config', () => {
    expect(resolveOptions({ ...base, config: made }).config).toBe(made);
  });

  it.each([
    ['missing', undefined, refusal('`undefined` (undefined)')],
    ['null', null, refusal('`null` (null)')],
    ['a string', 'http://x.test', refusal('`"http://x.test"` (string)')],
    ['a function carrying the three fields', Object.assign(() => undefined, made), refusal('`[function]` (function)')],
    ['without apiKey', { ...made, apiKey: undefined }, refusal('`[object]` (object)')],
    ['with a numeric apiKey', { ...made, apiKey: 1 }, refusal('`[object]` (object)')],
    ['without baseUrl', { ...made, baseUrl: undefined }, refusal('`[object]` (object)')],
    ['without telemetryEndpoint', { ...made, telemetryEndpoint: undefined }, refusal('`[object]` (object)')],
  ])('refuses a config that is %s', (_what, value, message) => {
    expectTypeError({ ...base, config: value }, message);
  });
});

describe('sessionId and the other strings', () => {
  it('refuses a session id that is not a string, or only whitespace', () => {
    expectTypeError({ ...base, sessionId: 7 }, 'Expected `sessionId` to be a non-empty string, got `7` (number)');
    expectRangeError({ ...base, sessionId: ' \t ' }, 'Expected `sessionId` to be a non-empty string, got `" \\t "` (string)');
    expectRangeError({ ...base, sessionId: '' }, 'Expected `sessionId` to be a non-empty string, got `""` (string)');
  });

  it('keeps a given handler id and a padded one as it is', () => {
    expect(resolveOptions({ ...base, handlerId: 'mine' }).handlerId).toBe('mine');
    expect(resolveOptions({ ...base, handlerId: ' mine ' }).handlerId).toBe(' mine ');
  });

  it('refuses a handler id that is not a string, or only whitespace', () => {
    expectTypeError({ ...base, handlerId: 7 }, 'Expected `handlerId` to be a non-empty string, got `7` (number)');
    expectRangeError({ ...base, handlerId: '   ' }, 'Expected `handlerId` to be a non-empty string, got `"   "` (string)');
  });

  it('keeps a given spool directory, and refuses one that is only whitespace', () => {
    expect(resolveOptions({ ...base, spoolDir: '/var/spool/t' }).spoolDir).toBe('/var/spool/t');
    expect(resolveOptions(base).spoolDir).toBeUndefined();
    expectRangeError({ ...base, spoolDir: '  ' }, 'Expected `spoolDir` to be a non-empty string, got `"  "` (string)');
  });
});

describe('numbers', () => {
  it('refuses a number given as a string with the short form of the message', () => {
    expectTypeError({ ...base, flushThreshold: '100' }, 'Expected `flushThreshold` to be an integer ≥ 1, got `"100"` (string)');
  });

  it('accepts 2^31−1 ms, the longest Node.js timer, and refuses one more', () => {
    expect(resolveOptions({ ...base, flushIntervalMs: 2 ** 31 - 1 }).flushIntervalMs).toBe(2 ** 31 - 1);
    expectRangeError(
      { ...base, flushIntervalMs: 2 ** 31 },
      'Expected `flushIntervalMs` to be an integer ≥ 0 (at most 2^31−1, the longest Node.js timer), got `2147483648` (number)',
    );
  });

  it('takes maxSpoolBytes up to the largest safe integer, beyond the timer limit', () => {
    expect(resolveOptions(base).maxSpoolBytes).toBe(67_108_864);
    expect(resolveOptions({ ...base, maxSpoolBytes: 1 }).maxSpoolBytes).toBe(1);
    expect(resolveOptions({ ...base, maxSpoolBytes: 2 ** 31 }).maxSpoolBytes).toBe(2 ** 31);
    expect(resolveOptions({ ...base, maxSpoolBytes: Number.MAX_SAFE_INTEGER }).maxSpoolBytes).toBe(Number.MAX_SAFE_INTEGER);
    expectRangeError(
      { ...base, maxSpoolBytes: Number.MAX_SAFE_INTEGER + 1 },
      'Expected `maxSpoolBytes` to be an integer from 1 to 9007199254740991, got `9007199254740992` (number)',
    );
  });
});

describe('booleans', () => {
  it.each([
    ['attachEvents', true],
    ['drainOnExit', true],
    ['captureUncaught', false],
  ])('lets %s (default %s) be set either way', (name, byDefault) => {
    expect(resolveOptions(base)[name as 'attachEvents']).toBe(byDefault);
    expect(resolveOptions({ ...base, [name]: !byDefault })[name as 'attachEvents']).toBe(!byDefault);
    expect(resolveOptions({ ...base, [name]: byDefault })[name as 'attachEvents']).toBe(byDefault);
  });

  it('keeps enabled unset by default, and either boolean when given', () => {
    expect(resolveOptions(base).enabled).toBeUndefined();
    expect(resolveOptions({ ...base, enabled: false }).enabled).toBe(false);
    expect(resolveOptions({ ...base, enabled: true }).enabled).toBe(true);
  });

  it.each(['attachEvents', 'drainOnExit', 'captureUncaught', 'enabled'])('refuses a non-boolean %s', (name) => {
    expectTypeError({ ...base, [name]: 'yes' }, `Expected \`${name}\` to be a boolean, got \`"yes"\` (string)`);
    expectTypeError({ ...base, [name]: null }, `Expected \`${name}\` to be a boolean, got \`null\` (null)`);
  });
});

describe('functions and shaped objects', () => {
  it('keeps a given random source, and refuses one that is not a function', () => {
    const random = () => 0.25;
    expect(resolveOptions({ ...base, random }).random).toBe(random);
    expect(resolveOptions(base).random).toBeUndefined();
    expectTypeError({ ...base, random: 0.5 }, 'Expected `random` to be a function, got `0.5` (number)');
  });

  it('keeps a given logger, transport and clock as the same objects', () => {
    const resolved = resolveOptions({ ...base, logger, transport, clock });
    expect(resolved.logger).toBe(logger);
    expect(resolved.transport).toBe(transport);
    expect(resolved.clock).toBe(clock);
  });

  const loggerRefusal = (got: string) => `Expected \`logger\` to be a pino-compatible logger (warn, info, error and debug functions), got ${got}`;
  const transportRefusal = (got: string) => `Expected \`transport\` to be a Transport (an object with a send function), got ${got}`;
  const clockRefusal = (got: string) => `Expected \`clock\` to be a Clock (now, setTimeout and clearTimeout functions), got ${got}`;

  it.each([
    ['logger', null, loggerRefusal('`null` (null)')],
    ['logger', Object.assign(() => undefined, logger), loggerRefusal('`[function]` (function)')],
    ['logger', { ...logger, warn: undefined }, loggerRefusal('`[object]` (object)')],
    ['logger', { ...logger, info: 'info' }, loggerRefusal('`[object]` (object)')],
    ['logger', { ...logger, error: undefined }, loggerRefusal('`[object]` (object)')],
    ['logger', { ...logger, debug: undefined }, loggerRefusal('`[object]` (object)')],
    ['transport', null, transportRefusal('`null` (null)')],
    ['transport', Object.assign(() => undefined, transport), transportRefusal('`[function]` (function)')],
    ['transport', 'send', transportRefusal('`"send"` (string)')],
    ['transport', {}, transportRefusal('`[object]` (object)')],
    ['clock', null, clockRefusal('`null` (null)')],
    ['clock', { ...clock, now: undefined }, clockRefusal('`[object]` (object)')],
    ['clock', { ...clock, setTimeout: undefined }, clockRefusal('`[object]` (object)')],
    ['clock', { ...clock, clearTimeout: undefined }, clockRefusal('`[object]` (object)')],
  ])('refuses a %s that is not the right shape (%#)', (name, value, message) => {
    expectTypeError({ ...base, [name]: value }, message);
  });

  it('takes an inspection observer as a function or an object with next', () => {
    const fn = () => undefined;
    const observer = { next: () => undefined };
    expect(resolveOptions({ ...base, inspect: fn }).inspect).toBe(fn);
    expect(resolveOptions({ ...base, inspect: observer }).inspect).toBe(observer);
    expect(resolveOptions(base).inspect).toBeUndefined();
  });

  const inspectRefusal = (got: string) => `Expected \`inspect\` to be an inspection observer (a function, or an object with next), got ${got}`;

  it.each([
    [42, inspectRefusal('`42` (number)')],
    [null, inspectRefusal('`null` (null)')],
    [{}, inspectRefusal('`[object]` (object)')],
    [{ next: 'x' }, inspectRefusal('`[object]` (object)')],
    [{ error: () => undefined }, inspectRefusal('`[object]` (object)')],
  ])('refuses %j as an inspection observer', (value, message) => {
    expectTypeError({ ...base, inspect: value }, message);
  });

  it('refuses a number as an inspection observer even where Number.prototype has a next method', () => {
    // An observer is a function or an object with next: a next lent by a primitive's prototype does not make one.
    Object.defineProperty(Number.prototype, 'next', { value: () => undefined, configurable: true });
    try {
      expectTypeError({ ...base, inspect: 42 }, inspectRefusal('`42` (number)'));
    } finally {
      delete (Number.prototype as { next?: unknown }).next;
    }
  });
});

describe('events', () => {
  const forwardable = FORWARDABLE_CHANNELS.join(', ');

  it('names every forwardable channel when one is not', () => {
    expect(forwardable).toContain('tinker:http:request:start, tinker:http:request:stop');
    expectRangeError(
      { ...base, events: ['tinker:http:request:stop', 'tinker:telemetry:state'] },
      `Expected \`events[1]\` to be one of ${forwardable}, got \`"tinker:telemetry:state"\` (string)`,
    );
  });

  it('refuses an events value that is not an array, or a name that is not a string', () => {
    expectTypeError(
      { ...base, events: 'tinker:http:request:stop' },
      'Expected `events` to be an array of channel names, got `"tinker:http:request:stop"` (string)',
    );
    expectTypeError({ ...base, events: ['tinker:http:request:stop', 7] }, 'Expected `events[1]` to be a channel name, got `7` (number)');
  });

  it('accepts an empty list, forwarding nothing', () => {
    expect(resolveOptions({ ...base, events: [] }).events).toEqual([]);
  });
});
