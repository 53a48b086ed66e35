/**
 * tinker-telemetry: a session-scoped telemetry reporter for the Tinker API.
 * This file is the whole public surface of the main entry; everything else is
 * internal. The fake Tinker API for tests is the second entry, `./testing.ts`.
 *
 * @module tinker-telemetry
 */
export { createConfig, DEFAULT_BASE_URL } from './config.js';
export { createSession } from './session.js';
export { DEFAULT_SESSION_OPTIONS } from './session-options.js';
export {
  ApiConnectionError,
  ApiStatusError,
  DeadlineExceededError,
  FutureAbortedError,
  FutureExpiredError,
  FutureTimeoutError,
  InvalidResponseError,
  RequestFailedError,
  SessionClosedError,
  TinkerError,
} from './tinker/errors.js';
export { startReporter } from './reporter.js';
export { DEFAULT_OPTIONS } from './options.js';
export { DROP_REASONS } from './core/outbox.js';
export { toJsonSafe, SERIALIZE_LIMITS, DEFAULT_SNAPSHOT_CHARS } from './core/serialize.js';
export { systemClock } from './core/clock.js';
export { asyncCapture, captureExceptions, captured, instrumentClient } from './host/capture.js';
export { createHttpClient } from './host/http-client.js';
export { attachLogger, detachLogger } from './host/debug-logger.js';
export {
  CHANNELS,
  DEFAULT_FORWARDED_CHANNELS,
  FORWARDABLE_CHANNELS,
  FUTURE_CHANNELS,
  HTTP_CHANNELS,
  QUEUE_CHANNELS,
  TELEMETRY_CHANNELS,
  isObserved,
  publish,
  publishFuture,
  publishHttpRequestException,
  publishHttpRequestStart,
  publishHttpRequestStop,
  publishQueueStateChange,
} from './host/channels.js';

export type { Config, ConfigInput } from './config.js';
export type { Session } from './session.js';
export type { SessionOptions, SessionTelemetryOptions, SubmitOptions } from './session-options.js';
export type { RequestFailedCategory } from './tinker/errors.js';
export type { ClientConfig, FutureOptions, FutureResult } from './tinker/api.js';
export type { FlushOptions, ReporterStats, TelemetryReporter } from './reporter.js';
export type { InspectObserver, ReporterOptions } from './options.js';
export type { HandledSignal } from './host/process-hooks.js';
export type { DropCounts, DropReason, SpoolDropReason } from './core/outbox.js';
export type { JsonObject, JsonValue } from './core/json.js';
export type { Severity } from './core/wire.js';
export type { LoggerLike, SendResult, TelemetryRequest, Transport } from './core/ports.js';
export type { Clock } from './core/clock.js';
export type { CaptureOptions, CaptureReporter, CapturedOptions } from './host/capture.js';
export type { HttpClientOptions } from './host/http-client.js';
export type { AttachLoggerOptions } from './host/debug-logger.js';
export type {
  ChannelName,
  ChannelPayloads,
  FuturePayload,
  HttpRequestExceptionPayload,
  HttpRequestStartPayload,
  HttpRequestStopPayload,
  QueueStateChangePayload,
  TelemetryBatchFailedPayload,
  TelemetryBatchSentPayload,
  TelemetryEventDroppedPayload,
  TelemetryStatePayload,
} from './host/channels.js';
