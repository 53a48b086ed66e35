/**
 * Every diagnostics channel of the package, with its payload type.
 *
 * `node:diagnostics_channel` is Node's counterpart of Elixir's `:telemetry`:
 * publishers pay nothing when nobody listens, and anyone can subscribe by
 * name. The HTTP, queue and future channels carry what the Tinker client
 * does; a reporter forwards those of its own session as telemetry. The
 * `tinker:telemetry:*` channels carry what the reporter itself does, and are
 * never forwarded (that would loop).
 */
import diagnostics, { type Channel } from 'node:diagnostics_channel';
import type { DropReason, SpoolDropReason } from '../core/outbox.js';

/**
 * The channel names, by key; frozen.
 * @inlineType Readonly
 */
export const CHANNELS = Object.freeze({
  /** A `createHttpClient` request is about to be sent, once per attempt; forwarded by default. */
  httpRequestStart: 'tinker:http:request:start',
  /** A response arrived, any status; forwarded by default. */
  httpRequestStop: 'tinker:http:request:stop',
  /** A request failed without a usable response; forwarded by default, at ERROR. */
  httpRequestException: 'tinker:http:request:exception',
  /** A server-side request moved between queue states; forwarded by default. */
  queueStateChange: 'tinker:queue:state_change',
  /** A future timed out; forwarded, at ERROR, only when listed in `events`. */
  futureTimeout: 'tinker:future:timeout',
  /** A future failed with an API error; forwarded, at ERROR, only when listed in `events`. */
  futureApiError: 'tinker:future:api_error',
  /** A future failed with a connection error; forwarded, at ERROR, only when listed in `events`. */
  futureConnectionError: 'tinker:future:connection_error',
  /** A future's request failed; forwarded, at ERROR, only when listed in `events`. */
  futureRequestFailed: 'tinker:future:request_failed',
  /** A future failed validation; forwarded, at ERROR, only when listed in `events`. */
  futureValidationError: 'tinker:future:validation_error',
  /** The reporter's lifecycle machine changed state; never forwarded. */
  telemetryState: 'tinker:telemetry:state',
  /** The server accepted a batch; never forwarded. */
  telemetryBatchSent: 'tinker:telemetry:batch:sent',
  /** A send failed; never forwarded. */
  telemetryBatchFailed: 'tinker:telemetry:batch:failed',
  /** Events were dropped, with the reason; never forwarded. */
  telemetryEventDropped: 'tinker:telemetry:event:dropped',
} as const);

/** Any channel name of the package. */
export type ChannelName = (typeof CHANNELS)[keyof typeof CHANNELS];

/** `tinker:http:request:start`: a request to the Tinker API is about to be sent. */
export interface HttpRequestStartPayload {
  /** The `sessionId` given to `createHttpClient`; only that session's reporter forwards this message. */
  sessionId: string;
  /** The HTTP method in upper case, e.g. `GET`. */
  method: string;
  /** The URL path, without query. */
  path: string;
  /** Wall-clock time in epoch ms. */
  systemTime: number;
}

/** `tinker:http:request:stop`: a response arrived (any status). */
export interface HttpRequestStopPayload {
  /** The `sessionId` given to `createHttpClient`; only that session's reporter forwards this message. */
  sessionId: string;
  /** The HTTP method in upper case, e.g. `GET`. */
  method: string;
  /** The URL path, without query. */
  path: string;
  /** The response's HTTP status, error statuses included. */
  status: number;
  /** From the start of this attempt to its response, body read, in ms, on the monotonic `performance.now()` clock. */
  durationMs: number;
  /** How many times got retried before this response; 0 for the first attempt. */
  retryCount: number;
}

/** `tinker:http:request:exception`: the request failed without a usable response. */
export interface HttpRequestExceptionPayload {
  /** The `sessionId` given to `createHttpClient`; only that session's reporter forwards this message. */
  sessionId: string;
  /** The HTTP method in upper case, e.g. `GET`. */
  method: string;
  /** The URL path, without query. */
  path: string;
  /**
   * `timeout` (got's timeout, or ETIMEDOUT), `http` (an error status),
   * `aborted` (the request's `signal`), `network` (a system error code such
   * as ECONNREFUSED, ECONNRESET or EAI_AGAIN), or `other` (anything else,
   * got's own `ERR_…` codes included, such as invalid options).
   */
  kind: 'timeout' | 'network' | 'http' | 'aborted' | 'other';
  /** A short reason (an error code and message); never contains the API key. */
  reason: string;
  /** From the start of the last attempt to the failure, in ms, on the monotonic `performance.now()` clock; 0 when no attempt started. */
  durationMs: number;
}

/** `tinker:queue:state_change`: a server-side request moved between queue states. */
export interface QueueStateChangePayload {
  /** The session whose reporter forwards this message; other sessions' reporters ignore it. */
  sessionId: string;
  /** The server's id of the request. */
  requestId: string;
  /** This session's futures being polled at that moment. */
  queueDepth: number;
  /** The queue state left, as the publisher names it; absent on the first state seen for the request. */
  from?: string;
  /** The queue state entered, as the publisher names it. */
  to: string;
  /** Why it moved, when the publisher knows. */
  reason?: string;
}

/** `tinker:future:*`: a future (an asynchronous API result) failed or timed out. */
export interface FuturePayload {
  /** The session whose reporter forwards this message; other sessions' reporters ignore it. */
  sessionId: string;
  /** The server's id of the request the future waits for. */
  requestId: string;
  /** The kind of request, as the publisher names it. */
  requestType: string;
  /** The HTTP status, when the failure came with one. */
  status?: number;
  /** The server's category of a failed request (`tinker:future:request_failed`): `user`, `server` or `unknown`, as on the wire. */
  category?: string;
  /** Since the wait for the future began, in ms. */
  elapsedMs: number;
}

/** `tinker:telemetry:state`: the reporter's lifecycle machine changed state. */
export interface TelemetryStatePayload {
  /** The reporter's session. */
  sessionId: string;
  /** The state left, e.g. `batching` or `draining.sending`; empty on the first message (event `xstate.init`). */
  from: string;
  /** The state entered. */
  to: string;
  /** The event that caused it, e.g. `THRESHOLD`, `xstate.after.flushInterval…`. */
  event: string;
}

/** `tinker:telemetry:batch:sent`: the server accepted a batch. */
export interface TelemetryBatchSentPayload {
  /** The reporter's session. */
  sessionId: string;
  /** Events in the batch. */
  size: number;
  /** The attempt that succeeded, 0-based: 0 for the first send, n for the n-th retry. */
  attempt: number;
  /** From the start of this attempt (the first one includes serializing the batch) to the transport's answer, in ms, measured with the reporter's `clock` (`Date.now()` by default, so not monotonic). */
  durationMs: number;
  /** The 2xx status of the answer. */
  status: number;
}

/** `tinker:telemetry:batch:failed`: a send failed. */
export interface TelemetryBatchFailedPayload {
  /** The reporter's session. */
  sessionId: string;
  /** Events in the batch. */
  size: number;
  /** The attempt that failed, 0-based: 0 for the first send, n for the n-th retry. */
  attempt: number;
  /** From the start of this attempt (the first one includes serializing the batch) to the failure, in ms, measured with the reporter's `clock` (`Date.now()` by default, so not monotonic). */
  durationMs: number;
  /** `retryable` (network error, timeout, 408, 429, 5xx), `rejected` (any other non-2xx; never retried) or `too_large` (413; split in halves, or dropped as `rejected` when it holds one event). */
  kind: 'retryable' | 'rejected' | 'too_large';
  /** The HTTP status; absent for a network error, a timeout or an abort. */
  status?: number;
  /** For a `retryable` failure: a short reason without secrets, e.g. `HTTP 503` or a network error's code and message. */
  reason?: string;
  /** Whether it will be sent again (a retry, or the halves of a 413 split). */
  willRetry: boolean;
  /** The wait before the retry, in ms. */
  delayMs?: number;
}

/** `tinker:telemetry:event:dropped`: events were dropped. */
export interface TelemetryEventDroppedPayload {
  /** The reporter's session. */
  sessionId: string;
  /** Why; see `DropReason`. */
  reason: DropReason | SpoolDropReason;
  /** Events dropped together: 1 for a refused event, a whole batch when one is given up, everything left at the stop deadline. */
  count: number;
}

/** The payload type of each channel. */
export interface ChannelPayloads {
  /** Before each attempt of a `createHttpClient` request. */
  'tinker:http:request:start': HttpRequestStartPayload;
  /** After each response of a `createHttpClient` request, any status. */
  'tinker:http:request:stop': HttpRequestStopPayload;
  /** Once per failed `createHttpClient` request, after got's own retries. */
  'tinker:http:request:exception': HttpRequestExceptionPayload;
  /** Published by the Tinker client through `publishQueueStateChange`. */
  'tinker:queue:state_change': QueueStateChangePayload;
  /** Published by the Tinker client through `publishFuture`. */
  'tinker:future:timeout': FuturePayload;
  /** Published by the Tinker client through `publishFuture`. */
  'tinker:future:api_error': FuturePayload;
  /** Published by the Tinker client through `publishFuture`. */
  'tinker:future:connection_error': FuturePayload;
  /** Published by the Tinker client through `publishFuture`. */
  'tinker:future:request_failed': FuturePayload;
  /** Published by the Tinker client through `publishFuture`. */
  'tinker:future:validation_error': FuturePayload;
  /** Published by each reporter on every change of its machine's state. */
  'tinker:telemetry:state': TelemetryStatePayload;
  /** Published by each reporter when the server accepts a batch. */
  'tinker:telemetry:batch:sent': TelemetryBatchSentPayload;
  /** Published by each reporter once it knows what becomes of a failed send. */
  'tinker:telemetry:batch:failed': TelemetryBatchFailedPayload;
  /** Published by each reporter each time events are refused or dropped. */
  'tinker:telemetry:event:dropped': TelemetryEventDroppedPayload;
}

/** The HTTP request channels. */
export const HTTP_CHANNELS: readonly ChannelName[] = Object.freeze([CHANNELS.httpRequestStart, CHANNELS.httpRequestStop, CHANNELS.httpRequestException]);
/** The queue channel. */
export const QUEUE_CHANNELS: readonly ChannelName[] = Object.freeze([CHANNELS.queueStateChange]);
/** The future channels (opt-in for forwarding, as in Tinkex). */
export const FUTURE_CHANNELS: readonly ChannelName[] = Object.freeze([
  CHANNELS.futureTimeout,
  CHANNELS.futureApiError,
  CHANNELS.futureConnectionError,
  CHANNELS.futureRequestFailed,
  CHANNELS.futureValidationError,
]);
/** The reporter's own lifecycle channels; never forwarded. */
export const TELEMETRY_CHANNELS: readonly ChannelName[] = Object.freeze([
  CHANNELS.telemetryState,
  CHANNELS.telemetryBatchSent,
  CHANNELS.telemetryBatchFailed,
  CHANNELS.telemetryEventDropped,
]);
/** The channels a reporter may forward. */
export const FORWARDABLE_CHANNELS: readonly ChannelName[] = Object.freeze([...HTTP_CHANNELS, ...QUEUE_CHANNELS, ...FUTURE_CHANNELS]);
/** What a reporter forwards when `options.events` is not given: HTTP and queue. */
export const DEFAULT_FORWARDED_CHANNELS: readonly ChannelName[] = Object.freeze([...HTTP_CHANNELS, ...QUEUE_CHANNELS]);

const channelObjects = new Map<string, Channel>(Object.values(CHANNELS).map((name) => [name, diagnostics.channel(name)]));

function channelOf(name: ChannelName): Channel {
  return channelObjects.get(name) as Channel;
}

/** Whether anyone listens on `name`: check it before building a payload that costs something. */
export function isObserved(name: ChannelName): boolean {
  return channelOf(name).hasSubscribers;
}

/** Publishes `payload` on `name`, only when someone listens. */
export function publish<N extends ChannelName>(name: N, payload: ChannelPayloads[N]): void {
  const channel = channelOf(name);
  if (channel.hasSubscribers) channel.publish(payload);
}

/** Publishes on `tinker:http:request:start`, only when someone listens. */
export const publishHttpRequestStart = (payload: HttpRequestStartPayload): void => publish(CHANNELS.httpRequestStart, payload);
/** Publishes on `tinker:http:request:stop`, only when someone listens. */
export const publishHttpRequestStop = (payload: HttpRequestStopPayload): void => publish(CHANNELS.httpRequestStop, payload);
/** Publishes on `tinker:http:request:exception`, only when someone listens. */
export const publishHttpRequestException = (payload: HttpRequestExceptionPayload): void => publish(CHANNELS.httpRequestException, payload);
/** Publishes on `tinker:queue:state_change`, only when someone listens. */
export const publishQueueStateChange = (payload: QueueStateChangePayload): void => publish(CHANNELS.queueStateChange, payload);
/** Publishes on one of the `tinker:future:*` channels, only when someone listens. */
export const publishFuture = (name: (typeof FUTURE_CHANNELS)[number], payload: FuturePayload): void => publish(name as 'tinker:future:timeout', payload);

/** Whether `name` is a channel a reporter can forward. */
export function isForwardableChannel(name: string): boolean {
  return (FORWARDABLE_CHANNELS as readonly string[]).includes(name);
}

/** A channel message turned into telemetry. */
export interface ForwardedEvent {
  /** The channel name with `:` replaced by `.`, e.g. `tinker.http.request.stop`. */
  eventName: string;
  data: { measurements: Record<string, number>; metadata: Record<string, unknown> };
  severity: 'info' | 'error';
}

const MEASUREMENT_KEYS = new Set(['systemTime', 'durationMs', 'queueDepth', 'elapsedMs']);
const ERROR_CHANNELS = new Set<string>([CHANNELS.httpRequestException, ...FUTURE_CHANNELS]);
const attached = new Map<string, () => void>();

/** Maps one channel message to telemetry; exported for tests. */
export function toForwardedEvent(channel: string, payload: Record<string, unknown>): ForwardedEvent {
  const measurements: Record<string, number> = {};
  const metadata: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(payload)) {
    if (key === 'sessionId') continue;
    if (MEASUREMENT_KEYS.has(key) && typeof value === 'number') measurements[key] = value;
    else metadata[key] = value;
  }
  return {
    eventName: channel.replaceAll(':', '.'),
    data: { measurements, metadata },
    severity: ERROR_CHANNELS.has(channel) ? 'error' : 'info',
  };
}

/**
 * Subscribes to `channels` and hands `onEvent` each message whose
 * `sessionId` equals `sessionId`; other sessions' messages are ignored.
 * Returns the unsubscribe function, or null when `handlerId` is already
 * attached (a handler id attaches once). Throws a RangeError for a channel
 * that cannot be forwarded. `onEvent` errors never reach the publisher.
 */
export function attachForwarder(options: {
  handlerId: string;
  channels: readonly string[];
  sessionId: string;
  onEvent: (event: ForwardedEvent) => void;
}): (() => void) | null {
  const { handlerId, channels, sessionId, onEvent } = options;
  for (const name of channels) {
    if (!isForwardableChannel(name)) {
      throw new RangeError(`Cannot forward channel ${JSON.stringify(name)}: forwardable channels are ${FORWARDABLE_CHANNELS.join(', ')}`);
    }
  }
  if (attached.has(handlerId)) return null;
  const subscriptions = [...new Set(channels)].map((name) => {
    const listener = (message: unknown) => {
      try {
        if (typeof message !== 'object' || message === null) return;
        if ((message as { sessionId?: unknown }).sessionId !== sessionId) return;
        onEvent(toForwardedEvent(name, message as Record<string, unknown>));
      } catch {
        // A subscriber must never throw into the publisher.
      }
    };
    diagnostics.subscribe(name, listener);
    return { name, listener };
  });
  // Detaching twice is harmless: unsubscribing a listener again does nothing,
  // and the id is freed only while it still maps to this detach.
  const detach = () => {
    for (const { name, listener } of subscriptions) diagnostics.unsubscribe(name, listener);
    if (attached.get(handlerId) === detach) attached.delete(handlerId);
  };
  attached.set(handlerId, detach);
  return detach;
}
