/**
 * The Tinker session's lifecycle, as a pure XState v5 machine.
 *
 * It does no I/O and reads no clock: start-up, each heartbeat and the drain
 * at close are named actors, the reporter and the futures are reached through
 * named actions, and time passes only through named delays. `src/session.ts`
 * supplies them all with `.provide()`; tests swap them the same way.
 *
 * States:
 * - `creating`: the `createSession` actor runs start-up (client config, the
 *   JWT when asked for, create_session). CLOSE or SIGNAL aborts it (the
 *   actor is stopped, which aborts its requests) and ends in `closed`.
 * - `active`: the session exists. Entering it starts the reporter with the
 *   server's session id and schedules the first beat after
 *   `heartbeatInterval`; each beat is one `heartbeat` actor, spawned as the
 *   child `heartbeat`, and the next is scheduled only when it has answered,
 *   so at most one is ever in flight. Leaving `active` cancels the next beat
 *   and stops the one in flight: no heartbeat runs outside `active`.
 *   - `ok`: a beat succeeded (or the session started) less than
 *     `heartbeatWarnAfter` ago; each success restarts that delay.
 *   - `failing`: `heartbeatWarnAfter` passed without a success. `warnFailing`
 *     runs on entry and after each further failure (the façade rate-limits
 *     what it logs); the next success moves back to `ok`. A failing
 *     heartbeat never fails the machine and never stops the beats.
 * - `closing`: CLOSE (from `close()`) or SIGNAL (a process hook) arrived.
 *   The futures still polling are aborted, the reporter is stopped
 *   (SESSION_END queued now, its drain started) and `closeSession` waits for
 *   the drain. `closeDeadline` bounds the wait, so closing always ends.
 * - `closed`: final. Nothing runs any more.
 * - `failed`: final. Start-up failed; `error` holds why.
 *
 * FATAL says a fatal capture has ended the reporter's session (its
 * SESSION_END is queued by the reporter itself): the session stays `active`
 * and remembers it, as a reporter does after `logFatalException()`; the
 * reporter's stop at close then adds no second SESSION_END.
 */
import { assertEvent, assign, cancel, fromCallback, fromPromise, raise, setup, spawnChild, stopChild } from 'xstate';

/** The events the machine reacts to. */
export type SessionMachineEvent =
  /** `close(timeoutMs)`: stop everything, draining telemetry for at most `timeoutMs` ms. */
  | { type: 'CLOSE'; timeoutMs: number }
  /** The process is ending (a handled signal, or `beforeExit` with `drainOnExit`): close with the default deadline. */
  | { type: 'SIGNAL' }
  /** A fatal capture queued SESSION_END through the reporter's fatal path. */
  | { type: 'FATAL' }
  /** Time for the next heartbeat (raised by the machine itself, `heartbeatInterval` after the last beat answered). */
  | { type: 'BEAT' }
  /** The beat in flight succeeded. */
  | { type: 'HEARTBEAT_OK' }
  /** The beat in flight failed: an error status, a network error, or its own timeout. */
  | { type: 'HEARTBEAT_FAILED' };

/** What the machine is started with. */
export interface SessionMachineInput {
  /** Milliseconds between the answer to one beat and the start of the next. */
  heartbeatIntervalMs: number;
  /** Milliseconds without a successful beat after which the session is `failing`. */
  heartbeatWarnAfterMs: number;
  /** The close deadline in ms when SIGNAL asks for the close (CLOSE brings its own). */
  closeTimeoutMs: number;
}

export interface SessionMachineContext extends SessionMachineInput {
  /** The id the server issued; empty until `createSession` has answered. */
  sessionId: string;
  /** Why start-up failed (in `failed`); undefined otherwise. */
  error: unknown;
  /** A fatal capture ended the reporter's session before the close. */
  fatal: boolean;
}

/** What the `createSession` actor resolves with. */
export interface CreatedSessionOutput {
  sessionId: string;
}

/** Input of the `heartbeat` actor. */
export interface HeartbeatInput {
  sessionId: string;
}

/** The id of the heartbeat in flight, as a child of the machine, and of the scheduled next beat. */
export const HEARTBEAT_CHILD_ID = 'heartbeat';
const NEXT_BEAT_ID = 'nextBeat';

export const sessionMachine = setup({
  types: {
    context: {} as SessionMachineContext,
    events: {} as SessionMachineEvent,
    input: {} as SessionMachineInput,
  },
  actors: {
    /** Start-up: client config, the JWT when the config asks for one, then create_session. Stopping it aborts start-up. */
    createSession: fromPromise<CreatedSessionOutput>(() => new Promise<never>(() => undefined)),
    /** One heartbeat, bounded by its own timeout; answers HEARTBEAT_OK or HEARTBEAT_FAILED and never errors. Stopping it aborts the request. */
    heartbeat: fromCallback<SessionMachineEvent, HeartbeatInput>(() => undefined),
    /** Waits for the drain `stopReporter` started; resolves when it has ended (or at once without telemetry). */
    closeSession: fromPromise<void>(() => new Promise<never>(() => undefined)),
  },
  actions: {
    /** The session exists: start its reporter with the server-issued id (and hook the process, as the telemetry options ask). */
    startReporter: (_args, _params: { sessionId: string }) => undefined,
    /** The heartbeat has not succeeded for `heartbeatWarnAfter`: warn (rate-limited by the façade). */
    warnFailing: () => undefined,
    /** Abort every future still polling, with a typed error whose cause says the session closed. */
    abortFutures: () => undefined,
    /** Stop the reporter: SESSION_END (once, whoever asked first) and a drain of at most `timeoutMs` ms. */
    stopReporter: (_args, _params: { timeoutMs: number }) => undefined,
    storeSession: assign((_args, params: { sessionId: string }) => ({ sessionId: params.sessionId })),
    storeError: assign((_args, params: { error: unknown }) => ({ error: params.error })),
    setCloseTimeout: assign({
      closeTimeoutMs: ({ event }) => {
        assertEvent(event, 'CLOSE');
        return event.timeoutMs;
      },
    }),
    markFatal: assign({ fatal: true }),
    /** Schedules BEAT after `heartbeatInterval`, under the id the exit of `active` cancels. */
    scheduleBeat: raise({ type: 'BEAT' }, { delay: 'heartbeatInterval', id: NEXT_BEAT_ID }),
    /** The beat in flight has answered: its actor is done. */
    beatAnswered: stopChild(HEARTBEAT_CHILD_ID),
  },
  delays: {
    heartbeatInterval: ({ context }) => context.heartbeatIntervalMs,
    heartbeatWarnAfter: ({ context }) => context.heartbeatWarnAfterMs,
    closeDeadline: ({ context }) => context.closeTimeoutMs,
  },
}).createMachine({
  id: 'session',
  context: ({ input }) => ({
    heartbeatIntervalMs: input.heartbeatIntervalMs,
    heartbeatWarnAfterMs: input.heartbeatWarnAfterMs,
    closeTimeoutMs: input.closeTimeoutMs,
    sessionId: '',
    error: undefined,
    fatal: false,
  }),
  initial: 'creating',
  states: {
    creating: {
      invoke: {
        id: 'createSession',
        src: 'createSession',
        onDone: { target: 'active', actions: { type: 'storeSession', params: ({ event }) => ({ sessionId: event.output.sessionId }) } },
        onError: { target: 'failed', actions: { type: 'storeError', params: ({ event }) => ({ error: event.error }) } },
      },
      on: {
        // Leaving `creating` stops the createSession actor, which aborts start-up.
        CLOSE: { target: 'closed' },
        SIGNAL: { target: 'closed' },
      },
    },
    active: {
      initial: 'ok',
      entry: [{ type: 'startReporter', params: ({ context }) => ({ sessionId: context.sessionId }) }, 'scheduleBeat'],
      // Whatever ends `active`, no beat is left scheduled or in flight.
      exit: [cancel(NEXT_BEAT_ID), stopChild(HEARTBEAT_CHILD_ID)],
      on: {
        BEAT: { actions: spawnChild('heartbeat', { id: HEARTBEAT_CHILD_ID, input: ({ context }) => ({ sessionId: context.sessionId }) }) },
        CLOSE: { target: 'closing', actions: 'setCloseTimeout' },
        SIGNAL: { target: 'closing' },
        FATAL: { actions: 'markFatal' },
      },
      states: {
        ok: {
          after: { heartbeatWarnAfter: { target: 'failing' } },
          on: {
            // Re-entering `ok` restarts `heartbeatWarnAfter` from this success.
            HEARTBEAT_OK: { target: 'ok', reenter: true, actions: ['beatAnswered', 'scheduleBeat'] },
            HEARTBEAT_FAILED: { actions: ['beatAnswered', 'scheduleBeat'] },
          },
        },
        failing: {
          entry: 'warnFailing',
          on: {
            HEARTBEAT_OK: { target: 'ok', actions: ['beatAnswered', 'scheduleBeat'] },
            HEARTBEAT_FAILED: { actions: ['beatAnswered', 'warnFailing', 'scheduleBeat'] },
          },
        },
      },
    },
    closing: {
      entry: ['abortFutures', { type: 'stopReporter', params: ({ context }) => ({ timeoutMs: context.closeTimeoutMs }) }],
      invoke: { id: 'closeSession', src: 'closeSession', onDone: { target: 'closed' }, onError: { target: 'closed' } },
      after: { closeDeadline: { target: 'closed' } },
    },
    closed: { type: 'final' },
    failed: { type: 'final' },
  },
});
