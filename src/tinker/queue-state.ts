/**
 * The queue state of a request the server holds: what a `try_again` body
 * (or a 408's) says, which changes a future publishes, and the warning a
 * paused request earns.
 */
import type { Log } from '../core/ports.js';

/** The queue states: the server's three, and `unknown` for anything else or nothing. */
export type QueueState = 'active' | 'paused_rate_limit' | 'paused_capacity' | 'unknown';

/** Typed as a set of anything, so a wire value of any type is looked up as it is: only these three strings are in it. */
const WIRE_STATES: ReadonlySet<unknown> = new Set(['active', 'paused_rate_limit', 'paused_capacity']);

/** A paused request is warned about at most this often per request type: 60 s. */
export const PAUSED_WARN_INTERVAL_MS = 60_000;

/** The reason a paused state is logged with when the server gives none (the Python SDK's texts). */
const DEFAULT_REASONS: Record<QueueState, string> = {
  active: 'active',
  paused_rate_limit: 'concurrent training clients rate limit hit',
  paused_capacity: 'Tinker backend is running short on capacity, please wait',
  unknown: 'unknown',
};

/** The wire's `queue_state` as a state: an exact match of a known value, else `unknown`. */
export function toQueueState(value: unknown): QueueState {
  return WIRE_STATES.has(value) ? (value as QueueState) : 'unknown';
}

/** The wire's `queue_state_reason`, when it is a non-empty string. */
export function toQueueReason(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** A change of a request's queue state: `from` is absent the first time. */
export interface QueueStateChange {
  from?: QueueState;
  to: QueueState;
  reason?: string;
}

/** The last `(queue_state, reason)` pair of one request. */
export class QueueStateTracker {
  #last: { state: QueueState; reason: string | undefined } | undefined;

  /** The change `(state, reason)` makes, or undefined when the pair is the one seen last. */
  observe(state: QueueState, reason: string | undefined): QueueStateChange | undefined {
    const last = this.#last;
    if (last !== undefined && last.state === state && last.reason === reason) return undefined;
    this.#last = { state, reason };
    const change: QueueStateChange = { to: state };
    if (last !== undefined) change.from = last.state;
    if (reason !== undefined) change.reason = reason;
    return change;
  }
}

/** Warns about paused requests, at most once a minute per request type; one per API client. */
export class PausedWarnings {
  readonly #log: Log;
  /** When each request type was last warned about, in clock ms. */
  readonly #warnedAtMs = new Map<string, number>();

  constructor(log: Log) {
    this.#log = log;
  }

  /** A request of `requestType` was seen in `state` at `nowMs`; warns when the state is a pause and the type's minute is up. */
  observe(requestType: string, requestId: string, state: QueueState, reason: string | undefined, nowMs: number): void {
    if (!state.startsWith('paused_')) return;
    const last = this.#warnedAtMs.get(requestType);
    if (last !== undefined && nowMs - last < PAUSED_WARN_INTERVAL_MS) return;
    this.#warnedAtMs.set(requestType, nowMs);
    const why = reason ?? DEFAULT_REASONS[state];
    this.#log.warn({ requestType, requestId, queueState: state, reason: why }, `Tinker ${requestType} request ${requestId} is paused. Reason: ${why}.`);
  }
}
