/**
 * Capture wrappers: run code, report what it throws, and re-throw the very
 * same value, so that adding telemetry never changes an application's
 * behaviour. With `fatal`, the fatal path ends the session (SESSION_END) and
 * drains before the failure propagates.
 */

/** The part of a reporter the wrappers use. A `TelemetryReporter` is one. */
export interface CaptureReporter {
  /** Reports a non-fatal error. The result is ignored, and a throw is swallowed, so the caller's error always wins. */
  logException(error: unknown, severity?: string): boolean;
  /** Reports a fatal error, ends the session and drains; an async rejection propagates only once this settles. A throw or rejection is swallowed. */
  logFatalException(error: unknown, severity?: string): Promise<boolean>;
}

/** How to capture. */
export interface CaptureOptions {
  /** Where to report; `null` or `undefined` (telemetry disabled) makes the wrapper a plain call. */
  reporter: CaptureReporter | null | undefined;
  /** Use `logFatalException`: queue SESSION_END and drain before the error propagates. Default: false. */
  fatal?: boolean;
  /**
   * The severity of the exception event: `debug`, `info`, `warning`, `error`
   * or `critical`, in any case. Default: `'error'`, or `'critical'` when
   * fatal. A `TelemetryReporter` refuses any other value and counts the event
   * as `invalid`; the error still propagates unchanged.
   */
  severity?: string;
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (typeof value === 'object' || typeof value === 'function') && value !== null && typeof (value as { then?: unknown }).then === 'function';
}

/**
 * Reports `error`. Returns the fatal drain's promise (never rejecting), or
 * undefined when not fatal. Never throws: a broken reporter must not replace
 * the application's error.
 */
function report(options: CaptureOptions, error: unknown): Promise<unknown> | undefined {
  const { reporter, fatal = false } = options;
  if (reporter === null || reporter === undefined) return undefined;
  try {
    if (fatal) return Promise.resolve(reporter.logFatalException(error, options.severity ?? 'critical')).catch(() => undefined);
    reporter.logException(error, options.severity ?? 'error');
  } catch {
    // See above: the caller's error wins.
  }
  return undefined;
}

/**
 * Runs `fn` and returns what it returns. When it throws, or returns a
 * promise that rejects, the error is reported and the same value is
 * re-thrown (or the promise rejects with the original reason), stack
 * untouched. With `fatal`, an async rejection waits for the fatal drain;
 * a sync throw starts the drain and re-throws at once (a later `stop()`
 * waits for that drain). With no reporter (telemetry disabled), it is a
 * plain call of `fn`.
 */
export function captureExceptions<T>(options: CaptureOptions, fn: () => T): T {
  let result: T;
  try {
    result = fn();
  } catch (error) {
    void report(options, error);
    throw error;
  }
  if (!isThenable(result)) return result;
  return Promise.resolve(result).then(undefined, async (reason: unknown) => {
    await report(options, reason);
    throw reason;
  }) as T;
}

/**
 * Starts `fn` on a later turn of the event loop (`setImmediate`, so the
 * caller's synchronous code, and its microtasks, finish first, as with
 * Elixir's `Task.async`) and returns a promise of its result, captured as
 * `captureExceptions` does. With no reporter (telemetry disabled), it still
 * defers, then makes a plain call, so timing does not depend on telemetry.
 */
export function asyncCapture<T>(options: CaptureOptions, fn: () => T | Promise<T>): Promise<Awaited<T>> {
  return new Promise<Awaited<T>>((resolve, reject) => {
    setImmediate(() => {
      try {
        Promise.resolve(captureExceptions(options, fn)).then(resolve, reject);
      } catch (error) {
        // The caller's own thrown value, passed on unchanged: that is the wrapper's contract.
        // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors
        reject(error);
      }
    });
  });
}

/** Options of the `@captured` decorator. */
export interface CapturedOptions {
  /**
   * The reporter, or a getter of it given `this`, looked up at each call.
   * Default: `this.telemetryReporter`. `null` or `undefined` (telemetry
   * disabled), or a getter that throws, means no reporter: the method runs as
   * a plain call.
   */
  reporter?: CaptureReporter | null | ((self: unknown) => CaptureReporter | null | undefined);
  /** As in `CaptureOptions`. Default: false. */
  fatal?: boolean;
  /** As in `CaptureOptions`: one of the five severities, in any case. Default: `'error'`, or `'critical'` when fatal. */
  severity?: string;
}

/**
 * A TC39 standard method decorator (TypeScript 5, without
 * `experimentalDecorators`) that runs the method under `captureExceptions`,
 * sync or async. The reporter is `options.reporter` (or its getter), else
 * `this.telemetryReporter`; when there is none (telemetry disabled), the
 * method runs unchanged.
 */
export function captured(options: CapturedOptions = {}) {
  return function decorate<This, Args extends unknown[], Return>(
    method: (this: This, ...args: Args) => Return,
    _context: ClassMethodDecoratorContext<This, (this: This, ...args: Args) => Return>,
  ): (this: This, ...args: Args) => Return {
    return function capturedMethod(this: This, ...args: Args): Return {
      const reporter = resolveReporter(options.reporter, this);
      const capture: CaptureOptions = { reporter, fatal: options.fatal ?? false, severity: options.severity };
      return captureExceptions(capture, () => method.apply(this, args));
    };
  };
}

function resolveReporter(given: CapturedOptions['reporter'], self: unknown): CaptureReporter | null | undefined {
  try {
    if (typeof given === 'function') return given(self);
    if (given !== undefined) return given;
    const own = (self as { telemetryReporter?: unknown }).telemetryReporter;
    return (own ?? undefined) as CaptureReporter | undefined;
  } catch {
    // A getter that throws, or an unbound call (no `this` to read), means no reporter.
  }
  return undefined;
}

/**
 * A view of `client` in which every public method (a function-valued
 * property, own or inherited, whose name does not start with `_`, other
 * than `constructor`) runs under `captureExceptions`, with `this` bound to
 * the original client so private fields keep working. Other properties pass
 * through; each wrapped method is made once, so `view.m === view.m`. With
 * `options.reporter` null (telemetry disabled), the view is still made and
 * each method is a plain call, so callers need no second code path.
 */
export function instrumentClient<T extends object>(client: T, options: CaptureOptions): T {
  const wrappers = new WeakMap<object, unknown>();
  return new Proxy(client, {
    get(target, property) {
      // Getters run against the real client, so its private fields resolve.
      const value: unknown = Reflect.get(target, property, target);
      if (typeof value !== 'function' || typeof property === 'symbol' || property === 'constructor' || property.startsWith('_')) return value;
      let wrapper = wrappers.get(value);
      if (wrapper === undefined) {
        const fn = value as (...args: unknown[]) => unknown;
        wrapper = (...args: unknown[]) => captureExceptions(options, () => fn.apply(target, args));
        wrappers.set(value, wrapper);
      }
      return wrapper;
    },
  });
}
