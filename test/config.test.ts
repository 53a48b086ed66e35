import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { DEFAULT_BASE_URL, createConfig, resolveEnabled, telemetryEnabledFromEnv } from '../src/config.js';
import { isolateTinkerEnv } from './helpers.js';

isolateTinkerEnv();

describe('createConfig', () => {
  it('reads the key and base URL from the environment, with the production default', () => {
    process.env.TINKER_API_KEY = 'env-key';
    const config = createConfig();
    expect(config.apiKey).toBe('env-key');
    expect(config.baseUrl).toBe(DEFAULT_BASE_URL);
    expect(config.telemetryEndpoint).toBe(`${DEFAULT_BASE_URL}/api/v1/telemetry`);
    process.env.TINKER_BASE_URL = 'http://localhost:8080/base/';
    expect(createConfig().baseUrl).toBe('http://localhost:8080/base');
  });

  it('prefers explicit values over the environment', () => {
    process.env.TINKER_API_KEY = 'env-key';
    const config = createConfig({ apiKey: 'given', baseUrl: 'https://example.test' });
    expect(config).toMatchObject({ apiKey: 'given', baseUrl: 'https://example.test' });
  });

  it.each(['ftp://files.test', 'not a url', 'https://x.test/?q=1', 'https://x.test/#frag', 'https://user:pw@x.test'])(
    'refuses the base URL %j with a RangeError naming baseUrl',
    (baseUrl) => {
      expect(() => createConfig({ apiKey: 'k', baseUrl })).toThrow(RangeError);
      expect(() => createConfig({ apiKey: 'k', baseUrl })).toThrow(/`baseUrl`/);
    },
  );

  it('refuses wrong types and unknown fields with a TypeError, never echoing the key', () => {
    expect(() => createConfig({ apiKey: 42 as unknown as string })).toThrow(TypeError);
    expect(() => createConfig({ apiKey: 42 as unknown as string })).toThrow(/\[redacted\]/);
    expect(() => createConfig({ apiKey: 'k', telemetryEnabled: 'yes' as unknown as boolean })).toThrow(TypeError);
    expect(() => createConfig({ apiKey: 'k', apikey: 'x' } as never)).toThrow(/Unknown option `apikey`.*Did you mean `apiKey`/);
  });

  it('never shows the key in JSON or util.inspect, yet reads it', () => {
    const config = createConfig({ apiKey: 'sk-very-secret' });
    expect(JSON.stringify(config)).not.toContain('sk-very-secret');
    expect(inspect(config)).not.toContain('sk-very-secret');
    expect(config.apiKey).toBe('sk-very-secret');
    expect(Object.isFrozen(config)).toBe(true);
  });
});

describe('TINKER_TELEMETRY', () => {
  it.each([
    [undefined, true],
    ['1', true],
    ['true', true],
    [' YES ', true],
    ['On', true],
    ['0', false],
    ['false', false],
    ['no', false],
    ['OFF', false],
  ])('reads %j as %s without a warning', (value, enabled) => {
    const warnings: string[] = [];
    expect(telemetryEnabledFromEnv(value === undefined ? {} : { TINKER_TELEMETRY: value }, (m) => warnings.push(m))).toBe(enabled);
    expect(warnings).toEqual([]);
  });

  it('disables on any other value, the empty string included, warning once per distinct value', () => {
    const warnings: string[] = [];
    const warn = (m: string) => warnings.push(m);
    expect(telemetryEnabledFromEnv({ TINKER_TELEMETRY: 'maybe-1' }, warn)).toBe(false);
    expect(telemetryEnabledFromEnv({ TINKER_TELEMETRY: 'maybe-1' }, warn)).toBe(false);
    expect(telemetryEnabledFromEnv({ TINKER_TELEMETRY: '' }, warn)).toBe(false);
    expect(warnings).toHaveLength(2);
    expect(warnings[0]).toContain('"maybe-1"');
  });

  it('lets options.enabled win over config.telemetryEnabled, and that over the environment', () => {
    const on = createConfig({ apiKey: 'k', telemetryEnabled: true });
    const unset = createConfig({ apiKey: 'k' });
    const off = { TINKER_TELEMETRY: '0' };
    const warn = () => undefined;
    expect(resolveEnabled(false, on, {}, warn)).toBe(false);
    expect(resolveEnabled(undefined, on, off, warn)).toBe(true);
    expect(resolveEnabled(undefined, unset, off, warn)).toBe(false);
    expect(resolveEnabled(true, unset, off, warn)).toBe(true);
  });
});
