/**
 * tinker-telemetry: a session-scoped telemetry reporter for the Tinker API.
 * This file is the whole public surface; everything else is internal.
 */
export { createConfig, DEFAULT_BASE_URL } from './config.js';
export { startReporter } from './reporter.js';
export { DEFAULT_OPTIONS } from './options.js';
export { DROP_REASONS } from './outbox.js';
export { toJsonSafe, SERIALIZE_LIMITS } from './serialize.js';
export { systemClock } from './clock.js';
export { asyncCapture, captureExceptions, captured, instrumentClient } from './capture.js';
export { createHttpClient } from './http-client.js';
export { attachLogger, detachLogger } from './debug-logger.js';
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
} from './channels.js';

export type { Config, ConfigInput } from './config.js';
export type { FlushOptions, ReporterStats, TelemetryReporter } from './reporter.js';
export type { InspectObserver, LoggerLike, ReporterOptions } from './options.js';
export type { HandledSignal } from './process-hooks.js';
export type { DropCounts, DropReason, SpoolDropReason } from './outbox.js';
export type { JsonObject, JsonValue } from './serialize.js';
export type { Severity } from './wire.js';
export type { SendResult, TelemetryRequest, Transport } from './transport.js';
export type { Clock } from './clock.js';
export type { CaptureOptions, CaptureReporter, CapturedOptions } from './capture.js';
export type { HttpClientOptions } from './http-client.js';
export type { AttachLoggerOptions } from './debug-logger.js';
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
} from './channels.js';
