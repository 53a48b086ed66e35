/**
 * What an event counts against `maxQueueBytes`: never less than the UTF-8
 * size of its JSON as it is sent (redacted, capped), whatever its text is;
 * exactly that size for an event measured when accepted (over
 * `MEASURED_FROM_CHARS` code units of contents), by the JSON it is sent
 * as.
 */
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createConfig } from '../src/config.js';
import type { Clock } from '../src/core/clock.js';
import { findUserError } from '../src/core/exception.js';
import { Outbox } from '../src/core/outbox.js';
import { lastSnapshotChars, lastSnapshotCutBytes, lastSnapshotCutChars, toEventData, toJsonSafe } from '../src/core/serialize.js';
import {
  EVENT_OVERHEAD_BYTES,
  MEASURED_FROM_CHARS,
  QueuedEvent,
  WIRE_BYTES_PER_CHAR,
  encodeEvent,
  eventBytesAtMost,
  wireBytesPerChar,
} from '../src/core/wire.js';
import type { ReporterOptions } from '../src/options.js';
import { TEST_CONFIG, eventsOf, startTestReporter, stopNow } from './helpers.js';

const KEY = TEST_CONFIG.apiKey;
const OK = () => ({ kind: 'ok', status: 200 }) as const;

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

/** Logs one event in a reporter of its own; what it counted against `maxQueueBytes`, and the UTF-8 size of its JSON as sent. */
async function countedAndSent(name: string, data: unknown, overrides: Partial<ReporterOptions> = {}): Promise<{ counted: number; sent: number }> {
  const { reporter, wire } = startTestReporter({ flushIntervalMs: 60_000, ...overrides }, OK);
  const before = reporter.stats().queueBytes;
  expect(reporter.log(name, data)).toBe(true);
  const counted = reporter.stats().queueBytes - before;
  await stopNow(reporter);
  const events = eventsOf(wire.sent).filter((e) => e.event === 'GENERIC_EVENT');
  expect(events).toHaveLength(1);
  // Parsing and writing JSON again gives text of the same length: the same escapes, keys and numbers.
  return { counted, sent: Buffer.byteLength(JSON.stringify(events[0])) };
}

/** Any UTF-16 code unit (control characters and lone surrogates included), or the API key, which is redacted. */
const unit = fc.oneof(
  { weight: 8, arbitrary: fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)) },
  { weight: 1, arbitrary: fc.constantFrom('a', '"', '\\', '\n', '\u0001', '\u00e9', '\u4e2d', '\ud83d\ude00') },
  { weight: 1, arbitrary: fc.constant(KEY) },
);
const text = (maxLength: number, minLength = 0) => fc.string({ unit, minLength, maxLength });
const data = fc.dictionary(
  text(8),
  fc.oneof(text(40), text(3000, 1000), fc.double(), fc.array(text(20), { maxLength: 5 }), fc.dictionary(text(4), text(30), { maxKeys: 3 })),
  { maxKeys: 6 },
);

describe('what an event counts against maxQueueBytes', () => {
  it('is never less than the UTF-8 size of its JSON as sent, for any text, with the key redacted and the event capped (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        text(60).filter((n) => n.length > 0),
        data,
        fc.integer({ min: 1024, max: 4096 }),
        async (name, value, maxEventBytes) => {
          const { counted, sent } = await countedAndSent(name, value, { maxEventBytes });
          expect(counted).toBeGreaterThanOrEqual(sent);
          expect(counted).toBeLessThanOrEqual(maxEventBytes);
        },
      ),
      { numRuns: 150 },
    );
  });

  it('is exactly the UTF-8 size of its JSON as sent, for an event over MEASURED_FROM_CHARS code units (property)', async () => {
    const large = fc.string({ unit, minLength: MEASURED_FROM_CHARS + 1, maxLength: 3000 });
    await fc.assert(
      fc.asyncProperty(large, data, async (body, value) => {
        const { counted, sent } = await countedAndSent('e', { ...value, body }, { maxEventBytes: 8192 });
        expect(counted).toBe(sent);
      }),
      { numRuns: 60 },
    );
  });

  it('is never less than the UTF-8 size as sent with a key shorter than [redacted], which redaction makes longer (property)', async () => {
    const keys = fc.constantFrom('x', 'e', 'd]', '…', 'ab', 'chars]');
    await fc.assert(
      fc.asyncProperty(
        keys,
        fc.array(fc.constantFrom('x', 'e', 'd', ']', '…', 'a', 'b', 'chars', '[redacted]', 'é'), { minLength: 2000, maxLength: 9000 }),
        async (apiKey, parts) => {
          const config = createConfig({ apiKey, baseUrl: 'http://127.0.0.1:9' });
          // Cut at 32,768 code units, which redaction at send time may make 10 times longer: a cap far above that hides nothing.
          const text = `${parts.join('')}${'b'.repeat(33_000)}`;
          const { counted, sent } = await countedAndSent('x', { x: text }, { config, maxEventBytes: 1_000_000 });
          expect(counted).toBeGreaterThanOrEqual(sent);
        },
      ),
      { numRuns: 40 },
    );
  });

  it('counts a string the snapshot cut by its exact UTF-8 size, and the rest of a small event by the bound', async () => {
    const value = { i: 7, text: 'é'.repeat(50_000) };
    // A cap above the event's size: the event is sent whole, not cut down to fit.
    const snapshot = toEventData(value, 200_000, KEY) as { text: string };
    expect(snapshot.text).toMatch(/…\[truncated 17232 chars\]$/);
    expect(lastSnapshotCutChars()).toBe(snapshot.text.length + 2);
    expect(lastSnapshotCutBytes()).toBe(Buffer.byteLength(JSON.stringify(snapshot.text)));
    const open = 'big'.length + lastSnapshotChars() - lastSnapshotCutChars();
    const { counted, sent } = await countedAndSent('big', value, { maxEventBytes: 200_000 });
    expect(counted).toBe(eventBytesAtMost(open, WIRE_BYTES_PER_CHAR, 200_000, lastSnapshotCutBytes()));
    expect(counted).toBeGreaterThanOrEqual(sent);
    expect(counted - sent).toBeLessThan(EVENT_OVERHEAD_BYTES + WIRE_BYTES_PER_CHAR * open);
  });

  it('reports the cut strings of the outer snapshot, not those of one taken inside it', () => {
    const inner = {
      get nested() {
        toJsonSafe({ cut: 'i'.repeat(40_000) });
        return 'n';
      },
    };
    const out = toJsonSafe({ inner, cut: 'o'.repeat(40_000) }) as { cut: string };
    expect(lastSnapshotCutChars()).toBe(out.cut.length + 2);
    toJsonSafe({ whole: 'w'.repeat(100) });
    expect([lastSnapshotCutChars(), lastSnapshotCutBytes()]).toEqual([0, 0]);
  });

  it('counts a cut string that holds a key shorter than [redacted] by the bound, not by its size before redaction', () => {
    // "[redacted]" holds "d]": redacting "d]" from the cut string at send time makes it longer.
    toEventData({ t: 'd]'.repeat(20_000) }, 65_536, 'd]');
    expect(lastSnapshotCutChars()).toBe(0);
    toEventData({ t: 'x'.repeat(40_000) }, 65_536, 'd]');
    expect(lastSnapshotCutChars()).toBeGreaterThan(30_000);
    // The key across the end of what is kept and the marker: "x…" of "x…[truncated".
    toEventData({ t: 'x'.repeat(40_000) }, 65_536, 'x…');
    expect(lastSnapshotCutChars()).toBe(0);
  });

  it('bounds an event of exactly MEASURED_FROM_CHARS code units, and measures one of a code unit more', async () => {
    const at = (length: number) => {
      toEventData({ t: 'a'.repeat(length) }, 65_536, KEY);
      return 1 + lastSnapshotChars();
    };
    expect([at(1015), at(1016)]).toEqual([MEASURED_FROM_CHARS, MEASURED_FROM_CHARS + 1]);
    const bounded = await countedAndSent('e', { t: 'a'.repeat(1015) });
    expect(bounded.counted).toBe(EVENT_OVERHEAD_BYTES + WIRE_BYTES_PER_CHAR * MEASURED_FROM_CHARS);
    const measured = await countedAndSent('e', { t: 'a'.repeat(1016) });
    expect(measured.counted).toBe(measured.sent);
  });

  it('counts a user error by its snapshot, the strings it cut exactly and the rest by the bound, its name included', async () => {
    const error = Object.assign(new Error('not found'), { status: 404, body: { text: 'b'.repeat(40_000) } });
    const { reporter, wire } = startTestReporter({ flushIntervalMs: 60_000 });
    // The first exception starts a send that is not answered yet; the user error stays queued behind it.
    expect(reporter.logException(new Error('first'))).toBe(true);
    const before = reporter.stats().queueBytes;
    expect(reporter.logException(error)).toBe(true);
    const counted = reporter.stats().queueBytes - before;
    wire.answerAll();
    await stopNow(reporter);
    toEventData(findUserError(error, KEY), 65_536, KEY);
    expect(lastSnapshotCutChars()).toBeGreaterThan(32_768);
    const open = 'user_error'.length + lastSnapshotChars() - lastSnapshotCutChars();
    expect(counted).toBe(eventBytesAtMost(open, WIRE_BYTES_PER_CHAR, 65_536, lastSnapshotCutBytes()));
    const sent = eventsOf(wire.sent).find((e) => e.event === 'GENERIC_EVENT');
    expect(counted).toBeGreaterThanOrEqual(Buffer.byteLength(JSON.stringify(sent)));
  });

  it('counts a string the snapshot cut exactly when the key, straddling the cut, is kept whole and nothing is left to mark', () => {
    // The key starts before the cut and ends the text: the cut moves past it, and no marker is added.
    const text = `${'a'.repeat(32_768 - 5)}${KEY}`;
    const out = toEventData({ t: text }, 65_536, KEY) as { t: string };
    expect(out.t).toBe(`${'a'.repeat(32_768 - 5)}[redacted]`);
    expect(lastSnapshotCutChars()).toBe(out.t.length + 2);
    expect(lastSnapshotCutBytes()).toBe(Buffer.byteLength(JSON.stringify(out.t)));
  });

  it('counts a cut exactly with a key of 10 code units or more, even one that the cut and its marker spell', () => {
    // Redacting a key of 10 or more only shortens the string, so "x…[truncat" (10) across "x" and "…[truncated" changes nothing.
    const out = toEventData({ t: 'x'.repeat(40_000) }, 65_536, 'x…[truncat') as { t: string };
    expect(out.t).toContain('x…[truncat');
    expect(lastSnapshotCutChars()).toBe(out.t.length + 2);
  });

  it('counts text that takes more than a byte a code unit by its bytes: 3 for CJK, 6 for an escaped control character', async () => {
    const cjk = await countedAndSent('e', { t: '中'.repeat(2000) }, { maxEventBytes: 65_536 });
    const ascii = await countedAndSent('e', { t: 'a'.repeat(2000) }, { maxEventBytes: 65_536 });
    const control = await countedAndSent('e', { t: '\u0001'.repeat(2000) }, { maxEventBytes: 65_536 });
    expect(cjk).toEqual({ counted: cjk.sent, sent: ascii.sent + 2 * 2000 });
    expect(control).toEqual({ counted: control.sent, sent: ascii.sent + 5 * 2000 });
  });

  it('bounds a small event at 6 bytes a code unit: control characters, the most a code unit takes, fit', async () => {
    const name = '\u0001'.repeat(100);
    toEventData({ t: '\u0002'.repeat(500) }, 65_536, KEY);
    const chars = name.length + lastSnapshotChars();
    expect(chars).toBeLessThanOrEqual(MEASURED_FROM_CHARS);
    const { counted, sent } = await countedAndSent(name, { t: '\u0002'.repeat(500) });
    expect(counted).toBe(EVENT_OVERHEAD_BYTES + WIRE_BYTES_PER_CHAR * chars);
    expect(sent).toBeLessThanOrEqual(counted);
    expect(sent).toBeGreaterThan(counted - EVENT_OVERHEAD_BYTES);
  });

  it('bounds a small event by maxEventBytes, the size it is cut to, when 6 bytes a code unit would be more', async () => {
    const { counted, sent } = await countedAndSent('e', { t: 'a'.repeat(500) }, { maxEventBytes: 1024 });
    expect(counted).toBe(1024);
    expect(sent).toBeLessThanOrEqual(1024);
  });

  it('counts 10 bytes a code unit with a one-character key, which redaction turns into [redacted]', async () => {
    expect(wireBytesPerChar('x')).toBe(10);
    expect(wireBytesPerChar('xy')).toBe(WIRE_BYTES_PER_CHAR);
    expect(wireBytesPerChar('')).toBe(WIRE_BYTES_PER_CHAR);
    const config = createConfig({ apiKey: 'x', baseUrl: 'http://127.0.0.1:9' });
    const small = await countedAndSent('x', { x: 'x'.repeat(150) }, { config });
    expect(small.sent).toBeGreaterThan(EVENT_OVERHEAD_BYTES + 6 * 150);
    expect(small.counted).toBeGreaterThanOrEqual(small.sent);
    const large = await countedAndSent('x', { x: 'x'.repeat(3000) }, { config, maxEventBytes: 65_536 });
    expect(large).toEqual({ counted: large.sent, sent: expect.any(Number) as number });
    expect(large.sent).toBeGreaterThan(10 * 3000);
  });

  it('lets the default queue fill to maxQueueSize with events of up to MEASURED_FROM_CHARS code units, none refused for bytes', async () => {
    const { reporter } = startTestReporter({ flushIntervalMs: 0, flushThreshold: 10_000 });
    toEventData({ t: 'z'.repeat(1010) }, 65_536, KEY);
    expect(1 + lastSnapshotChars()).toBeLessThanOrEqual(MEASURED_FROM_CHARS);
    expect(1 + lastSnapshotChars()).toBeGreaterThan(MEASURED_FROM_CHARS - 16);
    while (reporter.log('e', { t: 'z'.repeat(1010) }));
    expect(reporter.stats()).toMatchObject({ queueSize: 10_000, dropped: expect.objectContaining({ queue_full: 1, queue_bytes: 0 }) });
    expect(reporter.stats().queueBytes).toBeLessThanOrEqual(64 * 1024 * 1024);
    await stopNow(reporter);
  });

  it('bounds an event whose JSON cannot be made when it is accepted, then drops it as internal_error when it is taken into a batch', async () => {
    let broken = false;
    const clock: Clock = {
      // An invalid time makes the timestamp, and so the JSON, throw.
      now: () => (broken ? Number.NaN : Date.now()),
      setTimeout: (fn, ms) => setTimeout(fn, ms),
      clearTimeout: (id) => clearTimeout(id as ReturnType<typeof setTimeout>),
    };
    const { reporter, wire } = startTestReporter({ clock, flushIntervalMs: 60_000 }, OK);
    const value = { t: 'q'.repeat(2000) };
    toEventData(value, 65_536, KEY);
    const chars = 1 + lastSnapshotChars();
    expect(chars).toBeGreaterThan(MEASURED_FROM_CHARS);
    const before = reporter.stats().queueBytes;
    broken = true;
    expect(reporter.log('e', value)).toBe(true);
    broken = false;
    expect(reporter.stats().queueBytes - before).toBe(eventBytesAtMost(chars, WIRE_BYTES_PER_CHAR, 65_536));
    expect(reporter.log('next', value)).toBe(true);
    await expect(reporter.stop(1000)).resolves.toBe(true);
    expect(eventsOf(wire.sent).map((e) => (e.event === 'GENERIC_EVENT' ? e.event_name : e.event))).toEqual(['SESSION_START', 'next', 'SESSION_END']);
    const stats = reporter.stats();
    expect(stats.dropped.internal_error).toBe(1);
    expect(stats.pushCounter).toBe(stats.flushCounter + stats.queueSize + stats.inFlight);
  });
});

describe('Outbox.measure', () => {
  it('returns the UTF-8 size of the JSON the event is sent as, redacted, and leaves the event to be encoded when it is sent', () => {
    const outbox = new Outbox({
      sessionId: 's',
      maxQueueSize: 10,
      maxQueueBytes: 1 << 20,
      maxBatchSize: 10,
      maxEventBytes: 65_536,
      maxBatchBytes: 1 << 20,
      apiKey: KEY,
      retryBaseDelayMs: 0,
      transport: { send: () => Promise.resolve(OK()) },
      clock: { now: () => 0, setTimeout: () => 0, clearTimeout: () => undefined },
      random: () => 0,
      spool: undefined,
      defer: () => () => undefined,
      hooks: {},
    } as unknown as ConstructorParameters<typeof Outbox>[0]);
    const event = new QueuedEvent('GENERIC_EVENT', 1, 'INFO', 0, `é ${KEY}`, { k: `${KEY} 中` }, undefined, undefined);
    const bytes = outbox.measure(event);
    expect(event.json).toBeUndefined();
    const json = encodeEvent(event, { sessionId: 's', maxEventBytes: 65_536, secret: { text: KEY, inJson: KEY } });
    expect(json).not.toContain(KEY);
    expect(json).toContain('[redacted] 中');
    expect(bytes).toBe(Buffer.byteLength(json));
  });
});
