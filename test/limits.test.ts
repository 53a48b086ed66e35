/**
 * Size limits: `maxEventBytes` cuts one event to fit, with a marker, never
 * dropping it; `maxBatchBytes` ends a batch before its body would cross it.
 */
import { describe, expect, it } from 'vitest';
import { createConfig } from '../src/config.js';
import { LISTED_KEY_BYTES, MARKER_RESERVE, capEventData, cutString, jsonBytes } from '../src/core/truncate.js';
import { DEFAULT_OPTIONS, resolveOptions } from '../src/options.js';
import { Outbox } from '../src/core/outbox.js';
import { RingQueue } from '../src/core/queue.js';
import { startReporter } from '../src/reporter.js';
import type { JsonObject } from '../src/core/serialize.js';
import { QueuedEvent, encodeEvent, envelopeBytes, secretOf, serializeBatch } from '../src/core/wire.js';
import { manualTransport } from './helpers.js';

const bytes = (text: string) => Buffer.byteLength(text);

/** Asserts the exact class and message of what `fn` throws. */
function expectError(fn: () => unknown, type: typeof RangeError | typeof TypeError, message: string): void {
  let caught: unknown;
  try {
    fn();
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(type);
  expect((caught as Error).message).toBe(message);
}
const generic = (name: string, data: JsonObject) => new QueuedEvent('GENERIC_EVENT', 7, 'INFO', 0, name, data, undefined, undefined);
const exception = (type: string, message: string, traceback?: string) =>
  new QueuedEvent(
    'UNHANDLED_EXCEPTION',
    7,
    'ERROR',
    0,
    undefined,
    undefined,
    traceback === undefined ? { error_type: type, error_message: message } : { error_type: type, error_message: message, traceback },
    undefined,
  );

describe('cutString', () => {
  it('keeps a string whose JSON fits, at the exact budget too', () => {
    expect(cutString('abc', 5)).toBe('abc');
  });

  it('cuts to the longest prefix that fits with the marker, one byte over the budget included', () => {
    const text = 'x'.repeat(100);
    const cut = cutString(text, 40);
    expect(cut).toBe(`${'x'.repeat(15)}…[truncated 85 chars]`);
    expect(bytes(JSON.stringify(cut))).toBe(40);
    expect(cutString(text, 39)).toBe(`${'x'.repeat(14)}…[truncated 86 chars]`);
    expect(cutString(text, 41)).toBe(`${'x'.repeat(16)}…[truncated 84 chars]`);
    expect(cutString('abc', 4)).toBe('');
  });

  it('counts UTF-8 bytes and JSON escapes, not characters', () => {
    const cut = cutString('é'.repeat(50), 40);
    expect(cut).toBe(`${'é'.repeat(7)}…[truncated 43 chars]`);
    expect(bytes(JSON.stringify(cut))).toBeLessThanOrEqual(40);
    expect(cutString('"'.repeat(50), 40)).toBe(`${'"'.repeat(7)}…[truncated 43 chars]`);
  });

  it('gives the empty string when not even the marker fits', () => {
    const bare = JSON.stringify('…[truncated 50 chars]');
    expect(cutString('y'.repeat(50), bytes(bare))).toBe('…[truncated 50 chars]');
    expect(cutString('y'.repeat(50), bytes(bare) - 1)).toBe('');
  });
});

describe('capEventData', () => {
  it('keeps the top-level keys in order while they fit, then the marker saying what was dropped', () => {
    const data: JsonObject = { a: 'x'.repeat(100), b: 1, c: [1, 2, 3], d: { e: 'y'.repeat(600) }, f: true };
    const budget = 2 + MARKER_RESERVE + jsonBytes('a') + jsonBytes(data.a!) + 2 + jsonBytes('b') + jsonBytes(1) + 2;
    const out = capEventData(data, budget, 999);
    expect(out).toEqual({ a: data.a, b: 1, '…': { truncated: true, originalBytes: 999, keptKeys: 2, droppedKeys: ['c', 'd', 'f'], droppedKeyCount: 3 } });
    expect(Object.keys(out)).toEqual(['a', 'b', '…']);
    expect(jsonBytes(out)).toBeLessThanOrEqual(budget);
    expect(capEventData(data, budget - 1, 999)).toEqual({
      a: data.a,
      '…': { truncated: true, originalBytes: 999, keptKeys: 1, droppedKeys: ['b', 'c', 'd', 'f'], droppedKeyCount: 4 },
    });
  });

  it('cuts the first string that does not fit whole, and counts it as kept', () => {
    const data: JsonObject = { small: 1, blob: 'z'.repeat(5000), after: 2 };
    const out = capEventData(data, 1000, 5040);
    expect(out.small).toBe(1);
    // The room left once `small` and the marker's reserve are counted, less the key, colon and comma.
    const room = 1000 - (2 + MARKER_RESERVE + jsonBytes('small') + jsonBytes(1) + 2) - jsonBytes('blob') - 2;
    expect(out.blob).toBe(cutString('z'.repeat(5000), room));
    expect(out.blob).toMatch(/^z+…\[truncated \d+ chars\]$/);
    expect(jsonBytes(out.blob!)).toBeGreaterThan(room - 2);
    expect(out['…']).toEqual({ truncated: true, originalBytes: 5040, keptKeys: 2, droppedKeys: ['after'], droppedKeyCount: 1 });
    expect(jsonBytes(out)).toBeLessThanOrEqual(1000);
  });

  it('drops a string when not even its marker fits, and never cuts other values', () => {
    expect(capEventData({ blob: 'z'.repeat(5000) }, 2 + MARKER_RESERVE + 10, 1)).toEqual({
      '…': { truncated: true, originalBytes: 1, keptKeys: 0, droppedKeys: ['blob'], droppedKeyCount: 1 },
    });
    expect(capEventData({ list: ['z'.repeat(5000)] }, 1000, 1)).toEqual({
      '…': { truncated: true, originalBytes: 1, keptKeys: 0, droppedKeys: ['list'], droppedKeyCount: 1 },
    });
  });

  it('adds only the marker when every key fits, whatever the keys are called', () => {
    expect(capEventData({ undefined: 'v', a: 1 }, 1000, 5)).toEqual({
      undefined: 'v',
      a: 1,
      '…': { truncated: true, originalBytes: 5, keptKeys: 2, droppedKeys: [], droppedKeyCount: 0 },
    });
  });

  it('lists at most 8 dropped names, each cut to 40 bytes, and stays within the reserve', () => {
    const data: JsonObject = {};
    for (let i = 0; i < 20; i++) data[`${'\u0001'.repeat(30)}${i}`] = [i];
    const out = capEventData(data, 2 + MARKER_RESERVE, 5);
    const marker = out['…'] as { droppedKeys: string[]; droppedKeyCount: number; keptKeys: number };
    expect(marker.keptKeys).toBe(0);
    expect(marker.droppedKeyCount).toBe(20);
    expect(marker.droppedKeys).toHaveLength(8);
    for (const name of marker.droppedKeys) expect(jsonBytes(name)).toBeLessThanOrEqual(LISTED_KEY_BYTES);
    expect(marker.droppedKeys[0]).toBe(cutString(Object.keys(data)[0]!, LISTED_KEY_BYTES));
    expect(jsonBytes(out)).toBeLessThanOrEqual(2 + MARKER_RESERVE);
  });
});

describe('encodeEvent with maxEventBytes', () => {
  it('keeps an event of exactly maxEventBytes, and cuts one a byte over', () => {
    const make = (size: number) => {
      const probe = encodeEvent(generic('n', { s: '' }), { sessionId: 's' });
      return generic('n', { s: 'a'.repeat(size - bytes(probe)) });
    };
    const exact = make(2000);
    expect(bytes(encodeEvent(exact, { sessionId: 's', maxEventBytes: 2000 }))).toBe(2000);
    expect(exact.jsonBytes).toBe(2000);
    expect(encodeEvent(exact, { sessionId: 's', maxEventBytes: 2000 })).not.toContain('truncated');
    const over = make(2001);
    const json = encodeEvent(over, { sessionId: 's', maxEventBytes: 2000 });
    expect(over.jsonBytes).toBe(bytes(json));
    expect(bytes(json)).toBeLessThanOrEqual(2000);
    const parsed = JSON.parse(json) as { event_name: string; event_data: { s: string; '…': unknown } };
    expect(parsed.event_name).toBe('n');
    expect(parsed.event_data.s).toMatch(/^a+…\[truncated \d+ chars\]$/);
    expect(parsed.event_data['…']).toEqual({
      truncated: true,
      originalBytes: 2001 - bytes(encodeEvent(generic('n', {}), { sessionId: 's' })) + 2,
      keptKeys: 1,
      droppedKeys: [],
      droppedKeyCount: 0,
    });
  });

  it('is deterministic and made once: the same text on every call, the same ids on every retry', () => {
    const data: JsonObject = { a: 'q'.repeat(3000), b: 'r'.repeat(3000) };
    const first = generic('n', data);
    const again = generic('n', data);
    const one = encodeEvent(first, { sessionId: 's', maxEventBytes: 1024 });
    again.id = first.id;
    expect(encodeEvent(again, { sessionId: 's', maxEventBytes: 1024 })).toBe(one);
    expect(encodeEvent(first, { sessionId: 's', maxEventBytes: 999_999 })).toBe(one);
    expect(first.json).toBe(one);
  });

  it('cuts a huge event name only as far as the marker needs, keeping the smallest data whole', () => {
    const huge = generic('N'.repeat(5000), { ok: 1 });
    const json = JSON.parse(encodeEvent(huge, { sessionId: 's', maxEventBytes: 1024 })) as { event_name: string; event_data: unknown };
    expect(json.event_data).toEqual({ ok: 1 });
    expect(json.event_name).toMatch(/^N+…\[truncated \d+ chars\]$/);
    // The name takes all the room the data leaves: exactly 1024 bytes.
    expect(huge.jsonBytes).toBe(1024);
    expect(json.event_name).toHaveLength(828);

    const both = generic('N'.repeat(5000), { big: 'b'.repeat(5000) });
    const parsed = JSON.parse(encodeEvent(both, { sessionId: 's', maxEventBytes: 1024 })) as { event_name: string; event_data: Record<string, unknown> };
    // The name leaves the marker's reserve to the data; the marker itself needs less.
    expect(parsed.event_name).toHaveLength(354);
    expect(both.jsonBytes).toBe(644);
    expect(parsed.event_data).toEqual({ '…': { truncated: true, originalBytes: 5010, keptKeys: 0, droppedKeys: ['big'], droppedKeyCount: 1 } });

    const noData = new QueuedEvent('GENERIC_EVENT', 7, 'INFO', 0, 'N'.repeat(5000), undefined, undefined, undefined);
    const bare = JSON.parse(encodeEvent(noData, { sessionId: 's', maxEventBytes: 1024 })) as { event_name: string; event_data: unknown };
    expect(bare.event_data).toEqual({});
    expect(bare.event_name).toHaveLength(834);
    expect(noData.jsonBytes).toBe(1024);
  });

  it('cuts an exception: error_type to 256 bytes, then the message and the traceback sharing the rest', () => {
    const cap = { sessionId: 's', maxEventBytes: 1024 };
    const long = exception('T'.repeat(1000), 'm'.repeat(3000), 't'.repeat(3000));
    const fields = JSON.parse(encodeEvent(long, cap)) as { error_type: string; error_message: string; traceback: string };
    expect(long.jsonBytes).toBe(1024);
    expect(bytes(JSON.stringify(fields.error_type))).toBe(258);
    expect(fields.error_message).toMatch(/^m+…\[truncated \d+ chars\]$/);
    expect(fields.traceback).toMatch(/^t+…\[truncated \d+ chars\]$/);
    expect([fields.error_message.length, fields.traceback.length]).toEqual([275, 276]);

    const shortTrace = exception('E', 'm'.repeat(3000), 'short trace');
    const a = JSON.parse(encodeEvent(shortTrace, cap)) as { error_type: string; error_message: string; traceback: string };
    expect(a.error_type).toBe('E');
    expect(a.traceback).toBe('short trace');
    expect(a.error_message).toHaveLength(797);
    expect(shortTrace.jsonBytes).toBe(1024);

    const shortMessage = exception('E', 'short message', 't'.repeat(3000));
    const b = JSON.parse(encodeEvent(shortMessage, cap)) as { error_message: string; traceback: string };
    expect(b.error_message).toBe('short message');
    expect(b.traceback).toHaveLength(795);
    expect(shortMessage.jsonBytes).toBe(1024);

    const noTrace = exception('E', 'm'.repeat(3000));
    const c = JSON.parse(encodeEvent(noTrace, cap)) as Record<string, unknown>;
    expect(c).not.toHaveProperty('traceback');
    expect(c.error_message).toHaveLength(823);
    expect(noTrace.jsonBytes).toBe(1024);
  });

  it('reads an exception event without fields as the wire form does, and never grows a small event', () => {
    const bare = new QueuedEvent('UNHANDLED_EXCEPTION', 1, 'ERROR', 0, undefined, undefined, undefined, undefined);
    expect(JSON.parse(encodeEvent(bare, { sessionId: 's', maxEventBytes: 1024 }))).toMatchObject({ error_type: 'undefined', error_message: 'undefined' });
    const nameOnly = new QueuedEvent('GENERIC_EVENT', 1, 'INFO', 0, undefined, undefined, undefined, undefined);
    expect(JSON.parse(encodeEvent(nameOnly, { sessionId: 's', maxEventBytes: 1024 }))).toMatchObject({ event_name: '', event_data: {} });
    // Under a cap below the fixed fields (never allowed by the options), the event still encodes, as small as it gets.
    const tiny = new QueuedEvent('UNHANDLED_EXCEPTION', 1, 'ERROR', 0, undefined, undefined, undefined, undefined);
    expect(JSON.parse(encodeEvent(tiny, { sessionId: 's', maxEventBytes: 100 }))).toMatchObject({ error_type: 'undefined', error_message: '' });
    const start = new QueuedEvent('SESSION_START', 1, 'INFO', 0, undefined, undefined, undefined, undefined);
    expect(JSON.parse(encodeEvent(start, { sessionId: 's', maxEventBytes: 100 }))).toMatchObject({ event: 'SESSION_START' });
  });
});

describe('redaction in events', () => {
  it('redacts the key from the name, the data (keys and values) and the exception fields, even when it needs JSON escapes', () => {
    const key = 'k"ey\\1';
    const secret = secretOf(key);
    expect(secret).toEqual({ text: key, inJson: 'k\\"ey\\\\1' });
    expect(secretOf('')).toBeUndefined();
    const meta = { sessionId: 's', secret };
    const event = JSON.parse(encodeEvent(generic(`n ${key}`, { [key]: [`v ${key}`] }), meta)) as { event_name: string; event_data: unknown };
    expect(event.event_name).toBe('n [redacted]');
    expect(event.event_data).toEqual({ '[redacted]': ['v [redacted]'] });
    const error = JSON.parse(encodeEvent(exception(`T${key}`, `M${key}`, `S${key}`), meta)) as Record<string, unknown>;
    expect(error).toMatchObject({ error_type: 'T[redacted]', error_message: 'M[redacted]', traceback: 'S[redacted]' });
    expect(JSON.parse(encodeEvent(exception(`T${key}`, 'M'), meta))).not.toHaveProperty('traceback');
    expect(JSON.parse(encodeEvent(generic('n', { plain: 'text' }), meta))).toMatchObject({ event_data: { plain: 'text' } });
  });

  it('redacts before cutting, so the cut text never holds part of a key that was cut in two', () => {
    const key = 'K'.repeat(100);
    const event = generic('n', { s: `${'a'.repeat(200)}${key}${key}${'b'.repeat(3000)}` });
    const json = encodeEvent(event, { sessionId: 's', maxEventBytes: 1024, secret: secretOf(key) });
    expect(json).toContain('[redacted][redacted]');
    expect(json).not.toContain('KK');
  });
});

describe('serializeBatch and the envelope', () => {
  it('envelopeBytes is the size of a body without events', () => {
    expect(envelopeBytes('sé')).toBe(bytes(serializeBatch({ sessionId: 'sé' }, [])));
    expect(serializeBatch({ sessionId: 's' }, [])).toMatch(/"events":\[\]\}$/);
  });
});

describe('RingQueue.at', () => {
  it('reads from the head without removing, across the wrap, and gives undefined past the tail', () => {
    const queue = new RingQueue<number>(3);
    queue.push(1);
    queue.push(2);
    queue.push(3);
    queue.shift(2);
    queue.push(4);
    expect([queue.at(0), queue.at(1), queue.at(2)]).toEqual([3, 4, undefined]);
    expect(queue.size).toBe(2);
  });
});

describe('batches within maxBatchBytes', () => {
  const outbox = (maxBatchBytes: number, sent: string[]) =>
    new Outbox({
      sessionId: 's',
      maxQueueSize: 100,
      maxBatchSize: 10,
      maxEventBytes: 1024,
      maxBatchBytes,
      maxQueueBytes: 1_000_000,
      apiKey: 'key',
      retryBaseDelayMs: 0,
      transport: {
        send: (request) => {
          sent.push(request.body);
          return Promise.resolve({ kind: 'ok', status: 200 });
        },
      },
      clock: { now: () => 0, setTimeout: () => 0, clearTimeout: () => undefined },
      random: () => 0,
      hooks: { onSettled: () => undefined, onDropped: () => undefined, onSendFinished: () => undefined, onInternalError: () => undefined },
    });
  const events = () => [0, 1, 2].map((i) => generic(`e${i}`, { pad: 'p'.repeat(100) }));
  const sizeOf = (list: QueuedEvent[]) => list.reduce((sum, event) => sum + bytes(encodeEvent(event, { sessionId: 's' })) + 1, envelopeBytes('s') - 1);

  it('takes events in order while the body fits: at the cap exactly, all of them; one byte less, one fewer', async () => {
    for (const [cap, sizes] of [
      [0, [2, 1]],
      [-1, [1, 1, 1]],
    ] as const) {
      const list = events();
      const limit = sizeOf(list.slice(0, 2)) + cap;
      const sent: string[] = [];
      const box = outbox(limit, sent);
      for (const event of list) box.accept(event);
      const counts: number[] = [];
      while (box.hasPending()) {
        await box.send(0, new AbortController().signal);
        box.deliver();
        counts.push((JSON.parse(sent.at(-1)!) as { events: unknown[] }).events.length);
      }
      expect(counts).toEqual(sizes);
      for (const body of sent) expect(bytes(body)).toBeLessThanOrEqual(limit);
      expect(sent.flatMap((body) => (JSON.parse(body) as { events: { event_name: string }[] }).events.map((e) => e.event_name))).toEqual(['e0', 'e1', 'e2']);
      expect(box.deliveredCounter).toBe(3);
    }
  });

  it('always takes the first event, even under a cap smaller than it', async () => {
    const sent: string[] = [];
    const box = outbox(10, sent);
    for (const event of events()) box.accept(event);
    await box.send(0, new AbortController().signal);
    expect((JSON.parse(sent[0]!) as { events: unknown[] }).events).toHaveLength(1);
  });

  it('a reporter splits a large queue by bytes as well as by count, and delivers everything in order', async () => {
    const { transport, sent, answerAll } = manualTransport();
    answerAll();
    const reporter = startReporter({
      config: createConfig({ apiKey: 'k', baseUrl: 'https://example.com' }),
      sessionId: 's',
      enabled: true,
      transport,
      flushIntervalMs: 0,
      maxEventBytes: 1024,
      maxBatchBytes: 1024 + envelopeBytes('s'),
      drainOnExit: false,
    })!;
    for (let i = 0; i < 6; i++) reporter.log(`e${i}`, { pad: 'p'.repeat(300) });
    expect(await reporter.stop()).toBe(true);
    // SESSION_START and six events of about 500 bytes: two per body fit under 1024 bytes of events.
    expect(sent.map((body) => body.events.length)).toEqual([2, 2, 2, 2]);
    for (const body of sent) expect(bytes(JSON.stringify(body))).toBeLessThanOrEqual(1024 + envelopeBytes('s'));
    expect(sent.flatMap((body) => body.events.map((e) => e.event_session_index))).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(reporter.stats()).toMatchObject({ pushCounter: 8, deliveredCounter: 8, flushCounter: 8, queueSize: 0, inFlight: 0 });
  });
});

describe('maxEventBytes and maxBatchBytes options', () => {
  const base = { config: createConfig({ apiKey: 'k', baseUrl: 'https://example.com' }), sessionId: 's' };
  const envelope = envelopeBytes('s');

  it('default to 64 KiB and 1 MiB', () => {
    expect(DEFAULT_OPTIONS.maxEventBytes).toBe(65_536);
    expect(DEFAULT_OPTIONS.maxBatchBytes).toBe(1_048_576);
    expect(resolveOptions(base)).toMatchObject({ maxEventBytes: 65_536, maxBatchBytes: 1_048_576 });
  });

  it('accept maxEventBytes from 1024 to 64 MiB, and refuse 1023, one byte over 64 MiB, a fraction or a string with the template message', () => {
    const range = 'an integer from 1024 to 67108864';
    expect(resolveOptions({ ...base, maxEventBytes: 1024 }).maxEventBytes).toBe(1024);
    expect(resolveOptions({ ...base, maxEventBytes: 1025 }).maxEventBytes).toBe(1025);
    expect(resolveOptions({ ...base, maxEventBytes: 67_108_864 }).maxEventBytes).toBe(67_108_864);
    expectError(() => resolveOptions({ ...base, maxEventBytes: 1023 }), RangeError, `Expected \`maxEventBytes\` to be ${range}, got \`1023\` (number)`);
    expectError(
      () => resolveOptions({ ...base, maxEventBytes: 67_108_865 }),
      RangeError,
      `Expected \`maxEventBytes\` to be ${range}, got \`67108865\` (number)`,
    );
    expectError(() => resolveOptions({ ...base, maxEventBytes: 2048.5 }), RangeError, `Expected \`maxEventBytes\` to be ${range}, got \`2048.5\` (number)`);
    expectError(() => resolveOptions({ ...base, maxEventBytes: '2048' }), TypeError, `Expected \`maxEventBytes\` to be ${range}, got \`"2048"\` (string)`);
    expect(() => resolveOptions({ ...base, maxEventBytes: 1023 })).toThrow(expect.objectContaining({ code: 'ERR_TINKER_TELEMETRY_OPTION_OUT_OF_RANGE' }));
  });

  it('accept maxBatchBytes from maxEventBytes plus the envelope to 256 MiB, and refuse one byte outside naming both', () => {
    const min = 2048 + envelope;
    const range = (low: number) => `an integer from ${low} (maxEventBytes + ${envelope} bytes of envelope) to 268435456`;
    expect(resolveOptions({ ...base, maxEventBytes: 2048, maxBatchBytes: min }).maxBatchBytes).toBe(min);
    expect(resolveOptions({ ...base, maxEventBytes: 2048, maxBatchBytes: min + 1 }).maxBatchBytes).toBe(min + 1);
    expect(resolveOptions({ ...base, maxBatchBytes: 268_435_456 }).maxBatchBytes).toBe(268_435_456);
    expectError(
      () => resolveOptions({ ...base, maxEventBytes: 2048, maxBatchBytes: min - 1 }),
      RangeError,
      `Expected \`maxBatchBytes\` to be ${range(min)}, got \`${min - 1}\` (number)`,
    );
    expectError(
      () => resolveOptions({ ...base, maxBatchBytes: 268_435_457 }),
      RangeError,
      `Expected \`maxBatchBytes\` to be ${range(65_536 + envelope)}, got \`268435457\` (number)`,
    );
    expectError(
      () => resolveOptions({ ...base, maxBatchBytes: null }),
      TypeError,
      `Expected \`maxBatchBytes\` to be ${range(65_536 + envelope)}, got \`null\` (null)`,
    );
  });

  it('accept maxQueueBytes from twice maxEventBytes plus 512, default to 64 MiB, and refuse one byte less naming maxEventBytes', () => {
    const range = (low: number) => `an integer from ${low} (2 × maxEventBytes + 512) to 9007199254740991`;
    expect(DEFAULT_OPTIONS.maxQueueBytes).toBe(67_108_864);
    expect(resolveOptions(base).maxQueueBytes).toBe(67_108_864);
    expect(resolveOptions({ ...base, maxEventBytes: 2048, maxQueueBytes: 4608 }).maxQueueBytes).toBe(4608);
    expect(resolveOptions({ ...base, maxQueueBytes: Number.MAX_SAFE_INTEGER }).maxQueueBytes).toBe(Number.MAX_SAFE_INTEGER);
    expectError(
      () => resolveOptions({ ...base, maxEventBytes: 2048, maxQueueBytes: 4607 }),
      RangeError,
      `Expected \`maxQueueBytes\` to be ${range(4608)}, got \`4607\` (number)`,
    );
    expectError(
      () => resolveOptions({ ...base, maxQueueBytes: 131_584.5 }),
      RangeError,
      `Expected \`maxQueueBytes\` to be ${range(131_584)}, got \`131584.5\` (number)`,
    );
    expectError(() => resolveOptions({ ...base, maxQueueBytes: '1' }), TypeError, `Expected \`maxQueueBytes\` to be ${range(131_584)}, got \`"1"\` (string)`);
    expectError(
      () => resolveOptions({ ...base, maxQueueBytes: 2 ** 60 }),
      RangeError,
      `Expected \`maxQueueBytes\` to be ${range(131_584)}, got \`${2 ** 60}\` (number)`,
    );
  });

  it('raise the default maxQueueBytes to fit a larger maxEventBytes', () => {
    expect(resolveOptions({ ...base, maxEventBytes: 67_108_864 }).maxQueueBytes).toBe(2 * 67_108_864 + 512);
    expect(resolveOptions({ ...base, maxEventBytes: 33_554_176 }).maxQueueBytes).toBe(67_108_864);
    expect(resolveOptions({ ...base, maxEventBytes: 33_554_177 }).maxQueueBytes).toBe(67_108_864 + 2);
  });

  it('raise the default maxBatchBytes to fit a larger maxEventBytes', () => {
    expect(resolveOptions({ ...base, maxEventBytes: 2_000_000 }).maxBatchBytes).toBe(2_000_000 + envelope);
    expect(resolveOptions({ ...base, maxEventBytes: 1_048_576 - envelope }).maxBatchBytes).toBe(1_048_576);
  });
});
