import { describe, expect, it } from 'vitest';
import { createConfig } from '../src/config.js';
import { DEFAULT_OPTIONS, resolveOptions } from '../src/options.js';

const config = createConfig({ apiKey: 'k', baseUrl: 'http://127.0.0.1:1' });
const base = { config, sessionId: 's' };

describe('resolveOptions', () => {
  it('fills in every default', () => {
    const resolved = resolveOptions(base);
    expect(resolved).toMatchObject({ ...DEFAULT_OPTIONS, sessionId: 's', events: undefined, enabled: undefined });
    expect(resolved.handlerId).toMatch(/^tinker-telemetry-s-[0-9a-f]{8}$/);
  });

  it.each([
    ['flushIntervalMs', 0],
    ['flushThreshold', 1],
    ['flushTimeoutMs', 1],
    ['httpTimeoutMs', 1],
    ['maxRetries', 0],
    ['retryBaseDelayMs', 0],
    ['maxQueueSize', 1],
    ['maxBatchSize', 1],
  ])('accepts %s at its lower bound %i and refuses one below with a RangeError naming it', (name, min) => {
    expect(resolveOptions({ ...base, [name]: min })).toMatchObject({ [name]: min });
    expect(() => resolveOptions({ ...base, [name]: min - 1 })).toThrow(RangeError);
    expect(() => resolveOptions({ ...base, [name]: min - 1 })).toThrow(new RegExp(`\`${name}\`.*got \`${min - 1}\` \\(number\\)`));
  });

  it('states the template exactly', () => {
    expect(() => resolveOptions({ ...base, maxBatchSize: 0 })).toThrow(
      'Expected `maxBatchSize` to be an integer ≥ 1 (at most 2^31−1, the longest Node.js timer), got `0` (number)',
    );
  });

  it.each([1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 31])('refuses %d for flushIntervalMs', (value) => {
    expect(() => resolveOptions({ ...base, flushIntervalMs: value })).toThrow(RangeError);
  });

  it.each([
    ['flushThreshold', '100'],
    ['attachEvents', 'yes'],
    ['enabled', 1],
    ['events', 'tinker:http:request:start'],
    ['logger', { warn() {} }],
    ['transport', {}],
    [
      'clock',
      {
        now() {
          return 0;
        },
      },
    ],
    ['inspect', 42],
    ['random', 0.5],
    ['handlerId', 7],
    ['sessionId', 7],
    ['config', { apiKey: 'k' }],
  ])('refuses a wrong type for %s with a TypeError naming it', (name, value) => {
    expect(() => resolveOptions({ ...base, [name]: value })).toThrow(TypeError);
    expect(() => resolveOptions({ ...base, [name]: value })).toThrow(new RegExp(`\`${name}\``));
  });

  it('refuses an empty session id and a channel that cannot be forwarded', () => {
    expect(() => resolveOptions({ ...base, sessionId: '  ' })).toThrow(RangeError);
    expect(() => resolveOptions({ ...base, events: ['tinker:telemetry:state'] })).toThrow(/`events\[0\]`/);
  });

  it('refuses an unknown option, suggesting the close one, with a stable code', () => {
    try {
      resolveOptions({ ...base, flushIntervalMS: 5 });
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(TypeError);
      expect((error as Error).message).toMatch(/Unknown option `flushIntervalMS`.*Did you mean `flushIntervalMs`\?/);
      expect((error as { code?: string }).code).toBe('ERR_TINKER_TELEMETRY_UNKNOWN_OPTION');
    }
  });

  it('refuses something that is not an options object', () => {
    expect(() => resolveOptions(null)).toThrow(/`options`/);
    expect(() => resolveOptions([base])).toThrow(TypeError);
  });

  it('copies and freezes the events list', () => {
    const events = ['tinker:http:request:stop'];
    const resolved = resolveOptions({ ...base, events });
    events.push('tinker:queue:state_change');
    expect(resolved.events).toEqual(['tinker:http:request:stop']);
    expect(Object.isFrozen(resolved.events)).toBe(true);
  });

  it('treats undefined as the default', () => {
    expect(resolveOptions({ ...base, maxRetries: undefined }).maxRetries).toBe(3);
  });
});
