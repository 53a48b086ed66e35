/**
 * The next batch of the queue: how many events from its head go in one
 * request (at most `maxBatchSize`, and as many as `maxBatchBytes` holds),
 * and the request's body. It can be worked out ahead, while the request
 * before it is in flight, so that when the answer comes the next request
 * only has to be taken: the events it would hold stay in the queue (queued
 * and journaled as before, with no key yet), and the work is checked against
 * the queue when it is used.
 */
import type { RingQueue } from './queue.js';
import { BODY_END, type BodyMeta, type QueuedEvent, bodyHead, encodeEvent, envelopeBytes, envelopeJson } from './wire.js';

/** The limits of one request. */
export interface BatchLimits {
  /** Events per request at most; ≥ 1. */
  maxBatchSize: number;
  /** The cap on one request body, in UTF-8 bytes; at least `maxEventBytes` plus the envelope. */
  maxBatchBytes: number;
}

/** The head of the queue as far as the next batch goes: its events' JSON and its size so far. */
interface Span {
  /** Events from the head of the queue. */
  count: number;
  /** Their JSON texts, comma-separated. */
  joined: string;
  /** The UTF-8 bytes of the envelope and of the first `counted` events with their commas, counted. */
  exact: number;
  /** At least the bytes of the events after those, commas included (3 bytes a UTF-16 code unit until counted). */
  bound: number;
  counted: number;
  /** The first and the last event it holds, by identity: the queue still holds the span while they are where they were. */
  first: QueuedEvent | undefined;
  last: QueuedEvent | undefined;
}

/** Chooses and encodes the batches of one outbox's queue. */
export class BatchBuilder {
  readonly #queue: RingQueue<QueuedEvent>;
  readonly #meta: BodyMeta;
  readonly #limits: BatchLimits;
  /** A body's text up to its first event. */
  readonly #head: string;
  /** The bytes of a body without events, less the comma the first event does not need. */
  readonly #emptyBytes: number;
  /** The span worked out ahead, if any; used only while the queue still holds it. */
  #ahead: Span | undefined;

  constructor(queue: RingQueue<QueuedEvent>, meta: BodyMeta, limits: BatchLimits) {
    this.#queue = queue;
    this.#meta = meta;
    this.#limits = limits;
    this.#head = bodyHead(envelopeJson(meta.sessionId));
    this.#emptyBytes = envelopeBytes(meta.sessionId) - 1;
  }

  /**
   * The batch at the head of the queue: how many events, and the body that
   * carries them, exactly the text `serializeBatch` writes. It ends before
   * an event that cannot be encoded, after telling `onError` why; so `count`
   * is 0 when the queue is empty or its head cannot be encoded. The events
   * stay in the queue: the caller takes `count` of them.
   */
  take(onError: (error: unknown) => void): { count: number; body: string } {
    const span = this.#resume();
    this.#ahead = undefined;
    this.#extend(span, onError);
    return { count: span.count, body: `${this.#head}${span.joined}${BODY_END}` };
  }

  /**
   * Works out the next batch ahead: encodes the events `take` would take now
   * and joins their JSON, changing nothing else (no event leaves the queue,
   * nothing is counted or reported; an event that cannot be encoded ends
   * the work, and `take` meets it again). `take` goes on from there, with
   * the events queued since, if the queue still begins with the same events.
   * Never throws.
   */
  encodeAhead(): void {
    try {
      const span = this.#resume();
      this.#extend(span, () => undefined);
      this.#ahead = span.count === 0 ? undefined : span;
    } catch {
      // Only a head start: `take` does the work again, and reports what fails.
      this.#ahead = undefined;
    }
  }

  /** Drops the work done ahead (the queue was emptied). */
  forget(): void {
    this.#ahead = undefined;
  }

  /**
   * The span worked out ahead, when the queue still begins with it, or an
   * empty one. Events leave the queue at its head (a batch taken, an event
   * dropped) and at its tail (the one SESSION_END displaces), and every
   * event is a new object, so the same first and last event at the same
   * places mean the same events in between.
   */
  #resume(): Span {
    const ahead = this.#ahead;
    if (ahead !== undefined && this.#queue.at(0) === ahead.first && this.#queue.at(ahead.count - 1) === ahead.last) return ahead;
    return { count: 0, joined: '', exact: this.#emptyBytes, bound: 0, counted: 0, first: undefined, last: undefined };
  }

  /** Adds events from the queue to `span` while they fit; stops before one that cannot be encoded, after telling `onError`. */
  #extend(span: Span, onError: (error: unknown) => void): void {
    const { maxBatchSize, maxBatchBytes } = this.#limits;
    while (span.count < maxBatchSize) {
      const event = this.#queue.at(span.count);
      if (event === undefined) return;
      let json: string;
      try {
        json = encodeEvent(event, this.#meta);
      } catch (error) {
        onError(error);
        return;
      }
      // Each event adds its JSON and a comma. Its bytes are counted only when the bound could cross
      // the cap, and then those of every event before it too, so the batch is the one exact counting makes.
      const most = event.jsonBytesAtMost + 1;
      // The first event is always taken: with maxEventBytes it fits by construction.
      if (span.count > 0 && span.exact + span.bound + most > maxBatchBytes) {
        for (; span.counted < span.count; span.counted++) span.exact += (this.#queue.at(span.counted) as QueuedEvent).jsonBytes + 1;
        span.bound = 0;
        if (span.exact + event.jsonBytes + 1 > maxBatchBytes) return;
        span.exact += event.jsonBytes + 1;
        span.counted++;
      } else span.bound += most;
      span.joined = span.count === 0 ? json : `${span.joined},${json}`;
      span.first ??= event;
      span.last = event;
      span.count++;
    }
  }
}
