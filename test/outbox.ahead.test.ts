/**
 * Encoding ahead: while a request is in flight, the outbox encodes the next
 * batch's events and joins their JSON (through its `defer`, run here by
 * hand), so that the next request only has to be taken. The events stay in
 * the queue until then: counted as queued, journaled, without a key. Each
 * test checks one way the work ahead could have changed what is sent or
 * counted, and that it does not.
 */
import { describe, expect, it } from 'vitest';
import type { Clock } from '../src/core/clock.js';
import { type DropReason, Outbox } from '../src/core/outbox.js';
import type { JournalPort, SendResult, SpoolPort, TelemetryRequest, Transport } from '../src/core/ports.js';
import { QueuedEvent, bodyJson, envelopeJson } from '../src/core/wire.js';
import { OUTBOX_TEST_OPTIONS } from './helpers.js';

const ok: SendResult = { kind: 'ok', status: 200 };

function setup(options: { maxQueueSize?: number; maxBatchSize?: number; spool?: SpoolPort; defer?: 'manual' | 'none' | 'throws' | 'cancel throws' } = {}) {
  const clock: Clock = { now: () => 0, setTimeout: () => undefined, clearTimeout: () => undefined };
  const requests: { request: TelemetryRequest; indices: number[]; answer: (result: SendResult) => void }[] = [];
  const transport: Transport = {
    send: (request) =>
      new Promise<SendResult>((resolve) => {
        const indices = (JSON.parse(request.body) as { events: { event_session_index: number }[] }).events.map((e) => e.event_session_index);
        requests.push({ request, indices, answer: resolve });
      }),
  };
  /** Tasks handed to `defer` and not yet run or cancelled. */
  const tasks = new Set<() => void>();
  let cancelled = 0;
  const defer =
    options.defer === 'none'
      ? undefined
      : (task: () => void) => {
          if (options.defer === 'throws') throw new Error('no scheduler');
          tasks.add(task);
          return () => {
            if (options.defer === 'cancel throws') throw new Error('cannot cancel');
            if (tasks.delete(task)) cancelled++;
          };
        };
  const dropped: [DropReason | 'spool_overflow', number][] = [];
  const internalErrors: unknown[] = [];
  const outbox = new Outbox({
    ...OUTBOX_TEST_OPTIONS,
    maxQueueSize: options.maxQueueSize ?? 100,
    maxBatchSize: options.maxBatchSize ?? 10,
    transport,
    clock,
    random: () => 0,
    spool: options.spool,
    defer,
    hooks: {
      onSettled: () => undefined,
      onDropped: (reason, count) => dropped.push([reason, count]),
      onSendFinished: () => undefined,
      onInternalError: (error) => internalErrors.push(error),
    },
  });
  const events: QueuedEvent[] = [];
  const accept = (n: number) => {
    for (let i = 0; i < n; i++) {
      const event = new QueuedEvent('GENERIC_EVENT', outbox.nextIndex, 'INFO', 1_700_000_000_000 + i, 'e', { i }, undefined, undefined, 300);
      events.push(event);
      outbox.accept(event);
    }
  };
  const runTasks = () => {
    const due = [...tasks];
    tasks.clear();
    for (const task of due) task();
  };
  const signal = new AbortController().signal;
  /** Starts a send; the test answers it through `requests`. */
  const send = (attempt = 0) => outbox.send(attempt, signal);
  /** Answers the last request with `result`, and waits for the send's verdict. */
  const answer = async (pending: ReturnType<typeof send>, result: SendResult = ok) => {
    await Promise.resolve();
    requests.at(-1)!.answer(result);
    return pending;
  };
  const counters = () => ({
    queueSize: outbox.queueSize,
    queueBytes: outbox.queueBytes,
    inFlight: outbox.inFlight,
    pushCounter: outbox.pushCounter,
    flushCounter: outbox.flushCounter,
  });
  /** The body `serializeBatch` would write for the events with these indices. */
  const bodyOf = (indices: number[]) =>
    bodyJson(
      envelopeJson('session-1'),
      indices.map((i) => events[i]!.json as string),
    );
  return { outbox, accept, events, requests, tasks, cancelled: () => cancelled, runTasks, send, answer, counters, bodyOf, dropped, internalErrors };
}

/** A spool in memory that holds and keeps everything, with a journal that records what it is told. */
function recordingSpool() {
  const journal: string[] = [];
  const held: { body: string; key: string; events: number }[] = [];
  let files = 0;
  const port: JournalPort = {
    append: (event) => void journal.push(`append ${event.index}`),
    ack: (events) => void journal.push(`ack ${events.map((e) => e.index).join(',')}`),
    close: () => undefined,
  };
  const spool: SpoolPort = {
    claimNext: () => undefined,
    hold: (body, key, events) => (held.push({ body, key, events }), `file-${files++}`),
    keep: () => true,
    remove: () => undefined,
    openJournal: () => port,
  };
  return { spool, journal, held };
}

describe('encoding ahead while a request is in flight', () => {
  it('encodes the next batch’s events once the transport has the request, before its answer, and sends them as serializeBatch writes them', async () => {
    const { accept, events, requests, tasks, runTasks, send, answer, outbox, bodyOf } = setup();
    accept(15);
    const first = send();
    await Promise.resolve();
    expect(requests).toHaveLength(1);
    expect(tasks.size).toBe(1);
    expect(events.slice(10).every((e) => e.json === undefined)).toBe(true);
    runTasks();
    expect(events.slice(10).every((e) => e.json !== undefined)).toBe(true);
    await expect(answer(first)).resolves.toEqual({ type: 'ACK' });
    outbox.deliver();
    void send();
    await Promise.resolve();
    expect(requests[1]!.indices).toEqual([10, 11, 12, 13, 14]);
    expect(requests[1]!.request.body).toBe(bodyOf([10, 11, 12, 13, 14]));
  });

  it('asks for no work ahead when nothing is queued behind the request, and cancels work not yet begun once the answer is in', async () => {
    const { accept, tasks, cancelled, send, answer, outbox } = setup();
    accept(3);
    await answer(send());
    outbox.deliver();
    expect(tasks.size).toBe(0);
    expect(cancelled()).toBe(0);
    accept(13);
    await answer(send());
    expect(tasks.size).toBe(0);
    expect(cancelled()).toBe(1);
  });

  it('sends as before when there is no defer, or the defer or its cancel throws: the send is not failed by it', async () => {
    for (const defer of ['none', 'throws', 'cancel throws'] as const) {
      const { accept, requests, send, answer, outbox, bodyOf, internalErrors } = setup({ defer });
      accept(12);
      await expect(answer(send())).resolves.toEqual({ type: 'ACK' });
      outbox.deliver();
      await expect(answer(send())).resolves.toEqual({ type: 'ACK' });
      outbox.deliver();
      expect(requests.map((r) => r.indices)).toEqual([
        [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
        [10, 11],
      ]);
      expect(requests[1]!.request.body).toBe(bodyOf([10, 11]));
      expect(internalErrors).toEqual([]);
      expect(outbox.deliveredCounter).toBe(12);
    }
  });

  it('changes no counter: the events encoded ahead are still queued, with their bytes, until taken', async () => {
    const { accept, runTasks, send, counters } = setup();
    accept(15);
    void send();
    await Promise.resolve();
    const before = counters();
    runTasks();
    expect(counters()).toEqual(before);
    expect(before).toMatchObject({ queueSize: 5, queueBytes: 1500, inFlight: 10, pushCounter: 15, flushCounter: 0 });
  });

  it('resends a failed batch with the same body and key, and then the batch encoded ahead with a key of its own', async () => {
    const { accept, requests, runTasks, send, answer, outbox, bodyOf } = setup();
    accept(15);
    const first = send(0);
    await Promise.resolve();
    runTasks();
    expect(await answer(first, { kind: 'retryable', status: 503, reason: 'HTTP 503' })).toMatchObject({ type: 'FAIL' });
    const retry = send(1);
    await Promise.resolve();
    runTasks();
    await answer(retry);
    outbox.deliver();
    void send();
    await Promise.resolve();
    expect(requests.map((r) => r.indices)).toEqual([
      [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
      [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
      [10, 11, 12, 13, 14],
    ]);
    expect(requests[1]!.request.body).toBe(requests[0]!.request.body);
    expect(requests[1]!.request.idempotencyKey).toBe(requests[0]!.request.idempotencyKey);
    expect(requests[2]!.request.idempotencyKey).not.toBe(requests[0]!.request.idempotencyKey);
    expect(requests[2]!.request.body).toBe(bodyOf([10, 11, 12, 13, 14]));
  });

  it('sends the batch encoded ahead after one that failed for good, counted as before', async () => {
    const { accept, requests, runTasks, send, answer, outbox, counters, dropped } = setup();
    accept(15);
    const first = send();
    await Promise.resolve();
    runTasks();
    await answer(first, { kind: 'rejected', status: 400 });
    outbox.drop('rejected');
    await answer(send());
    outbox.deliver();
    expect(requests.map((r) => r.indices.length)).toEqual([10, 5]);
    expect(dropped).toEqual([['rejected', 10]]);
    expect(counters()).toEqual({ queueSize: 0, queueBytes: 0, inFlight: 0, pushCounter: 15, flushCounter: 15 });
    expect(outbox.deliveredCounter).toBe(5);
  });

  it('adds the events queued after the work ahead to the same batch, up to maxBatchSize', async () => {
    const { accept, requests, runTasks, send, answer, outbox, bodyOf } = setup();
    accept(12);
    const first = send();
    await Promise.resolve();
    runTasks();
    accept(10);
    await answer(first);
    outbox.deliver();
    await answer(send());
    outbox.deliver();
    await answer(send());
    expect(requests.map((r) => r.indices)).toEqual([
      [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
      [10, 11, 12, 13, 14, 15, 16, 17, 18, 19],
      [20, 21],
    ]);
    expect(requests[1]!.request.body).toBe(bodyOf([10, 11, 12, 13, 14, 15, 16, 17, 18, 19]));
  });

  it('leaves out an event encoded ahead that SESSION_END then displaced from the full queue', async () => {
    const { accept, events, requests, runTasks, send, answer, outbox, bodyOf, dropped } = setup({ maxQueueSize: 3, maxBatchSize: 3 });
    accept(3);
    await answer(send(), { kind: 'retryable', status: 503, reason: 'HTTP 503' });
    // The queue is full behind the retry, and the next batch is all of it.
    accept(3);
    const first = send(1);
    await Promise.resolve();
    runTasks();
    expect(events[5]!.json).toBeDefined();
    const end = new QueuedEvent('SESSION_END', outbox.nextIndex, 'INFO', 0, undefined, undefined, undefined, 0);
    events.push(end);
    outbox.acceptAlways(end);
    expect(dropped).toEqual([['queue_full', 1]]);
    await answer(first);
    outbox.deliver();
    void send();
    await Promise.resolve();
    expect(requests[2]!.indices).toEqual([3, 4, 6]);
    expect(requests[2]!.request.body).toBe(bodyOf([3, 4, 6]));
  });

  it('reports nothing about an event it cannot encode ahead: the send that takes it drops it, with one warning, as without the work ahead', async () => {
    const { accept, outbox, requests, runTasks, send, answer, dropped, internalErrors } = setup();
    accept(10);
    const first = send();
    await Promise.resolve();
    const data = {} as Record<string, unknown>;
    Object.defineProperty(data, 'x', { enumerable: true, get: () => 'x'.repeat(2 ** 29) });
    outbox.accept(new QueuedEvent('GENERIC_EVENT', outbox.nextIndex, 'INFO', 0, 'poison', data as never, undefined, undefined));
    accept(1);
    runTasks();
    expect(internalErrors).toEqual([]);
    expect(dropped).toEqual([]);
    await answer(first);
    outbox.deliver();
    await answer(send());
    outbox.deliver();
    expect(requests.map((r) => r.indices)).toEqual([[0, 1, 2, 3, 4, 5, 6, 7, 8, 9], [11]]);
    expect(internalErrors).toHaveLength(1);
    expect(dropped).toEqual([['internal_error', 1]]);
  });

  it('drops the events encoded ahead with the rest when abandoned, and sends none of them afterwards', async () => {
    const { accept, requests, runTasks, send, outbox, counters, dropped } = setup();
    accept(15);
    void send();
    await Promise.resolve();
    runTasks();
    outbox.abandon('shutdown');
    expect(dropped).toEqual([['shutdown', 15]]);
    expect(counters()).toEqual({ queueSize: 0, queueBytes: 0, inFlight: 0, pushCounter: 15, flushCounter: 15 });
    accept(2);
    void send();
    await Promise.resolve();
    expect(requests.map((r) => r.indices)).toEqual([
      [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
      [15, 16],
    ]);
  });

  it('with a spool, journals and holds the events encoded ahead as any queued ones: acknowledged only once their batch is on disk', async () => {
    const { spool, journal, held } = recordingSpool();
    const { accept, requests, runTasks, send, answer, outbox } = setup({ spool, maxBatchSize: 3 });
    accept(5);
    await Promise.resolve();
    const first = send();
    await Promise.resolve();
    runTasks();
    expect(journal).toEqual(['append 0', 'append 1', 'append 2', 'append 3', 'append 4', 'ack 0,1,2']);
    expect(held.map((h) => h.events)).toEqual([3]);
    await answer(first);
    outbox.deliver();
    void send();
    await Promise.resolve();
    expect(journal.at(-1)).toBe('ack 3,4');
    expect(held.map((h) => [h.body, h.key])).toEqual(requests.map((r) => [r.request.body, r.request.idempotencyKey]));
  });
});
