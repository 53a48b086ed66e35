/**
 * The size checks that count UTF-8 bytes only when the length alone cannot
 * settle them: the per-event cap (`utf8BytesNearCap` in `encodeEvent`) and
 * the per-request cap (the outbox's batches). Each must decide exactly as
 * counting every byte would, for any text: ASCII, escapes, 2- and 3-byte
 * characters, surrogate pairs and lone surrogates.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Clock } from '../src/core/clock.js';
import { Outbox } from '../src/core/outbox.js';
import type { Transport } from '../src/core/ports.js';
import { QueuedEvent, encodeEvent, envelopeBytes, utf8BytesNearCap } from '../src/core/wire.js';
import { fcRuns } from './fc-runs.js';

const seed = Number(process.env.FC_SEED ?? Date.now() % 2 ** 31);
console.log(`wire.utf8-bound FC_SEED=${seed}`);

/** One UTF-16 code unit or one astral character, from each UTF-8 width; the 3-byte range includes every lone surrogate. */
const unit = fc.oneof(
  fc.constantFrom('a', 'Z', '"', '\\', '\n', '\u0000'),
  fc.integer({ min: 0x80, max: 0x7ff }).map((c) => String.fromCharCode(c)),
  fc.integer({ min: 0x800, max: 0xffff }).map((c) => String.fromCharCode(c)),
  fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c)),
  fc.integer({ min: 0x10000, max: 0x10ffff }).map((c) => String.fromCodePoint(c)),
);
const text = fc.string({ unit, maxLength: 60 });

describe('utf8BytesNearCap', () => {
  it('decides over or within the cap exactly as Buffer.byteLength does, for any text and any cap near its size', () => {
    fc.assert(
      fc.property(
        text.chain((s) => fc.tuple(fc.constant(s), fc.integer({ min: 0, max: s.length * 3 + 2 }))),
        ([s, cap]) => {
          const counted = utf8BytesNearCap(s, cap);
          expect(counted > cap).toBe(Buffer.byteLength(s) > cap);
          // It counts exactly when the length cannot settle it, and then gives the exact size.
          expect(counted).toBe(s.length * 3 <= cap ? -1 : Buffer.byteLength(s));
        },
      ),
      { seed, numRuns: fcRuns(3000) },
    );
  });

  it('counts nothing for text of at most a third of the cap in code units, the bound a lone surrogate reaches', () => {
    expect(Buffer.byteLength('\ud800')).toBe(3);
    expect(utf8BytesNearCap('\ud800\ud800', 6)).toBe(-1);
    expect(utf8BytesNearCap('\ud800\ud800', 5)).toBe(6);
    expect(utf8BytesNearCap('😀', 5)).toBe(4);
  });
});

describe('an event under its cap', () => {
  it('leaves its bytes uncounted until read, and then gives the exact size', () => {
    const event = new QueuedEvent('GENERIC_EVENT', 0, 'INFO', 0, 'é😀', { s: '\ud800' }, undefined, undefined);
    const json = encodeEvent(event, { sessionId: 's', maxEventBytes: 65_536 });
    expect(event.jsonBytesAtMost).toBe(json.length * 3);
    expect(event.jsonBytes).toBe(Buffer.byteLength(json));
    expect(event.jsonBytesAtMost).toBe(Buffer.byteLength(json));
  });
});

describe('batches under maxBatchBytes', () => {
  const clock: Clock = { now: () => 0, setTimeout: () => undefined, clearTimeout: () => undefined };

  it('are as large as maxBatchBytes allows when every event is counted exactly, and never larger', async () => {
    const envelope = envelopeBytes('s');
    await fc.assert(
      fc.asyncProperty(
        fc.array(text, { minLength: 1, maxLength: 30 }),
        fc.integer({ min: 300, max: 3000 }),
        fc.integer({ min: 1, max: 12 }),
        async (names, room, maxBatchSize) => {
          const bodies: string[] = [];
          const transport: Transport = { send: async ({ body }) => (bodies.push(body), { kind: 'ok', status: 200 }) };
          const maxBatchBytes = envelope + room;
          const outbox = new Outbox({
            sessionId: 's',
            maxQueueSize: 100,
            maxQueueBytes: 10_000_000,
            maxBatchSize,
            maxEventBytes: room,
            maxBatchBytes,
            apiKey: '',
            retryBaseDelayMs: 1,
            transport,
            clock,
            random: () => 0,
            hooks: { onSettled: () => undefined, onDropped: () => undefined, onSendFinished: () => undefined, onInternalError: () => undefined },
          });
          const events = names.map((name, i) => new QueuedEvent('GENERIC_EVENT', i, 'INFO', 0, name, {}, undefined, undefined));
          for (const event of events) outbox.accept(event);
          const signal = new AbortController().signal;
          while (outbox.hasPending()) {
            await outbox.send(0, signal);
            outbox.deliver();
          }
          // Greedy by exact bytes: a batch ends at maxBatchSize, at the queue's end, or where the next event would cross the cap.
          let next = 0;
          for (const body of bodies) {
            const sent = (JSON.parse(body) as { events: unknown[] }).events.length;
            const size = Buffer.byteLength(body);
            if (sent > 1) expect(size).toBeLessThanOrEqual(maxBatchBytes);
            next += sent;
            const following = events[next];
            if (sent < maxBatchSize && following !== undefined) expect(size + Buffer.byteLength(following.json as string) + 1).toBeGreaterThan(maxBatchBytes);
          }
          expect(next).toBe(events.length);
        },
      ),
      { seed, numRuns: fcRuns(300) },
    );
  });
});
