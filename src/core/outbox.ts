/**
 * The outbox: the queue of accepted events, the batch in flight, and the
 * accounting that proves nothing is lost silently.
 *
 * At every instant `pushCounter = flushCounter + queueSize + inFlight`, and
 * every accepted event ends exactly once, delivered, dropped with a reason,
 * or spooled (left on disk for a later reporter, with `spoolDir`).
 * Outcomes happen in acceptance order (one batch in flight, FIFO queue, the
 * halves of a split batch sent before anything newer), which is what lets
 * drain waiters reason with plain counters.
 */
import { randomUUID } from 'node:crypto';
import type { FailureKind, ReporterMachineEvent } from '../../machines/reporter.machine.js';
import type { Clock } from './clock.js';
import { BatchBuilder } from './batch-builder.js';
import { RingQueue } from './queue.js';
import { redactReason } from './redact.js';
import { retryDelayMs } from './retry.js';
import type { JournalPort, SendResult, SpoolPort, Transport } from './ports.js';
import { type BodyMeta, type QueuedEvent, bodyJson, encodeEvent, envelopeJson, eventJsonBytes, secretOf, serializeBatch } from './wire.js';

/**
 * Why an event was not delivered. Refused by `log()`/`logException()`, so
 * never accepted:
 * - `queue_full`: the queue held `maxQueueSize` events (also counts the one
 *   event SESSION_END displaces from a full queue);
 * - `queue_bytes`: the event would have taken the queued events' bytes over
 *   `maxQueueBytes` (which says how an event is counted);
 * - `invalid`: an empty or non-string name, or an unknown severity;
 * - `after_stop`: the session had ended (`stop()` or `logFatalException()`).
 *
 * Accepted, then given up:
 * - `retries_exhausted`: the batch failed retryably on its first attempt and
 *   on each of `maxRetries` retries;
 * - `rejected`: the server refused the batch (a 4xx other than 408 and 429,
 *   a 1xx or 3xx, or a 413 for a single event); never retried;
 * - `shutdown`: not delivered by the stop deadline, or the lifecycle failed
 *   internally.
 * - `internal_error`: sending the batch failed inside the library (an event
 *   that could not be encoded, a spool or journal fault that escaped its own
 *   handling, a hostile transport or `random`); the batch is given up, with
 *   one warning that says what failed, and the next one is sent.
 */
export type DropReason = 'queue_full' | 'queue_bytes' | 'invalid' | 'after_stop' | 'retries_exhausted' | 'rejected' | 'shutdown' | 'internal_error';

/**
 * Why spooled events were lost (with `spoolDir`); outside `pushCounter`, like
 * a refused event, because they were already counted `spooled`, by this
 * reporter or an earlier one:
 * - `spool_overflow`: a spool file was evicted, oldest first, to keep the
 *   spool within `maxSpoolBytes`.
 */
export type SpoolDropReason = 'spool_overflow';

/** Every drop reason, in a fixed order (that of `stats().dropped`), for iterating over the counts. */
export const DROP_REASONS: readonly (DropReason | SpoolDropReason)[] = Object.freeze([
  'queue_full',
  'queue_bytes',
  'invalid',
  'after_stop',
  'retries_exhausted',
  'rejected',
  'shutdown',
  'internal_error',
  'spool_overflow',
]);

/** Counts of dropped events by reason. */
export type DropCounts = Record<DropReason | SpoolDropReason, number>;

interface Batch {
  readonly events: QueuedEvent[];
  readonly idempotencyKey: string;
  /** The JSON text, made when the batch is taken (a split half's on its first attempt) and reused by every retry. */
  body: string | undefined;
  /** Its file in the spool while this reporter holds a claim on it. */
  spoolFile?: string | undefined;
  /** A batch resent from the spool: how many events it holds (its `events` is empty; they are in no counter of this session). */
  replayed?: number;
}

/** The outcome of the last send, for the reporter to describe. */
export interface LastSend {
  size: number;
  attempt: number;
  durationMs: number;
  result: SendResult;
}

/** What the outbox tells the reporter. Implementations must not throw. */
export interface OutboxHooks {
  /** `flushCounter` grew; `firstDroppedIndex` is the lowest index among events just dropped, if any. */
  onSettled(firstDroppedIndex: number | undefined): void;
  /** `count` events were dropped for `reason`. */
  onDropped(reason: DropReason | SpoolDropReason, count: number): void;
  /** A send finished (any outcome). */
  onSendFinished(last: LastSend): void;
  /** Sending failed inside the library; the events it concerned are dropped as `internal_error`. */
  onInternalError(error: unknown): void;
}

export interface OutboxOptions {
  sessionId: string;
  maxQueueSize: number;
  /** The bound on the queued events' `queuedBytes`. */
  maxQueueBytes: number;
  maxBatchSize: number;
  /** The cap on one event's JSON, in UTF-8 bytes. */
  maxEventBytes: number;
  /** The cap on one request body, in UTF-8 bytes; at least `maxEventBytes` plus the envelope. */
  maxBatchBytes: number;
  /** Redacted from every event and from a failed send's reason (the API key). */
  apiKey: string;
  retryBaseDelayMs: number;
  transport: Transport;
  clock: Clock;
  random: () => number;
  hooks: OutboxHooks;
  /** Where undeliverable batches are kept, and earlier ones resent from. Default: none. */
  spool?: SpoolPort | undefined;
  /**
   * Runs `task` once the I/O started in this turn of the event loop has
   * been handled (the reporter's is `setImmediate`), and returns what
   * cancels it. The outbox uses it to encode the next batch while a request
   * is in flight: after the transport has written the request, so that the
   * work overlaps the wait for the answer rather than delaying the send.
   * Default: none, and nothing is encoded ahead.
   */
  defer?: ((task: () => void) => () => void) | undefined;
}

export class Outbox {
  readonly #options: OutboxOptions;
  readonly #queue: RingQueue<QueuedEvent>;
  /** The batch being sent or awaiting a retry. */
  #current: Batch | undefined;
  /** Halves of split batches, sent before the queue, in order. */
  #carry: Batch[] = [];
  #carried = 0;
  #lastSend: LastSend | undefined;
  /** Chooses the batches at the head of the queue, and encodes the next one ahead. */
  readonly #batches: BatchBuilder;
  readonly #meta: BodyMeta;
  /** With a spool: every accepted event until it is delivered, dropped or in a spool file, for recovery after a crash. */
  readonly #journal: JournalPort | undefined;
  /** `options.random`, made safe: a number in [0, 1) whatever it returns or throws. */
  readonly #random: () => number;

  /** Events accepted, SESSION_START and SESSION_END included. */
  pushCounter = 0;
  /** The `queuedBytes` of the events in the queue (not of the batch in flight). */
  queueBytes = 0;
  /** Events that reached an outcome: delivered, dropped after acceptance, or spooled. */
  flushCounter = 0;
  /** Events left in the spool for a later reporter (retries exhausted, or the stop deadline). */
  spooledCounter = 0;
  /** Events of earlier sessions resent from the spool and delivered. */
  replayedCounter = 0;
  /** Events of earlier sessions resent from the spool and rejected by the server (removed from the spool). */
  replayDroppedCounter = 0;
  /** Events the server accepted. */
  deliveredCounter = 0;
  /** Events dropped, by reason (before and after acceptance). */
  readonly dropped: DropCounts = {
    queue_full: 0,
    queue_bytes: 0,
    invalid: 0,
    after_stop: 0,
    retries_exhausted: 0,
    rejected: 0,
    shutdown: 0,
    internal_error: 0,
    spool_overflow: 0,
  };

  constructor(options: OutboxOptions) {
    this.#options = options;
    this.#random = () => {
      try {
        const value = options.random();
        return value >= 0 && value < 1 ? value : 0;
      } catch {
        return 0;
      }
    };
    this.#queue = new RingQueue(options.maxQueueSize);
    this.#meta = { sessionId: options.sessionId, maxEventBytes: options.maxEventBytes, secret: secretOf(options.apiKey) };
    this.#batches = new BatchBuilder(this.#queue, this.#meta, options);
    this.#journal = options.spool?.openJournal(envelopeJson(options.sessionId), (event) => encodeEvent(event, this.#meta));
  }

  /** Writes what the journal has pending, closes it and deletes it; called once every event has its outcome. */
  closeJournal(): void {
    this.#journal?.close();
  }

  /** Events waiting in the queue. */
  get queueSize(): number {
    return this.#queue.size;
  }

  /** Events that left the queue and await an outcome: the batch in flight and split halves. */
  get inFlight(): number {
    return (this.#current?.events.length ?? 0) + this.#carried;
  }

  /** Whether the queue refuses ordinary events. */
  get full(): boolean {
    return this.#queue.full;
  }

  /**
   * The UTF-8 size in bytes of `event`'s JSON as it will be sent, redacted
   * and capped (`eventJsonBytes`): the JSON is made to be counted, then let
   * go. Throws what encoding throws.
   */
  measure(event: QueuedEvent): number {
    return eventJsonBytes(event, this.#meta);
  }

  /** Whether an ordinary event of `bytes` (its `queuedBytes`) stays within `maxQueueBytes`. */
  fits(bytes: number): boolean {
    return this.queueBytes + bytes <= this.#options.maxQueueBytes;
  }

  /** Events wait to be sent (the batch in flight does not count). */
  hasPending(): boolean {
    return this.#queue.size > 0 || this.#carry.length > 0;
  }

  /**
   * The queue holds at least a full batch: `maxBatchSize` events, or
   * `maxBatchBytes` by the queue's estimate of their bytes (`queueBytes`).
   */
  hasFullBatch(): boolean {
    return this.#queue.size >= this.#options.maxBatchSize || this.queueBytes >= this.#options.maxBatchBytes;
  }

  /** The second half of a split batch is waiting to be sent. */
  hasSplitHalf(): boolean {
    return this.#carry.length > 0;
  }

  /**
   * The lowest index among accepted events without an outcome; Infinity when
   * every one has one. Outcomes come in acceptance order except for the event
   * SESSION_END displaces (the newest), so this is what a drain waiter must
   * compare with, not `flushCounter`.
   */
  oldestPending(): number {
    return this.#current?.events[0]?.index ?? this.#carry[0]?.events[0]?.index ?? this.#queue.at(0)?.index ?? Infinity;
  }

  /** The index the next accepted event gets. */
  get nextIndex(): number {
    return this.pushCounter;
  }

  /** The last send's outcome, for logging and diagnostics. */
  get lastSend(): LastSend | undefined {
    return this.#lastSend;
  }

  /** Queues an event the caller already checked there is room for. Returns the new queue size. */
  accept(event: QueuedEvent): number {
    this.#queue.push(event);
    this.queueBytes += event.queuedBytes;
    this.pushCounter++;
    this.#journal?.append(event);
    return this.#queue.size;
  }

  /**
   * Queues an event that must never be refused (SESSION_END). When the queue
   * is full, the newest ordinary event makes room and is counted as
   * `queue_full`, so the bound and the accounting both hold. It is never
   * refused for `maxQueueBytes`: it may cross it by its own few hundred bytes.
   */
  acceptAlways(event: QueuedEvent): number {
    const displaced = this.#queue.full ? this.#queue.pop() : undefined;
    if (displaced !== undefined) {
      this.queueBytes -= displaced.queuedBytes;
      this.#settleDropped('queue_full', [displaced]);
    }
    return this.accept(event);
  }

  /** Counts an event refused before acceptance. */
  refuse(reason: DropReason): void {
    this.dropped[reason]++;
    this.#options.hooks.onDropped(reason, 1);
  }

  /** Counts events lost from the spool when their files were evicted to make room. */
  evicted(events: number): void {
    this.dropped.spool_overflow += events;
    this.#options.hooks.onDropped('spool_overflow', events);
  }

  /**
   * Sends the current batch, taking one when there is none, and answers the
   * machine's ACK or FAIL. Never rejects: whatever throws in here is caught,
   * the batch concerned is dropped as `internal_error`, and the answer is
   * ACK, so the machine goes on with the next batch (the outbox has already
   * counted the outcome; `deliver()` then finds no batch).
   */
  async send(attempt: number, signal: AbortSignal): Promise<ReporterMachineEvent> {
    try {
      return await this.#send(attempt, signal);
    } catch (error) {
      this.#failInternally(error);
      return { type: 'ACK' };
    }
  }

  async #send(attempt: number, signal: AbortSignal): Promise<ReporterMachineEvent> {
    // Batches left in the spool by earlier reporters go before anything of this session.
    const batch = (this.#current ??= this.#claimReplay() ?? this.#takeBatch());
    if (batch === undefined) return { type: 'ACK' };
    const { clock, transport } = this.#options;
    const started = clock.now();
    batch.body ??= serializeBatch(this.#meta, batch.events);
    this.#hold(batch);
    let result: SendResult;
    let cancelAhead = noop;
    try {
      const answer = transport.send({ body: batch.body, idempotencyKey: batch.idempotencyKey, signal });
      cancelAhead = this.#encodeAheadSoon();
      result = await answer;
    } catch (error) {
      // A custom transport that throws is treated like a network error.
      result = { kind: 'retryable', reason: error instanceof Error ? error.name : typeof error };
    }
    // Once the answer is in, the next batch is taken at once: work ahead not yet begun would only delay it.
    cancelAhead();
    // A custom transport's reason is the host's text (a thrown error's name included), and it is logged and
    // published: the key is redacted from it, and it is cut, here, where every transport's answer passes.
    if (result.kind === 'retryable' && typeof result.reason === 'string') result = { ...result, reason: redactReason(result.reason, this.#options.apiKey) };
    const size = sizeOf(batch);
    const last: LastSend = { size, attempt, durationMs: clock.now() - started, result };
    this.#lastSend = last;
    this.#options.hooks.onSendFinished(last);
    if (result.kind === 'ok') return { type: 'ACK' };
    const kind: FailureKind = result.kind;
    const retryAfterMs = result.kind === 'retryable' ? result.retryAfterMs : undefined;
    return {
      type: 'FAIL',
      kind,
      retryDelayMs: retryDelayMs(attempt + 1, this.#options.retryBaseDelayMs, retryAfterMs, this.#random),
      batchSize: size,
    };
  }

  /** The batch in flight was delivered. */
  deliver(): void {
    const batch = this.#current;
    if (batch === undefined) return;
    this.#current = undefined;
    this.#options.spool?.remove(batch.spoolFile);
    if (batch.replayed !== undefined) {
      this.replayedCounter += batch.replayed;
      return;
    }
    this.#journal?.ack(batch.events);
    this.deliveredCounter += batch.events.length;
    this.flushCounter += batch.events.length;
    this.#options.hooks.onSettled(undefined);
  }

  /** The batch in flight is given up. */
  drop(reason: DropReason): void {
    const batch = this.#current;
    if (batch === undefined) return;
    this.#current = undefined;
    // A rejected batch would be rejected again, so it is never spooled.
    if (reason !== 'rejected' && this.#keep(batch)) return;
    this.#options.spool?.remove(batch.spoolFile);
    if (batch.replayed === undefined) this.#settleDropped(reason, batch.events);
    else this.replayDroppedCounter += batch.replayed;
  }

  /** Splits the batch in flight in two: the first half is sent next, then the second. */
  split(): void {
    const batch = this.#current;
    // A single event cannot be split (the machine never asks; the guard keeps the outbox safe on its own).
    if (batch === undefined || sizeOf(batch) < 2) return;
    const [first, second] = batch.replayed === undefined ? splitEvents(batch) : splitReplay(batch);
    this.#current = first;
    this.#carry.unshift(second);
    this.#carried += second.events.length;
    // The halves replace the whole on disk: after a crash each half is resent, not the batch that was too large.
    this.#hold(this.#current);
    this.#hold(second);
    this.#options.spool?.remove(batch.spoolFile);
  }

  /** Drops everything not delivered: the batch in flight, split halves and the queue. */
  abandon(reason: DropReason): void {
    const events: QueuedEvent[] = [];
    // With a spool, what is left is kept, in the batches it would have been sent in.
    if (this.#options.spool !== undefined) {
      for (let batch = this.#current ?? this.#takeBatch(); batch !== undefined; batch = this.#takeBatch()) {
        this.#current = undefined;
        if (!this.#keep(batch)) events.push(...batch.events);
      }
    }
    if (this.#current !== undefined) events.push(...this.#current.events);
    for (const batch of this.#carry) events.push(...batch.events);
    this.#current = undefined;
    this.#carry = [];
    this.#carried = 0;
    events.push(...this.#unqueue(this.#queue.size));
    this.#batches.forget();
    if (events.length > 0) this.#settleDropped(reason, events);
  }

  /**
   * While a request is in flight, has the next batch's events encoded and
   * their JSON joined (`BatchBuilder.encodeAhead`) once the transport has
   * written the request: with one request in flight, that work no longer
   * adds to each round trip. The events stay queued, keyless and journaled
   * until they are taken, so a retry, a split, a drop or a stop finds the
   * outbox as it would without it. Returns what cancels the work; never throws.
   */
  #encodeAheadSoon(): () => void {
    const defer = this.#options.defer;
    if (defer === undefined || this.#queue.size === 0) return noop;
    try {
      const cancel = defer(() => this.#batches.encodeAhead());
      // Cancelling runs after the answer: a cancel that throws must not turn a delivered batch into a fault.
      return () => quietly(cancel);
    } catch {
      // A head start only: without it the next batch is encoded when it is taken.
      return noop;
    }
  }

  #takeBatch(): Batch | undefined {
    const carried = this.#carry.shift();
    if (carried !== undefined) {
      this.#carried -= carried.events.length;
      return carried;
    }
    for (;;) {
      const { count, body } = this.#batches.take((error) => this.#options.hooks.onInternalError(error));
      if (count > 0) return makeBatch(this.#unqueue(count), body);
      if (this.#queue.size === 0) return undefined;
      // An event that cannot be encoded ends the batch before it (one warning); at the head it is
      // dropped, so batches keep enqueue order and one bad event never holds up the rest.
      this.#settleDropped('internal_error', this.#unqueue(1));
    }
  }

  /** Takes `count` events off the head of the queue, and their bytes off `queueBytes`. */
  #unqueue(count: number): QueuedEvent[] {
    const events = this.#queue.shift(count);
    for (const event of events) this.queueBytes -= event.queuedBytes;
    return events;
  }

  /**
   * Something threw while sending: drops the batch in flight as
   * `internal_error` (a resent batch of an earlier session goes back to the
   * spool instead, where the next reporter finds it). Each step is guarded on
   * its own, because this is the path of last resort.
   */
  #failInternally(error: unknown): void {
    const batch = this.#current;
    this.#current = undefined;
    quietly(() => this.#options.hooks.onInternalError(error));
    if (batch === undefined) return;
    if (batch.replayed !== undefined) {
      // A claimed file goes back to ready, for the next reporter; a resent batch always has one, and its body.
      quietly(() => this.#options.spool?.keep(batch.spoolFile, batch.body as string, batch.idempotencyKey, batch.replayed as number));
      return;
    }
    // Counted as dropped, so its file (held before the send) must not be resent by a later reporter.
    quietly(() => this.#options.spool?.remove(batch.spoolFile));
    quietly(() => this.#settleDropped('internal_error', batch.events));
  }

  #claimReplay(): Batch | undefined {
    const replay = this.#options.spool?.claimNext();
    if (replay === undefined) return undefined;
    return { events: [], idempotencyKey: replay.idempotencyKey, body: replay.body, spoolFile: replay.file, replayed: replay.events };
  }

  /** Writes the batch to the spool, claimed, before it is sent, so a crash during the send leaves it for a later reporter. */
  #hold(batch: Batch): void {
    const spool = this.#options.spool;
    if (spool === undefined || batch.spoolFile !== undefined) return;
    batch.body ??= serializeBatch(this.#meta, batch.events);
    batch.spoolFile = spool.hold(batch.body, batch.idempotencyKey, sizeOf(batch));
    // On disk as a file claimed by this reporter: recovering it after a crash is the file's job now.
    if (batch.spoolFile !== undefined) this.#journal?.ack(batch.events);
  }

  /** Leaves the batch in the spool for a later reporter; false without a spool or when it could not be written. */
  #keep(batch: Batch): boolean {
    const spool = this.#options.spool;
    if (spool === undefined) return false;
    // Held first, then released: a file that appears ready at once could be resent by another process
    // before the journal says so, and a crash then would recover its events a second time.
    this.#hold(batch);
    // #hold made the body, if the batch had none.
    if (!spool.keep(batch.spoolFile, batch.body as string, batch.idempotencyKey, sizeOf(batch))) return false;
    this.#journal?.ack(batch.events);
    // A resent batch has no events of this session, so it adds nothing here.
    this.spooledCounter += batch.events.length;
    this.flushCounter += batch.events.length;
    // Spooled is not delivered: a sync flush waiting on these events reports false.
    this.#options.hooks.onSettled(batch.events[0]?.index);
    return true;
  }

  #settleDropped(reason: DropReason, events: readonly QueuedEvent[]): void {
    this.#journal?.ack(events);
    this.dropped[reason] += events.length;
    this.flushCounter += events.length;
    let first = Infinity;
    for (const event of events) if (event.index < first) first = event.index;
    this.#options.hooks.onDropped(reason, events.length);
    this.#options.hooks.onSettled(first);
  }
}

/** Runs `step` of the path of last resort, each on its own: one that throws must not keep the next from running. */
function quietly(step: () => unknown): void {
  try {
    step();
  } catch {
    // The hooks and the spool report their own faults; there is nowhere left to report this one.
  }
}

/** Events in a batch: those of this session, or those of a resent body. */
function sizeOf(batch: Batch): number {
  return batch.replayed ?? batch.events.length;
}

/** The two halves of a batch of this session. */
function splitEvents(batch: Batch): [Batch, Batch] {
  const middle = Math.ceil(batch.events.length / 2);
  return [makeBatch(batch.events.slice(0, middle)), makeBatch(batch.events.slice(middle))];
}

/**
 * The two halves of a batch resent from the spool, each a body of the
 * original session (the spool checked its shape when it was claimed), with
 * its events' JSON unchanged in meaning.
 */
function splitReplay(batch: Batch): [Batch, Batch] {
  const { events, ...envelope } = JSON.parse(batch.body as string) as { events: unknown[] };
  const head = JSON.stringify(envelope);
  const half = (part: unknown[]): Batch => ({
    events: [],
    idempotencyKey: randomUUID(),
    body: bodyJson(
      head,
      part.map((e) => JSON.stringify(e)),
    ),
    replayed: part.length,
  });
  const middle = Math.ceil(events.length / 2);
  return [half(events.slice(0, middle)), half(events.slice(middle))];
}

function makeBatch(events: QueuedEvent[], body?: string): Batch {
  // A split half is a new request body, so it gets its own idempotency key;
  // its events keep the ids they were given, so the server can still dedupe.
  return { events, idempotencyKey: randomUUID(), body };
}

function noop(): void {
  // Nothing to cancel.
}
