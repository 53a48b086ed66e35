/**
 * tinker-telemetry/testing: a fake Tinker API for tests, `startFakeTinker`.
 * It imports nothing from the main entry, so a test that uses it loads only
 * the fake and the pure core. This file is its whole public surface.
 *
 * @module tinker-telemetry/testing
 */
export { startFakeTinker } from './testing/fake-tinker.js';
export { FAKE_TINKER_API_KEY } from './testing/options.js';

export type { FakeTinker } from './testing/fake-tinker.js';
export type { ClientConfigOptions, CreateSessionMessages, FakeTinkerOptions } from './testing/options.js';
export type { Fault, FaultSpec, RequestMatch } from './testing/faults.js';
export type {
  BinaryStep,
  CompleteMetadataStep,
  DelayStep,
  ErrorStep,
  FuturePoll,
  FutureStep,
  QueueState,
  RecordedFuture,
  ResultStep,
  TryAgainStep,
} from './testing/futures.js';
export type { HangResponse, ResetResponse, ScriptedResponse, StatusResponse } from './testing/scripted-response.js';
export type { ValidationIssue, ViolationRule } from './testing/schema.js';
export type {
  Credential,
  RecordedHeartbeat,
  RecordedRequest,
  RecordedSession,
  RecordedTelemetry,
  RequestOutcome,
  TelemetryBatch,
  TelemetryEvent,
  Violation,
} from './testing/records.js';
