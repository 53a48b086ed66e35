/**
 * The API key is needed where it is used, not before: `createConfig` takes a
 * missing key, `startReporter` throws without one only when telemetry is on,
 * and `createHttpClient` always needs one.
 */
import { describe, expect, it } from 'vitest';
import { createConfig } from '../src/config.js';
import { createHttpClient } from '../src/host/http-client.js';
import { startReporter } from '../src/reporter.js';
import { manualTransport, recordingLogger, isolateTinkerEnv } from './helpers.js';

isolateTinkerEnv();

const REPORTER_MESSAGE =
  'No Tinker API key for startReporter() with telemetry on: pass `apiKey` to createConfig() or set the TINKER_API_KEY environment variable, ' +
  'or switch telemetry off (TINKER_TELEMETRY=0)';
const CLIENT_MESSAGE = 'No Tinker API key for createHttpClient(): pass `apiKey` to createConfig() or set the TINKER_API_KEY environment variable';

/** What `fn` throws; fails the test when it returns. */
function errorOf(fn: () => unknown): Error & { code?: string } {
  try {
    fn();
  } catch (error) {
    return error as Error & { code?: string };
  }
  return expect.unreachable('no error was thrown');
}

/** Options that keep a started reporter off the network and out of the process's hooks. */
function quiet() {
  return {
    attachEvents: false,
    drainOnExit: false,
    transport: manualTransport(() => ({ kind: 'ok', status: 200 })).transport,
    logger: recordingLogger().logger,
  };
}

describe('createConfig without a key', () => {
  it.each([
    ['no key at all', {}, undefined],
    ['an empty key', { apiKey: '' }, undefined],
    ['a blank key', { apiKey: ' \t ' }, undefined],
    ['an empty TINKER_API_KEY', {}, ''],
    ['a blank TINKER_API_KEY', {}, '   '],
  ])('takes %s, with an empty apiKey that stays hidden', (_label, input, env) => {
    if (env !== undefined) process.env.TINKER_API_KEY = env;
    const config = createConfig(input);
    expect(config.apiKey).toBe('');
    expect(Object.keys(config)).toEqual(['baseUrl', 'telemetryEnabled', 'telemetryEndpoint']);
    expect(Object.getOwnPropertyDescriptor(config, 'apiKey')).toMatchObject({ enumerable: false, writable: false });
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('keeps a key with spaces around it as given', () => {
    expect(createConfig({ apiKey: ' sk-1 ' }).apiKey).toBe(' sk-1 ');
  });

  it('still refuses a key that is not a string, without echoing it', () => {
    expect(errorOf(() => createConfig({ apiKey: 42 as unknown as string })).message).toBe('Expected `apiKey` to be a string, got `[redacted]` (number)');
  });
});

describe('telemetry off without a key', () => {
  it('TINKER_TELEMETRY=0: createConfig() takes no key and startReporter returns null, hooking nothing', () => {
    process.env.TINKER_TELEMETRY = '0';
    const beforeExit = process.listenerCount('beforeExit');
    const config = createConfig();
    expect(startReporter({ config, sessionId: 'run-42' })).toBeNull();
    expect(process.listenerCount('beforeExit')).toBe(beforeExit);
  });

  it('enabled: false given to startReporter returns null', () => {
    expect(startReporter({ config: createConfig(), sessionId: 'run-42', enabled: false })).toBeNull();
  });

  it('telemetryEnabled: false given to createConfig makes startReporter return null', () => {
    expect(startReporter({ config: createConfig({ telemetryEnabled: false }), sessionId: 'run-42' })).toBeNull();
  });
});

describe('telemetry on without a key', () => {
  it.each([
    ['TINKER_TELEMETRY unset', undefined],
    ['TINKER_TELEMETRY=1', '1'],
  ])('%s: startReporter throws the missing-key error, naming TINKER_API_KEY and how to switch telemetry off', (_label, env) => {
    if (env !== undefined) process.env.TINKER_TELEMETRY = env;
    const beforeExit = process.listenerCount('beforeExit');
    const error = errorOf(() => startReporter({ config: createConfig(), sessionId: 'run-42', ...quiet(), drainOnExit: true }));
    expect(error).toBeInstanceOf(Error);
    expect(error.message).toBe(REPORTER_MESSAGE);
    expect(error.code).toBe('ERR_TINKER_TELEMETRY_MISSING_API_KEY');
    // Thrown before the reporter exists, so nothing was hooked into the process.
    expect(process.listenerCount('beforeExit')).toBe(beforeExit);
  });

  it('enabled: true overrides TINKER_TELEMETRY=0, so the key is needed again', () => {
    process.env.TINKER_TELEMETRY = '0';
    expect(errorOf(() => startReporter({ config: createConfig(), sessionId: 's', enabled: true, ...quiet() })).code).toBe(
      'ERR_TINKER_TELEMETRY_MISSING_API_KEY',
    );
  });

  it('a config made by hand with a blank key is refused the same way', () => {
    const config = { ...createConfig({ apiKey: 'k' }), apiKey: '  ' };
    expect(errorOf(() => startReporter({ config, sessionId: 's', enabled: true, ...quiet() })).message).toBe(REPORTER_MESSAGE);
  });

  it('starts with a key, the one case that needs it', async () => {
    const reporter = startReporter({ config: createConfig({ apiKey: 'k' }), sessionId: 's', enabled: true, ...quiet() });
    expect(reporter).not.toBeNull();
    expect(await reporter!.stop()).toBe(true);
  });
});

describe('createHttpClient without a key', () => {
  it.each([
    ['telemetry on', undefined],
    ['telemetry off', '0'],
  ])('throws the missing-key error with %s: the Tinker API needs the key either way', (_label, env) => {
    if (env !== undefined) process.env.TINKER_TELEMETRY = env;
    const error = errorOf(() => createHttpClient({ config: createConfig(), sessionId: 's' }));
    expect(error.message).toBe(CLIENT_MESSAGE);
    expect(error.code).toBe('ERR_TINKER_TELEMETRY_MISSING_API_KEY');
  });

  it('throws for a config made by hand without a usable key', () => {
    expect(errorOf(() => createHttpClient({ config: { apiKey: ' ', baseUrl: 'http://127.0.0.1:9' }, sessionId: 's' })).message).toBe(CLIENT_MESSAGE);
    expect(errorOf(() => createHttpClient({ config: { baseUrl: 'http://127.0.0.1:9' } as never, sessionId: 's' })).message).toBe(CLIENT_MESSAGE);
  });

  it('makes a client when there is a key', () => {
    expect(typeof createHttpClient({ config: createConfig({ apiKey: 'k' }), sessionId: 's' }).get).toBe('function');
  });
});
