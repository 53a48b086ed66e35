/**
 * The reporters' hooks into the host process: a drain when the process runs
 * out of work (`beforeExit`), a stop on the signals a reporter asked for, and
 * a fatal report of an uncaught exception or unhandled rejection before Node's
 * own crash.
 *
 * Each process event gets one listener, shared by every live reporter that
 * asked for it: added with the first reporter, removed with the last. So a
 * thousand reporters never trip MaxListenersExceededWarning, and a process
 * without a live reporter carries none of these listeners.
 */

/** A signal a reporter can stop on (`handleSignals`): SIGTERM, SIGINT or SIGHUP. */
export type HandledSignal = 'SIGTERM' | 'SIGINT' | 'SIGHUP';

/** The signals a reporter can handle (`handleSignals`), in the order error messages list them. */
export const HANDLED_SIGNALS: readonly HandledSignal[] = Object.freeze(['SIGTERM', 'SIGINT', 'SIGHUP'] as const);

/** The process events the hooks listen to. */
export type HookEvent = 'beforeExit' | 'uncaughtException' | 'unhandledRejection' | HandledSignal;

type FatalEvent = 'uncaughtException' | 'unhandledRejection';

type Listener = (...args: unknown[]) => void;

/** What the hooks call on a reporter. Neither promise rejects. */
export interface HookedReporter {
  stop(): Promise<boolean>;
  logFatalException(error: unknown): Promise<boolean>;
}

/** The hooks a reporter asked for: its resolved `drainOnExit`, `handleSignals` and `captureUncaught` options. */
export interface HookChoice {
  drainOnExit: boolean;
  handleSignals: readonly HandledSignal[];
  captureUncaught: boolean;
}

/** The part of `process` the hooks use; tests hand in an EventEmitter. */
export interface HostProcess {
  readonly pid: number;
  on(event: HookEvent, listener: Listener): unknown;
  off(event: HookEvent, listener: Listener): unknown;
  listenerCount(event: HookEvent): number;
  kill(pid: number, signal: HandledSignal): unknown;
}

/** How a fatal error goes back to Node once the reporters have drained. */
export interface Reraise {
  /** Makes `error` an uncaught exception again. */
  exception(error: unknown): void;
  /** Rejects a fresh promise with `reason` and leaves it unhandled; returned so tests can observe it. */
  rejection(reason: unknown): Promise<never>;
}

/**
 * Node's own handling, re-entered: what it prints (the error with its stack
 * and properties, the `Node.js vX` line) and the exit code stay Node's.
 */
export const nodeReraise: Reraise = {
  exception(error) {
    // A fresh turn, because a throw inside the async drain would only reject
    // its promise. Node prints this line as the "thrown at" source line.
    setImmediate(() => {
      throw error; // Re-raised by tinker-telemetry after its drain; the original stack is below.
    });
  },
  rejection(reason) {
    // A new unhandled rejection, so Node's `--unhandled-rejections` mode
    // decides (the default, `throw`, prints it and exits with code 1).
    // The host's own rejection reason, whatever it is, handed back unchanged.
    // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors
    return Promise.reject(reason);
  },
};

/** One listener per process event, shared by the reporters hooked into it. */
export class ProcessHooks {
  readonly #host: HostProcess;
  readonly #reraise: Reraise;
  readonly #members = new Map<HookEvent, Set<HookedReporter>>();
  /** The drain under way for each signal; the same signal again re-raises at once. */
  readonly #draining = new Map<HandledSignal, Promise<unknown>>();
  /** A fatal error is being drained before Node's crash; Node would have exited at the first, so later ones are not reported. */
  #fatal = false;
  readonly #listeners: Record<HookEvent, Listener> = {
    beforeExit: () => this.#onBeforeExit(),
    uncaughtException: (error) => void this.#onFatal('uncaughtException', error),
    unhandledRejection: (reason) => void this.#onFatal('unhandledRejection', reason),
    SIGTERM: () => void this.#onSignal('SIGTERM'),
    SIGINT: () => void this.#onSignal('SIGINT'),
    SIGHUP: () => void this.#onSignal('SIGHUP'),
  };

  constructor(host: HostProcess, reraise: Reraise) {
    this.#host = host;
    this.#reraise = reraise;
  }

  /** Hooks `reporter` into the events `choice` asks for. Returns the unhook; calling it again does nothing. */
  register(reporter: HookedReporter, choice: HookChoice): () => void {
    const events: HookEvent[] = [...choice.handleSignals];
    if (choice.drainOnExit) events.push('beforeExit');
    if (choice.captureUncaught) events.push('uncaughtException', 'unhandledRejection');
    for (const event of events) this.#add(event, reporter);
    return () => {
      for (const event of events) this.#remove(event, reporter);
    };
  }

  #add(event: HookEvent, reporter: HookedReporter): void {
    let members = this.#members.get(event);
    if (members === undefined) {
      members = new Set();
      this.#members.set(event, members);
      this.#host.on(event, this.#listeners[event]);
    }
    members.add(reporter);
  }

  #remove(event: HookEvent, reporter: HookedReporter): void {
    const members = this.#members.get(event);
    if (members === undefined || !members.delete(reporter) || members.size > 0) return;
    this.#members.delete(event);
    this.#host.off(event, this.#listeners[event]);
  }

  /** The reporters hooked into `event` now; empty when a listener runs after the last one left (an emit calls the listeners it started with). */
  #snapshot(event: HookEvent): HookedReporter[] {
    return [...(this.#members.get(event) ?? [])];
  }

  #onBeforeExit(): void {
    // stop() holds the reporter's timers while it drains, so the loop is busy
    // again and Node waits. Each reporter unhooks itself when it has ended,
    // so the beforeExit that follows the drain finds no listener.
    for (const reporter of this.#snapshot('beforeExit')) void reporter.stop();
  }

  async #onSignal(signal: HandledSignal): Promise<void> {
    const underWay = this.#draining.get(signal);
    if (underWay !== undefined) return this.#reraiseSignal(signal, underWay);
    const drain = Promise.all(this.#snapshot(signal).map((reporter) => reporter.stop()));
    this.#draining.set(signal, drain);
    await drain;
    this.#reraiseSignal(signal, drain);
  }

  /**
   * Gives the signal back to Node: without our listener, and without one of
   * the host's, the signal's default action runs and the process ends by it.
   */
  #reraiseSignal(signal: HandledSignal, drain: Promise<unknown>): void {
    // Once per drain: a repeated signal may have raised it already, and a
    // later signal (the host kept the process) may have a drain of its own.
    if (this.#draining.get(signal) !== drain) return;
    this.#draining.delete(signal);
    this.#members.delete(signal);
    this.#host.off(signal, this.#listeners[signal]);
    // A listener of the host's own means the host has taken charge of the
    // signal; raising it again would only call that listener a second time.
    if (this.#host.listenerCount(signal) === 0) this.#host.kill(this.#host.pid, signal);
  }

  async #onFatal(event: FatalEvent, error: unknown): Promise<void> {
    if (this.#fatal) return;
    // With a listener of the host's own, Node would not crash: the host
    // decides what happens next, and we only report.
    const hostDecides = this.#host.listenerCount(event) > 1;
    this.#fatal = !hostDecides;
    await Promise.all(this.#snapshot(event).map((reporter) => reporter.logFatalException(error)));
    if (hostDecides) return;
    // Both go, so that the error re-raised below reaches Node's default
    // handling and not us again.
    for (const fatal of ['uncaughtException', 'unhandledRejection'] as const) {
      this.#members.delete(fatal);
      this.#host.off(fatal, this.#listeners[fatal]);
    }
    this.#fatal = false;
    if (event === 'uncaughtException') this.#reraise.exception(error);
    else void this.#reraise.rejection(error);
  }
}

/** The hooks of this process. */
export const processHooks = new ProcessHooks(process, nodeReraise);
