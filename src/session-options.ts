/**
 * The options of `createSession`, their defaults, and their strict
 * validation, in the same message template as `startReporter`'s: a mistake
 * fails at once, naming the option, before anything is sent.
 */
import type { Config } from './config.js';
import type { JsonObject } from './core/json.js';
import type { LoggerLike } from './core/ports.js';
import { redactCut } from './core/redact.js';
import { integerInRange, invalidType, outOfRange, unknownOption } from './core/validate.js';
import type { HookChoice } from './host/process-hooks.js';
import { type InspectObserver, REPORTER_OPTION_NAMES, type ReporterOptions, checkConfig, optionsObject, resolveOptions } from './options.js';
import type { FutureOptions } from './session/tinker-api.js';

/** The reporter options a session takes: all of `startReporter`'s but `config` and `sessionId`, which the session supplies. */
export type SessionTelemetryOptions = Omit<ReporterOptions, 'config' | 'sessionId'>;

/** Options of `createSession`. Every numeric option is a whole number of milliseconds. */
export interface SessionOptions {
  /** From `createConfig()`. Required; its API key is required too, whether telemetry is on or off. */
  config: Config;
  /**
   * The session's tags. Default: `TINKER_TAGS` split on commas, each tag
   * trimmed, empty ones and repeats dropped, in their order; else none.
   * (The Python SDK splits without trimming, keeps an empty tag for an empty
   * variable, and loses the order.)
   */
  tags?: string[];
  /** Free-form JSON sent as `user_metadata`. Default: `{}`. */
  userMetadata?: JsonObject;
  /** The project to bill. Default: `TINKER_PROJECT_ID` (empty or blank = unset); when unset, `project_id` is left out of the request. */
  projectId?: string;
  /**
   * The options of the session's reporter, as `startReporter` takes them.
   * Differences: `events` defaults to the HTTP, queue and future channels
   * (the session publishes all three); `logger` defaults to the session's
   * `logger`; `transport` defaults to got sending the session's credential
   * as `X-API-Key`, as every other request of the session does (the JWT
   * once the server has asked for one); `drainOnExit`, `handleSignals` and
   * `captureUncaught` hook the session rather than the reporter alone, so a
   * signal or the end of the process closes the whole session, once;
   * `flushTimeoutMs` is also the default deadline of `close()`; `inspect` is
   * given the session machine's inspection events too. With telemetry
   * disabled the session has no reporter and leaves the process alone.
   * Default: `{}`.
   */
  telemetry?: SessionTelemetryOptions;
  /** Milliseconds between the answer to one heartbeat and the next; the first is sent this long after start-up. Default: 10 000. */
  heartbeatIntervalMs?: number;
  /** Milliseconds one heartbeat may take before it counts as failed. Default: 10 000. */
  heartbeatTimeoutMs?: number;
  /**
   * Milliseconds without a successful heartbeat after which the session is
   * `{ active: 'failing' }` and warns (at most once a minute); at least
   * `heartbeatIntervalMs` + `heartbeatTimeoutMs`, so a session whose beats
   * all succeed is never failing. Default: 120 000.
   */
  heartbeatWarnAfterMs?: number;
  /** Milliseconds start-up may take in all (client config, the JWT, create_session, their retries). Default: 300 000. */
  createTimeoutMs?: number;
  /** Where the session logs; handed to its reporter unless `telemetry.logger` is given. Default: pino at 'warn' on stderr. */
  logger?: LoggerLike;
  /** Aborts start-up: `createSession` then rejects with the signal's reason. It has no effect once the session exists. */
  signal?: AbortSignal;
}

/** Options of `session.submit()`. */
export interface SubmitOptions {
  /**
   * The operation's PascalCase name, sent as `X-Tinker-Request-Type` while
   * polling (e.g. `OptimStep`): a letter, then letters, digits or `_`
   * (`/^[A-Za-z][A-Za-z0-9_]*$/`); anything else rejects the call. Required.
   */
  requestType: string;
  /** Milliseconds the polling of the future may take in all. Default: no limit. */
  timeoutMs?: number;
  /** Aborts the submit and the polling. */
  signal?: AbortSignal;
  /** How long a 402 (billing) pause may last while the future is polled, in ms; default: the server's `billing_exception_max_pause_duration_sec` (3600 s). */
  billingMaxPauseMs?: number;
}

/**
 * The defaults of `createSession`'s numeric options; frozen.
 * @inlineType Readonly
 */
export const DEFAULT_SESSION_OPTIONS = Object.freeze({
  /** Milliseconds between heartbeats: 10 s, as the Python SDK. */
  heartbeatIntervalMs: 10_000,
  /** Milliseconds one heartbeat may take: 10 s. */
  heartbeatTimeoutMs: 10_000,
  /** Milliseconds without a successful heartbeat before the session is failing and warns: 120 s. */
  heartbeatWarnAfterMs: 120_000,
  /** Milliseconds start-up may take in all: 300 s, the Python SDK's retry budget. */
  createTimeoutMs: 300_000,
} as const);

/** The options with every default filled in. */
export interface ResolvedSessionOptions {
  config: Config;
  tags: string[];
  userMetadata: JsonObject;
  projectId: string | undefined;
  /** The reporter's options as given (validated), without `config` and `sessionId`. */
  telemetry: SessionTelemetryOptions;
  /** How the session hooks the process, from the telemetry options. */
  hooks: HookChoice;
  /** The default deadline of `close()` and of a close by a signal: the reporter's `flushTimeoutMs`. */
  closeTimeoutMs: number;
  /** The reporter's `httpTimeoutMs`: how long one telemetry request of the session's transport may take, in ms. */
  telemetryHttpTimeoutMs: number;
  inspect: InspectObserver | undefined;
  heartbeatIntervalMs: number;
  heartbeatTimeoutMs: number;
  heartbeatWarnAfterMs: number;
  createTimeoutMs: number;
  logger: LoggerLike | undefined;
  signal: AbortSignal | undefined;
}

const SESSION_OPTION_NAMES = [
  'config',
  'tags',
  'userMetadata',
  'projectId',
  'telemetry',
  'heartbeatIntervalMs',
  'heartbeatTimeoutMs',
  'heartbeatWarnAfterMs',
  'createTimeoutMs',
  'logger',
  'signal',
] as const;

/** The reporter options `telemetry` may hold. */
const TELEMETRY_OPTION_NAMES = REPORTER_OPTION_NAMES.filter((name) => name !== 'config' && name !== 'sessionId');

/** A session id as long as a server-issued one (a UUID), for validating `telemetry` before the real one exists. */
const PLACEHOLDER_SESSION_ID = '00000000-0000-0000-0000-000000000000';

/**
 * Validates `input` and fills in the defaults, reading `TINKER_TAGS` and
 * `TINKER_PROJECT_ID` from `env` where the options leave them out. Throws a
 * TypeError for a wrong type or an unknown option and a RangeError for a
 * value out of range, each naming the option and the value it got.
 */
export function resolveSessionOptions(input: unknown, env: NodeJS.ProcessEnv = process.env): ResolvedSessionOptions {
  const options = optionsObject(input, 'createSession', SESSION_OPTION_NAMES);
  const config = checkConfig(options.config);

  const number = (name: keyof typeof DEFAULT_SESSION_OPTIONS) =>
    options[name] === undefined ? DEFAULT_SESSION_OPTIONS[name] : integerInRange(name, options[name], 1);
  const heartbeatIntervalMs = number('heartbeatIntervalMs');
  const heartbeatTimeoutMs = number('heartbeatTimeoutMs');
  const heartbeatWarnAfterMs = number('heartbeatWarnAfterMs');
  const leastWarnAfterMs = heartbeatIntervalMs + heartbeatTimeoutMs;
  if (heartbeatWarnAfterMs < leastWarnAfterMs) {
    throw outOfRange(
      'heartbeatWarnAfterMs',
      `an integer ≥ \`heartbeatIntervalMs\` + \`heartbeatTimeoutMs\` (${leastWarnAfterMs}), so that a session whose heartbeats all succeed is never failing`,
      heartbeatWarnAfterMs,
    );
  }

  const telemetry = telemetryOptions(options.telemetry);
  const reporter = resolveOptions({ ...telemetry, config, sessionId: PLACEHOLDER_SESSION_ID });
  return {
    config: config,
    tags: options.tags === undefined ? tagsFromEnv(env.TINKER_TAGS) : tagList(options.tags),
    userMetadata: jsonObject(options.userMetadata),
    projectId: options.projectId === undefined ? projectFromEnv(env.TINKER_PROJECT_ID) : nonEmptyString('projectId', options.projectId),
    telemetry,
    hooks: { drainOnExit: reporter.drainOnExit, handleSignals: reporter.handleSignals, captureUncaught: reporter.captureUncaught },
    closeTimeoutMs: reporter.flushTimeoutMs,
    telemetryHttpTimeoutMs: reporter.httpTimeoutMs,
    inspect: reporter.inspect,
    heartbeatIntervalMs,
    heartbeatTimeoutMs,
    heartbeatWarnAfterMs,
    createTimeoutMs: number('createTimeoutMs'),
    logger: loggerOption(options.logger),
    signal: signalOption(options.signal),
  };
}

/** `TINKER_TAGS` as tags: split on commas, trimmed, empty ones and repeats dropped, in order. */
export function tagsFromEnv(value: string | undefined): string[] {
  if (value === undefined) return [];
  return [...new Set(value.split(',').map((tag) => tag.trim()))].filter((tag) => tag !== '');
}

/** `TINKER_PROJECT_ID`, or undefined when it is unset, empty or blank. */
export function projectFromEnv(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value;
}

function telemetryOptions(value: unknown): SessionTelemetryOptions {
  if (value === undefined) return {};
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw invalidType('telemetry', 'an object of reporter options', value);
  for (const key of Object.keys(value)) {
    // Checked here, not by resolveOptions: the session supplies `config` and `sessionId`, so they are not options of `telemetry`.
    if (!(TELEMETRY_OPTION_NAMES as readonly string[]).includes(key)) throw unknownOption('createSession `telemetry`', key, TELEMETRY_OPTION_NAMES);
  }
  return { ...(value as SessionTelemetryOptions) };
}

function tagList(value: unknown): string[] {
  if (!Array.isArray(value)) throw invalidType('tags', 'an array of strings', value);
  return value.map((tag: unknown, i) => nonEmptyString(`tags[${i}]`, tag));
}

function nonEmptyString(name: string, value: unknown): string {
  if (typeof value !== 'string') throw invalidType(name, 'a non-empty string', value);
  if (value.trim() === '') throw outOfRange(name, 'a non-empty string', value);
  return value;
}

function jsonObject(value: unknown): JsonObject {
  if (value === undefined) return {};
  const expected = 'a JSON object (plain data that JSON.stringify can write)';
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw invalidType('userMetadata', expected, value);
  try {
    // Once, now: a cycle or a BigInt fails here rather than inside start-up, and later changes by the caller do not leak in.
    return JSON.parse(JSON.stringify(value)) as JsonObject;
  } catch {
    throw invalidType('userMetadata', expected, value);
  }
}

function loggerOption(value: unknown): LoggerLike | undefined {
  if (value === undefined) return undefined;
  const methods = ['warn', 'info', 'error', 'debug'];
  if (typeof value !== 'object' || value === null || methods.some((m) => typeof (value as Record<string, unknown>)[m] !== 'function')) {
    throw invalidType('logger', 'a pino-compatible logger (warn, info, error and debug functions)', value);
  }
  return value as LoggerLike;
}

function signalOption(value: unknown): AbortSignal | undefined {
  if (value === undefined || value instanceof AbortSignal) return value;
  throw invalidType('signal', 'an AbortSignal', value);
}

// Sent as the `X-Tinker-Request-Type` header: a newline or a non-Latin-1 character could never be, so such a name fails here, at the call.
const REQUEST_TYPE = /^[A-Za-z][A-Za-z0-9_]*$/;
const REQUEST_TYPE_EXPECTED = 'an operation name of letters, digits and _ that starts with a letter (PascalCase, e.g. `OptimStep`)';

/**
 * Checks the options of `submit()` and `retrieveFuture()`, in the same
 * template; returns the four it reads. `requestType` must match
 * `/^[A-Za-z][A-Za-z0-9_]*$/`.
 */
export function checkFutureOptions(options: unknown): FutureOptions {
  if (typeof options !== 'object' || options === null) throw invalidType('options', 'an object with a requestType', options);
  const { requestType, timeoutMs, signal, billingMaxPauseMs } = options as Record<string, unknown>;
  if (typeof requestType !== 'string') throw invalidType('requestType', REQUEST_TYPE_EXPECTED, requestType);
  if (!REQUEST_TYPE.test(requestType)) throw outOfRange('requestType', REQUEST_TYPE_EXPECTED, requestType);
  if (timeoutMs !== undefined) integerInRange('timeoutMs', timeoutMs, 1);
  if (signal !== undefined && !(signal instanceof AbortSignal)) throw invalidType('signal', 'an AbortSignal', signal);
  if (billingMaxPauseMs !== undefined) integerInRange('billingMaxPauseMs', billingMaxPauseMs, 0);
  return { requestType, timeoutMs: timeoutMs as number | undefined, signal: signal, billingMaxPauseMs: billingMaxPauseMs as number | undefined };
}

/**
 * The deadline `close(value)` uses: `value` when it is an integer from 0 to
 * 2³¹−1, else `fallback` with a warning that quotes the value (never the
 * API key); `close()` never throws.
 */
export function checkCloseTimeout(value: unknown, fallback: number, apiKey: string): { timeoutMs: number; warning?: string } {
  if (value === undefined) return { timeoutMs: fallback };
  if (typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= 2 ** 31 - 1) return { timeoutMs: value };
  const shown = typeof value === 'number' ? String(value) : typeof value === 'string' ? JSON.stringify(redactCut(value, 60, apiKey).kept) : `a ${typeof value}`;
  return { timeoutMs: fallback, warning: `Tinker session close(): expected a timeout in ms from 0 to 2^31−1, got ${shown}; using ${fallback}` };
}
