/**
 * The futures a session is polling, each with its own AbortController, so
 * that `close()` can abort every one of them at once with the reason it
 * gives (a `SessionClosedError`), and a caller's own signal still works.
 */
export class FutureTracker {
  readonly #live = new Set<AbortController>();

  /** Futures running now. */
  get size(): number {
    return this.#live.size;
  }

  /**
   * Runs `poll` with a signal that aborts when `abortAll` is called or when
   * `signal` (the caller's, optional) aborts, and tracks it until it settles.
   * A `poll` that throws is a rejection; the result is `poll`'s.
   */
  run<T>(signal: AbortSignal | undefined, poll: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const controller = new AbortController();
    this.#live.add(controller);
    const combined = signal === undefined ? controller.signal : AbortSignal.any([controller.signal, signal]);
    // Async, so that a `poll` that throws at once is a rejection like any other failure.
    const result = (async () => poll(combined))();
    return result.finally(() => this.#live.delete(controller));
  }

  /** Aborts every future running now with `reason`; returns how many there were. */
  abortAll(reason: unknown): number {
    const running = [...this.#live];
    this.#live.clear();
    for (const controller of running) controller.abort(reason);
    return running.length;
  }
}
