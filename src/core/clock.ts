/**
 * Where the reporter reads the time and sets its timers. One injectable
 * clock, so tests drive time instead of sleeping.
 *
 * It is a superset of XState's `Clock`, so the same object schedules the
 * machine's delays (flush interval, retry backoff).
 */
export interface Clock {
  /** Wall-clock time in milliseconds since the epoch, as `Date.now()`. */
  now(): number;
  /** Calls `fn` once after `ms` milliseconds; returns a handle for `clearTimeout`. */
  setTimeout(fn: () => void, ms: number): unknown;
  /** Cancels a timer made by `setTimeout`; a handle that already fired is ignored. */
  clearTimeout(handle: unknown): void;
}

/**
 * The real clock: `Date.now()` and the global timers, looked up at each call
 * so that test doubles installed after import (fake timers) take effect.
 */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => globalThis.setTimeout(fn, ms),
  clearTimeout: (handle) => globalThis.clearTimeout(handle as ReturnType<typeof setTimeout>),
};
