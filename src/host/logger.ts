import { pino } from 'pino';
import type { Log, LoggerLike } from '../core/ports.js';

type Level = 'warn' | 'info' | 'error' | 'debug';

let defaultLogger: LoggerLike | undefined;

/** pino at 'warn' on stderr, written synchronously so nothing is lost at exit; one per process. */
function getDefaultLogger(): LoggerLike {
  return (defaultLogger ??= pino({ level: 'warn' }, pino.destination({ dest: 2, sync: true })));
}

/**
 * A logger that never throws into the reporter: telemetry must not become a
 * fault of the host, not even through a broken logger.
 */
export class SafeLogger implements Log {
  readonly #sink: LoggerLike;
  readonly #said = new Set<string>();
  /** The bindings, merged into each record when the logger has no `child`. */
  readonly #bindings: Record<string, unknown> | undefined;

  constructor(given: LoggerLike | undefined, bindings: Record<string, unknown>) {
    const base = given ?? getDefaultLogger();
    let sink = base;
    let merged: Record<string, unknown> | undefined = bindings;
    try {
      // Read once: a host's logger may make `child` an accessor that answers differently at each read.
      const child: unknown = Reflect.get(base, 'child');
      if (typeof child === 'function') {
        sink = Reflect.apply(child, base, [bindings]) as LoggerLike;
        merged = undefined;
      }
    } catch {
      // A throwing child() leaves `sink` on the base logger, with the bindings merged by hand.
    }
    this.#sink = sink;
    this.#bindings = merged;
  }

  warn(obj: object, msg: string): void {
    this.#write('warn', obj, msg);
  }

  info(obj: object, msg: string): void {
    this.#write('info', obj, msg);
  }

  error(obj: object, msg: string): void {
    this.#write('error', obj, msg);
  }

  debug(obj: object, msg: string): void {
    this.#write('debug', obj, msg);
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

  #write(level: Level, obj: object, msg: string): void {
    try {
      this.#sink[level](this.#bindings === undefined ? obj : { ...this.#bindings, ...obj }, msg);
    } catch {
      // A throwing logger is ignored: there is nowhere safer to report it.
    }
  }
}
