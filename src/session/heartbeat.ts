/**
 * The session's heartbeat, as the machine's effects need it: one beat at a
 * time (the `heartbeat` actor), bounded by its own timeout, and the warning
 * that the heartbeat is failing (the `warnFailing` action), rate-limited.
 * The machine decides when to beat and when the session is failing; this
 * remembers what the warning says: since when no beat has succeeded, and the
 * last error.
 */
import type { Clock } from '../core/clock.js';
import type { Log } from '../core/ports.js';
import { errorSummary, redactCut } from '../core/redact.js';
import type { TinkerApiLike } from './tinker-api.js';

/** The least time between two warnings that the heartbeat is failing: a minute. A success starts a new episode, which warns at once. */
export const HEARTBEAT_WARN_INTERVAL_MS = 60_000;

export interface HeartbeatOptions {
  api: Pick<TinkerApiLike, 'heartbeat'>;
  /** The session's timers (unref'd). */
  timers: Clock;
  /** Milliseconds one beat may take before it counts as failed. */
  timeoutMs: number;
  /** Redacted from everything the warning says. */
  apiKey: string;
}

export class Heartbeat {
  readonly #options: HeartbeatOptions;
  #lastSuccessAtMs = 0;
  /** When this episode of failure last warned; -Infinity until it has, so that its first warning is never held back. */
  #lastWarnAtMs = -Infinity;
  #lastError: unknown;

  constructor(options: HeartbeatOptions) {
    this.#options = options;
  }

  /** The session exists: its heartbeat's silence counts from now. */
  started(): void {
    this.#lastSuccessAtMs = this.#options.timers.now();
  }

  /**
   * Sends one beat for `sessionId` and calls `answer` once with whether it
   * succeeded: false for a rejection, a call that throws, or no answer
   * within `timeoutMs` (the request is then aborted), so a beat always
   * answers even if the request never does. Returns the stop: no answer
   * after it, and the request is aborted.
   */
  beat(sessionId: string, answer: (ok: boolean) => void): () => void {
    const { api, timers, timeoutMs } = this.#options;
    const controller = new AbortController();
    let live = true;
    const settle = (ok: boolean, error?: unknown) => {
      if (!live) return;
      live = false;
      timers.clearTimeout(timer);
      if (ok) {
        this.#lastSuccessAtMs = timers.now();
        this.#lastWarnAtMs = -Infinity;
      } else {
        this.#lastError = error;
      }
      answer(ok);
    };
    const timer = timers.setTimeout(() => {
      const error = Object.assign(new Error(`Tinker session heartbeat got no answer within ${timeoutMs} ms`), { code: 'ERR_TINKER_HEARTBEAT_TIMEOUT' });
      controller.abort(error);
      settle(false, error);
    }, timeoutMs);
    // Async, so that a call that throws at once is a rejection like any other failure.
    const call = (async () => api.heartbeat(sessionId, timeoutMs, controller.signal))();
    call.then(
      () => settle(true),
      (error: unknown) => settle(false, error),
    );
    return () => {
      live = false;
      timers.clearTimeout(timer);
      controller.abort();
    };
  }

  /** Warns on `log` that no beat of `sessionId` has succeeded for a while, naming the last error; at most once per `HEARTBEAT_WARN_INTERVAL_MS`. */
  warnFailing(log: Log, sessionId: string): void {
    const now = this.#options.timers.now();
    if (now - this.#lastWarnAtMs < HEARTBEAT_WARN_INTERVAL_MS) return;
    this.#lastWarnAtMs = now;
    const { apiKey } = this.#options;
    const sinceSuccessMs = now - this.#lastSuccessAtMs;
    const lastError = this.#lastError === undefined ? undefined : errorSummary(this.#lastError, apiKey);
    const because = lastError?.message === undefined ? '' : ` (last error: ${redactCut(lastError.message, 200, apiKey).kept})`;
    log.warn(
      { sinceSuccessMs, lastError },
      `Tinker session ${sessionId}: no heartbeat has succeeded for ${Math.round(sinceSuccessMs / 1000)} s${because}; ` +
        'the connection may be unreliable or Tinker may be down, and the server may end the session',
    );
  }
}
