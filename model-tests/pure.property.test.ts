/** Property tests of the pure parts: serialization into the wire schema, backoff, Retry-After, formatting. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MAX_RETRY_AFTER_MS, backoffDelayMs, parseRetryAfter, retryDelayMs } from '../src/core/retry.js';
import { toEventData } from '../src/core/serialize.js';
import { QueuedEvent, formatDuration, parseSeverity, platformName, serializeBatch } from '../src/core/wire.js';
import { describeException } from '../src/core/exception.js';

const seed = Number(process.env.FC_SEED ?? Date.now() % 2 ** 31);
const options = { seed, numRuns: 500 };

const SEVERITIES = ['DEBUG', 'INFO', 'WARNING', 'ERROR', 'CRITICAL'];
const EVENT_FIELDS: Record<string, string[]> = {
  SESSION_START: [],
  SESSION_END: ['duration'],
  UNHANDLED_EXCEPTION: ['error_type', 'error_message', 'traceback'],
  GENERIC_EVENT: ['event_name', 'event_data'],
};
const COMMON = ['event', 'event_id', 'event_session_index', 'severity', 'timestamp'];

/** Checks a parsed body against the server's TelemetrySendRequest schema (extra fields forbidden). */
function assertWireSchema(body: unknown): void {
  expect(Object.keys(body as object).sort()).toEqual(['events', 'platform', 'process_uuid', 'sdk_version', 'session_id']);
  const { events } = body as { events: Record<string, unknown>[] };
  for (const event of events) {
    const type = event.event as string;
    expect(Object.keys(EVENT_FIELDS)).toContain(type);
    for (const key of Object.keys(event)) expect([...COMMON, ...EVENT_FIELDS[type]!]).toContain(key);
    expect(event.event_id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(Number.isInteger(event.event_session_index)).toBe(true);
    expect(SEVERITIES).toContain(event.severity);
    expect(event.timestamp).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    if (type === 'GENERIC_EVENT') {
      expect(typeof event.event_name).toBe('string');
      expect(typeof event.event_data === 'object' && event.event_data !== null && !Array.isArray(event.event_data)).toBe(true);
    }
    if (type === 'UNHANDLED_EXCEPTION') {
      expect(typeof event.error_type).toBe('string');
      expect(typeof event.error_message).toBe('string');
      if ('traceback' in event) expect(typeof event.traceback).toBe('string');
    }
  }
}

const hostile = fc.oneof(
  fc.anything({
    withBigInt: true,
    withDate: true,
    withMap: true,
    withSet: true,
    withTypedArray: true,
    withNullPrototype: true,
    withBoxedValues: true,
    withSparseArray: true,
  }),
  fc.constant(
    new Proxy(
      {},
      {
        ownKeys: () => {
          throw new Error('hostile');
        },
      },
    ),
  ),
  fc.constant(
    (() => {
      const a: Record<string, unknown> = {};
      a.a = a;
      return a;
    })(),
  ),
  fc.constant(() => undefined),
  fc.constant(Symbol('s')),
);

describe('serialization into the wire schema', () => {
  it('turns any data and any thrown value into a body that is valid JSON and matches the schema', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(hostile, fc.boolean(), fc.integer({ min: 0, max: 2 ** 40 })), { maxLength: 5 }), (items) => {
        const events = items.map(([value, asException, ts], index) =>
          asException
            ? new QueuedEvent('UNHANDLED_EXCEPTION', index, 'ERROR', ts, undefined, undefined, describeException(value, ''), undefined)
            : new QueuedEvent('GENERIC_EVENT', index, 'INFO', ts, 'name', toEventData(value), undefined, undefined),
        );
        const text = serializeBatch({ sessionId: 's' }, [
          new QueuedEvent('SESSION_END', items.length, 'INFO', 0, undefined, undefined, undefined, 1),
          ...events,
        ]);
        assertWireSchema(JSON.parse(text));
      }),
      options,
    );
  });
});

describe('retry policy', () => {
  it('keeps the backoff of retry n within base·2^(n−1) and 10% above it', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 12 }),
        fc.integer({ min: 0, max: 10_000 }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (retry, base, r) => {
          const delay = backoffDelayMs(retry, base, () => r);
          const floor = base * 2 ** (retry - 1);
          expect(delay).toBeGreaterThanOrEqual(Math.floor(floor));
          expect(delay).toBeLessThanOrEqual(Math.ceil(floor * 1.1));
        },
      ),
      options,
    );
  });

  it('never waits less than the backoff, and a Retry-After only up to 60 s above it', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 6 }),
        fc.integer({ min: 0, max: 5000 }),
        fc.option(fc.integer({ min: 0, max: MAX_RETRY_AFTER_MS })),
        (retry, base, after) => {
          const backoff = backoffDelayMs(retry, base, () => 0);
          const delay = retryDelayMs(retry, base, after ?? undefined, () => 0);
          expect(delay).toBe(Math.max(backoff, after ?? 0));
        },
      ),
      options,
    );
  });

  it('reads Retry-After in seconds and as an HTTP date, capped at 60 s', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 100_000 }), fc.integer({ min: 0, max: 4_000_000_000_000 }), (seconds, now) => {
        expect(parseRetryAfter(String(seconds), now)).toBe(Math.min(seconds * 1000, MAX_RETRY_AFTER_MS));
        const date = new Date(Math.floor(now / 1000) * 1000 + seconds * 1000).toUTCString();
        const parsed = parseRetryAfter(date, Math.floor(now / 1000) * 1000);
        expect(parsed).toBe(Math.min(seconds * 1000, MAX_RETRY_AFTER_MS));
      }),
      options,
    );
  });

  it('rejects garbage Retry-After values', () => {
    const garbage = fc.string().filter((s) => !/^\s*\d+(\.\d+)?\s*$/.test(s) && Number.isNaN(Date.parse(s)));
    fc.assert(
      fc.property(garbage, (value) => {
        expect(parseRetryAfter(value, 0)).toBeUndefined();
      }),
      options,
    );
  });
});

describe('formatting', () => {
  it('writes durations that read back to the same microseconds', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 10 ** 12 }), (micros) => {
        const text = formatDuration(micros / 1000);
        const match = /^(\d+):([0-5]\d):([0-5]\d)(?:\.(\d{6}))?$/.exec(text);
        expect(match).not.toBeNull();
        const [, h, m, s, f] = match!;
        expect(((Number(h) * 60 + Number(m)) * 60 + Number(s)) * 1_000_000 + Number(f ?? 0)).toBe(micros);
        if (micros % 1_000_000 === 0) expect(f).toBeUndefined();
      }),
      options,
    );
  });

  it('names every platform in the Tinkex form', () => {
    fc.assert(
      fc.property(fc.constantFrom('aix', 'android', 'darwin', 'freebsd', 'haiku', 'linux', 'openbsd', 'sunos', 'win32', 'cygwin', 'netbsd'), (p) => {
        expect(platformName(p)).toBe(p === 'win32' ? 'win32/nt' : `unix/${p}`);
      }),
      options,
    );
  });

  it('accepts exactly the five severities, in any case', () => {
    fc.assert(
      fc.property(fc.string(), (value) => {
        const expected = SEVERITIES.find((s) => s === value.toUpperCase() && s.toLowerCase() === value.toLowerCase());
        expect(parseSeverity(value)).toBe(expected);
      }),
      options,
    );
    fc.assert(
      fc.property(fc.constantFrom(...SEVERITIES), fc.array(fc.boolean(), { minLength: 8, maxLength: 8 }), (severity, upper) => {
        const mixed = [...severity].map((c, i) => (upper[i] ? c.toUpperCase() : c.toLowerCase())).join('');
        expect(parseSeverity(mixed)).toBe(severity);
      }),
      options,
    );
  });
});
