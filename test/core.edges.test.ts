/**
 * Edges of the core's batching that the wider tests pass over: the exact
 * byte at which a batch is full, whether work done ahead is reused or
 * redone (seen through a pass-through spy on `encodeEvent`), when an event's
 * bytes are counted, and when the outbox calls a batch full.
 */
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { BatchBuilder } from '../src/core/batch-builder.js';
import type { Clock } from '../src/core/clock.js';
import { type LastSend, Outbox } from '../src/core/outbox.js';
import type { SendResult } from '../src/core/ports.js';
import { RingQueue } from '../src/core/queue.js';
import { type BodyMeta, QueuedEvent, encodeEvent, envelopeBytes, serializeBatch } from '../src/core/wire.js';
import { OUTBOX_TEST_OPTIONS } from './helpers.js';

vi.mock('../src/core/wire.js', async (importOriginal) => {
  const wire = await importOriginal<typeof import('../src/core/wire.js')>();
  return { ...wire, encodeEvent: vi.fn(wire.encodeEvent) };
});

const encodeCalls = () => vi.mocked(encodeEvent).mock.calls.length;

beforeEach(() => {
  vi.mocked(encodeEvent).mockClear();
});

const SESSION = 'session-1';

function event(index: number, name = 'e'): QueuedEvent {
  return new QueuedEvent('GENERIC_EVENT', index, 'INFO', 1_700_000_000_000, name, { n: index }, undefined, undefined);
}

function builder(events: readonly QueuedEvent[], limits: { maxBatchSize?: number; maxBatchBytes?: number } = {}, meta: BodyMeta = { sessionId: SESSION }) {
  const queue = new RingQueue<QueuedEvent>(100);
  for (const e of events) queue.push(e);
  const batches = new BatchBuilder(queue, meta, { maxBatchSize: limits.maxBatchSize ?? 100, maxBatchBytes: limits.maxBatchBytes ?? 1_048_576 });
  return { queue, batches };
}

const failOnError = (error: unknown) => {
  throw error;
};

describe('BatchBuilder', () => {
  it('takes nothing from an empty queue, and its body is the one of an empty batch', () => {
    const { batches } = builder([]);
    expect(batches.take(failOnError)).toEqual({ count: 0, body: serializeBatch({ sessionId: SESSION }, []) });
  });

  it('take after encodeAhead encodes no event again: it goes on from the work done ahead', () => {
    const events = [event(1), event(2), event(3)];
    const { batches } = builder(events);
    batches.encodeAhead();
    expect(encodeCalls()).toBe(3);
    const taken = batches.take(failOnError);
    expect(encodeCalls()).toBe(3);
    expect(taken).toEqual({ count: 3, body: serializeBatch({ sessionId: SESSION }, events) });
  });

  it('take after forget does the work again, even when the queue holds the same events at the same places', () => {
    const events = [event(1), event(2)];
    const { queue, batches } = builder(events);
    batches.encodeAhead();
    queue.drain();
    batches.forget();
    for (const e of events) queue.push(e);
    vi.mocked(encodeEvent).mockClear();
    expect(batches.take(failOnError).count).toBe(2);
    expect(encodeCalls()).toBe(2);
  });

  it('does not reuse the work done ahead once the queue no longer begins with its first event, even if its last is back in place', () => {
    const [first, last, other] = [event(1, 'first'), event(2, 'last'), event(3, 'other')];
    const { queue, batches } = builder([first, last]);
    batches.encodeAhead();
    queue.drain();
    queue.push(other);
    queue.push(last);
    expect(batches.take(failOnError)).toEqual({ count: 2, body: serializeBatch({ sessionId: SESSION }, [other, last]) });
  });

  it('does not reuse the work done ahead when only its first event and an event past its end are where they were', () => {
    const [a, b, x, y] = [event(1, 'a'), event(2, 'b'), event(3, 'x'), event(4, 'y')];
    const { queue, batches } = builder([a, b]);
    batches.encodeAhead();
    queue.drain();
    for (const e of [a, x, y, b]) queue.push(e);
    expect(batches.take(failOnError)).toEqual({ count: 4, body: serializeBatch({ sessionId: SESSION }, [a, x, y, b]) });
  });

  /** The body bytes of `events` as one batch, by a builder without a byte cap (the events are fresh copies, so nothing is counted ahead). */
  function bodyBytes(make: () => QueuedEvent[], meta: BodyMeta): number {
    const { batches } = builder(make(), {}, meta);
    return Buffer.byteLength(batches.take(failOnError).body);
  }

  for (const [label, meta] of [
    ['bytes not counted when encoded', { sessionId: SESSION }],
    // Events long enough that encodeEvent counts their bytes against maxEventBytes: the bound is then exact.
    ['bytes counted when encoded', { sessionId: SESSION, maxEventBytes: 300 }],
  ] as const) {
    it(`fills a batch up to maxBatchBytes exactly, and leaves out the event one byte over (${label})`, () => {
      const make = () => [event(1), event(2), event(3)];
      const exact = bodyBytes(make, meta);
      const fits = builder(make(), { maxBatchBytes: exact }, meta).batches.take(failOnError);
      expect(fits.count).toBe(3);
      expect(Buffer.byteLength(fits.body)).toBe(exact);
      const over = builder(make(), { maxBatchBytes: exact - 1 }, meta).batches.take(failOnError);
      expect(over.count).toBe(2);
      expect(Buffer.byteLength(over.body)).toBeLessThan(exact - 1);
    });
  }

  it('counts no bytes while the bound keeps the batch within maxBatchBytes, also when it reaches the cap exactly', () => {
    const events = [event(1), event(2)];
    for (const e of events) encodeEvent(e, { sessionId: SESSION });
    const bound = events.map((e) => e.jsonBytesAtMost);
    expect(bound).toEqual(events.map((e) => (e.json as string).length * 3));
    // The body without events, less the comma the first event does not need, and each event's bound with its comma.
    const maxBatchBytes = envelopeBytes(SESSION) - 1 + (bound[0] as number) + 1 + (bound[1] as number) + 1;
    const { batches } = builder(events, { maxBatchBytes });
    expect(batches.take(failOnError).count).toBe(2);
    expect(events.map((e) => e.jsonBytesAtMost)).toEqual(bound);
  });
});

describe('QueuedEvent.jsonBytes', () => {
  it('is 0 before the event is encoded', () => {
    expect(event(1).jsonBytes).toBe(0);
  });

  it('keeps the count handed over with the JSON, 0 included, rather than counting again', () => {
    // Counts this JSON text does not have (it is 10 bytes): only a kept count can be read back.
    for (const bytes of [0, 1234]) {
      const e = event(1);
      e.encoded('{"a":"é"}', bytes);
      expect(e.jsonBytes).toBe(bytes);
    }
  });
});

describe('Outbox', () => {
  function outbox(options: { maxBatchSize?: number; maxBatchBytes?: number; answer?: SendResult } = {}) {
    const clock: Clock = { now: () => 0, setTimeout: () => undefined, clearTimeout: () => undefined };
    const finished: LastSend[] = [];
    const internalErrors: unknown[] = [];
    const box = new Outbox({
      ...OUTBOX_TEST_OPTIONS,
      maxQueueSize: 100,
      maxBatchSize: options.maxBatchSize ?? 10,
      maxBatchBytes: options.maxBatchBytes ?? 1_048_576,
      transport: { send: () => Promise.resolve(options.answer ?? { kind: 'ok', status: 200 }) },
      clock,
      random: () => 0,
      hooks: {
        onSettled: () => undefined,
        onDropped: () => undefined,
        onSendFinished: (last) => finished.push(last),
        onInternalError: (error) => internalErrors.push(error),
      },
    });
    const accept = (queuedBytes = 0) => box.accept(new QueuedEvent('GENERIC_EVENT', box.nextIndex, 'INFO', 0, 'e', {}, undefined, undefined, queuedBytes));
    return { box, accept, finished, internalErrors };
  }

  it('holds a full batch once maxBatchSize events are queued, not one event later', () => {
    const { box, accept } = outbox({ maxBatchSize: 3 });
    accept();
    accept();
    expect(box.hasFullBatch()).toBe(false);
    accept();
    expect(box.hasFullBatch()).toBe(true);
  });

  it('holds a full batch once the queued bytes reach maxBatchBytes, not one byte later', () => {
    const { box, accept } = outbox({ maxBatchSize: 100, maxBatchBytes: 1000 });
    accept(400);
    accept(599);
    expect(box.hasFullBatch()).toBe(false);
    accept(1);
    expect(box.queueBytes).toBe(1000);
    expect(box.hasFullBatch()).toBe(true);
  });

  it('passes on a custom transport’s retryable answer whose reason is not a string, without failing the send', async () => {
    const answer = { kind: 'retryable', reason: 42 } as unknown as SendResult;
    const { box, accept, finished, internalErrors } = outbox({ answer });
    accept();
    await expect(box.send(0, new AbortController().signal)).resolves.toMatchObject({ type: 'FAIL', kind: 'retryable', batchSize: 1 });
    expect(finished.map((last) => last.result)).toEqual([answer]);
    expect(internalErrors).toEqual([]);
  });
});
