/**
 * Waiting through the injected clock, so tests drive time instead of
 * sleeping.
 */
import type { Clock } from '../core/clock.js';

/**
 * Resolves after `ms` on `clock`, or rejects with the signal's reason as
 * soon as `signal` aborts (at once when it already has). The timer keeps
 * the process alive: someone awaits the promise, and a script ending in
 * `await` must not exit in the middle of a backoff.
 */
export function sleep(clock: Clock, ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    if (signal?.aborted === true) {
      reject(signal.reason as Error);
      return;
    }
    const onAbort = () => {
      clock.clearTimeout(handle);
      reject(signal?.reason as Error);
    };
    const handle = clock.setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Calls `fn` after `ms` on `clock`, with a timer that does not keep the process alive (unref'd when the handle allows it). */
export function unrefTimeout(clock: Clock, fn: () => void, ms: number): unknown {
  const handle = clock.setTimeout(fn, ms);
  if (typeof (handle as { unref?: unknown } | null | undefined)?.unref === 'function') (handle as { unref(): void }).unref();
  return handle;
}
