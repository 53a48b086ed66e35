/**
 * The reporter's lifecycle, as a pure XState v5 machine.
 *
 * It does no I/O and reads no clock. The event buffer lives outside it (a
 * ring buffer in `src/`), because copying the queue into the context on every
 * `log()` would make logging quadratic; the machine hears only the events
 * that can change its state, and asks about the buffer through the guards
 * `hasPending`, `atThreshold`, `fullBatchWaits` and `splitPending`. Every effect is named here and supplied by
 * `src/reporter.ts` through `.provide()`; tests swap them the same way.
 *
 * States:
 * - `idle`: nothing queued, nothing in flight, no timer.
 * - `batching`: events queued; the flush interval is running.
 * - `sending`: one batch in flight (the `sendBatch` actor).
 * - `retrying`: the batch failed retryably; waiting out the backoff.
 * - `draining`: `STOP` was received; sending what is left, then `ended`.
 * - `ended`: final. Nothing runs any more.
 */
import { and, assertEvent, assign, fromCallback, or, raise, setup } from 'xstate';

/** How a send failed, as the transport classified it. */
export type FailureKind = 'retryable' | 'rejected' | 'too_large';

/** Why an accepted batch was given up. */
export type BatchDropReason = 'rejected' | 'retries_exhausted';

/** The events the machine reacts to. */
export type ReporterMachineEvent =
  /** The queue went from empty to non-empty. */
  | { type: 'LOG' }
  /** The flush interval elapsed (raised by the machine's own `flushInterval` delay). */
  | { type: 'TICK' }
  /** The queue reached `flushThreshold`. */
  | { type: 'THRESHOLD' }
  /** A caller asked for a flush; everything queued is sent without waiting for the timer. */
  | { type: 'FLUSH' }
  /** The batch in flight was accepted by the server. */
  | { type: 'ACK' }
  /**
   * The batch in flight failed. `retryDelayMs` is the wait before the next
   * attempt, computed by the retry policy; `batchSize` lets the machine decide
   * whether a 413 can still be split.
   */
  | { type: 'FAIL'; kind: FailureKind; retryDelayMs: number; batchSize: number }
  /** `stop()`: drain what is queued, then end. */
  | { type: 'STOP' }
  /** The stop deadline passed: abandon what is left and end now. */
  | { type: 'DEADLINE' };

/** What the machine is started with. */
export interface ReporterMachineInput {
  /** Milliseconds a batch may wait before it is sent; 0 disables the timer. */
  flushIntervalMs: number;
  /** Retries of one batch after its first attempt. */
  maxRetries: number;
}

export interface ReporterMachineContext extends ReporterMachineInput {
  /** Failed attempts of the batch in flight. */
  attempt: number;
  /** The wait before the next retry, from the last FAIL. */
  retryDelayMs: number;
  /** STOP arrived while a batch was in flight or backing off. */
  stopping: boolean;
  /** FLUSH arrived: keep sending until the queue is empty. */
  flushRequested: boolean;
}

/** Input of the `sendBatch` actor: which attempt this is (0 for the first). */
export interface SendBatchInput {
  attempt: number;
}

export const reporterMachine = setup({
  types: {
    context: {} as ReporterMachineContext,
    events: {} as ReporterMachineEvent,
    input: {} as ReporterMachineInput,
  },
  actors: {
    /**
     * Sends the current batch (taking one from the queue when there is none)
     * and answers ACK or FAIL. Stopping it aborts the request.
     */
    sendBatch: fromCallback<ReporterMachineEvent, SendBatchInput>(() => undefined),
  },
  actions: {
    /** The batch in flight was delivered. */
    deliverBatch: () => undefined,
    /** The batch in flight is given up, counted under `reason`. */
    dropBatch: (_args, _params: { reason: BatchDropReason }) => undefined,
    /** The batch in flight was too large: send its first half now and its second half next. */
    splitBatch: () => undefined,
    /** A retry was scheduled after `delayMs`. */
    retryScheduled: (_args, _params: { attempt: number; delayMs: number }) => undefined,
    /** The stop deadline passed: everything not delivered is dropped as `shutdown`. */
    abandonAll: () => undefined,
    planRetry: assign({
      attempt: ({ context }) => context.attempt + 1,
      retryDelayMs: ({ event }) => {
        assertEvent(event, 'FAIL');
        return event.retryDelayMs;
      },
    }),
    resetAttempt: assign({ attempt: 0, retryDelayMs: 0 }),
    markStopping: assign({ stopping: true }),
    markFlushRequested: assign({ flushRequested: true }),
    clearFlushRequested: assign({ flushRequested: false }),
  },
  guards: {
    /** Events wait to be sent (in the queue, or the second half of a split batch). */
    hasPending: () => false,
    /** The queue holds at least `flushThreshold` events. */
    atThreshold: () => false,
    /**
     * A full batch waits in the queue (`maxBatchSize` events, or
     * `maxBatchBytes` of them as the queue counts bytes): after a send, a
     * backlog goes on in full batches, back to back, whatever
     * `flushThreshold` is; only a part batch waits for the timer.
     */
    fullBatchWaits: () => false,
    /** The second half of a split batch waits: it was due with the first, so it goes next without waiting for the timer. */
    splitPending: () => false,
    flushTimerEnabled: ({ context }) => context.flushIntervalMs > 0,
    isStopping: ({ context }) => context.stopping,
    flushRequested: ({ context }) => context.flushRequested,
    // Only FAIL transitions use these two; `assertEvent` narrows the event and
    // would throw, rather than quietly answer false, if another event ever did.
    canRetry: ({ context, event }) => {
      assertEvent(event, 'FAIL');
      return event.kind === 'retryable' && context.attempt < context.maxRetries;
    },
    canSplit: ({ event }) => {
      assertEvent(event, 'FAIL');
      return event.kind === 'too_large' && event.batchSize > 1;
    },
  },
  delays: {
    flushInterval: ({ context }) => context.flushIntervalMs,
    retryBackoff: ({ context }) => context.retryDelayMs,
  },
}).createMachine({
  id: 'reporter',
  context: ({ input }) => ({
    flushIntervalMs: input.flushIntervalMs,
    maxRetries: input.maxRetries,
    attempt: 0,
    retryDelayMs: 0,
    stopping: false,
    flushRequested: false,
  }),
  initial: 'idle',
  on: {
    DEADLINE: { target: '.ended', actions: 'abandonAll' },
  },
  states: {
    idle: {
      on: {
        // Idle means nothing is queued (every way into idle checks that), so
        // FLUSH has nothing to do here.
        LOG: { target: 'batching' },
        STOP: [
          { guard: 'hasPending', target: 'draining', actions: 'markStopping' },
          { target: 'ended', actions: 'markStopping' },
        ],
      },
    },
    batching: {
      after: {
        flushInterval: { guard: 'flushTimerEnabled', actions: raise({ type: 'TICK' }) },
      },
      on: {
        TICK: { target: 'sending' },
        THRESHOLD: { target: 'sending' },
        FLUSH: { target: 'sending', actions: 'markFlushRequested' },
        STOP: { target: 'draining', actions: 'markStopping' },
      },
    },
    sending: {
      invoke: { src: 'sendBatch', input: ({ context }) => ({ attempt: context.attempt }) },
      on: {
        ACK: [
          // The outcome action runs after the guards, which look only at what
          // is still waiting (the batch in flight is not "pending").
          { guard: and(['isStopping', 'hasPending']), target: 'draining', actions: ['deliverBatch', 'resetAttempt'] },
          { guard: 'isStopping', target: 'ended', actions: ['deliverBatch', 'resetAttempt'] },
          {
            guard: and(['hasPending', or(['flushRequested', 'atThreshold', 'fullBatchWaits', 'splitPending'])]),
            target: 'sending',
            reenter: true,
            actions: ['deliverBatch', 'resetAttempt'],
          },
          { guard: 'hasPending', target: 'batching', actions: ['deliverBatch', 'resetAttempt'] },
          { target: 'idle', actions: ['deliverBatch', 'resetAttempt', 'clearFlushRequested'] },
        ],
        FAIL: [
          { guard: 'canRetry', target: 'retrying', actions: ['planRetry', { type: 'retryScheduled', params: retryParams }] },
          { guard: 'canSplit', target: 'sending', reenter: true, actions: ['splitBatch', 'resetAttempt'] },
          { guard: and(['isStopping', 'hasPending']), target: 'draining', actions: [{ type: 'dropBatch', params: dropParams }, 'resetAttempt'] },
          { guard: 'isStopping', target: 'ended', actions: [{ type: 'dropBatch', params: dropParams }, 'resetAttempt'] },
          {
            guard: and(['hasPending', or(['flushRequested', 'atThreshold', 'fullBatchWaits', 'splitPending'])]),
            target: 'sending',
            reenter: true,
            actions: [{ type: 'dropBatch', params: dropParams }, 'resetAttempt'],
          },
          { guard: 'hasPending', target: 'batching', actions: [{ type: 'dropBatch', params: dropParams }, 'resetAttempt'] },
          { target: 'idle', actions: [{ type: 'dropBatch', params: dropParams }, 'resetAttempt', 'clearFlushRequested'] },
        ],
        FLUSH: { actions: 'markFlushRequested' },
        STOP: { actions: 'markStopping' },
      },
    },
    retrying: {
      after: { retryBackoff: { target: 'sending' } },
      on: {
        FLUSH: { actions: 'markFlushRequested' },
        STOP: { actions: 'markStopping' },
      },
    },
    draining: {
      initial: 'sending',
      states: {
        sending: {
          invoke: { src: 'sendBatch', input: ({ context }) => ({ attempt: context.attempt }) },
          on: {
            ACK: [
              { guard: 'hasPending', target: 'sending', reenter: true, actions: ['deliverBatch', 'resetAttempt'] },
              { target: '#reporter.ended', actions: ['deliverBatch', 'resetAttempt'] },
            ],
            FAIL: [
              { guard: 'canRetry', target: 'retrying', actions: ['planRetry', { type: 'retryScheduled', params: retryParams }] },
              { guard: 'canSplit', target: 'sending', reenter: true, actions: ['splitBatch', 'resetAttempt'] },
              { guard: 'hasPending', target: 'sending', reenter: true, actions: [{ type: 'dropBatch', params: dropParams }, 'resetAttempt'] },
              { target: '#reporter.ended', actions: [{ type: 'dropBatch', params: dropParams }, 'resetAttempt'] },
            ],
          },
        },
        retrying: {
          after: { retryBackoff: { target: 'sending' } },
        },
      },
    },
    ended: {
      type: 'final',
    },
  },
});

/** A failed batch that is not retried or split: a retryable failure ran out of retries, anything else was refused. */
function dropParams({ event }: { event: ReporterMachineEvent }): { reason: BatchDropReason } {
  assertEvent(event, 'FAIL');
  return { reason: event.kind === 'retryable' ? 'retries_exhausted' : 'rejected' };
}

/** Runs after `planRetry`, so the context already holds the new attempt and delay. */
function retryParams({ context }: { context: ReporterMachineContext }): { attempt: number; delayMs: number } {
  return { attempt: context.attempt, delayMs: context.retryDelayMs };
}
