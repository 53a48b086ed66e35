/**
 * The options of `startReporter`, their defaults, and their strict
 * validation: bad input fails at start, with a message that names the option,
 * never later inside the host application.
 */
import { randomBytes } from 'node:crypto';
import type { InspectionEvent, Observer } from 'xstate';
import type { Clock } from './core/clock.js';
import type { Config } from './config.js';
import type { LoggerLike, Transport } from './core/ports.js';
import { FORWARDABLE_CHANNELS, isForwardableChannel } from './host/channels.js';
import { integerInRange, invalidType, outOfRange, unknownOption } from './core/validate.js';
import { HANDLED_SIGNALS, type HandledSignal } from './host/process-hooks.js';
import { EVENT_OVERHEAD_BYTES, envelopeBytes } from './core/wire.js';

/** An XState inspection observer: a function, or an observer with `next`. */
export type InspectObserver = ((event: InspectionEvent) => void) | Partial<Observer<InspectionEvent>>;

/** Options of `startReporter`. Every numeric option is a whole number. */
export interface ReporterOptions {
  /** From `createConfig`. Required. */
  config: Config;
  /** The session this reporter reports for. Required; a non-empty string. */
  sessionId: string;
  /** The id the diagnostics-channel forwarder is attached under; a handler id attaches once. Default: generated. */
  handlerId?: string;
  /** The diagnostics channels to forward as telemetry. Default: the HTTP and queue channels (futures are opt-in). */
  events?: readonly string[];
  /** Forward diagnostics-channel events as telemetry. Default: true. */
  attachEvents?: boolean;
  /** Milliseconds a batch may wait before it is sent; 0 disables the timer (then `flushThreshold` must be ≤ `maxQueueSize`, and ≤ the events `maxQueueBytes` holds at 256 bytes each, or nothing would send before the queue is full). Default: 10 000. */
  flushIntervalMs?: number;
  /**
   * Queued events (SESSION_START included) that trigger a send at once; ≥ 1.
   * After a send, the next goes at once while the queue still holds this
   * many or a full batch (`maxBatchSize` events, or `maxBatchBytes` as the
   * queue counts bytes), so a backlog is sent back to back and only a part
   * batch waits for the timer. One above `maxQueueSize` is never reached:
   * refused when `flushIntervalMs` is 0, warned about otherwise. Default: 100.
   */
  flushThreshold?: number;
  /** Default deadline in ms of `stop()`, `waitUntilDrained()`, `flush({ waitDrained })` and the fatal drain; ≥ 1. Default: 30 000. */
  flushTimeoutMs?: number;
  /** Timeout in ms of one HTTP request of the default transport (a custom `transport` ignores it); ≥ 1. Default: 5 000. */
  httpTimeoutMs?: number;
  /** Retries of one batch after its first attempt; ≥ 0. Default: 3. */
  maxRetries?: number;
  /** Base of the exponential backoff in ms: retry n waits base × 2^(n−1) × (1 + U[0, 0.1)); ≥ 0. Default: 1 000. */
  retryBaseDelayMs?: number;
  /** Events the queue holds at most (the batch in flight is not counted); ≥ 1. Default: 10 000. */
  maxQueueSize?: number;
  /**
   * Bytes the queued events may take in all (the batch in flight is not
   * counted), an integer ≥ 2 × `maxEventBytes` + 512, so that the largest
   * event (it counts at most `maxEventBytes`) always fits.
   * Each event counts, when it is accepted, never less than the UTF-8 size
   * of its JSON as it will be sent (redacted, and cut to `maxEventBytes`):
   * an event whose name and data snapshot (or exception fields) take over
   * 1024 UTF-16 code units has its JSON made then and counts its exact size
   * (the queue keeps the snapshot, not the JSON); a smaller one counts 256 bytes of
   * fixed fields plus 6 a code unit (the most one takes: `\u0001`), at most
   * `maxEventBytes`, which costs no encoding on the caller's path. So the
   * bytes the queued events will take on the wire never exceed the bound,
   * and with the defaults the 10 000 events `maxQueueSize` holds stay within
   * it at 1024 code units each. V8 holds a code unit in 1 or 2 bytes, so the
   * heap the queued events hold stays within about twice the bound. An event
   * that would cross the bound is refused and counted as
   * `dropped.queue_bytes`; SESSION_END is never refused. Memory is
   * bounded by this, not only by `maxQueueSize`: 10 000 events of 64 KiB
   * would otherwise hold 640 MiB. Default: 67 108 864 (64 MiB).
   */
  maxQueueBytes?: number;
  /** Events per request at most; ≥ 1. Default: 100. */
  maxBatchSize?: number;
  /**
   * The cap on one event's JSON, in UTF-8 bytes; an integer from 1024 to
   * 67 108 864 (64 MiB, so an event's JSON always fits in a V8 string). It
   * also bounds the snapshot `log()` takes of its data. A larger
   * event is cut to fit, never dropped: a GENERIC_EVENT keeps the top-level
   * keys of `event_data` in order while they fit, cuts the first string that
   * does not fit whole, and adds a `"…"` key saying what was cut
   * (`{ truncated: true, originalBytes, keptKeys, droppedKeys, droppedKeyCount }`);
   * an UNHANDLED_EXCEPTION cuts `error_message` and `traceback`, each ending
   * in `…[truncated N chars]`. Default: 65 536 (64 KiB).
   */
  maxEventBytes?: number;
  /**
   * The cap on one request body, in UTF-8 bytes; an integer ≥ `maxEventBytes`
   * plus the body's envelope (about 130 bytes and the session id), so a
   * single event always fits, and at most 268 435 456 (256 MiB, so a body
   * always fits in a V8 string). A batch takes events in order until the next
   * one would cross it. Default: 1 048 576 (1 MiB), or that minimum when a
   * larger `maxEventBytes` makes it larger.
   */
  maxBatchBytes?: number;
  /**
   * Stop this reporter when the process runs out of work (`beforeExit`):
   * SESSION_END is queued and everything is drained, retries included, for at
   * most `flushTimeoutMs` ms, during which the drain keeps the process alive;
   * then Node exits by itself. `process.exit()`, signals and crashes never
   * reach `beforeExit` (see `handleSignals` and `captureUncaught`). With
   * `false`, whatever is still queued when the process exits without
   * `stop()` is lost. Default: true.
   */
  drainOnExit?: boolean;
  /**
   * Signals on which to stop this reporter (SESSION_END and a drain of at most
   * `flushTimeoutMs` ms) before the signal takes its course: once every
   * reporter that asked for the signal has stopped, the listener is removed
   * and the signal raised again, so the process is killed by it, as without
   * a listener (exit status 128 + the signal's number in a shell). When the
   * host has listeners of its own for the signal, it is not raised again:
   * the host decides. The same signal again during the drain re-raises it at
   * once. Default: none; signals are left alone.
   */
  handleSignals?: readonly HandledSignal[];
  /**
   * Report an uncaught exception or an unhandled rejection through
   * `logFatalException()` (the error at CRITICAL, SESSION_END, a drain of at
   * most `flushTimeoutMs` ms), then hand it back to Node, which prints it and
   * exits with code 1 as it would have (a rejection goes back as a fresh
   * unhandled rejection, so the `--unhandled-rejections` mode still decides).
   * When the host has listeners of its own for the event, nothing is handed
   * back: the host decides. Default: false; Node's handling is untouched.
   */
  captureUncaught?: boolean;
  /**
   * Turns telemetry on or off, above `config.telemetryEnabled` and
   * `TINKER_TELEMETRY`; `false` makes `startReporter` return null. Default:
   * unset (the config, then the environment, decides).
   */
  enabled?: boolean;
  /** Where warnings go; used through `child()` when it has one. Default: pino at 'warn' on stderr. */
  logger?: LoggerLike;
  /** An XState inspection observer, given every inspection event of the lifecycle machine (the Stately inspector attaches here). Default: none. */
  inspect?: InspectObserver;
  /** How batches are sent. Default: got, with a keep-alive agent. */
  transport?: Transport;
  /** Time and timers. Default: the real clock. */
  clock?: Clock;
  /** The backoff jitter source, returning [0, 1). Default: `Math.random`. */
  random?: () => number;
  /**
   * A directory for the durable spool; made when missing. When set, a batch
   * that could not be delivered (retries exhausted, or left at the stop
   * deadline) is written there instead of being dropped, and counted
   * `spooled`; every batch is also written there, claimed, before its first
   * attempt and deleted on delivery, so a crash during a send leaves it
   * behind; and every accepted event is appended to this reporter's journal
   * there (one write per microtask) until it has an outcome, so a process
   * that dies without stopping leaves its queued events too. The next
   * reporter started with the same directory recovers crashed reporters'
   * journals and resends what it finds before anything of its own, byte for
   * byte, under the original session id and idempotency key. Batches the
   * server rejects (4xx) are
   * never spooled. Several processes may share the directory. Default: unset;
   * nothing touches the disk and undeliverable batches are dropped.
   */
  spoolDir?: string;
  /** Bytes the spool's files may take in all, an integer ≥ 1; the oldest files are evicted first, counted as `dropped.spool_overflow`. Ignored without `spoolDir`. Default: 67 108 864 (64 MiB). */
  maxSpoolBytes?: number;
}

/**
 * The defaults `startReporter` uses for the numeric and boolean options left undefined; frozen.
 * @inlineType Readonly
 */
export const DEFAULT_OPTIONS = Object.freeze({
  /** Milliseconds queued events may wait for the flush timer before they are sent: 10 s. */
  flushIntervalMs: 10_000,
  /** Queued events, SESSION_START included, that trigger a send without waiting for the timer. */
  flushThreshold: 100,
  /** Milliseconds `stop()`, `waitUntilDrained()`, `flush({ waitDrained })` and the fatal drain wait at most: 30 s. */
  flushTimeoutMs: 30_000,
  /** Milliseconds one request of the default transport may take before it fails as retryable: 5 s. */
  httpTimeoutMs: 5_000,
  /** Retries of a batch after its first attempt, for retryable failures only; so 4 attempts in all. */
  maxRetries: 3,
  /** Milliseconds of the first retry's backoff (1 s), doubled for each further retry, plus up to 10 % jitter; a longer Retry-After wins. */
  retryBaseDelayMs: 1_000,
  /** Events the queue holds before `log()` and `logException()` refuse new ones as `queue_full`; the batch in flight is not counted. */
  maxQueueSize: 10_000,
  /** Events per request at most; a larger queue is sent in several requests. */
  maxBatchSize: 100,
  /** UTF-8 bytes of one event's JSON at most (64 KiB); a larger event is cut to fit, with a marker. */
  maxEventBytes: 65_536,
  /** UTF-8 bytes of one request body at most (1 MiB); a batch stops taking events before it would cross it. */
  maxBatchBytes: 1_048_576,
  /** Estimated bytes of the queued events at most (64 MiB); `log()` refuses an event that would cross it as `queue_bytes`. */
  maxQueueBytes: 64 * 1024 * 1024,
  /** Forward this session's diagnostics-channel events (HTTP and queue by default) as telemetry. */
  attachEvents: true,
  /** Stop and drain every live reporter when the process runs out of work (`beforeExit`), so what is queued is not lost. */
  drainOnExit: true,
  /** Leave uncaught exceptions and unhandled rejections to Node alone. */
  captureUncaught: false,
  /** Bytes of the spool directory's batch files at most (64 MiB), with `spoolDir`; the oldest are evicted first. */
  maxSpoolBytes: 64 * 1024 * 1024,
} as const);

/** The options with every default filled in. */
export interface ResolvedOptions {
  config: Config;
  sessionId: string;
  handlerId: string;
  events: readonly string[] | undefined;
  attachEvents: boolean;
  flushIntervalMs: number;
  flushThreshold: number;
  flushTimeoutMs: number;
  httpTimeoutMs: number;
  maxRetries: number;
  retryBaseDelayMs: number;
  maxQueueSize: number;
  maxQueueBytes: number;
  maxBatchSize: number;
  maxEventBytes: number;
  maxBatchBytes: number;
  drainOnExit: boolean;
  handleSignals: readonly HandledSignal[];
  captureUncaught: boolean;
  enabled: boolean | undefined;
  logger: LoggerLike | undefined;
  inspect: InspectObserver | undefined;
  transport: Transport | undefined;
  clock: Clock | undefined;
  random: (() => number) | undefined;
  spoolDir: string | undefined;
  maxSpoolBytes: number;
  /** Settings that are valid but have no effect, each a message for `startReporter` to log once at warn when telemetry is on. */
  warnings: readonly string[];
}

/** Minimum of each numeric option. */
const NUMERIC_MINIMUMS = {
  flushIntervalMs: 0,
  flushThreshold: 1,
  flushTimeoutMs: 1,
  httpTimeoutMs: 1,
  maxRetries: 0,
  retryBaseDelayMs: 0,
  maxQueueSize: 1,
  maxBatchSize: 1,
} as const;

/** Every option name `startReporter` knows, in the order its unknown-option error lists them. */
export const REPORTER_OPTION_NAMES = [
  'config',
  'sessionId',
  'handlerId',
  'events',
  'attachEvents',
  ...Object.keys(NUMERIC_MINIMUMS),
  'maxEventBytes',
  'maxBatchBytes',
  'maxQueueBytes',
  'drainOnExit',
  'handleSignals',
  'captureUncaught',
  'spoolDir',
  'maxSpoolBytes',
  'enabled',
  'logger',
  'inspect',
  'transport',
  'clock',
  'random',
] as const;

/** `input` as an options object of `owner` (e.g. `startReporter`), or a TypeError naming what is wrong: not an object, or a key not in `names`. */
export function optionsObject(input: unknown, owner: string, names: readonly string[]): Record<string, unknown> {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) throw invalidType('options', 'an object', input);
  const options = input as Record<string, unknown>;
  for (const key of Object.keys(options)) {
    if (!names.includes(key)) throw unknownOption(owner, key, names);
  }
  return options;
}

/** `value` as a `Config`, or a TypeError saying it must be made by `createConfig()`. */
export function checkConfig(value: unknown): Config {
  const config = value as Config;
  if (
    typeof value !== 'object' ||
    value === null ||
    typeof config.apiKey !== 'string' ||
    typeof config.baseUrl !== 'string' ||
    typeof config.telemetryEndpoint !== 'string'
  ) {
    throw invalidType('config', 'a Config made by createConfig()', value);
  }
  return config;
}

/**
 * Validates `input` and fills in the defaults. Throws a TypeError for a wrong
 * type or an unknown option, and a RangeError for a value out of range; each
 * message names the option and the value it got.
 */
export function resolveOptions(input: unknown): ResolvedOptions {
  const options = optionsObject(input, 'startReporter', REPORTER_OPTION_NAMES);
  const config = checkConfig(options.config);
  const sessionId = options.sessionId;
  if (typeof sessionId !== 'string') throw invalidType('sessionId', 'a non-empty string', sessionId);
  if (sessionId.trim() === '') throw outOfRange('sessionId', 'a non-empty string', sessionId);

  const numbers = {} as Record<keyof typeof NUMERIC_MINIMUMS, number>;
  for (const [name, min] of Object.entries(NUMERIC_MINIMUMS) as [keyof typeof NUMERIC_MINIMUMS, number][]) {
    const value = options[name];
    numbers[name] = value === undefined ? DEFAULT_OPTIONS[name] : integerInRange(name, value, min);
  }
  const maxEventBytes = byteCount(options, 'maxEventBytes', MIN_EVENT_BYTES, '', MAX_EVENT_BYTES);
  const envelope = envelopeBytes(sessionId);
  const maxBatchBytes = byteCount(options, 'maxBatchBytes', maxEventBytes + envelope, ` (maxEventBytes + ${envelope} bytes of envelope)`, MAX_BATCH_BYTES);
  // One event counts at most its name and its snapshot, each cut to maxEventBytes, and its fixed fields: the queue holds at least that.
  const maxQueueBytes = byteCount(
    options,
    'maxQueueBytes',
    2 * maxEventBytes + 2 * EVENT_OVERHEAD_BYTES,
    ` (2 × maxEventBytes + ${2 * EVENT_OVERHEAD_BYTES})`,
    Number.MAX_SAFE_INTEGER,
  );
  const warnings = checkSendTriggers({ ...numbers, maxQueueBytes });

  return {
    config: config,
    sessionId,
    handlerId: optionalString(options, 'handlerId') ?? `tinker-telemetry-${sessionId}-${randomBytes(4).toString('hex')}`,
    events: channelList(options.events),
    attachEvents: optionalBoolean(options, 'attachEvents') ?? DEFAULT_OPTIONS.attachEvents,
    ...numbers,
    maxEventBytes,
    maxBatchBytes,
    maxQueueBytes,
    drainOnExit: optionalBoolean(options, 'drainOnExit') ?? DEFAULT_OPTIONS.drainOnExit,
    handleSignals: signalList(options.handleSignals),
    captureUncaught: optionalBoolean(options, 'captureUncaught') ?? DEFAULT_OPTIONS.captureUncaught,
    enabled: optionalBoolean(options, 'enabled'),
    logger: optionalShape(options, 'logger', 'a pino-compatible logger (warn, info, error and debug functions)', ['warn', 'info', 'error', 'debug']),
    inspect: inspectObserver(options.inspect),
    transport: optionalShape(options, 'transport', 'a Transport (an object with a send function)', ['send']),
    clock: optionalShape(options, 'clock', 'a Clock (now, setTimeout and clearTimeout functions)', ['now', 'setTimeout', 'clearTimeout']),
    random: optionalFunction(options, 'random'),
    spoolDir: optionalString(options, 'spoolDir'),
    maxSpoolBytes:
      options.maxSpoolBytes === undefined ? DEFAULT_OPTIONS.maxSpoolBytes : integerInRange('maxSpoolBytes', options.maxSpoolBytes, 1, Number.MAX_SAFE_INTEGER),
    warnings,
  };
}

/**
 * Refuses a set of options under which the reporter never sends by itself,
 * and returns a warning for one where an option can never take effect.
 * Two things start a send without the host asking (by `flush()`,
 * `logException()` or `stop()`): the flush timer, when `flushIntervalMs` is
 * above 0, and the queue reaching `flushThreshold` events. The queue never
 * holds more than `maxQueueSize`, so a larger threshold is never reached.
 * Without the timer nothing would send before the queue is full, and every
 * event after that would be dropped as `queue_full`: a RangeError names all
 * three options. With the timer, only the timer sends: legal, but the
 * threshold the caller chose (or left at its default) does nothing, which
 * the warning says. The other limits cannot stop a send: `maxBatchBytes` is
 * at least one event and its envelope, and every other bound is ≥ 1.
 */
function checkSendTriggers(numbers: { flushIntervalMs: number; flushThreshold: number; maxQueueSize: number; maxQueueBytes: number }): string[] {
  const { flushIntervalMs, flushThreshold, maxQueueSize, maxQueueBytes } = numbers;
  // Every event counts at least its fixed fields against maxQueueBytes, so the bytes bound the count too.
  const byBytes = Math.floor(maxQueueBytes / EVENT_OVERHEAD_BYTES);
  if (flushIntervalMs === 0 && flushThreshold > byBytes && byBytes < maxQueueSize) {
    throw outOfRange(
      'flushThreshold',
      `≤ ${byBytes} (the most events \`maxQueueBytes\` holds, at ${EVENT_OVERHEAD_BYTES} bytes each) when \`flushIntervalMs\` is 0`,
      flushThreshold,
    );
  }
  if (flushThreshold <= maxQueueSize) return [];
  if (flushIntervalMs === 0) throw outOfRange('flushThreshold', `≤ \`maxQueueSize\` (${maxQueueSize}) when \`flushIntervalMs\` is 0`, flushThreshold);
  return [
    `Telemetry option \`flushThreshold\` (${flushThreshold}) is above \`maxQueueSize\` (${maxQueueSize}), so it is never reached: ` +
      `only the flush timer (\`flushIntervalMs\`, ${flushIntervalMs} ms) starts a send, and events logged while the queue is full are dropped as queue_full`,
  ];
}

/** The smallest `maxEventBytes`: room for an event's fixed fields, its name and the truncation marker. */
const MIN_EVENT_BYTES = 1024;
/** The largest `maxEventBytes`, 64 MiB: an event's JSON, even with every character escaped six-fold, stays within V8's longest string (2²⁹ − 24 code units). */
const MAX_EVENT_BYTES = 64 * 1024 * 1024;
/** The largest `maxBatchBytes`, 256 MiB: a request body stays within V8's longest string. */
const MAX_BATCH_BYTES = 256 * 1024 * 1024;

/**
 * A byte count between `min` (explained by `why`) and `max`; undefined gives
 * the default, raised to `min` when a larger related option needs it.
 */
function byteCount(options: Record<string, unknown>, name: 'maxEventBytes' | 'maxBatchBytes' | 'maxQueueBytes', min: number, why: string, max: number): number {
  const value = options[name];
  if (value === undefined) return Math.max(DEFAULT_OPTIONS[name], min);
  const expected = `an integer from ${min}${why} to ${max}`;
  if (typeof value !== 'number') throw invalidType(name, expected, value);
  if (!Number.isInteger(value) || value < min || value > max) throw outOfRange(name, expected, value);
  return value;
}

function optionalString(options: Record<string, unknown>, name: string): string | undefined {
  const value = options[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw invalidType(name, 'a non-empty string', value);
  if (value.trim() === '') throw outOfRange(name, 'a non-empty string', value);
  return value;
}

function optionalBoolean(options: Record<string, unknown>, name: string): boolean | undefined {
  const value = options[name];
  if (value === undefined || typeof value === 'boolean') return value;
  throw invalidType(name, 'a boolean', value);
}

function optionalFunction<T>(options: Record<string, unknown>, name: string): T | undefined {
  const value = options[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'function') throw invalidType(name, 'a function', value);
  return value as T;
}

function optionalShape<T>(options: Record<string, unknown>, name: string, expected: string, methods: readonly string[]): T | undefined {
  const value = options[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'object' || value === null || methods.some((m) => typeof (value as Record<string, unknown>)[m] !== 'function')) {
    throw invalidType(name, expected, value);
  }
  return value as T;
}

function inspectObserver(value: unknown): InspectObserver | undefined {
  if (value === undefined || typeof value === 'function') return value as InspectObserver | undefined;
  // Only an object is an observer, even where a primitive's prototype lends it a `next`.
  const next: unknown = typeof value === 'object' && value !== null ? (value as { next?: unknown }).next : undefined;
  if (typeof next === 'function') return value as InspectObserver;
  throw invalidType('inspect', 'an inspection observer (a function, or an object with next)', value);
}

function channelList(value: unknown): readonly string[] | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value)) throw invalidType('events', 'an array of channel names', value);
  value.forEach((name: unknown, i) => {
    if (typeof name !== 'string') throw invalidType(`events[${i}]`, 'a channel name', name);
    if (!isForwardableChannel(name)) throw outOfRange(`events[${i}]`, `one of ${FORWARDABLE_CHANNELS.join(', ')}`, name);
  });
  return Object.freeze([...(value as string[])]);
}

function signalList(value: unknown): readonly HandledSignal[] {
  const expected = `one of ${HANDLED_SIGNALS.join(', ')}`;
  if (value === undefined) return Object.freeze([]);
  if (!Array.isArray(value)) throw invalidType('handleSignals', `an array of signal names, each ${expected}`, value);
  value.forEach((name: unknown, i) => {
    if (typeof name !== 'string') throw invalidType(`handleSignals[${i}]`, `a signal name, ${expected}`, name);
    if (!(HANDLED_SIGNALS as readonly string[]).includes(name)) throw outOfRange(`handleSignals[${i}]`, expected, name);
  });
  return Object.freeze([...(value as HandledSignal[])]);
}
