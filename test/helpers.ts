/** Shared test doubles: a logger that records, a transport the test answers by hand, and a reporter built from both. */
import { afterEach, beforeEach, expect, vi } from 'vitest';
import { createConfig } from '../src/config.js';
import type { ReporterOptions } from '../src/options.js';
import { type TelemetryReporter, startReporter } from '../src/reporter.js';
import type { SendResult, TelemetryRequest, Transport } from '../src/core/ports.js';
import type { WireBody } from '../src/core/wire.js';

/** The config every reporter test uses: a test key (searched for in logs by the secrecy tests) and a port nothing listens on. */
/** The outbox settings the outbox tests share; each test overrides what it is about. */
export const OUTBOX_TEST_OPTIONS = {
  sessionId: 'session-1',
  maxQueueSize: 10,
  maxQueueBytes: 1_000_000,
  maxBatchSize: 10,
  maxEventBytes: 65_536,
  maxBatchBytes: 1_048_576,
  apiKey: 'sk-test-0123456789abcdef',
  retryBaseDelayMs: 100,
} as const;

export const TEST_CONFIG = createConfig({ apiKey: 'sk-test-0123456789abcdef', baseUrl: 'http://127.0.0.1:9' });

export interface LogRecord {
  level: 'warn' | 'info' | 'error' | 'debug';
  obj: object;
  msg: string | undefined;
}

/** A pino-compatible logger that keeps every record. */
export function recordingLogger() {
  const records: LogRecord[] = [];
  type Logger = Record<LogRecord['level'], (obj: object, msg?: string) => void> & { child(bindings: object): Logger };
  const make = (bindings: object): Logger => {
    const at = (level: LogRecord['level']) => (obj: object, msg?: string) => {
      records.push({ level, obj: { ...bindings, ...obj }, msg });
    };
    return { warn: at('warn'), info: at('info'), error: at('error'), debug: at('debug'), child: (more) => make({ ...bindings, ...more }) };
  };
  const logger = make({});
  return { logger, records, text: () => records.map((r) => `${r.level} ${r.msg ?? ''} ${safeJson(r.obj)}`).join('\n') };
}

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value, (_key, v: unknown) => (v instanceof Error ? { name: v.name, message: v.message } : v));
  } catch {
    return String(value);
  }
}

export interface PendingSend {
  request: TelemetryRequest;
  body: WireBody;
  respond(result: SendResult): void;
}

/**
 * A transport under the test's control: each send waits until the test
 * answers it (or answers at once with `autoRespond`).
 */
export function manualTransport(autoRespond?: (body: WireBody, n: number) => SendResult | undefined) {
  const pending: PendingSend[] = [];
  const sent: WireBody[] = [];
  let closed = 0;
  let always: SendResult | undefined;
  const transport: Transport = {
    send(request) {
      const body = JSON.parse(request.body) as WireBody;
      sent.push(body);
      const auto = always ?? autoRespond?.(body, sent.length);
      if (auto !== undefined) return Promise.resolve(auto);
      return new Promise<SendResult>((resolve) => {
        const entry: PendingSend = { request, body, respond: resolve };
        pending.push(entry);
        request.signal.addEventListener('abort', () => resolve({ kind: 'retryable', reason: 'aborted' }));
      });
    },
    close() {
      closed++;
    },
  };
  return {
    transport,
    pending,
    sent,
    closed: () => closed,
    /** Answers every waiting send, and every later one, with `result` (default 200). */
    answerAll(result: SendResult = { kind: 'ok', status: 200 }) {
      always = result;
      for (const entry of pending.splice(0)) entry.respond(result);
    },
    /** Answers the oldest unanswered send. */
    answer(result: SendResult) {
      const next = pending.shift();
      if (next === undefined) throw new Error('no send is waiting');
      next.respond(result);
      return next;
    },
  };
}

/** Every event the sink received, flattened, in arrival order. */
export function eventsOf(bodies: readonly WireBody[]) {
  return bodies.flatMap((b) => b.events);
}

/** Lets pending promise callbacks run (no timers involved). */
export async function settle(times = 5): Promise<void> {
  for (let i = 0; i < times; i++) await Promise.resolve();
}

/**
 * The options of a reporter under test: session `session-1`, on, no channel
 * forwarding, no exit drain, a 1 s flush interval, and the given transport
 * and logger; `overrides` win.
 */
export function testOptions(transport: Transport, logger: ReporterOptions['logger'], overrides: Partial<ReporterOptions> = {}): ReporterOptions {
  return {
    config: TEST_CONFIG,
    sessionId: 'session-1',
    enabled: true,
    attachEvents: false,
    drainOnExit: false,
    flushIntervalMs: 1000,
    transport,
    logger,
    ...overrides,
  };
}

/** A reporter under test (`testOptions`), sending through a `manualTransport` and logging to a `recordingLogger`. */
export function startTestReporter(overrides: Partial<ReporterOptions> = {}, autoRespond?: Parameters<typeof manualTransport>[0]) {
  const wire = manualTransport(autoRespond);
  const log = recordingLogger();
  const reporter = startReporter(testOptions(wire.transport, log.logger, overrides)) as TelemetryReporter;
  return { reporter, wire, log };
}

/** Stops `reporter` with a 10 ms deadline, advancing fake timers past it. */
export async function stopNow(reporter: TelemetryReporter): Promise<void> {
  const stopped = reporter.stop(10);
  await vi.advanceTimersByTimeAsync(10);
  await stopped;
}

/**
 * Runs each test of the calling file without `TINKER_API_KEY`,
 * `TINKER_BASE_URL` and `TINKER_TELEMETRY` (set them inside a test as it
 * needs), and gives the process its own values back after each.
 */
export function isolateTinkerEnv(): void {
  const keys = ['TINKER_API_KEY', 'TINKER_BASE_URL', 'TINKER_TELEMETRY'] as const;
  let saved: Record<string, string | undefined> = {};
  beforeEach(() => {
    saved = Object.fromEntries(keys.map((k) => [k, process.env[k]]));
    for (const k of keys) delete process.env[k];
  });
  afterEach(() => {
    for (const k of keys) {
      if (saved[k] === undefined) delete process.env[k];
      else process.env[k] = saved[k];
    }
  });
}

/** What `fn` throws, typed as an Error with the library's `code`; fails the test when it returns. */
export function thrownBy(fn: () => unknown): Error & { code?: string } {
  try {
    fn();
  } catch (error) {
    return error as Error & { code?: string };
  }
  return expect.unreachable('the call returned instead of throwing');
}
