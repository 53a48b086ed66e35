import type { Clock } from './clock.js';

interface Refable {
  ref(): unknown;
  unref(): unknown;
}

function isRefable(handle: unknown): handle is Refable {
  return typeof handle === 'object' && handle !== null && typeof (handle as Refable).ref === 'function' && typeof (handle as Refable).unref === 'function';
}

/**
 * The reporter's timers, unref'd by default so that an idle or batching
 * reporter never keeps the host process alive.
 *
 * While a caller waits on the reporter (`stop()`, a sync flush,
 * `waitUntilDrained`, a fatal drain) it holds the timers: every live timer is
 * ref'd until the last hold is released, so `await reporter.stop()` at the end
 * of a script still completes when a retry backoff is pending.
 */
export class KeepAliveTimers implements Clock {
  readonly #clock: Clock;
  readonly #live = new Set<unknown>();
  #holds = 0;

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  now(): number {
    return this.#clock.now();
  }

  setTimeout(fn: () => void, ms: number): unknown {
    const handle: unknown = this.#clock.setTimeout(() => {
      this.#live.delete(handle);
      fn();
    }, ms);
    this.#live.add(handle);
    if (this.#holds === 0 && isRefable(handle)) handle.unref();
    return handle;
  }

  clearTimeout(handle: unknown): void {
    this.#live.delete(handle);
    this.#clock.clearTimeout(handle);
  }

  /** How many timers are pending. */
  get pending(): number {
    return this.#live.size;
  }

  /** Keeps the process alive until the returned release is called (once). */
  hold(): () => void {
    if (this.#holds++ === 0) this.#setRef(true);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      if (--this.#holds === 0) this.#setRef(false);
    };
  }

  /** Cancels every pending timer. */
  clearAll(): void {
    for (const handle of this.#live) this.#clock.clearTimeout(handle);
    this.#live.clear();
  }

  #setRef(ref: boolean): void {
    for (const handle of this.#live) {
      if (isRefable(handle)) {
        if (ref) handle.ref();
        else handle.unref();
      }
    }
  }
}
