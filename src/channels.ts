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

/** The channel names. */
export const CHANNELS = Object.freeze({
  httpRequestStart: 'tinker:http:request:start',
  httpRequestStop: 'tinker:http:request:stop',
  httpRequestException: 'tinker:http:request:exception',
  queueStateChange: 'tinker:queue:state_change',
  futureTimeout: 'tinker:future:timeout',
  futureApiError: 'tinker:future:api_error',
  futureConnectionError: 'tinker:future:connection_error',
  futureRequestFailed: 'tinker:future:request_failed',
  futureValidationError: 'tinker:future:validation_error',
  telemetryState: 'tinker:telemetry:state',
  telemetryBatchSent: 'tinker:telemetry:batch:sent',
  telemetryBatchFailed: 'tinker:telemetry:batch:failed',
  telemetryEventDropped: 'tinker:telemetry:event:dropped',
} as const);

/** Any channel name of the package. */
export type ChannelName = (typeof CHANNELS)[keyof typeof CHANNELS];

/** `tinker:http:request:start`: a request to the Tinker API is about to be sent. */
export interface HttpRequestStartPayload {
  sessionId: string;
  method: string;
  /** The URL path, without query. */
  path: string;
  /** Wall-clock time in epoch ms. */
  systemTime: number;
}

/** `tinker:http:request:stop`: a response arrived (any status). */
export interface HttpRequestStopPayload {
  sessionId: string;
  method: string;
  path: string;
  status: number;
  /** From start to response, in ms (monotonic). */
  durationMs: number;
  /** Retries made before this response. */
  retryCount: number;
}

/** `tinker:http:request:exception`: the request failed without a usable response. */
export interface HttpRequestExceptionPayload {
  sessionId: string;
  method: string;
  path: string;
  /** `timeout`, `network`, `http`, `aborted` or `other`. */
  kind: 'timeout' | 'network' | 'http' | 'aborted' | 'other';
  /** A short reason (an error code and message); never contains the API key. */
  reason: string;
  durationMs: number;
}

/** `tinker:queue:state_change`: a server-side request moved between queue states. */
export interface QueueStateChangePayload {
  sessionId: string;
  requestId: string;
  /** Requests ahead in the queue. */
  queueDepth: number;
  from: string;
  to: string;
  reason?: string;
}

/** `tinker:future:*`: a future (an asynchronous API result) failed or timed out. */
export interface FuturePayload {
  sessionId: string;
  requestId: string;
  requestType: string;
  status?: number;
  /** Since the request was made, in ms. */
  elapsedMs: number;
}

/** `tinker:telemetry:state`: the reporter's lifecycle machine changed state. */
export interface TelemetryStatePayload {
  sessionId: string;
  /** The state left, e.g. `batching` or `draining.sending`. */
  from: string;
  /** The state entered. */
  to: string;
  /** The event that caused it, e.g. `THRESHOLD`, `xstate.after.flushInterval…`. */
  event: string;
}

/** `tinker:telemetry:batch:sent`: the server accepted a batch. */
export interface TelemetryBatchSentPayload {
  sessionId: string;
  /** Events in the batch. */
  size: number;
  /** 0 for the first attempt. */
  attempt: number;
  durationMs: number;
  status: number;
}

/** `tinker:telemetry:batch:failed`: a send failed. */
export interface TelemetryBatchFailedPayload {
  sessionId: string;
  size: number;
  attempt: number;
  durationMs: number;
  kind: 'retryable' | 'rejected' | 'too_large';
  status?: number;
  /** For network errors: a short reason without secrets. */
  reason?: string;
  /** Whether it will be sent again (a retry, or the halves of a 413 split). */
  willRetry: boolean;
  /** The wait before the retry, in ms. */
  delayMs?: number;
}

/** `tinker:telemetry:event:dropped`: events were dropped. */
export interface TelemetryEventDroppedPayload {
  sessionId: string;
  reason: 'queue_full' | 'invalid' | 'after_stop' | 'retries_exhausted' | 'rejected' | 'shutdown';
  count: number;
}

/** The payload type of each channel. */
export interface ChannelPayloads {
  'tinker:http:request:start': HttpRequestStartPayload;
  'tinker:http:request:stop': HttpRequestStopPayload;
  'tinker:http:request:exception': HttpRequestExceptionPayload;
  'tinker:queue:state_change': QueueStateChangePayload;
  'tinker:future:timeout': FuturePayload;
  'tinker:future:api_error': FuturePayload;
  'tinker:future:connection_error': FuturePayload;
  'tinker:future:request_failed': FuturePayload;
  'tinker:future:validation_error': FuturePayload;
  'tinker:telemetry:state': TelemetryStatePayload;
  'tinker:telemetry:batch:sent': TelemetryBatchSentPayload;
  'tinker:telemetry:batch:failed': TelemetryBatchFailedPayload;
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
export const publishFuture = (name: (typeof FUTURE_CHANNELS)[number], payload: FuturePayload): void =>
  publish(name as 'tinker:future:timeout', payload);

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
  onEvent(event: ForwardedEvent): void;
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
  let active = true;
  const detach = () => {
    if (!active) return;
    active = false;
    for (const { name, listener } of subscriptions) diagnostics.unsubscribe(name, listener);
    if (attached.get(handlerId) === detach) attached.delete(handlerId);
  };
  attached.set(handlerId, detach);
  return detach;
}
