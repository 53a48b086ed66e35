/**
 * What the reporter says about itself: the `tinker:telemetry:*` channels,
 * the warnings in its log, and the forwarding of other channels into its
 * session. Kept apart from the reporter so the reporter reads as the API.
 */
import type { StateValue } from 'xstate';
import { CHANNELS, DEFAULT_FORWARDED_CHANNELS, attachForwarder, isObserved, publish } from './channels.js';
import type { DropReason, LastSend, SpoolDropReason } from '../core/outbox.js';
import type { Log } from '../core/ports.js';

/** `{ draining: 'sending' }` → `draining.sending`. */
export function stateName(value: StateValue): string {
  if (typeof value === 'string') return value;
  const [key, child] = Object.entries(value)[0] ?? ['', undefined];
  return child === undefined ? key : `${key}.${stateName(child)}`;
}

/** The reporter options that decide what is forwarded (see `ReporterOptions`). */
export interface ForwardingOptions {
  readonly attachEvents: boolean;
  readonly handlerId: string;
  readonly events: readonly string[] | undefined;
}

export class LifecycleSignals {
  readonly #sessionId: string;
  readonly #logger: Log;
  #state = '';
  #detach: (() => void) | undefined;
  /** pushCounter when the last queue-full warning was logged: one warning per episode. */
  #queueFullWarnedAt = -1;
  #queueBytesWarnedAt = -1;

  constructor(sessionId: string, logger: Log) {
    this.#sessionId = sessionId;
    this.#logger = logger;
  }

  /** The machine took a step; publishes when its state changed. */
  transition(value: StateValue, event: string): void {
    const to = stateName(value);
    if (to === this.#state) return;
    const from = this.#state;
    this.#state = to;
    if (isObserved(CHANNELS.telemetryState)) publish(CHANNELS.telemetryState, { sessionId: this.#sessionId, from, to, event });
  }

  /**
   * Events were dropped. `pushCounter` tells a new queue-full episode from
   * the same one: an episode ends when an event is accepted again.
   */
  dropped(
    reason: DropReason | SpoolDropReason,
    count: number,
    context: { pushCounter: number; maxQueueSize: number; maxQueueBytes: number; last: LastSend | undefined },
  ): void {
    if (isObserved(CHANNELS.telemetryEventDropped)) publish(CHANNELS.telemetryEventDropped, { sessionId: this.#sessionId, reason, count });
    const where = { reason, count };
    switch (reason) {
      case 'queue_full':
        if (this.#queueFullWarnedAt !== context.pushCounter) {
          this.#queueFullWarnedAt = context.pushCounter;
          this.#logger.warn(where, `Telemetry queue full (${context.maxQueueSize}), dropping event`);
        }
        break;
      case 'queue_bytes':
        if (this.#queueBytesWarnedAt !== context.pushCounter) {
          this.#queueBytesWarnedAt = context.pushCounter;
          this.#logger.warn(where, `Telemetry queue holds maxQueueBytes (${context.maxQueueBytes} bytes), dropping event`);
        }
        break;
      case 'rejected':
        this.#failed(context.last, false);
        this.#logger.warn(
          { ...where, status: statusOf(context.last) },
          `Telemetry batch of ${count} events rejected with HTTP ${statusOf(context.last) ?? 'error'}; dropped, not retried`,
        );
        break;
      case 'retries_exhausted':
        this.#failed(context.last, false);
        this.#logger.warn(
          { ...where, attempts: (context.last?.attempt ?? 0) + 1, lastError: reasonOf(context.last) },
          `Telemetry batch of ${count} events dropped: retries exhausted after ${(context.last?.attempt ?? 0) + 1} attempts (${reasonOf(context.last)})`,
        );
        break;
      case 'shutdown':
        this.#logger.warn(where, `Telemetry stop deadline passed; ${count} events were not delivered`);
        break;
      case 'after_stop':
        this.#logger.warnOnce('after_stop', where, 'Telemetry event refused: the session has ended');
        break;
      // No warning here for 'invalid' (the reporter warns with the offending
      // value itself), 'internal_error' (the reporter warns once with the
      // fault) nor 'spool_overflow' (the spool warns when it evicts).
    }
  }

  /** A send finished; publishes successes (failures are published once their fate is known). */
  sendFinished(last: LastSend): void {
    if (last.result.kind !== 'ok' || !isObserved(CHANNELS.telemetryBatchSent)) return;
    publish(CHANNELS.telemetryBatchSent, {
      sessionId: this.#sessionId,
      size: last.size,
      attempt: last.attempt,
      durationMs: last.durationMs,
      status: last.result.status,
    });
  }

  /** The failed batch will be sent again after `delayMs`. */
  retryScheduled(last: LastSend | undefined, delayMs: number): void {
    this.#logger.debug({ attempt: last?.attempt, delayMs, reason: reasonOf(last) }, 'Telemetry batch failed; retrying');
    this.#failed(last, true, delayMs);
  }

  /** The batch was too large and is sent again in halves. */
  split(last: LastSend | undefined): void {
    this.#failed(last, true);
  }

  /** Starts forwarding the configured channels of this session into `log`; nothing unless `attachEvents`. */
  attachForwarding(options: ForwardingOptions, log: (name: string, data: unknown, severity: 'info' | 'error') => boolean): void {
    if (!options.attachEvents) return;
    const detach = attachForwarder({
      handlerId: options.handlerId,
      channels: options.events ?? DEFAULT_FORWARDED_CHANNELS,
      sessionId: this.#sessionId,
      onEvent: (event) => log(event.eventName, event.data, event.severity),
    });
    if (detach === null) {
      this.#logger.warn({ handlerId: options.handlerId }, 'Telemetry handler id is already attached; not forwarding twice');
      return;
    }
    this.#detach = detach;
  }

  /** Stops forwarding. */
  detachForwarding(): void {
    this.#detach?.();
    this.#detach = undefined;
  }

  #failed(last: LastSend | undefined, willRetry: boolean, delayMs?: number): void {
    if (last === undefined || last.result.kind === 'ok' || !isObserved(CHANNELS.telemetryBatchFailed)) return;
    const payload: Parameters<typeof publish<'tinker:telemetry:batch:failed'>>[1] = {
      sessionId: this.#sessionId,
      size: last.size,
      attempt: last.attempt,
      durationMs: last.durationMs,
      kind: last.result.kind,
      willRetry,
    };
    if (last.result.status !== undefined) payload.status = last.result.status;
    if (last.result.kind === 'retryable') payload.reason = last.result.reason;
    if (delayMs !== undefined) payload.delayMs = delayMs;
    publish(CHANNELS.telemetryBatchFailed, payload);
  }
}

function statusOf(last: LastSend | undefined): number | undefined {
  return last === undefined || last.result.kind === 'ok' ? undefined : last.result.status;
}

function reasonOf(last: LastSend | undefined): string {
  if (last === undefined) return 'unknown';
  const result = last.result;
  if (result.kind === 'retryable') return result.reason;
  return `HTTP ${result.status}`;
}
