/**
 * The outbox on its own: what a send takes, how a split batch is carried,
 * what `abandon` drops, and that calls with nothing in flight change nothing.
 * The hooks are recorded so each outcome is seen exactly as the reporter
 * sees it.
 */
import { describe, expect, it } from 'vitest';
import type { Clock } from '../src/core/clock.js';
import { type DropReason, type LastSend, Outbox } from '../src/core/outbox.js';
import type { SpoolPort as Spool, SpooledBatch } from '../src/core/ports.js';
import type { SendResult, Transport } from '../src/core/ports.js';
import { QueuedEvent } from '../src/core/wire.js';
import { OUTBOX_TEST_OPTIONS } from './helpers.js';

const ok: SendResult = { kind: 'ok', status: 200 };

function setup(
  options: {
    maxQueueSize?: number;
    maxQueueBytes?: number;
    /** The transport's answer, or what makes it (and may throw, which rejects the send). Default: 200. */
    answer?: SendResult | (() => SendResult);
    sendTakesMs?: number;
    spool?: Spool;
    random?: () => number;
    onSendFinished?: (last: LastSend) => void;
  } = {},
) {
  let nowMs = 1_000_000;
  const clock: Clock = {
    now: () => nowMs,
    setTimeout: () => {
      throw new Error('the outbox sets no timers');
    },
    clearTimeout: () => undefined,
  };
  const bodies: { indices: number[]; idempotencyKey: string }[] = [];
  const transport: Transport = {
    send: async (request) => {
      const body = JSON.parse(request.body) as { events: { event_session_index: number }[] };
      bodies.push({ indices: body.events.map((e) => e.event_session_index), idempotencyKey: request.idempotencyKey });
      nowMs += options.sendTakesMs ?? 0;
      return typeof options.answer === 'function' ? options.answer() : (options.answer ?? ok);
    },
  };
  const settled: (number | undefined)[] = [];
  const dropped: [DropReason | 'spool_overflow', number][] = [];
  const finished: LastSend[] = [];
  const internalErrors: unknown[] = [];
  const outbox = new Outbox({
    ...OUTBOX_TEST_OPTIONS,
    maxQueueSize: options.maxQueueSize ?? 10,
    maxQueueBytes: options.maxQueueBytes ?? 1_000_000,
    transport,
    clock,
    random: options.random ?? (() => 0),
    spool: options.spool,
    hooks: {
      onSettled: (first) => settled.push(first),
      onDropped: (reason, count) => dropped.push([reason, count]),
      onSendFinished: options.onSendFinished ?? ((last) => finished.push(last)),
      onInternalError: (error) => internalErrors.push(error),
    },
  });
  /** Accepts `n` GENERIC_EVENTs, numbered from the outbox's next index. */
  const accept = (n: number) => {
    for (let i = 0; i < n; i++) {
      outbox.accept(new QueuedEvent('GENERIC_EVENT', outbox.nextIndex, 'INFO', nowMs, 'e', {}, undefined, undefined));
    }
  };
  const signal = new AbortController().signal;
  const counters = () => ({ queueSize: outbox.queueSize, inFlight: outbox.inFlight, pushCounter: outbox.pushCounter, flushCounter: outbox.flushCounter });
  return { outbox, accept, bodies, settled, dropped, finished, internalErrors, signal, counters };
}

describe('Outbox.send', () => {
  it('answers ACK without a request when nothing is queued or in flight', async () => {
    const { outbox, bodies, finished, internalErrors, signal } = setup();
    await expect(outbox.send(0, signal)).resolves.toEqual({ type: 'ACK' });
    expect(bodies).toEqual([]);
    expect(finished).toEqual([]);
    expect(internalErrors).toEqual([]);
    expect(outbox.lastSend).toBeUndefined();
  });

  it('takes the jitter of the backoff from the injected random', async () => {
    const { outbox, accept, signal } = setup({ random: () => 0.5, answer: { kind: 'retryable', reason: 'down' } });
    accept(1);
    // 100 ms × (1 + 0.5 × 0.1).
    await expect(outbox.send(0, signal)).resolves.toEqual({ type: 'FAIL', kind: 'retryable', retryDelayMs: 105, batchSize: 1 });
  });

  it('waits the Retry-After of a retryable answer only, whatever else an answer carries', async () => {
    const retryable = setup({ answer: { kind: 'retryable', reason: 'HTTP 503', retryAfterMs: 60_000 } });
    retryable.accept(1);
    await expect(retryable.outbox.send(0, retryable.signal)).resolves.toMatchObject({ type: 'FAIL', retryDelayMs: 60_000 });
    // A custom transport may answer outside the type: a rejection is never retried, so it waits nothing but the plain backoff.
    const rejected = setup({ answer: { kind: 'rejected', status: 400, retryAfterMs: 60_000 } as SendResult });
    rejected.accept(1);
    await expect(rejected.outbox.send(0, rejected.signal)).resolves.toEqual({ type: 'FAIL', kind: 'rejected', retryDelayMs: 100, batchSize: 1 });
  });

  it('reports how long the request took, by the clock, with the batch size and attempt', async () => {
    const { outbox, accept, finished, signal } = setup({ sendTakesMs: 250 });
    accept(2);
    await expect(outbox.send(1, signal)).resolves.toEqual({ type: 'ACK' });
    expect(finished).toEqual([{ size: 2, attempt: 1, durationMs: 250, result: ok }]);
    expect(outbox.lastSend).toEqual(finished[0]);
  });
});

describe("a failed send's reason", () => {
  /** The API key `setup` gives the outbox. */
  const KEY = 'sk-test-0123456789abcdef';
  const reasonOf = async (answer: SendResult | (() => SendResult)) => {
    const { outbox, accept, finished, signal } = setup({ answer });
    accept(1);
    await outbox.send(0, signal);
    return finished[0]?.result;
  };

  it('has the key redacted before its cut at 300 characters, so a key across the cut goes whole', async () => {
    const given: SendResult = { kind: 'retryable', status: 503, retryAfterMs: 20, reason: `${'r'.repeat(295)}${KEY} and more` };
    expect(await reasonOf(given)).toEqual({ kind: 'retryable', status: 503, retryAfterMs: 20, reason: `${'r'.repeat(295)}[redacted]…` });
    // The transport's own object is left as it gave it.
    expect(given.kind === 'retryable' && given.reason).toBe(`${'r'.repeat(295)}${KEY} and more`);
    expect(await reasonOf({ kind: 'retryable', reason: 'r'.repeat(301) })).toEqual({ kind: 'retryable', reason: `${'r'.repeat(300)}…` });
    expect(await reasonOf({ kind: 'retryable', reason: 'HTTP 503' })).toEqual({ kind: 'retryable', reason: 'HTTP 503' });
  });

  it('has the key redacted from the name of an error the transport throws', async () => {
    const thrown = () => {
      throw Object.assign(new Error('send failed'), { name: `Name ${KEY}` });
    };
    expect(await reasonOf(thrown)).toEqual({ kind: 'retryable', reason: 'Name [redacted]' });
  });
});

describe('calls with no batch in flight', () => {
  it('deliver, drop and split change no counter and call no hook', () => {
    const { outbox, accept, settled, dropped, counters } = setup();
    accept(2);
    const before = counters();
    outbox.deliver();
    outbox.drop('rejected');
    outbox.split();
    expect(counters()).toEqual(before);
    expect(outbox.hasSplitHalf()).toBe(false);
    expect(outbox.deliveredCounter).toBe(0);
    expect(settled).toEqual([]);
    expect(dropped).toEqual([]);
  });

  it('abandon on an empty outbox drops nothing and calls no hook', () => {
    const { outbox, settled, dropped, counters } = setup();
    outbox.abandon('shutdown');
    expect(counters()).toEqual({ queueSize: 0, inFlight: 0, pushCounter: 0, flushCounter: 0 });
    expect(outbox.dropped.shutdown).toBe(0);
    expect(settled).toEqual([]);
    expect(dropped).toEqual([]);
  });

  it('abandon without a spool drops an event that cannot be encoded under its reason too, without encoding the queue', () => {
    const { outbox, accept, dropped, internalErrors, counters } = setup();
    outbox.accept(poison(0));
    accept(1);
    outbox.abandon('shutdown');
    expect(dropped).toEqual([['shutdown', 2]]);
    expect(internalErrors).toEqual([]);
    expect(counters()).toEqual({ queueSize: 0, inFlight: 0, pushCounter: 2, flushCounter: 2 });
  });

  it('abandon drops the queue with the reason and reports the lowest index dropped', () => {
    const { outbox, accept, settled, dropped, counters } = setup();
    accept(3);
    outbox.abandon('shutdown');
    expect(counters()).toEqual({ queueSize: 0, inFlight: 0, pushCounter: 3, flushCounter: 3 });
    expect(outbox.dropped.shutdown).toBe(3);
    expect(dropped).toEqual([['shutdown', 3]]);
    expect(settled).toEqual([0]);
    expect(outbox.hasPending()).toBe(false);
  });
});

describe('splitting the batch in flight', () => {
  it('does nothing to a batch of one event: it is resent whole, nothing is carried', async () => {
    const { outbox, accept, bodies, signal, counters } = setup({ answer: { kind: 'too_large', status: 413 } });
    accept(1);
    await outbox.send(0, signal);
    outbox.split();
    expect(outbox.hasSplitHalf()).toBe(false);
    expect(outbox.hasPending()).toBe(false);
    expect(counters()).toEqual({ queueSize: 0, inFlight: 1, pushCounter: 1, flushCounter: 0 });
    await outbox.send(0, signal);
    expect(bodies.map((b) => b.indices)).toEqual([[0], [0]]);
    expect(bodies[1]!.idempotencyKey).toBe(bodies[0]!.idempotencyKey);
  });

  it('carries the second half until it is taken, after the first half, with a key of its own', async () => {
    const { outbox, accept, bodies, signal, counters } = setup({ answer: { kind: 'too_large', status: 413 } });
    accept(3);
    expect(outbox.hasSplitHalf()).toBe(false);
    await outbox.send(0, signal);
    outbox.split();
    expect(outbox.hasSplitHalf()).toBe(true);
    expect(outbox.hasPending()).toBe(true);
    expect(counters()).toEqual({ queueSize: 0, inFlight: 3, pushCounter: 3, flushCounter: 0 });
    await outbox.send(0, signal);
    outbox.deliver();
    expect(outbox.hasSplitHalf()).toBe(true);
    await outbox.send(0, signal);
    expect(outbox.hasSplitHalf()).toBe(false);
    outbox.deliver();
    expect(bodies.map((b) => b.indices)).toEqual([[0, 1, 2], [0, 1], [2]]);
    expect(new Set(bodies.map((b) => b.idempotencyKey)).size).toBe(3);
    expect(counters()).toEqual({ queueSize: 0, inFlight: 0, pushCounter: 3, flushCounter: 3 });
  });

  it('abandon drops the batch in flight, the carried half and the queue, lowest index first, and forgets the carry', async () => {
    const { outbox, accept, settled, dropped, signal, counters } = setup({ answer: { kind: 'too_large', status: 413 } });
    accept(4);
    await outbox.send(0, signal);
    outbox.split();
    accept(2);
    outbox.abandon('shutdown');
    expect(dropped).toEqual([['shutdown', 6]]);
    expect(settled).toEqual([0]);
    expect(outbox.hasSplitHalf()).toBe(false);
    expect(outbox.hasPending()).toBe(false);
    expect(counters()).toEqual({ queueSize: 0, inFlight: 0, pushCounter: 6, flushCounter: 6 });
  });
});

describe('Outbox.acceptAlways', () => {
  it('displaces the newest event of a full queue, counted as queue_full, and reports its index', () => {
    const { outbox, accept, settled, dropped, counters } = setup({ maxQueueSize: 2 });
    accept(2);
    outbox.acceptAlways(new QueuedEvent('SESSION_END', outbox.nextIndex, 'INFO', 0, undefined, undefined, undefined, 0));
    expect(dropped).toEqual([['queue_full', 1]]);
    expect(settled).toEqual([1]);
    expect(counters()).toEqual({ queueSize: 2, inFlight: 0, pushCounter: 3, flushCounter: 1 });
  });

  it('displaces nothing when there is room', () => {
    const { outbox, accept, settled, dropped, counters } = setup({ maxQueueSize: 2 });
    accept(1);
    outbox.acceptAlways(new QueuedEvent('SESSION_END', outbox.nextIndex, 'INFO', 0, undefined, undefined, undefined, 0));
    expect(dropped).toEqual([]);
    expect(settled).toEqual([]);
    expect(counters()).toEqual({ queueSize: 2, inFlight: 0, pushCounter: 2, flushCounter: 0 });
  });
});

/** A spool in memory whose journal cannot be opened, offering `replays` to resend; it records what it is asked to do, and the bodies it keeps. */
function memorySpool(replays: SpooledBatch[] = []) {
  const calls: string[] = [];
  const kept: string[] = [];
  let n = 0;
  const spool = {
    openJournal: () => undefined,
    claimNext: () => replays.shift(),
    hold: (_body: string, _key: string, events: number) => (calls.push(`hold ${events}`), `file-${n++}`),
    keep: (file: string | undefined, body: string, _key: string, events: number) => (calls.push(`keep ${file} ${events}`), kept.push(body), true),
    remove: (file: string | undefined) => void calls.push(`remove ${file}`),
  } as unknown as Spool;
  return { spool, calls, kept };
}

/** A resent batch of `n` events of session `old`. */
function replay(n: number): SpooledBatch {
  const events = Array.from({ length: n }, (_, i) => ({
    event: 'GENERIC_EVENT',
    event_id: `old-${i}`,
    event_session_index: i,
    severity: 'INFO',
    timestamp: '2026-01-02T03:04:05.678Z',
    event_name: 'e',
    event_data: {},
  }));
  return {
    file: 'replayed.batch.claimed-1-a',
    body: JSON.stringify({ session_id: 'old', platform: 'unix/linux', sdk_version: '0.1.0', process_uuid: 'p', events }),
    idempotencyKey: 'old-key',
    events: n,
  };
}

describe('the outbox with a spool but no journal (it could not be opened)', () => {
  it('holds, delivers and keeps batches all the same', async () => {
    const { spool, calls } = memorySpool();
    const { outbox, accept, signal, counters } = setup({ spool });
    accept(2);
    await outbox.send(0, signal);
    outbox.deliver();
    accept(1);
    await outbox.send(0, signal);
    outbox.drop('retries_exhausted');
    expect(calls).toEqual(['hold 2', 'remove file-0', 'hold 1', 'keep file-1 1']);
    expect(outbox.spooledCounter).toBe(1);
    expect(counters()).toEqual({ queueSize: 0, inFlight: 0, pushCounter: 3, flushCounter: 3 });
  });
});

describe('splitting a resent batch', () => {
  it('sends its halves before this session’s events, counts none of them in flight, and waits on this session’s oldest event only', async () => {
    const { spool, calls } = memorySpool([replay(3)]);
    const { outbox, accept, bodies, signal, counters, finished } = setup({ spool, answer: { kind: 'too_large', status: 413 } });
    accept(2);
    await outbox.send(0, signal);
    expect(finished[0]?.size).toBe(3);
    outbox.split();
    expect(calls).toEqual(['hold 2', 'hold 1', 'remove replayed.batch.claimed-1-a']);
    expect(counters()).toEqual({ queueSize: 2, inFlight: 0, pushCounter: 2, flushCounter: 0 });
    // Neither half holds an event of this session: the oldest one without an outcome is the queue's first.
    expect(outbox.oldestPending()).toBe(0);
    await outbox.send(0, signal);
    outbox.deliver();
    expect(outbox.oldestPending()).toBe(0);
    await outbox.send(0, signal);
    outbox.deliver();
    expect(outbox.replayedCounter).toBe(3);
    expect(bodies.map((b) => b.indices)).toEqual([[0, 1, 2], [0, 1], [2]]);
  });

  it('does nothing to a resent batch of one event', async () => {
    const { spool, calls } = memorySpool([replay(1)]);
    const { outbox, signal } = setup({ spool, answer: { kind: 'too_large', status: 413 } });
    await outbox.send(0, signal);
    outbox.split();
    expect(outbox.hasSplitHalf()).toBe(false);
    expect(calls).toEqual([]);
  });

  it('splits a resent batch of two events into two of one', async () => {
    const { spool } = memorySpool([replay(2)]);
    const { outbox, bodies, signal } = setup({ spool, answer: { kind: 'too_large', status: 413 } });
    await outbox.send(0, signal);
    outbox.split();
    await outbox.send(0, signal);
    outbox.deliver();
    await outbox.send(0, signal);
    expect(bodies.map((b) => b.indices)).toEqual([[0, 1], [0], [1]]);
  });
});

/** A GENERIC_EVENT whose data cannot be encoded: JSON.stringify meets a getter that throws. */
function poison(index: number): QueuedEvent {
  const data = {
    get boom(): never {
      throw new RangeError('Invalid string length');
    },
  } as unknown as Record<string, never>;
  return new QueuedEvent('GENERIC_EVENT', index, 'INFO', 0, 'poison', data, undefined, undefined);
}

describe('a send that fails inside the library', () => {
  it('drops an event that cannot be encoded at the head as internal_error, with one hook call, and sends the rest in order', async () => {
    const { outbox, accept, bodies, dropped, settled, internalErrors, signal, counters } = setup();
    outbox.accept(poison(0));
    accept(2);
    await expect(outbox.send(0, signal)).resolves.toEqual({ type: 'ACK' });
    outbox.deliver();
    expect(bodies.map((b) => b.indices)).toEqual([[1, 2]]);
    expect(dropped).toEqual([['internal_error', 1]]);
    expect(settled[0]).toBe(0);
    expect(internalErrors).toHaveLength(1);
    expect((internalErrors[0] as Error).message).toBe('Invalid string length');
    expect(outbox.dropped.internal_error).toBe(1);
    expect(outbox.deliveredCounter).toBe(2);
    expect(counters()).toEqual({ queueSize: 0, inFlight: 0, pushCounter: 3, flushCounter: 3 });
  });

  it('ends the batch before an event that cannot be encoded, and drops it when it reaches the head', async () => {
    const { outbox, accept, bodies, dropped, signal, counters } = setup();
    accept(2);
    outbox.accept(poison(2));
    accept(1);
    await outbox.send(0, signal);
    outbox.deliver();
    expect(bodies.map((b) => b.indices)).toEqual([[0, 1]]);
    expect(dropped).toEqual([]);
    await outbox.send(0, signal);
    outbox.deliver();
    expect(bodies.map((b) => b.indices)).toEqual([[0, 1], [3]]);
    expect(dropped).toEqual([['internal_error', 1]]);
    expect(counters()).toEqual({ queueSize: 0, inFlight: 0, pushCounter: 4, flushCounter: 4 });
  });

  it('answers ACK with nothing sent when every queued event is poison', async () => {
    const { outbox, bodies, dropped, signal, counters } = setup();
    outbox.accept(poison(0));
    outbox.accept(poison(1));
    await expect(outbox.send(0, signal)).resolves.toEqual({ type: 'ACK' });
    expect(bodies).toEqual([]);
    expect(dropped).toEqual([
      ['internal_error', 1],
      ['internal_error', 1],
    ]);
    expect(outbox.hasPending()).toBe(false);
    expect(counters()).toEqual({ queueSize: 0, inFlight: 0, pushCounter: 2, flushCounter: 2 });
  });

  it('drops the batch as internal_error and answers ACK when the spool throws while holding it', async () => {
    const { spool } = memorySpool();
    (spool as unknown as { hold: () => never }).hold = () => {
      throw new Error('EIO from a broken disk');
    };
    const { outbox, accept, bodies, dropped, internalErrors, signal, counters } = setup({ spool });
    accept(3);
    await expect(outbox.send(0, signal)).resolves.toEqual({ type: 'ACK' });
    expect(bodies).toEqual([]);
    expect(dropped).toEqual([['internal_error', 3]]);
    expect((internalErrors[0] as Error).message).toBe('EIO from a broken disk');
    // deliver() after that ACK finds no batch, so nothing is counted twice.
    outbox.deliver();
    expect(outbox.deliveredCounter).toBe(0);
    expect(counters()).toEqual({ queueSize: 0, inFlight: 0, pushCounter: 3, flushCounter: 3 });
  });

  it('puts a resent batch back in the spool as it was, uncounted here, when sending it throws', async () => {
    const resent = replay(2);
    const { spool, calls, kept } = memorySpool([resent]);
    const { outbox, dropped, internalErrors, signal } = setup({
      spool,
      onSendFinished: () => {
        throw new Error('hostile hook');
      },
    });
    await expect(outbox.send(0, signal)).resolves.toEqual({ type: 'ACK' });
    expect(calls).toEqual(['keep replayed.batch.claimed-1-a 2']);
    expect(kept).toEqual([resent.body]);
    expect(dropped).toEqual([]);
    expect(outbox.replayDroppedCounter).toBe(0);
    expect(outbox.replayedCounter).toBe(0);
    expect(internalErrors).toHaveLength(1);
  });

  it('answers ACK, reports the fault and keeps the queue when the spool throws while claiming a batch to resend', async () => {
    const { spool } = memorySpool();
    (spool as unknown as { claimNext: () => never }).claimNext = () => {
      throw new Error('EACCES on the spool');
    };
    const { outbox, accept, bodies, dropped, internalErrors, signal, counters } = setup({ spool });
    accept(2);
    await expect(outbox.send(0, signal)).resolves.toEqual({ type: 'ACK' });
    expect(bodies).toEqual([]);
    expect(dropped).toEqual([]);
    expect((internalErrors as Error[]).map((e) => e.message)).toEqual(['EACCES on the spool']);
    expect(counters()).toEqual({ queueSize: 2, inFlight: 0, pushCounter: 2, flushCounter: 0 });
  });

  it('removes the file it held for a batch it drops as internal_error, so no later reporter resends it, even when the warning hook throws', async () => {
    const { spool, calls } = memorySpool();
    const { outbox, accept, dropped, signal } = setup({
      spool,
      onSendFinished: () => {
        throw new Error('hostile hook');
      },
    });
    accept(2);
    await expect(outbox.send(0, signal)).resolves.toEqual({ type: 'ACK' });
    expect(calls).toEqual(['hold 2', 'remove file-0']);
    expect(dropped).toEqual([['internal_error', 2]]);
  });

  it('keeps retrying with a finite delay when the injected random throws or returns nonsense', async () => {
    for (const random of [
      () => {
        throw new Error('hostile random');
      },
      () => Number.NaN,
      () => 7,
      () => 1,
      () => -1,
    ]) {
      const { outbox, accept, internalErrors, signal } = setup({ random, answer: { kind: 'retryable', reason: 'down' } });
      accept(1);
      await expect(outbox.send(0, signal)).resolves.toEqual({ type: 'FAIL', kind: 'retryable', retryDelayMs: 100, batchSize: 1 });
      expect(internalErrors).toEqual([]);
    }
  });
});

describe('queueBytes', () => {
  const sized = (index: number, bytes: number) => new QueuedEvent('GENERIC_EVENT', index, 'INFO', 0, 'e', {}, undefined, undefined, bytes);

  it('fits an event that reaches maxQueueBytes exactly, and not one a byte over', () => {
    const { outbox } = setup({ maxQueueBytes: 1000 });
    outbox.accept(sized(0, 600));
    expect(outbox.fits(400)).toBe(true);
    expect(outbox.fits(401)).toBe(false);
    expect(outbox.queueBytes).toBe(600);
  });

  it('counts what is queued, not the batch in flight, and returns to 0 when the queue is empty', async () => {
    const { outbox, signal } = setup();
    outbox.accept(sized(0, 300));
    outbox.accept(sized(1, 500));
    expect(outbox.queueBytes).toBe(800);
    await outbox.send(0, signal);
    expect(outbox.queueBytes).toBe(0);
    outbox.deliver();
    outbox.accept(sized(2, 70));
    outbox.abandon('shutdown');
    expect(outbox.queueBytes).toBe(0);
  });

  it('gives back the bytes of the event SESSION_END displaces, and counts SESSION_END whatever the bound', () => {
    const { outbox } = setup({ maxQueueSize: 1, maxQueueBytes: 1000 });
    outbox.accept(sized(0, 1000));
    outbox.acceptAlways(sized(1, 256));
    expect(outbox.queueBytes).toBe(256);
  });

  it('gives back the bytes of an event dropped for internal_error', async () => {
    const { outbox, signal } = setup();
    outbox.accept(new QueuedEvent('GENERIC_EVENT', 0, 'INFO', 0, 'poison', poison(0).data, undefined, undefined, 900));
    await outbox.send(0, signal);
    expect(outbox.queueBytes).toBe(0);
  });
});
