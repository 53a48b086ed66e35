/**
 * The ports of the core: the interfaces through which it reaches what it may
 * not touch itself (the network, the disk, a logger). The layers above supply
 * them: `../io/transport.ts` a `Transport`, `../io/spool.ts` a `SpoolPort`
 * and its `JournalPort`, `../host/logger.ts` a `Log`.
 */
import type { QueuedEvent } from './wire.js';

/**
 * What one POST came to, as a value: `kind` names the outcome and decides
 * what the reporter does next; `status` is the HTTP status of the response.
 */
export type SendResult =
  /** A 2xx: the batch is delivered, whatever the body says; `status` is that 2xx. */
  | { kind: 'ok'; status: number }
  /**
   * A network error, a timeout, an abort, 408, 429 or 5xx: retried up to
   * `maxRetries` times. `status` is absent when no response came;
   * `retryAfterMs` is the parsed Retry-After in ms, capped at 60 s, and wins
   * over a shorter backoff; `reason` is a short text for logs and the
   * `batch:failed` channel (e.g. `HTTP 503`), without secrets: the reporter
   * redacts the API key from it and then cuts it to 300 characters, a cut
   * one ending in `…`, whatever transport gave it.
   */
  | { kind: 'retryable'; status?: number; retryAfterMs?: number; reason: string }
  /** Any other 4xx (and 1xx/3xx), given in `status`: the batch is dropped as `rejected`, never retried. */
  | { kind: 'rejected'; status: number }
  /** 413 (`status`): the batch is split in halves, or dropped as `rejected` when it holds one event. */
  | { kind: 'too_large'; status: number };

/** One POST of a batch. */
export interface TelemetryRequest {
  /** The JSON text of the body, already serialized. */
  body: string;
  /** The same for every retry of a batch, so the server can deduplicate. */
  idempotencyKey: string;
  /** Aborted at the stop deadline. */
  signal: AbortSignal;
}

/** The port the reporter sends through. Supply your own with the `transport` option. */
export interface Transport {
  /** Sends one batch. Should never reject; a rejection is treated as a retryable network error. */
  send(request: TelemetryRequest): Promise<SendResult>;
  /** Releases sockets; called once when the reporter stops. Optional. */
  close?(): void;
}

/**
 * A pino-compatible logger: the four methods the reporter calls, and
 * optionally `child`. A method that throws is ignored, so a broken logger
 * never breaks telemetry.
 */
export interface LoggerLike {
  /** Something was lost or misconfigured: refused or dropped events, failed batches, a bad `TINKER_TELEMETRY`. */
  warn(obj: object, msg?: string): void;
  /** Routine news: the end of a session after a fatal exception, and `attachLogger`'s channel messages. */
  info(obj: object, msg?: string): void;
  /** A fault inside the reporter itself, logged here instead of thrown into the caller. */
  error(obj: object, msg?: string): void;
  /** Each retry as it is scheduled, with its attempt and delay in ms; a `logFatalException()` that came after the session had ended. */
  debug(obj: object, msg?: string): void;
  /** Called once, with `{ component: 'tinker-telemetry', sessionId }` by the reporter (which merges them into each record itself when `child` is missing) and `{ component }` by `attachLogger`. */
  child?(bindings: Record<string, unknown>): LoggerLike;
}

/**
 * The logger the library writes through: a `LoggerLike` made safe (a method
 * that throws is ignored), with warnings said once per key.
 */
export interface Log {
  warn(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
  debug(obj: object, msg: string): void;
  /** Warns once for each distinct `key`; later calls with the same key are silent. */
  warnOnce(key: string, obj: object, msg: string): void;
  /** Forgets `key`, so the next `warnOnce` with it speaks again (a new episode). */
  rearm(key: string): void;
}

/** A batch left in the spool by an earlier reporter, claimed by this one to resend. */
export interface SpooledBatch {
  /** The claimed file's name in the directory. */
  file: string;
  /** The exact body to send. */
  body: string;
  idempotencyKey: string;
  /** Events in the body. */
  events: number;
}

/** Where the outbox keeps accepted events until they have an outcome, so a crash loses none (with `spoolDir`). */
export interface JournalPort {
  /** Journals an accepted event. */
  append(event: QueuedEvent): void;
  /** Marks events as no longer needing the journal: delivered, dropped and counted, or in a spool file. */
  ack(events: readonly QueuedEvent[]): void;
  /** Writes what is pending, closes and deletes the journal; once every event has its outcome. */
  close(): void;
}

/** The durable spool as the outbox uses it (with `spoolDir`); see `../io/spool.ts`. None of it throws. */
export interface SpoolPort {
  /** The oldest batch an earlier reporter left, claimed for resending; undefined when none is left. */
  claimNext(): SpooledBatch | undefined;
  /** Writes a batch about to be sent as a file claimed by this reporter; its name, or undefined when it could not be written. */
  hold(body: string, idempotencyKey: string, events: number): string | undefined;
  /** Leaves a batch for a later reporter (releases the claim on `file`, or writes it); whether it is on disk. */
  keep(file: string | undefined, body: string, idempotencyKey: string, events: number): boolean;
  /** Deletes a claimed file whose batch has an outcome. */
  remove(file: string | undefined): void;
  /** Opens this reporter's journal, headed by the session's envelope; undefined when it cannot be created. */
  openJournal(header: string, encode: (event: QueuedEvent) => string): JournalPort | undefined;
}
