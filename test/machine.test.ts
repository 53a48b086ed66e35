import { describe, expect, it } from 'vitest';
import { SimulatedClock, createActor, fromCallback } from 'xstate';
import { type ReporterMachineEvent, type SendBatchInput, reporterMachine } from '../machines/reporter.machine.js';

/**
 * Drives the pure machine with stubbed effects and xstate's simulated clock:
 * the world (queue contents, send outcomes) is a few variables the test sets.
 */
function harness(input: { flushIntervalMs?: number; maxRetries?: number } = {}) {
  const world = { pending: false, atThreshold: false, fullBatch: false, splitPending: false };
  const calls: string[] = [];
  const sends: SendBatchInput[] = [];
  let aborted = 0;
  const clock = new SimulatedClock();
  const machine = reporterMachine.provide({
    actors: {
      sendBatch: fromCallback<ReporterMachineEvent, SendBatchInput>(({ input: sendInput }) => {
        sends.push(sendInput);
        return () => {
          aborted++;
        };
      }),
    },
    actions: {
      deliverBatch: () => calls.push('deliver'),
      dropBatch: (_args, params) => calls.push(`drop:${params.reason}`),
      splitBatch: () => calls.push('split'),
      retryScheduled: (_args, params) => calls.push(`retry:${params.attempt}:${params.delayMs}`),
      abandonAll: () => calls.push('abandon'),
    },
    guards: {
      hasPending: () => world.pending,
      atThreshold: () => world.atThreshold,
      fullBatchWaits: () => world.fullBatch,
      splitPending: () => world.splitPending,
    },
  });
  const actor = createActor(machine, {
    input: { flushIntervalMs: input.flushIntervalMs ?? 1000, maxRetries: input.maxRetries ?? 2 },
    clock,
  });
  actor.start();
  const send = (event: ReporterMachineEvent) => actor.send(event);
  const state = () => actor.getSnapshot().value;
  return { world, calls, sends, clock, actor, send, state, aborted: () => aborted };
}

const fail = (kind: 'retryable' | 'rejected' | 'too_large', retryDelayMs = 100, batchSize = 4): ReporterMachineEvent => ({
  type: 'FAIL',
  kind,
  retryDelayMs,
  batchSize,
});

describe('reporter machine', () => {
  it('starts idle and moves to batching when the queue becomes non-empty', () => {
    const h = harness();
    expect(h.state()).toBe('idle');
    h.send({ type: 'LOG' });
    expect(h.state()).toBe('batching');
  });

  it('sends when the flush interval elapses, and not a millisecond earlier', () => {
    const h = harness({ flushIntervalMs: 1000 });
    h.send({ type: 'LOG' });
    h.clock.increment(999);
    expect(h.state()).toBe('batching');
    h.clock.increment(1);
    expect(h.state()).toBe('sending');
    expect(h.sends).toEqual([{ attempt: 0 }]);
  });

  it('never sends on a timer when flushIntervalMs is 0', () => {
    const h = harness({ flushIntervalMs: 0 });
    h.send({ type: 'LOG' });
    h.clock.increment(10_000_000);
    expect(h.state()).toBe('batching');
    expect(h.sends).toHaveLength(0);
  });

  it('sends at once on THRESHOLD and on FLUSH while batching', () => {
    const a = harness();
    a.send({ type: 'LOG' });
    a.send({ type: 'THRESHOLD' });
    expect(a.state()).toBe('sending');
    const b = harness();
    b.send({ type: 'LOG' });
    b.send({ type: 'FLUSH' });
    expect(b.state()).toBe('sending');
  });

  it('returns to idle after an ACK with nothing pending, and to batching with events pending', () => {
    const h = harness();
    h.send({ type: 'LOG' });
    h.send({ type: 'THRESHOLD' });
    h.send({ type: 'ACK' });
    expect(h.state()).toBe('idle');
    h.send({ type: 'LOG' });
    h.send({ type: 'THRESHOLD' });
    h.world.pending = true;
    h.send({ type: 'ACK' });
    expect(h.state()).toBe('batching');
    expect(h.calls).toEqual(['deliver', 'deliver']);
  });

  it('keeps sending batch after batch while a flush is requested or the threshold is reached', () => {
    const h = harness();
    h.send({ type: 'LOG' });
    h.send({ type: 'FLUSH' });
    h.world.pending = true;
    h.send({ type: 'ACK' });
    expect(h.state()).toBe('sending');
    expect(h.sends).toHaveLength(2);
    h.world.pending = false;
    h.send({ type: 'ACK' });
    expect(h.state()).toBe('idle');
    // The flush request is cleared in idle: the next batch waits for its timer again.
    h.send({ type: 'LOG' });
    h.world.pending = true;
    h.send({ type: 'THRESHOLD' });
    h.send({ type: 'ACK' });
    expect(h.state()).toBe('batching');
    h.world.atThreshold = true;
    h.send({ type: 'THRESHOLD' });
    h.send({ type: 'ACK' });
    expect(h.state()).toBe('sending');
  });

  it('goes on sending after a delivered or failed batch while a full batch waits, below the threshold, and waits for the timer once none does', () => {
    const h = harness({ maxRetries: 0 });
    h.send({ type: 'LOG' });
    h.send({ type: 'THRESHOLD' });
    h.world.pending = true;
    h.world.fullBatch = true;
    h.send({ type: 'ACK' });
    expect(h.state()).toBe('sending');
    h.send(fail('rejected'));
    expect(h.state()).toBe('sending');
    expect(h.sends).toHaveLength(3);
    h.world.fullBatch = false;
    h.send({ type: 'ACK' });
    expect(h.state()).toBe('batching');
    expect(h.calls).toEqual(['deliver', 'drop:rejected', 'deliver']);
  });

  it('retries a retryable failure after the delay the FAIL carried, with the attempt counted', () => {
    const h = harness({ maxRetries: 2 });
    h.send({ type: 'LOG' });
    h.send({ type: 'THRESHOLD' });
    h.send(fail('retryable', 250));
    expect(h.state()).toBe('retrying');
    expect(h.calls).toEqual(['retry:1:250']);
    h.clock.increment(249);
    expect(h.state()).toBe('retrying');
    h.clock.increment(1);
    expect(h.state()).toBe('sending');
    expect(h.sends).toEqual([{ attempt: 0 }, { attempt: 1 }]);
  });

  it('drops a batch as retries_exhausted after maxRetries retryable failures', () => {
    const h = harness({ maxRetries: 2 });
    h.send({ type: 'LOG' });
    h.send({ type: 'THRESHOLD' });
    h.send(fail('retryable', 10));
    h.clock.increment(10);
    h.send(fail('retryable', 20));
    h.clock.increment(20);
    h.send(fail('retryable', 40));
    expect(h.calls).toEqual(['retry:1:10', 'retry:2:20', 'drop:retries_exhausted']);
    expect(h.state()).toBe('idle');
    // The next batch starts again at attempt 0.
    h.send({ type: 'LOG' });
    h.send({ type: 'THRESHOLD' });
    expect(h.sends.at(-1)).toEqual({ attempt: 0 });
  });

  it('never retries a rejected batch', () => {
    const h = harness();
    h.send({ type: 'LOG' });
    h.send({ type: 'THRESHOLD' });
    h.send(fail('rejected'));
    expect(h.calls).toEqual(['drop:rejected']);
    expect(h.state()).toBe('idle');
  });

  it('splits a 413 batch and sends again, down to a single event which is dropped as rejected', () => {
    const h = harness();
    h.send({ type: 'LOG' });
    h.send({ type: 'THRESHOLD' });
    h.send(fail('too_large', 0, 2));
    expect(h.calls).toEqual(['split']);
    expect(h.state()).toBe('sending');
    expect(h.sends).toHaveLength(2);
    h.send(fail('too_large', 0, 1));
    expect(h.calls).toEqual(['split', 'drop:rejected']);
  });

  it('sends the second half of a split batch as soon as the first is delivered, without waiting for the timer', () => {
    const h = harness({ flushIntervalMs: 60_000 });
    h.send({ type: 'LOG' });
    h.send({ type: 'THRESHOLD' });
    h.send(fail('too_large', 0, 4));
    h.world.pending = true;
    h.world.splitPending = true;
    h.send({ type: 'ACK' });
    expect(h.state()).toBe('sending');
    expect(h.sends).toHaveLength(3);
  });

  it('ends at once on STOP when idle with nothing pending', () => {
    const h = harness();
    h.send({ type: 'STOP' });
    expect(h.state()).toBe('ended');
    expect(h.actor.getSnapshot().status).toBe('done');
  });

  it('drains what is pending on STOP, then ends', () => {
    const h = harness();
    h.send({ type: 'LOG' });
    h.world.pending = true;
    h.send({ type: 'STOP' });
    expect(h.state()).toEqual({ draining: 'sending' });
    h.send({ type: 'ACK' });
    expect(h.state()).toEqual({ draining: 'sending' });
    h.world.pending = false;
    h.send({ type: 'ACK' });
    expect(h.state()).toBe('ended');
    expect(h.calls).toEqual(['deliver', 'deliver']);
  });

  it('lets the request in flight finish when STOP arrives during sending, then drains', () => {
    const h = harness();
    h.send({ type: 'LOG' });
    h.send({ type: 'THRESHOLD' });
    h.send({ type: 'STOP' });
    expect(h.state()).toBe('sending');
    expect(h.aborted()).toBe(0);
    h.world.pending = true;
    h.send({ type: 'ACK' });
    expect(h.state()).toEqual({ draining: 'sending' });
    h.world.pending = false;
    h.send(fail('rejected'));
    expect(h.state()).toBe('ended');
  });

  it('retries with backoff while draining', () => {
    const h = harness();
    h.send({ type: 'LOG' });
    h.world.pending = true;
    h.send({ type: 'STOP' });
    h.world.pending = false;
    h.send(fail('retryable', 300));
    expect(h.state()).toEqual({ draining: 'retrying' });
    h.clock.increment(300);
    expect(h.state()).toEqual({ draining: 'sending' });
    h.send({ type: 'ACK' });
    expect(h.state()).toBe('ended');
  });

  it('abandons everything and aborts the request in flight at the DEADLINE', () => {
    const h = harness();
    h.send({ type: 'LOG' });
    h.send({ type: 'THRESHOLD' });
    h.send({ type: 'STOP' });
    h.send({ type: 'DEADLINE' });
    expect(h.state()).toBe('ended');
    expect(h.calls).toEqual(['abandon']);
    expect(h.aborted()).toBe(1);
  });

  it('cancels the backoff timer when it ends at the DEADLINE during a retry', () => {
    const h = harness();
    h.send({ type: 'LOG' });
    h.send({ type: 'THRESHOLD' });
    h.send(fail('retryable', 500));
    h.send({ type: 'DEADLINE' });
    h.clock.increment(1000);
    expect(h.state()).toBe('ended');
    expect(h.sends).toHaveLength(1);
  });

  it('ignores LOG and THRESHOLD while a batch is in flight', () => {
    const h = harness();
    h.send({ type: 'LOG' });
    h.send({ type: 'THRESHOLD' });
    h.send({ type: 'LOG' });
    h.send({ type: 'THRESHOLD' });
    expect(h.state()).toBe('sending');
    expect(h.sends).toHaveLength(1);
  });
});

describe('reporter machine defaults', () => {
  it('treats the queue as empty when no hasPending guard is provided: STOP from idle ends at once', () => {
    const actor = createActor(reporterMachine, { input: { flushIntervalMs: 1000, maxRetries: 2 }, clock: new SimulatedClock() });
    actor.start();
    actor.send({ type: 'STOP' });
    expect(actor.getSnapshot().value).toBe('ended');
  });

  it('starts with no flush requested, and assumes no threshold or split half when those guards are not provided', () => {
    const machine = reporterMachine.provide({ guards: { hasPending: () => true } });
    const actor = createActor(machine, { input: { flushIntervalMs: 1000, maxRetries: 2 }, clock: new SimulatedClock() });
    actor.start();
    expect(actor.getSnapshot().context).toMatchObject({ flushRequested: false, stopping: false, attempt: 0, retryDelayMs: 0 });
    actor.send({ type: 'LOG' });
    actor.send({ type: 'THRESHOLD' });
    actor.send({ type: 'ACK' });
    expect(actor.getSnapshot().value).toBe('batching');
  });

  it('first ACK with events still pending waits for the timer again', () => {
    const h = harness();
    h.send({ type: 'LOG' });
    h.send({ type: 'THRESHOLD' });
    h.world.pending = true;
    h.send({ type: 'ACK' });
    expect(h.state()).toBe('batching');
    expect(h.sends).toHaveLength(1);
  });

  it('stores the delay the FAIL carried, and resets it with the attempt after delivery', () => {
    const h = harness();
    h.send({ type: 'LOG' });
    h.send({ type: 'THRESHOLD' });
    h.send(fail('retryable', 750));
    expect(h.actor.getSnapshot().context).toMatchObject({ attempt: 1, retryDelayMs: 750 });
    h.clock.increment(750);
    h.send({ type: 'ACK' });
    expect(h.actor.getSnapshot().context).toMatchObject({ attempt: 0, retryDelayMs: 0 });
  });
});
