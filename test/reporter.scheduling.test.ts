/**
 * When the reporter sends: after a delivered batch it goes on at once only
 * when the queue has reached `flushThreshold`, holds a full batch, or the
 * second half of a split batch waits; otherwise the rest waits for the flush
 * timer. An exception flushes at once, a refused one does not.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { ReporterOptions } from '../src/options.js';
import { QueuedEvent } from '../src/core/wire.js';
import { eventsOf, settle, startTestReporter, stopNow } from './helpers.js';

const ok = { kind: 'ok', status: 200 } as const;

function start(overrides: Partial<ReporterOptions> = {}) {
  const { reporter, wire, log } = startTestReporter({ flushThreshold: 3, retryBaseDelayMs: 100, random: () => 0, ...overrides });
  const indices = (n: number) => wire.sent[n]!.events.map((e) => e.event_session_index);
  return { reporter, wire, log, indices };
}

describe('sending after a delivered batch', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('waits for the flush timer when flushThreshold − 1 events were queued meanwhile', async () => {
    const { reporter, wire, indices } = start();
    reporter.log('a');
    reporter.log('b');
    await settle();
    expect(indices(0)).toEqual([0, 1, 2]);
    reporter.log('c');
    reporter.log('d');
    wire.answer(ok);
    await settle(10);
    expect(reporter.stats().state).toBe('batching');
    await vi.advanceTimersByTimeAsync(999);
    expect(wire.sent).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(wire.sent).toHaveLength(2);
    expect(indices(1)).toEqual([3, 4]);
    await stopNow(reporter);
  });

  it('sends each event at once with a flushThreshold of 1, the flush timer off: the queue becoming non-empty is also the threshold', async () => {
    const { reporter, wire, indices } = start({ flushThreshold: 1, flushIntervalMs: 0 });
    await settle();
    // SESSION_START alone reached the threshold.
    expect(indices(0)).toEqual([0]);
    wire.answer(ok);
    await settle(10);
    expect(reporter.stats().state).toBe('idle');
    reporter.log('a');
    await settle();
    expect(wire.sent).toHaveLength(2);
    expect(indices(1)).toEqual([1]);
    await stopNow(reporter);
  });

  it('does not send at once when the queue becomes non-empty below a flushThreshold above 1', async () => {
    const { reporter, wire } = start({ flushThreshold: 2, flushIntervalMs: 0 });
    await settle(10);
    expect(wire.sent).toHaveLength(0);
    expect(reporter.stats().state).toBe('batching');
    await stopNow(reporter);
  });

  it('sends at once when flushThreshold events were queued meanwhile', async () => {
    const { reporter, wire, indices } = start();
    reporter.log('a');
    reporter.log('b');
    await settle();
    reporter.log('c');
    reporter.log('d');
    reporter.log('e');
    wire.answer(ok);
    await settle(10);
    expect(reporter.stats().state).toBe('sending');
    expect(wire.sent).toHaveLength(2);
    expect(indices(1)).toEqual([3, 4, 5]);
    await stopNow(reporter);
  });

  it('goes back to idle, with no timer, when nothing was queued meanwhile', async () => {
    const { reporter, wire } = start();
    reporter.log('a');
    reporter.log('b');
    await settle();
    wire.answer(ok);
    await settle(10);
    expect(reporter.stats().state).toBe('idle');
    expect(vi.getTimerCount()).toBe(0);
    await stopNow(reporter);
  });

  /** Answers every request as it comes, with no time passing, until none waits; returns how many were answered. */
  async function answerBackToBack(wire: ReturnType<typeof start>['wire']): Promise<number> {
    let answered = 0;
    for (; wire.pending.length > 0 && answered < 1000; answered++) {
      wire.answer(ok);
      await settle(10);
    }
    return answered;
  }

  it('sends a backlog of 1,000 events as 10 requests of 100, back to back, with no time passing', async () => {
    const { reporter, wire } = start({ flushThreshold: 100, maxBatchSize: 100 });
    for (let i = 0; i < 999; i++) reporter.log('e', { i });
    expect(await answerBackToBack(wire)).toBe(10);
    expect(wire.sent.map((body) => body.events.length)).toEqual(Array.from({ length: 10 }, () => 100));
    expect(eventsOf(wire.sent).map((e) => e.event_session_index)).toEqual(Array.from({ length: 1000 }, (_, i) => i));
    expect(reporter.stats()).toMatchObject({ state: 'idle', deliveredCounter: 1000, queueSize: 0 });
    await stopNow(reporter);
  });

  it('with flushThreshold above maxBatchSize, goes on in full batches back to back after the first send, and leaves only a part batch for the timer', async () => {
    const { reporter, wire } = start({ flushThreshold: 500, maxBatchSize: 100 });
    for (let i = 0; i < 1048; i++) reporter.log('e', { i });
    expect(await answerBackToBack(wire)).toBe(10);
    expect(wire.sent.map((body) => body.events.length)).toEqual(Array.from({ length: 10 }, () => 100));
    expect(reporter.stats()).toMatchObject({ state: 'batching', queueSize: 49 });
    await vi.advanceTimersByTimeAsync(1000);
    expect(wire.sent[10]!.events).toHaveLength(49);
    await stopNow(reporter);
  });

  it('counts a full batch by bytes too: large events go on back to back until less than maxBatchBytes of them is queued', async () => {
    const maxBatchBytes = 4096;
    const { reporter, wire } = start({ flushThreshold: 50, maxBatchSize: 100, maxEventBytes: 1024, maxBatchBytes });
    for (let i = 0; i < 49; i++) reporter.log('e', { s: 'x'.repeat(600) });
    const requests = await answerBackToBack(wire);
    // The first request went at the threshold; by the threshold alone, the next ones would have waited for the timer.
    expect(requests).toBeGreaterThan(2);
    for (const body of wire.sent) expect(Buffer.byteLength(JSON.stringify(body))).toBeLessThanOrEqual(maxBatchBytes);
    const { state, queueSize, queueBytes } = reporter.stats();
    expect(state).toBe('batching');
    expect(queueBytes).toBeLessThan(maxBatchBytes);
    expect(queueSize).toBeGreaterThan(0);
    await stopNow(reporter);
  });

  it('sends the second half of a split batch right after the first, without waiting for the timer', async () => {
    const { reporter, wire, indices } = start();
    reporter.log('a');
    reporter.log('b');
    await settle();
    wire.answer({ kind: 'too_large', status: 413 });
    await settle(10);
    expect(indices(1)).toEqual([0, 1]);
    wire.answer(ok);
    await settle(10);
    expect(wire.sent).toHaveLength(3);
    expect(indices(2)).toEqual([2]);
    wire.answer(ok);
    await settle(10);
    expect(reporter.stats()).toMatchObject({ state: 'idle', deliveredCounter: 3, inFlight: 0 });
    await stopNow(reporter);
  });
});

describe('the batch behind the one in flight', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.restoreAllMocks();
    vi.useRealTimers();
  });

  it('is encoded in the turn after the send, before the answer, and then sent without being encoded again', async () => {
    const encoded = vi.spyOn(QueuedEvent.prototype, 'encoded');
    const { reporter, wire, indices } = start({ flushThreshold: 10, maxBatchSize: 2 });
    reporter.log('a');
    reporter.log('b');
    reporter.log('c');
    void reporter.flush();
    await settle();
    expect(indices(0)).toEqual([0, 1]);
    expect(encoded).toHaveBeenCalledTimes(2);
    await vi.advanceTimersByTimeAsync(0);
    expect(wire.pending).toHaveLength(1);
    expect(encoded).toHaveBeenCalledTimes(4);
    wire.answer(ok);
    await settle(10);
    expect(indices(1)).toEqual([2, 3]);
    expect(encoded).toHaveBeenCalledTimes(4);
    await stopNow(reporter);
  });
});

describe('what the machine hears', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('hears LOG only when the queue becomes non-empty and THRESHOLD only when it reaches flushThreshold', async () => {
    const heard: string[] = [];
    const { reporter, wire } = start({
      flushThreshold: 4,
      inspect: (event) => {
        // Only what the reporter tells the machine: not its own init, nor the sendBatch actor's.
        if (event.type === '@xstate.event' && event.sourceRef === undefined && !event.event.type.startsWith('xstate.')) heard.push(event.event.type);
      },
    });
    expect(heard).toEqual(['LOG']);
    reporter.log('a');
    reporter.log('b');
    expect(heard).toEqual(['LOG']);
    reporter.log('c');
    expect(heard).toEqual(['LOG', 'THRESHOLD']);
    // The batch in flight took the whole queue, so the next event makes it non-empty again.
    expect(wire.pending[0]!.body.events).toHaveLength(4);
    reporter.log('d');
    reporter.log('e');
    expect(heard).toEqual(['LOG', 'THRESHOLD', 'LOG']);
    expect(wire.sent).toHaveLength(1);
    await stopNow(reporter);
  });
});

describe('logException() and the flush it starts', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('starts no flush when the exception is refused for its severity, and warns naming the severity', async () => {
    const { reporter, wire, log } = start({ flushThreshold: 100 });
    reporter.log('queued');
    expect(reporter.logException(new Error('boom'), 'fatal' as 'error')).toBe(false);
    await settle(10);
    expect(wire.sent).toHaveLength(0);
    expect(reporter.stats().dropped.invalid).toBe(1);
    expect(log.records.filter((r) => r.level === 'warn').map((r) => r.msg)).toEqual([
      'Telemetry event refused: severity "fatal" is not one of debug, info, warning, error, critical',
    ]);
    await vi.advanceTimersByTimeAsync(1000);
    expect(eventsOf(wire.sent).map((e) => e.event)).toEqual(['SESSION_START', 'GENERIC_EVENT']);
    await stopNow(reporter);
  });

  it('starts no flush when the exception is refused for a full queue, counted as queue_full', async () => {
    const { reporter, wire } = start({ flushThreshold: 100, maxQueueSize: 2 });
    reporter.log('queued');
    expect(reporter.logException(new Error('boom'))).toBe(false);
    await settle(10);
    expect(wire.sent).toHaveLength(0);
    expect(reporter.stats()).toMatchObject({ queueSize: 2, pushCounter: 2, dropped: { queue_full: 1, invalid: 0 } });
    await stopNow(reporter);
  });
});

describe('a request aborted by the stop deadline', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('answers no one: the ended machine receives no event from it', async () => {
    const received: string[] = [];
    const { reporter, wire } = start({
      inspect: (event) => {
        if (event.type === '@xstate.event') received.push(event.event.type);
      },
    });
    reporter.log('a');
    reporter.log('b');
    await settle();
    expect(wire.pending).toHaveLength(1);
    const stopped = reporter.stop(50);
    await vi.advanceTimersByTimeAsync(50);
    expect(await stopped).toBe(false);
    const atEnd = received.length;
    expect(received.at(-1)).toBe('DEADLINE');
    expect(wire.pending[0]!.request.signal.aborted).toBe(true);
    await settle(20);
    expect(received.slice(atEnd)).toEqual([]);
  });

  it('aborts only that request: the signal of a send already answered is never aborted, even at the deadline', async () => {
    const { reporter, wire } = start();
    reporter.log('a');
    reporter.log('b');
    await settle();
    const answered = wire.pending[0]!.request;
    wire.answer(ok);
    await settle();
    // The batch is delivered and the machine has left that send: its signal stays quiet.
    expect(reporter.stats().deliveredCounter).toBe(3);
    expect(answered.signal.aborted).toBe(false);
    for (const name of ['c', 'd', 'e']) reporter.log(name);
    await settle();
    expect(wire.pending).toHaveLength(1);
    const stopped = reporter.stop(50);
    await vi.advanceTimersByTimeAsync(50);
    expect(await stopped).toBe(false);
    expect(wire.pending.at(-1)!.request.signal.aborted).toBe(true);
    expect(answered.signal.aborted).toBe(false);
  });
});
