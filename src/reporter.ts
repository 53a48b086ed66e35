/**
 * The public reporter: a session of telemetry, from SESSION_START to
 * SESSION_END, on top of the outbox (accounting and sending) and the
 * lifecycle machine (when to send, retry, drain and end).
 */
import { isIPv4 } from 'node:net';
import { type Actor, type InspectionEvent, type StateValue, createActor, fromCallback } from 'xstate';
import { type ReporterMachineEvent, type SendBatchInput, reporterMachine } from '../machines/reporter.machine.js';
import { resolveEnabled } from './config.js';
import { hasApiKey, missingApiKey } from './core/validate.js';
import { describeException, findUserError } from './core/exception.js';
import { KeepAliveTimers } from './core/timers.js';
import { SafeLogger } from './host/logger.js';
import { errorSummary, flat, redactCut, redactText } from './core/redact.js';
import { renderValue } from './core/validate.js';
import { type ReporterOptions, type ResolvedOptions, resolveOptions } from './options.js';
import { type DropCounts, type DropReason, Outbox } from './core/outbox.js';
import { lastSnapshotChars, lastSnapshotCutBytes, lastSnapshotCutChars, toEventData } from './core/serialize.js';
import type { Transport } from './core/ports.js';
import { createNodeTransport } from './io/node-transport.js';
import {
  EVENT_OVERHEAD_BYTES,
  MEASURED_FROM_CHARS,
  type Severity,
  type WireSeverity,
  QueuedEvent,
  eventBytesAtMost,
  parseSeverity,
  wireBytesPerChar,
} from './core/wire.js';
import { systemClock } from './core/clock.js';
import { SDK_VERSION } from './core/version.js';
import { LifecycleSignals } from './host/lifecycle.js';
import { processHooks } from './host/process-hooks.js';
import { Spool } from './io/spool.js';

/** Options of `reporter.flush()`. */
export interface FlushOptions {
  /**
   * Wait until every event accepted before the call, the batch in flight
   * included, has been sent or given up. Default: false (trigger and return).
   */
  sync?: boolean;
  /** Like `sync`, and also give up waiting after `flushTimeoutMs`. Default: false. */
  waitDrained?: boolean;
}

/** A snapshot of the reporter's state and counters; every counter is a count of events. */
export interface ReporterStats {
  /** The lifecycle machine's state value: `idle`, `batching`, `sending`, `retrying`, `{ draining: 'sending' | 'retrying' }` or `ended`. */
  state: StateValue;
  /** Events waiting in the queue (at most `maxQueueSize`). */
  queueSize: number;
  /**
   * The bytes the events waiting in the queue count: never less than the
   * UTF-8 size of their JSON as it will be sent, and at most
   * `maxQueueBytes`, which SESSION_END alone may cross by its 256 bytes; see
   * `maxQueueBytes` for how an event is counted.
   */
  queueBytes: number;
  /** Events that left the queue and await an outcome: the batch in flight or backing off, and the halves of a split batch. */
  inFlight: number;
  /** Events accepted, SESSION_START and SESSION_END included. Always `flushCounter + queueSize + inFlight`. */
  pushCounter: number;
  /** Events that reached an outcome: delivered, dropped after acceptance (`retries_exhausted`, `rejected`, `shutdown`, `internal_error`, and `queue_full` when SESSION_END displaced one), or spooled. */
  flushCounter: number;
  /** Events the server accepted (a 2xx answer). */
  deliveredCounter: number;
  /** Whether SESSION_END has been queued (by `stop()` or `logFatalException()`); after that, logging is refused. */
  sessionEnded: boolean;
  /**
   * Events dropped, by reason. `queue_full`, `queue_bytes`, `invalid` and
   * `after_stop` count events refused by `log()`/`logException()` (returned
   * false, never in `pushCounter`), except a `queue_full` event displaced by
   * SESSION_END; `retries_exhausted`, `rejected`, `shutdown` and
   * `internal_error` count accepted events given up; `spool_overflow` counts
   * spooled events evicted from the spool.
   */
  dropped: DropCounts;
  /** Events of this session left in the spool for a later reporter instead of being dropped (`spoolDir`); part of `flushCounter`. Always 0 without `spoolDir`. */
  spooled: number;
  /** Events of earlier sessions resent from the spool and delivered; in no other counter. Always 0 without `spoolDir`. */
  replayed: number;
  /** Events of earlier sessions resent from the spool and rejected by the server (a 4xx, or a 413 for a single event; a larger batch is split), then removed; in no other counter. */
  replayDropped: number;
  /**
   * Events of crashed sessions recovered at start: found unsent in the journal
   * of a reporter that died without stopping (SIGKILL, a crash past its
   * deadline), and put in the spool to resend, where they then count as
   * `replayed`. In no other counter. Always 0 without `spoolDir`.
   */
  recovered: number;
  /** Spool files and journals that failed their checks (name, size, JSON, shape) and were moved aside as `*.corrupt`. */
  spoolCorrupt: number;
  /** Spool I/O errors (EACCES, ENOSPC, …); each operation and error code is also logged once. */
  spoolErrors: number;
}

/**
 * Seams for tests, not part of the public API: `adjustMachine` sees the
 * machine after the reporter has supplied its effects, so a test can plant a
 * broken guard or action through `.provide()` and check that the property
 * suite notices.
 */
export interface ReporterInternals {
  adjustMachine?: (machine: typeof reporterMachine) => typeof reporterMachine;
}

/**
 * How a wait for the queue to drain ended: true when every event it waited
 * for was delivered; false when each had an outcome but some were dropped
 * or spooled; undefined when the time ran out first.
 */
type DrainOutcome = boolean | undefined;

interface Waiter {
  target: number;
  allDelivered: boolean;
  resolve(outcome: DrainOutcome): void;
}

type ReporterActor = Actor<typeof reporterMachine>;

/**
 * A session-scoped telemetry reporter. Make one with `startReporter()`.
 *
 * There is no reporter when telemetry is disabled: `startReporter()` returns
 * null, so call it as `reporter?.log(…)` and the same code runs either way.
 *
 * No method throws into the caller: failures go to the logger and to the
 * counters of `stats()`.
 */
export class TelemetryReporter implements AsyncDisposable {
  readonly #sessionId: string;
  readonly #options: ResolvedOptions;
  readonly #logger: SafeLogger;
  readonly #timers: KeepAliveTimers;
  readonly #transport: Transport;
  readonly #outbox: Outbox;
  readonly #spool: Spool | undefined;
  readonly #actor: ReporterActor;
  readonly #signals: LifecycleSignals;
  readonly #startedAtMs: number;
  readonly #waiters = new Set<Waiter>();
  #sessionEnded = false;
  #stopping: Promise<boolean> | undefined;
  #ended: () => void = () => undefined;
  readonly #endedPromise: Promise<void>;
  readonly #unhook: () => void;

  readonly #internals: ReporterInternals;
  /** The most bytes a code unit of an event's contents takes on the wire, with the key redacted (`wireBytesPerChar`). */
  readonly #bytesPerChar: number;

  /** @internal Use `startReporter()`. */
  constructor(options: ResolvedOptions, logger: SafeLogger, internals: ReporterInternals = {}) {
    this.#internals = internals;
    this.#sessionId = options.sessionId;
    this.#options = options;
    this.#bytesPerChar = wireBytesPerChar(options.config.apiKey);
    this.#logger = logger;
    this.#timers = new KeepAliveTimers(options.clock ?? systemClock);
    this.#startedAtMs = this.#timers.now();
    this.#endedPromise = new Promise((resolve) => (this.#ended = resolve));
    this.#signals = new LifecycleSignals(options.sessionId, logger);
    this.#transport =
      options.transport ??
      createNodeTransport({
        endpoint: options.config.telemetryEndpoint,
        apiKey: options.config.apiKey,
        userAgent: `tinker-telemetry/${SDK_VERSION} node/${process.version}`,
        httpTimeoutMs: options.httpTimeoutMs,
        now: () => this.#timers.now(),
      });
    this.#spool =
      options.spoolDir === undefined
        ? undefined
        : new Spool({
            dir: options.spoolDir,
            maxSpoolBytes: options.maxSpoolBytes,
            logger,
            now: () => this.#timers.now(),
            onEvicted: (events) => this.#outbox.evicted(events),
            maxBatchSize: options.maxBatchSize,
            maxBatchBytes: options.maxBatchBytes,
          });
    this.#outbox = new Outbox({
      sessionId: options.sessionId,
      maxQueueSize: options.maxQueueSize,
      maxQueueBytes: options.maxQueueBytes,
      maxBatchSize: options.maxBatchSize,
      maxEventBytes: options.maxEventBytes,
      maxBatchBytes: options.maxBatchBytes,
      apiKey: options.config.apiKey,
      retryBaseDelayMs: options.retryBaseDelayMs,
      transport: this.#transport,
      clock: this.#timers,
      random: options.random ?? Math.random,
      spool: this.#spool,
      defer: afterPendingIo,
      hooks: {
        onSettled: (first) => this.#settleWaiters(first),
        onDropped: (reason, count) =>
          this.#signals.dropped(reason, count, {
            pushCounter: this.#outbox.pushCounter,
            maxQueueSize: this.#options.maxQueueSize,
            maxQueueBytes: this.#options.maxQueueBytes,
            last: this.#outbox.lastSend,
          }),
        onSendFinished: (last) => this.#signals.sendFinished(last),
        onInternalError: (error) =>
          this.#logger.warnOnce(
            'internal_error',
            { err: errorSummary(error, this.#options.config.apiKey) },
            'Telemetry could not send a batch (a fault inside the library); its events are dropped as internal_error and the next batch is sent',
          ),
      },
    });
    // Only now: recovering a crashed reporter's journal can evict files, which the outbox counts.
    this.#spool?.scan();
    this.#actor = this.#createActor();
    this.#actor.start();
    this.#accept(this.#event('SESSION_START', 'INFO'));
    // What earlier reporters left in the spool is sent at once, not after the flush interval. The outbox
    // takes every resent batch before SESSION_START, which stays queued until then, so this flush goes on
    // until the last of them is sent.
    if (this.#spool?.hasReplay() === true) this.#send({ type: 'FLUSH' });
    this.#signals.attachForwarding(options, (name: string, data: unknown, severity: Severity) => this.log(name, data, severity));
    this.#unhook = processHooks.register(this, options);
  }

  /** The session this reporter reports for; read-only. */
  get sessionId(): string {
    return this.#sessionId;
  }

  /**
   * Queues a GENERIC_EVENT named `name` with `data` (any value; a JSON-safe
   * snapshot is taken now, see `toJsonSafe`) at `severity` (default `'info'`,
   * any case). Returns true when the event was accepted; false when it was
   * refused and counted: `invalid` (a name that is not a non-empty string, or
   * a severity that is not one of the five, of any type, `Object.create(null)`
   * included), `queue_full`, `queue_bytes` (it would take the queue over
   * `maxQueueBytes`), or `after_stop` (the session has ended). Never throws.
   */
  log(name: string, data?: unknown, severity: Severity | Uppercase<Severity> = 'info'): boolean {
    try {
      if (this.#sessionEnded) return this.#refuse('after_stop');
      const wireSeverity = parseSeverity(severity);
      if (wireSeverity === undefined) return this.#refuseInvalid('severity', severity);
      if (typeof name !== 'string' || name.length === 0) return this.#refuseInvalid('name', name);
      if (this.#outbox.full) return this.#refuse('queue_full');
      const { maxEventBytes, config } = this.#options;
      const snapshot = toEventData(data, maxEventBytes, config.apiKey);
      // A name longer than a whole event is cut now, not at send time, so the queue never holds more of it; a
      // name kept whole is copied like every string of the snapshot, so it never keeps a larger string alive.
      const kept = name.length > maxEventBytes ? cutName(name, maxEventBytes, config.apiKey) : flat(name);
      const event = new QueuedEvent('GENERIC_EVENT', this.#outbox.nextIndex, wireSeverity, this.#timers.now(), kept, snapshot, undefined, undefined);
      return this.#acceptSized(event, kept.length + lastSnapshotChars() - lastSnapshotCutChars(), lastSnapshotCutBytes());
    } catch (error) {
      return this.#internalError('log', error);
    }
  }

  /**
   * Queues an UNHANDLED_EXCEPTION for `error` (any thrown value) at
   * `severity` (default `'error'`), or, for a user error (an HTTP status in
   * 400–499 other than 408 and 429, anywhere in the cause chain), a
   * GENERIC_EVENT `user_error` at WARNING. Starts an asynchronous flush.
   * Returns whether the event was accepted, as `log()`. Never throws.
   */
  logException(error: unknown, severity: Severity | Uppercase<Severity> = 'error'): boolean {
    try {
      const accepted = this.#logException(error, severity);
      if (accepted) this.#send({ type: 'FLUSH' });
      return accepted;
    } catch (internal) {
      return this.#internalError('logException', internal);
    }
  }

  /**
   * The fatal path: logs `error` as `logException()` does (default severity
   * `'critical'`; a severity that is not one of the five is counted `invalid`
   * and the session ends all the same), queues SESSION_END (once), flushes,
   * and waits until drained or `flushTimeoutMs` has passed; then logs
   * `Telemetry session <id> ended after a fatal exception` at info. Resolves
   * true when drained in time, which is not the same as delivered: dropped
   * events count as drained (`stats()` tells them apart). Once the session
   * has ended (`stop()`, or an earlier fatal call) the exception itself is
   * refused as `after_stop`, the end is not announced again (a debug line
   * says the call came after the end), and the call still resolves true when
   * what was queued before has drained. Never rejects.
   */
  async logFatalException(error: unknown, severity: Severity | Uppercase<Severity> = 'critical'): Promise<boolean> {
    try {
      // A session that had already ended did not end because of this exception, so its end is not announced again.
      const endedBefore = this.#sessionEnded;
      this.#logException(error, severity);
      this.#endSession();
      const drained = await this.waitUntilDrained(this.#options.flushTimeoutMs);
      if (endedBefore) {
        this.#logger.debug({ drained }, `Telemetry logFatalException() after session ${this.sessionId} had ended: the exception was refused as after_stop`);
      } else {
        this.#logger.info({ drained }, `Telemetry session ${this.sessionId} ended after a fatal exception`);
      }
      return drained;
    } catch (internal) {
      return this.#internalError('logFatalException', internal);
    }
  }

  /**
   * Without options, starts sending what is queued and resolves true at once,
   * which says nothing of delivery. With `sync`, resolves once every event
   * accepted before the call has been sent or given up: true only when all of
   * them were delivered (a dropped or spooled one makes it false). With
   * `waitDrained`, the same, but resolves false after `flushTimeoutMs` ms.
   */
  async flush(options: FlushOptions = {}): Promise<boolean> {
    try {
      const waitDrained = options?.waitDrained === true;
      const sync = waitDrained || options?.sync === true;
      this.#send({ type: 'FLUSH' });
      if (!sync) return true;
      const outcome = await this.#waitFor(waitDrained ? this.#options.flushTimeoutMs : undefined);
      return outcome === true;
    } catch (internal) {
      return this.#internalError('flush', internal);
    }
  }

  /**
   * Starts a flush and resolves true once every event accepted before the
   * call has reached an outcome: drained, not delivered (dropped events count
   * as drained, as in the reference SDKs; `stats()` tells them apart), or
   * false after `timeoutMs` milliseconds (default `flushTimeoutMs`). Logging
   * goes on meanwhile.
   * A `timeoutMs` that is not a finite number ≥ 0 falls back to
   * `flushTimeoutMs` with a warning; one above 2³¹−1 ms (the timer maximum,
   * about 24.8 days) is capped to it.
   */
  async waitUntilDrained(timeoutMs: number = this.#options.flushTimeoutMs): Promise<boolean> {
    try {
      this.#send({ type: 'FLUSH' });
      const outcome = await this.#waitFor(this.#timeout('waitUntilDrained', timeoutMs));
      return outcome !== undefined;
    } catch (internal) {
      return this.#internalError('waitUntilDrained', internal);
    }
  }

  /**
   * Ends the session: queues SESSION_END unless one was already queued, sends
   * everything, and waits until drained or `timeoutMs` (default
   * `flushTimeoutMs`) has passed. At the deadline the request in flight is
   * aborted and what was not delivered is dropped as `shutdown`. Resolves
   * true when everything was drained in time: every event has an outcome,
   * which may be a counted drop (a 4xx, retries exhausted), so true is not
   * delivered; `stats().deliveredCounter` against `pushCounter` says that,
   * and `dropped` why not. A `timeoutMs` that is not a
   * finite number ≥ 0 falls back to `flushTimeoutMs` with a warning; one
   * above 2³¹−1 ms is capped to it. Idempotent: later calls return the same
   * promise, and their `timeoutMs` is ignored. Never rejects.
   */
  stop(timeoutMs: number = this.#options.flushTimeoutMs): Promise<boolean> {
    this.#stopping ??= this.#stop(this.#timeout('stop', timeoutMs));
    return this.#stopping;
  }

  /** `stop()` with its default timeout, so that `await using reporter = startReporter(…)` ends the session; `await using` accepts the null of disabled telemetry too. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }

  /** A snapshot of the state and counters; see `ReporterStats`. */
  stats(): ReporterStats {
    const outbox = this.#outbox;
    return {
      state: this.#actor.getSnapshot().value,
      queueSize: outbox.queueSize,
      queueBytes: outbox.queueBytes,
      inFlight: outbox.inFlight,
      pushCounter: outbox.pushCounter,
      flushCounter: outbox.flushCounter,
      deliveredCounter: outbox.deliveredCounter,
      sessionEnded: this.#sessionEnded,
      dropped: { ...outbox.dropped },
      spooled: outbox.spooledCounter,
      replayed: outbox.replayedCounter,
      replayDropped: outbox.replayDroppedCounter,
      recovered: this.#spool?.recovered ?? 0,
      spoolCorrupt: this.#spool?.corrupt ?? 0,
      spoolErrors: this.#spool?.errors ?? 0,
    };
  }

  async #stop(timeoutMs: number): Promise<boolean> {
    let deadlineHit = false;
    const release = this.#timers.hold();
    const deadline = this.#timers.setTimeout(() => {
      deadlineHit = true;
      this.#send({ type: 'DEADLINE' });
    }, timeoutMs);
    try {
      this.#signals.detachForwarding();
      this.#endSession();
      this.#send({ type: 'STOP' });
      await this.#endedPromise;
      return !deadlineHit;
    } catch (internal) {
      return this.#internalError('stop', internal);
    } finally {
      // Unhooked once ended, not when stop() starts, so that a signal arriving
      // meanwhile still waits for this drain before it is raised again.
      this.#unhook();
      this.#timers.clearTimeout(deadline);
      this.#timers.clearAll();
      release();
      try {
        this.#transport.close?.();
      } catch {
        // Closing is best effort; the session is over either way.
      }
    }
  }

  #createActor(): ReporterActor {
    const outbox = this.#outbox;
    const threshold = this.#options.flushThreshold;
    const machine = reporterMachine.provide({
      actors: {
        sendBatch: fromCallback<ReporterMachineEvent, SendBatchInput>(({ sendBack, input }) => {
          const controller = new AbortController();
          let answered = false;
          // outbox.send never rejects; the second handler is there so that, if it ever did, the
          // host would not see an unhandled rejection from this library. The stop deadline then
          // still ends the session. An answer that comes after this actor was stopped goes
          // nowhere: xstate's sendBack does nothing once the callback actor is stopped (the test
          // "answers no one" holds it to that).
          outbox.send(input.attempt, controller.signal).then(
            (event) => {
              answered = true;
              sendBack(event);
            },
            (error: unknown) => this.#internalError('send', error),
          );
          return () => {
            // Leaving `sending` before the answer (the stop deadline) aborts the request; after it,
            // there is nothing to abort, and an abort would only make a DOMException per batch.
            if (!answered) controller.abort();
          };
        }),
      },
      actions: {
        deliverBatch: () => outbox.deliver(),
        dropBatch: (_args, params) => outbox.drop(params.reason),
        splitBatch: () => {
          this.#signals.split(outbox.lastSend);
          outbox.split();
        },
        retryScheduled: (_args, params) => this.#signals.retryScheduled(outbox.lastSend, params.delayMs),
        abandonAll: () => outbox.abandon('shutdown'),
      },
      guards: {
        hasPending: () => outbox.hasPending(),
        atThreshold: () => outbox.queueSize >= threshold,
        fullBatchWaits: () => outbox.hasFullBatch(),
        splitPending: () => outbox.hasSplitHalf(),
      },
    });
    const userInspect = this.#options.inspect;
    const actor: ReporterActor = createActor(this.#internals.adjustMachine?.(machine) ?? machine, {
      input: { flushIntervalMs: this.#options.flushIntervalMs, maxRetries: this.#options.maxRetries },
      clock: this.#timers,
      inspect: (event: InspectionEvent) => {
        if (event.type === '@xstate.snapshot' && event.actorRef === actor) {
          this.#signals.transition((event.snapshot as ReturnType<ReporterActor['getSnapshot']>).value, event.event.type);
        }
        if (userInspect !== undefined) forwardInspection(userInspect, event);
      },
    });
    actor.subscribe({
      next: (snapshot) => {
        if (snapshot.status === 'done') this.#finish();
      },
      error: (error) => {
        // An error inside the machine would otherwise be rethrown globally.
        this.#logger.error({ err: errorSummary(error, this.#options.config.apiKey) }, 'Telemetry lifecycle failed; the session is abandoned');
        this.#outbox.abandon('shutdown');
        this.#finish();
      },
    });
    return actor;
  }

  /**
   * Sends to the machine while it runs. Once it has ended (or failed), there is
   * nothing to tell it, and XState would print a warning to stderr, outside
   * the logger, for every event sent to a stopped actor.
   */
  #send(event: ReporterMachineEvent): void {
    if (this.#actor.getSnapshot().status === 'active') this.#actor.send(event);
  }

  /** Every event has its outcome: the journal has nothing left to protect. */
  #finish(): void {
    this.#outbox.closeJournal();
    this.#ended();
  }

  #logException(error: unknown, severity: unknown): boolean {
    if (this.#sessionEnded) return this.#refuse('after_stop');
    const wireSeverity = parseSeverity(severity);
    if (wireSeverity === undefined) return this.#refuseInvalid('severity', severity);
    if (this.#outbox.full) return this.#refuse('queue_full');
    const { maxEventBytes, config } = this.#options;
    const userError = findUserError(error, config.apiKey);
    if (userError !== undefined) {
      const data = toEventData(userError, maxEventBytes, config.apiKey);
      const event = new QueuedEvent('GENERIC_EVENT', this.#outbox.nextIndex, 'WARNING', this.#timers.now(), 'user_error', data, undefined, undefined);
      return this.#acceptSized(event, 'user_error'.length + lastSnapshotChars() - lastSnapshotCutChars(), lastSnapshotCutBytes());
    }
    const fields = describeException(error, config.apiKey);
    const event = new QueuedEvent('UNHANDLED_EXCEPTION', this.#outbox.nextIndex, wireSeverity, this.#timers.now(), undefined, undefined, fields, undefined);
    return this.#acceptSized(event, fields.error_type.length + fields.error_message.length + (fields.traceback?.length ?? 0), 0);
  }

  /**
   * Accepts `event`, built just now, unless `#recheck` refuses it. Its name,
   * data or exception fields take `chars` UTF-16 code units, besides the
   * strings its snapshot cut, which take `cutBytes` exactly. It counts
   * against `maxQueueBytes` the UTF-8 size of its JSON as it will be sent:
   * measured when `chars` is over `MEASURED_FROM_CHARS` (the JSON is made now
   * to be counted, then let go), otherwise bounded (`eventBytesAtMost`), as
   * is an event whose JSON cannot be made (it is dropped when it is taken
   * into a batch).
   */
  #acceptSized(event: QueuedEvent, chars: number, cutBytes: number): boolean {
    const bound = eventBytesAtMost(chars, this.#bytesPerChar, this.#options.maxEventBytes, cutBytes);
    event.queuedBytes = chars > MEASURED_FROM_CHARS ? this.#measured(event, bound) : bound;
    const refused = this.#recheck(event.queuedBytes);
    if (refused !== undefined) return this.#refuse(refused);
    this.#accept(event);
    return true;
  }

  /** The exact UTF-8 size of `event`'s JSON as it will be sent (`Outbox.measure`), or `bound` when its JSON cannot be made. */
  #measured(event: QueuedEvent, bound: number): number {
    try {
      return this.#outbox.measure(event);
    } catch {
      return bound;
    }
  }

  #event(type: 'SESSION_START' | 'SESSION_END', severity: WireSeverity): QueuedEvent {
    const now = this.#timers.now();
    const duration = type === 'SESSION_END' ? now - this.#startedAtMs : undefined;
    return new QueuedEvent(type, this.#outbox.nextIndex, severity, now, undefined, undefined, undefined, duration, EVENT_OVERHEAD_BYTES);
  }

  #accept(event: QueuedEvent): void {
    const size = this.#outbox.accept(event);
    // The machine hears only what can change its state: the queue becoming
    // non-empty, and the queue reaching the threshold.
    if (size === 1 || size === this.#options.flushThreshold) this.#wake(size);
  }

  /**
   * Tells the machine that the queue, now of `size` events, has become
   * non-empty (`size` 1), reached the threshold, or both (a threshold of 1).
   * Kept out of `#accept`, which `log()` runs every time.
   */
  #wake(size: number): void {
    if (size === 1) {
      this.#send({ type: 'LOG' });
      if (this.#options.flushThreshold !== 1) return;
    }
    this.#send({ type: 'THRESHOLD' });
  }

  /** Queues SESSION_END once. The caller then sends FLUSH (fatal path) or STOP, which moves the machine on. */
  #endSession(): void {
    if (this.#sessionEnded) return;
    this.#sessionEnded = true;
    this.#outbox.acceptAlways(this.#event('SESSION_END', 'INFO'));
  }

  /**
   * Why an event of `bytes` built just now must be refused, if it must.
   * Building it ran the caller's code (getters, `toJSON`, an error's
   * `message`), which may meanwhile have logged, filled the queue or ended
   * the session: the checks made before are made again. The event takes its
   * index after the caller's code has run, and nothing runs between that and
   * these checks.
   */
  #recheck(bytes: number): DropReason | undefined {
    if (this.#sessionEnded) return 'after_stop';
    if (this.#outbox.full) return 'queue_full';
    return this.#outbox.fits(bytes) ? undefined : 'queue_bytes';
  }

  #refuse(reason: DropReason): false {
    this.#outbox.refuse(reason);
    return false;
  }

  #refuseInvalid(what: 'severity' | 'name', value: unknown): false {
    // Counted before anything else is done with the value, so the count never depends on how it renders.
    this.#refuse('invalid');
    const shown = shownRefused(value, this.#options.config.apiKey);
    // Once per kind of refusal and type of value, not per value: distinct bad values must not grow the set of warnings said.
    this.#logger.warnOnce(
      `invalid:${what}:${value === null ? 'null' : typeof value}`,
      {},
      what === 'severity'
        ? `Telemetry event refused: severity ${shown} is not one of debug, info, warning, error, critical`
        : `Telemetry event refused: the event name must be a non-empty string, got ${shown}`,
    );
    return false;
  }

  #internalError(where: string, error: unknown): false {
    this.#logger.error({ err: errorSummary(error, this.#options.config.apiKey) }, `Telemetry ${where}() failed internally`);
    return false;
  }

  #timeout(where: string, value: unknown): number {
    if (typeof value === 'number' && Number.isFinite(value) && value >= 0) return Math.min(value, 2 ** 31 - 1);
    let shown: string;
    try {
      shown = this.#shown(String(value));
    } catch {
      // An object without a usable toString (Object.create(null)): stop() must still not throw.
      shown = `an unprintable ${typeof value}`;
    }
    this.#logger.warnOnce(
      `timeout:${where}`,
      {},
      `Telemetry ${where}(): expected a timeout in ms ≥ 0, got ${shown}; using flushTimeoutMs (${this.#options.flushTimeoutMs})`,
    );
    return this.#options.flushTimeoutMs;
  }

  /**
   * The first 60 characters of a value a warning quotes, the API key redacted
   * first: a value passed by mistake may be the key, and a cut before the
   * redaction would leave its head in the log.
   */
  #shown(text: string): string {
    return redactCut(text, 60, this.#options.config.apiKey).kept;
  }

  /** Waits until every event accepted so far has an outcome, or `timeoutMs` has passed. */
  #waitFor(timeoutMs: number | undefined): Promise<DrainOutcome> {
    const target = this.#outbox.pushCounter;
    if (this.#outbox.oldestPending() === Infinity) return Promise.resolve(true);
    return new Promise((resolve) => {
      const release = this.#timers.hold();
      let deadline: unknown;
      const waiter: Waiter = {
        target,
        allDelivered: true,
        resolve: (outcome) => {
          this.#waiters.delete(waiter);
          if (deadline !== undefined) this.#timers.clearTimeout(deadline);
          release();
          resolve(outcome);
        },
      };
      this.#waiters.add(waiter);
      if (timeoutMs !== undefined) {
        deadline = this.#timers.setTimeout(() => waiter.resolve(undefined), timeoutMs);
      }
    });
  }

  #settleWaiters(firstDroppedIndex: number | undefined): void {
    const oldest = this.#outbox.oldestPending();
    for (const waiter of this.#waiters) {
      if ((firstDroppedIndex ?? Infinity) < waiter.target) waiter.allDelivered = false;
      if (oldest >= waiter.target) waiter.resolve(waiter.allDelivered);
    }
  }
}

/**
 * Runs `task` in the check phase of the event loop (`setImmediate`), after
 * the I/O the current turn started: on a kept-alive connection, a request
 * got was asked to send has been written to its socket by then (on a new
 * one it waits for the connection, and the task may run first). Looked up
 * at each call, so that fake timers installed after import take effect.
 * Returns what cancels it.
 */
function afterPendingIo(task: () => void): () => void {
  const handle = setImmediate(task);
  return () => clearImmediate(handle);
}

/** A name longer than `limit` code units, redacted and cut to about `limit`, with the marker strings get. */
function cutName(name: string, limit: number, secret: string): string {
  const { kept, omitted } = redactCut(name, limit, secret);
  return `${kept}…[truncated ${omitted} chars]`;
}

/**
 * A refused name or severity as its warning shows it. A string is shown as
 * JSON, cut to 60 characters; anything else as `renderValue` shows it, by
 * kind for an object, and never through the value's own `toString` or
 * `Symbol.toPrimitive`: those can throw (`Object.create(null)` has none),
 * and a refusal must still be counted and warned about.
 */
function shownRefused(value: unknown, secret: string): string {
  if (typeof value === 'string') return JSON.stringify(redactCut(value, 60, secret).kept);
  try {
    // A symbol's description is shown whole, so the key is redacted from what renderValue wrote.
    return `${redactText(renderValue(value), secret)} (${value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value})`;
  } catch {
    // Only a revoked Proxy gets here: Array.isArray throws on one.
    return '`[object]` (object)';
  }
}

/** Hands `event` to an `inspect` observer (a function, or an observer's `next`); an observer that throws is ignored. */
export function forwardInspection(observer: NonNullable<ResolvedOptions['inspect']>, event: InspectionEvent): void {
  try {
    if (typeof observer === 'function') observer(event);
    else observer.next?.(event);
  } catch {
    // An inspector must not break the reporter.
  }
}

/**
 * Starts a telemetry session: validates `options` (a TypeError or RangeError
 * that names the option for a wrong type, a value out of range or an unknown
 * name), queues SESSION_START, and returns the reporter. Returns `null` when
 * telemetry is disabled (by `options.enabled`, `config.telemetryEnabled` or
 * `TINKER_TELEMETRY`, in that order). The options are validated first, so
 * bad options throw even when telemetry is disabled: a mistake shows up in
 * every environment, not only where telemetry is on. A missing API key is
 * the exception: it throws an Error with code
 * `ERR_TINKER_TELEMETRY_MISSING_API_KEY` only when telemetry is on, so a
 * process with telemetry off needs no key. The reporter hooks into
 * the process as `drainOnExit`, `handleSignals` and `captureUncaught` ask,
 * until it has stopped.
 */
export function startReporter(options: ReporterOptions): TelemetryReporter | null {
  const resolved = resolveOptions(options);
  const logger = new SafeLogger(resolved.logger, { component: 'tinker-telemetry', sessionId: resolved.sessionId });
  const enabled = resolveEnabled(resolved.enabled, resolved.config, process.env, (message: string) => logger.warn({}, message));
  if (!enabled) return null;
  if (!hasApiKey(resolved.config)) throw missingApiKey('startReporter() with telemetry on', ', or switch telemetry off (TINKER_TELEMETRY=0)');
  for (const warning of resolved.warnings) logger.warn({}, warning);
  const host = cleartextHost(resolved.config.baseUrl);
  if (host !== undefined) logger.warn({ host }, `Telemetry baseUrl is plain http: the API key would travel in cleartext to ${host}; use https`);
  return new TelemetryReporter(resolved, logger);
}

/**
 * The host of an `http:` URL that is not loopback (localhost, 127.0.0.0/8,
 * ::1), where the key would cross a network unencrypted; otherwise undefined.
 */
function cleartextHost(baseUrl: string): string | undefined {
  const url = new URL(baseUrl);
  if (url.protocol !== 'http:') return undefined;
  const host = url.hostname;
  if (host === 'localhost' || host === '[::1]' || (isIPv4(host) && host.startsWith('127.'))) return undefined;
  return host;
}
