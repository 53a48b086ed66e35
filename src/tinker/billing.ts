/**
 * The billing pause: a server that answers 402 says the account's billing
 * status has paused the job, so the Python SDK waits (5 s at a time) and
 * asks again, for at most `billing_exception_max_pause_duration_sec` from
 * the first 402 of an incident. One tracker per API client, as in the
 * Python SDK, so every call and future counts against the same incident.
 */
import type { Log } from '../core/ports.js';

/** An incident is over when no 402 was warned about for this long: 300 s. */
export const BILLING_INCIDENT_RESET_MS = 300_000;

/** The pause is warned about at most this often: 60 s. */
export const BILLING_WARN_INTERVAL_MS = 60_000;

/** The billing incident of one API client: when it began, and when it was last warned about. */
export class BillingPause {
  readonly #log: Log;
  /** When the incident's first 402 came, in clock ms. */
  #firstAtMs: number | undefined;
  /** When the pause was last warned about, in clock ms. */
  #warnedAtMs: number | undefined;

  constructor(log: Log) {
    this.#log = log;
  }

  /**
   * A 402 came at `nowMs`: true to pause and ask again, false once the
   * incident has lasted longer than `maxPauseMs` (then the 402 fails the
   * call). `detail` is the redacted excerpt of the body, for the warning.
   */
  shouldPause(nowMs: number, maxPauseMs: number, detail: string): boolean {
    if (this.#warnedAtMs !== undefined && nowMs - this.#warnedAtMs > BILLING_INCIDENT_RESET_MS) {
      this.#firstAtMs = undefined;
      this.#warnedAtMs = undefined;
    }
    if (this.#firstAtMs !== undefined && nowMs - this.#firstAtMs > maxPauseMs) {
      this.#log.error({ pausedMs: nowMs - this.#firstAtMs, maxPauseMs }, 'Tinker job paused by its billing status for too long; giving up');
      return false;
    }
    if (this.#warnedAtMs === undefined || nowMs - this.#warnedAtMs > BILLING_WARN_INTERVAL_MS) {
      this.#warnedAtMs = nowMs;
      this.#log.warn({ status: 402, detail }, 'Tinker job is paused by its billing status (HTTP 402); asking again every 5 s');
    }
    this.#firstAtMs ??= nowMs;
    return true;
  }
}
