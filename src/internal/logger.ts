import { pino } from 'pino';

/** The part of a pino-compatible logger the reporter uses. */
export interface LogSink {
  warn(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
  debug(obj: object, msg?: string): void;
  child?(bindings: Record<string, unknown>): LogSink;
}

let defaultLogger: LogSink | undefined;

/** pino at 'warn' on stderr, written synchronously so nothing is lost at exit; one per process. */
function getDefaultLogger(): LogSink {
  return (defaultLogger ??= pino({ level: 'warn' }, pino.destination({ dest: 2, sync: true })));
}

/**
 * A logger that never throws into the reporter: telemetry must not become a
 * fault of the host, not even through a broken logger.
 */
export class SafeLogger {
  readonly #sink: LogSink;
  readonly #said = new Set<string>();
  /** The bindings, merged into each record when the logger has no `child`. */
  readonly #bindings: Record<string, unknown> | undefined;

  constructor(given: LogSink | undefined, bindings: Record<string, unknown>) {
    const base = given ?? getDefaultLogger();
    let sink = base;
    let merged: Record<string, unknown> | undefined = bindings;
    try {
      if (typeof base.child === 'function') {
        sink = base.child(bindings);
        merged = undefined;
      }
    } catch {
      sink = base;
    }
    this.#sink = sink;
    this.#bindings = merged;
  }

  warn(obj: object, msg: string): void {
    try {
      this.#sink.warn(this.#bindings === undefined ? obj : { ...this.#bindings, ...obj }, msg);
    } catch {
      // A throwing logger is ignored: there is nowhere safer to report it.
    }
  }

  info(obj: object, msg: string): void {
    try {
      this.#sink.info(this.#bindings === undefined ? obj : { ...this.#bindings, ...obj }, msg);
    } catch {
      // See warn().
    }
  }

  error(obj: object, msg: string): void {
    try {
      this.#sink.error(this.#bindings === undefined ? obj : { ...this.#bindings, ...obj }, msg);
    } catch {
      // See warn().
    }
  }

  debug(obj: object, msg: string): void {
    try {
      this.#sink.debug(this.#bindings === undefined ? obj : { ...this.#bindings, ...obj }, msg);
    } catch {
      // See warn().
    }
  }

  /** Warns once for each distinct `key`; later calls with the same key are silent. */
  warnOnce(key: string, obj: object, msg: string): void {
    if (this.#said.has(key)) return;
    this.#said.add(key);
    this.warn(obj, msg);
  }

  /** Forgets `key`, so the next warnOnce with it speaks again (a new episode). */
  rearm(key: string): void {
    this.#said.delete(key);
  }
}
