/**
 * `createSession`'s options: each check's exact message, in the one template
 * `startReporter` uses, with the error class and code of its kind; the
 * telemetry options checked as `startReporter` checks them; and the tags and
 * project read from the environment.
 */
import { describe, expect, it } from 'vitest';
import { createConfig } from '../src/config.js';
import { openSession } from '../src/session.js';
import { checkFutureOptions, DEFAULT_SESSION_OPTIONS, projectFromEnv, resolveSessionOptions, tagsFromEnv } from '../src/session-options.js';
import { TEST_CONFIG, thrownBy } from './helpers.js';
import { fakeTinkerApi } from './session-helpers.js';

const base = { config: TEST_CONFIG };
const SESSION_KNOWN =
  'config, tags, userMetadata, projectId, telemetry, heartbeatIntervalMs, heartbeatTimeoutMs, heartbeatWarnAfterMs, createTimeoutMs, logger, signal';
const TELEMETRY_KNOWN =
  'handlerId, events, attachEvents, flushIntervalMs, flushThreshold, flushTimeoutMs, httpTimeoutMs, maxRetries, ' +
  'retryBaseDelayMs, maxQueueSize, maxBatchSize, maxEventBytes, maxBatchBytes, maxQueueBytes, drainOnExit, handleSignals, captureUncaught, spoolDir, ' +
  'maxSpoolBytes, enabled, logger, inspect, transport, clock, random';

const errorOf = (input: unknown, env: NodeJS.ProcessEnv = {}) => thrownBy(() => resolveSessionOptions(input, env));

function expectError(input: unknown, kind: 'TypeError' | 'RangeError', message: string): void {
  const error = errorOf(input);
  expect(error.constructor.name).toBe(kind);
  expect(error.message).toBe(message);
  expect(error.code).toBe(kind === 'TypeError' ? 'ERR_TINKER_TELEMETRY_INVALID_OPTION' : 'ERR_TINKER_TELEMETRY_OPTION_OUT_OF_RANGE');
}

describe('createSession’s options', () => {
  it.each([
    [42, 'Expected `options` to be an object, got `42` (number)'],
    [null, 'Expected `options` to be an object, got `null` (null)'],
    [[base], 'Expected `options` to be an object, got `[array]` (array)'],
  ])('refuse %j as the options', (input, message) => {
    expectError(input, 'TypeError', message);
  });

  it('refuse an unknown option, suggesting the close one and listing every known one', () => {
    const error = errorOf({ ...base, tag: ['x'] });
    expect(error.message).toBe(`Unknown option \`tag\` for createSession. Did you mean \`tags\`? Known options: ${SESSION_KNOWN}`);
    expect(error.code).toBe('ERR_TINKER_TELEMETRY_UNKNOWN_OPTION');
  });

  it.each<[string, Record<string, unknown>, 'TypeError' | 'RangeError', string]>([
    [
      'a config not made by createConfig',
      { config: { apiKey: 'k' } },
      'TypeError',
      'Expected `config` to be a Config made by createConfig(), got `[object]` (object)',
    ],
    ['tags that are not an array', { tags: 'a,b' }, 'TypeError', 'Expected `tags` to be an array of strings, got `"a,b"` (string)'],
    ['a tag that is not a string', { tags: ['a', 7] }, 'TypeError', 'Expected `tags[1]` to be a non-empty string, got `7` (number)'],
    ['a blank tag', { tags: ['a', ' '] }, 'RangeError', 'Expected `tags[1]` to be a non-empty string, got `" "` (string)'],
    [
      'metadata that is an array',
      { userMetadata: [1] },
      'TypeError',
      'Expected `userMetadata` to be a JSON object (plain data that JSON.stringify can write), got `[array]` (array)',
    ],
    [
      'metadata with a BigInt',
      { userMetadata: { n: 1n } },
      'TypeError',
      'Expected `userMetadata` to be a JSON object (plain data that JSON.stringify can write), got `[object]` (object)',
    ],
    ['an empty project id', { projectId: '' }, 'RangeError', 'Expected `projectId` to be a non-empty string, got `""` (string)'],
    ['a project id that is a number', { projectId: 12 }, 'TypeError', 'Expected `projectId` to be a non-empty string, got `12` (number)'],
    [
      'a heartbeat interval of 0',
      { heartbeatIntervalMs: 0 },
      'RangeError',
      'Expected `heartbeatIntervalMs` to be an integer ≥ 1 (at most 2^31−1, the longest Node.js timer), got `0` (number)',
    ],
    ['a heartbeat timeout given as text', { heartbeatTimeoutMs: '10' }, 'TypeError', 'Expected `heartbeatTimeoutMs` to be an integer ≥ 1, got `"10"` (string)'],
    [
      'a fractional start-up deadline',
      { createTimeoutMs: 1.5 },
      'RangeError',
      'Expected `createTimeoutMs` to be an integer ≥ 1 (at most 2^31−1, the longest Node.js timer), got `1.5` (number)',
    ],
    [
      'a logger without debug',
      { logger: { warn() {}, info() {}, error() {} } },
      'TypeError',
      'Expected `logger` to be a pino-compatible logger (warn, info, error and debug functions), got `[object]` (object)',
    ],
    ['a signal that is not an AbortSignal', { signal: true }, 'TypeError', 'Expected `signal` to be an AbortSignal, got `true` (boolean)'],
    ['telemetry that is not an object', { telemetry: 'on' }, 'TypeError', 'Expected `telemetry` to be an object of reporter options, got `"on"` (string)'],
  ])('refuse %s, naming the option', (_label, options, kind, message) => {
    expectError({ ...base, ...options }, kind, message);
  });

  it('refuse a cyclic metadata object', () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expectError(
      { ...base, userMetadata: cyclic },
      'TypeError',
      'Expected `userMetadata` to be a JSON object (plain data that JSON.stringify can write), got `[object]` (object)',
    );
  });

  it('refuse a warning threshold that successful heartbeats could cross, naming the least allowed', () => {
    expectError(
      { ...base, heartbeatIntervalMs: 10_000, heartbeatTimeoutMs: 5_000, heartbeatWarnAfterMs: 14_999 },
      'RangeError',
      'Expected `heartbeatWarnAfterMs` to be an integer ≥ `heartbeatIntervalMs` + `heartbeatTimeoutMs` (15000), so that a session whose heartbeats all succeed is never failing, got `14999` (number)',
    );
    expect(
      resolveSessionOptions({ ...base, heartbeatIntervalMs: 10_000, heartbeatTimeoutMs: 5_000, heartbeatWarnAfterMs: 15_000 }, {}).heartbeatWarnAfterMs,
    ).toBe(15_000);
  });

  it('refuse config and sessionId inside telemetry, which the session supplies, and any other unknown name', () => {
    expect(errorOf({ ...base, telemetry: { sessionId: 'mine' } }).message).toBe(
      `Unknown option \`sessionId\` for createSession \`telemetry\`. Known options: ${TELEMETRY_KNOWN}`,
    );
    expect(errorOf({ ...base, telemetry: { config: TEST_CONFIG } }).message).toMatch(/^Unknown option `config` for createSession `telemetry`\./);
    expect(errorOf({ ...base, telemetry: { flushIntervalMS: 5 } }).message).toMatch(
      /^Unknown option `flushIntervalMS` for createSession `telemetry`\. Did you mean `flushIntervalMs`\?/,
    );
  });

  it('check the telemetry options as startReporter does', () => {
    expectError(
      { ...base, telemetry: { flushTimeoutMs: 0 } },
      'RangeError',
      'Expected `flushTimeoutMs` to be an integer ≥ 1 (at most 2^31−1, the longest Node.js timer), got `0` (number)',
    );
    expectError(
      { ...base, telemetry: { handleSignals: ['SIGKILL'] } },
      'RangeError',
      'Expected `handleSignals[0]` to be one of SIGTERM, SIGINT, SIGHUP, got `"SIGKILL"` (string)',
    );
  });

  it('fill in the defaults, and take the hooks and the close deadline from the telemetry options', () => {
    const resolved = resolveSessionOptions(base, {});
    expect(resolved).toMatchObject({
      tags: [],
      userMetadata: {},
      projectId: undefined,
      heartbeatIntervalMs: 10_000,
      heartbeatTimeoutMs: 10_000,
      heartbeatWarnAfterMs: 120_000,
      createTimeoutMs: 300_000,
      hooks: { drainOnExit: true, handleSignals: [], captureUncaught: false },
      closeTimeoutMs: 30_000,
    });
    expect(Object.isFrozen(DEFAULT_SESSION_OPTIONS)).toBe(true);
    const chosen = resolveSessionOptions(
      { ...base, telemetry: { drainOnExit: false, handleSignals: ['SIGINT'], captureUncaught: true, flushTimeoutMs: 1234 } },
      {},
    );
    expect(chosen.hooks).toEqual({ drainOnExit: false, handleSignals: ['SIGINT'], captureUncaught: true });
    expect(chosen.closeTimeoutMs).toBe(1234);
  });

  it('copy the metadata, so a later change by the caller is not sent', () => {
    const metadata = { step: 1 };
    const resolved = resolveSessionOptions({ ...base, userMetadata: metadata }, {});
    metadata.step = 2;
    expect(resolved.userMetadata).toEqual({ step: 1 });
  });

  it('are checked by createSession, which rejects before any request, with telemetry on or off', async () => {
    const fake = fakeTinkerApi();
    const config = createConfig({ apiKey: 'k', baseUrl: 'http://127.0.0.1:9', telemetryEnabled: false });
    const pending = openSession({ config, heartbeatIntervalMs: -1 }, { createApi: fake.factory });
    await expect(pending).rejects.toThrow('Expected `heartbeatIntervalMs` to be an integer ≥ 1');
    expect(fake.calls.start).toEqual([]);
  });
});

describe('the requestType of submit() and retrieveFuture()', () => {
  const EXPECTED = 'an operation name of letters, digits and _ that starts with a letter (PascalCase, e.g. `OptimStep`)';

  it.each(['OptimStep', 'Sample', 'forward_backward2', 'X'])('accept %j, a name that can be sent as the X-Tinker-Request-Type header', (requestType) => {
    expect(checkFutureOptions({ requestType }).requestType).toBe(requestType);
  });

  it.each<[string, unknown, 'TypeError' | 'RangeError', string]>([
    ['missing', undefined, 'TypeError', '`undefined` (undefined)'],
    ['a number', 7, 'TypeError', '`7` (number)'],
    ['empty', '', 'RangeError', '`""` (string)'],
    ['blank', '  ', 'RangeError', '`"  "` (string)'],
    ['with a newline', 'OptimStep\nX-Evil: 1', 'RangeError', '`"OptimStep\\nX-Evil: 1"` (string)'],
    ['with a non-Latin-1 character', 'Optim→Step', 'RangeError', '`"Optim→Step"` (string)'],
    ['starting with a digit', '2Step', 'RangeError', '`"2Step"` (string)'],
    ['with a space', 'Optim Step', 'RangeError', '`"Optim Step"` (string)'],
    ['with a hyphen', 'optim-step', 'RangeError', '`"optim-step"` (string)'],
  ])('refuse a requestType %s, naming it in the one template', (_label, requestType, kind, got) => {
    const error = thrownBy(() => checkFutureOptions({ requestType }));
    expect(error.constructor.name).toBe(kind);
    expect(error.message).toBe(`Expected \`requestType\` to be ${EXPECTED}, got ${got}`);
    expect(error.code).toBe(kind === 'TypeError' ? 'ERR_TINKER_TELEMETRY_INVALID_OPTION' : 'ERR_TINKER_TELEMETRY_OPTION_OUT_OF_RANGE');
  });

  it('show a long requestType cut to 60 characters, its control characters escaped', () => {
    const error = thrownBy(() => checkFutureOptions({ requestType: `\u001b[31m${'A'.repeat(500)}` }));
    expect(error.message).toBe(`Expected \`requestType\` to be ${EXPECTED}, got \`"\\u001b[31m${'A'.repeat(55)}…"\` (string)`);
  });
});

describe('tags and project from the environment', () => {
  it('split TINKER_TAGS on commas, trim each, drop empty ones and repeats, and keep the order', () => {
    expect(tagsFromEnv(undefined)).toEqual([]);
    expect(tagsFromEnv('')).toEqual([]);
    expect(tagsFromEnv(' , ,')).toEqual([]);
    expect(tagsFromEnv('b, a ,b,c')).toEqual(['b', 'a', 'c']);
    expect(resolveSessionOptions(base, { TINKER_TAGS: 'x, y' }).tags).toEqual(['x', 'y']);
  });

  it('take the tags given over TINKER_TAGS, even none', () => {
    expect(resolveSessionOptions({ ...base, tags: [] }, { TINKER_TAGS: 'x' }).tags).toEqual([]);
    expect(resolveSessionOptions({ ...base, tags: [' kept as given '] }, { TINKER_TAGS: 'x' }).tags).toEqual([' kept as given ']);
  });

  it('read TINKER_PROJECT_ID, an empty or blank one as unset, and prefer the option', () => {
    expect(projectFromEnv(undefined)).toBeUndefined();
    expect(projectFromEnv('')).toBeUndefined();
    expect(projectFromEnv('  ')).toBeUndefined();
    expect(projectFromEnv('p-1')).toBe('p-1');
    expect(resolveSessionOptions(base, { TINKER_PROJECT_ID: 'p-env' }).projectId).toBe('p-env');
    expect(resolveSessionOptions({ ...base, projectId: 'p-opt' }, { TINKER_PROJECT_ID: 'p-env' }).projectId).toBe('p-opt');
  });
});
