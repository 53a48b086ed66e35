/**
 * The exact errors of `createConfig` and how it normalizes the base URL.
 */
import { describe, expect, it } from 'vitest';
import { createConfig, telemetryEnabledFromEnv } from '../src/config.js';
import { isolateTinkerEnv } from './helpers.js';

isolateTinkerEnv();

/** What `createConfig(input)` throws; fails the test when it returns. */
function errorOf(input: unknown): Error & { code?: string } {
  try {
    createConfig(input as never);
  } catch (error) {
    return error as Error & { code?: string };
  }
  return expect.unreachable('createConfig accepted the input');
}

function expectError(input: unknown, type: typeof TypeError | typeof RangeError, message: string): void {
  const error = errorOf(input);
  expect(error).toBeInstanceOf(type);
  expect(error.message).toBe(message);
}

const URL_EXPECTED = 'an http(s) URL without query or fragment';

describe('createConfig input', () => {
  it.each([
    [42, 'Expected `config input` to be an object, got `42` (number)'],
    ['ab', 'Expected `config input` to be an object, got `"ab"` (string)'],
    [null, 'Expected `config input` to be an object, got `null` (null)'],
    [[], 'Expected `config input` to be an object, got `[array]` (array)'],
  ])('refuses %j as its input, even with a key in the environment', (input, message) => {
    process.env.TINKER_API_KEY = 'env-key';
    expectError(input, TypeError, message);
    expect(errorOf(input).code).toBe('ERR_TINKER_TELEMETRY_INVALID_OPTION');
  });

  it('names createConfig and its three fields for an unknown field', () => {
    expectError(
      { apiKey: 'k', apikey: 'x' },
      TypeError,
      'Unknown option `apikey` for createConfig. Did you mean `apiKey`? Known options: apiKey, baseUrl, telemetryEnabled',
    );
    expect(errorOf({ apiKey: 'k', apikey: 'x' }).code).toBe('ERR_TINKER_TELEMETRY_UNKNOWN_OPTION');
  });

  it('refuses a key that is not a string, naming its type but never its value', () => {
    expectError({ apiKey: 42 }, TypeError, 'Expected `apiKey` to be a string, got `[redacted]` (number)');
    expectError({ apiKey: { token: 'sk-secret' } }, TypeError, 'Expected `apiKey` to be a string, got `[redacted]` (object)');
  });

  it('refuses a telemetryEnabled that is not a boolean', () => {
    expectError({ apiKey: 'k', telemetryEnabled: 'yes' }, TypeError, 'Expected `telemetryEnabled` to be a boolean, got `"yes"` (string)');
    expectError({ apiKey: 'k', telemetryEnabled: 0 }, TypeError, 'Expected `telemetryEnabled` to be a boolean, got `0` (number)');
  });

  it('keeps telemetryEnabled as given, or undefined', () => {
    expect(createConfig({ apiKey: 'k', telemetryEnabled: false }).telemetryEnabled).toBe(false);
    expect(createConfig({ apiKey: 'k', telemetryEnabled: true }).telemetryEnabled).toBe(true);
    expect(createConfig({ apiKey: 'k' }).telemetryEnabled).toBeUndefined();
  });
});

describe('baseUrl', () => {
  it('refuses a base URL that is not a string with a TypeError', () => {
    expectError({ apiKey: 'k', baseUrl: 42 }, TypeError, `Expected \`baseUrl\` to be ${URL_EXPECTED}, got \`42\` (number)`);
    expectError({ apiKey: 'k', baseUrl: new URL('https://x.test') }, TypeError, `Expected \`baseUrl\` to be ${URL_EXPECTED}, got \`[object]\` (object)`);
  });

  it.each([
    'not a url',
    'ftp://files.test',
    'https://x.test/?q=1',
    'https://x.test/#frag',
    'https://user@x.test',
    'https://:pw@x.test',
    'https://user:pw@x.test',
  ])('refuses %j with a RangeError stating what it expected', (baseUrl) => {
    expectError({ apiKey: 'k', baseUrl }, RangeError, `Expected \`baseUrl\` to be ${URL_EXPECTED}, got \`${JSON.stringify(baseUrl)}\` (string)`);
    expect(errorOf({ apiKey: 'k', baseUrl }).code).toBe('ERR_TINKER_TELEMETRY_OPTION_OUT_OF_RANGE');
  });

  it('accepts both http and https', () => {
    expect(createConfig({ apiKey: 'k', baseUrl: 'http://x.test' }).baseUrl).toBe('http://x.test');
    expect(createConfig({ apiKey: 'k', baseUrl: 'https://x.test' }).baseUrl).toBe('https://x.test');
  });

  it('drops every trailing slash, from the endpoint too', () => {
    const config = createConfig({ apiKey: 'k', baseUrl: 'https://x.test/base///' });
    expect(config.baseUrl).toBe('https://x.test/base');
    expect(config.telemetryEndpoint).toBe('https://x.test/base/api/v1/telemetry');
    expect(createConfig({ apiKey: 'k', baseUrl: 'https://x.test//' }).baseUrl).toBe('https://x.test');
  });

  it('trims any Unicode whitespace around the URL, a no-break space included', () => {
    expect(createConfig({ apiKey: 'k', baseUrl: '\u00a0https://x.test/base\u00a0' }).baseUrl).toBe('https://x.test/base');
    expect(createConfig({ apiKey: 'k', baseUrl: ' \u2003https://x.test \n' }).baseUrl).toBe('https://x.test');
  });

  it('reads a padded TINKER_BASE_URL the same way', () => {
    process.env.TINKER_BASE_URL = '\u00a0http://localhost:8080/\u00a0';
    expect(createConfig({ apiKey: 'k' }).baseUrl).toBe('http://localhost:8080');
  });
});

describe('TINKER_TELEMETRY warning', () => {
  it('states the value as JSON, that telemetry is off, and the accepted values', () => {
    const warnings: string[] = [];
    expect(telemetryEnabledFromEnv({ TINKER_TELEMETRY: ' enable ' }, (m) => warnings.push(m))).toBe(false);
    expect(warnings).toEqual(['TINKER_TELEMETRY=" enable " is not recognised, so telemetry is disabled; use 1/true/yes/on or 0/false/no/off']);
  });

  it('warns again for a value that differs only in padding', () => {
    const warnings: string[] = [];
    telemetryEnabledFromEnv({ TINKER_TELEMETRY: 'sometimes' }, (m) => warnings.push(m));
    telemetryEnabledFromEnv({ TINKER_TELEMETRY: ' sometimes' }, (m) => warnings.push(m));
    telemetryEnabledFromEnv({ TINKER_TELEMETRY: 'sometimes' }, (m) => warnings.push(m));
    expect(warnings).toHaveLength(2);
  });
});
