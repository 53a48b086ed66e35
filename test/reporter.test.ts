import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createConfig } from '../src/config.js';
import { type ReporterStats, type TelemetryReporter, startReporter } from '../src/reporter.js';
import type { ReporterOptions } from '../src/options.js';
import { eventsOf, manualTransport, recordingLogger, settle } from './helpers.js';

const API_KEY = 'sk-test-0123456789abcdef';
const config = createConfig({ apiKey: API_KEY, baseUrl: 'http://127.0.0.1:9' });
const ok = { kind: 'ok', status: 200 } as const;

function identityHolds(s: ReporterStats): boolean {
  return s.pushCounter === s.flushCounter + s.queueSize + s.inFlight && s.flushCounter <= s.pushCounter;
}

/** Stops with a short deadline and lets fake time reach it. */
async function stopNow(reporter: TelemetryReporter): Promise<boolean> {
  const stopped = reporter.stop(10);
  await vi.advanceTimersByTimeAsync(10);
  return stopped;
}

function start(overrides: Partial<ReporterOptions> = {}, auto?: Parameters<typeof manualTransport>[0]) {
  const wire = manualTransport(auto);
  const log = recordingLogger();
  const reporter = startReporter({
    config,
    sessionId: 'session-1',
    enabled: true,
    attachEvents: false,
    flushIntervalMs: 1000,
    flushThreshold: 100,
    retryBaseDelayMs: 100,
    random: () => 0,
    transport: wire.transport,
    logger: log.logger,
    ...overrides,
  }) as TelemetryReporter;
  return { reporter, wire, log };
}

describe('TelemetryReporter', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: new Date('2026-01-02T03:04:05.678Z') });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('queues SESSION_START at index 0 and sends it in the first batch with the wire body fields only', async () => {
    const { reporter, wire } = start();
    expect(reporter.stats().pushCounter).toBe(1);
    await vi.advanceTimersByTimeAsync(1000);
    expect(wire.sent).toHaveLength(1);
    const body = wire.sent[0]!;
    expect(Object.keys(body).sort()).toEqual(['events', 'platform', 'process_uuid', 'sdk_version', 'session_id']);
    expect(body.session_id).toBe('session-1');
    expect(body.platform).toMatch(/^(unix\/\w+|win32\/nt)$/);
    expect(body.process_uuid).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    const [first] = body.events;
    expect(first).toEqual({
      event: 'SESSION_START',
      event_id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      event_session_index: 0,
      severity: 'INFO',
      timestamp: '2026-01-02T03:04:05.678Z',
    });
    wire.answerAll();
    await reporter.stop();
  });

  it('sends data as it was at the call, even when the caller mutates it afterwards', async () => {
    const { reporter, wire } = start();
    const data = { step: 1, nested: { loss: 0.5 } };
    expect(reporter.log('train.step', data)).toBe(true);
    data.step = 2;
    data.nested.loss = 9;
    void reporter.flush();
    await settle();
    const generic = eventsOf(wire.sent).find((e) => e.event === 'GENERIC_EVENT');
    expect(generic).toMatchObject({ event_name: 'train.step', event_data: { step: 1, nested: { loss: 0.5 } }, severity: 'INFO' });
    wire.answerAll();
    await reporter.stop();
  });

  it('numbers events 0..n-1 in acceptance order across batches of at most maxBatchSize, one request at a time', async () => {
    const { reporter, wire } = start({ maxBatchSize: 3 });
    for (let i = 0; i < 7; i++) reporter.log('e', { i });
    void reporter.flush();
    await settle();
    expect(wire.pending).toHaveLength(1);
    for (let batch = 0; batch < 3; batch++) {
      expect(wire.pending).toHaveLength(1);
      wire.answer(ok);
      await settle(10);
    }
    expect(wire.pending).toHaveLength(0);
    wire.answerAll();
    const events = eventsOf(wire.sent);
    expect(events.map((e) => e.event_session_index)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(wire.sent.map((b) => b.events.length)).toEqual([3, 3, 2]);
    expect(new Set(events.map((e) => e.event_id)).size).toBe(8);
    await reporter.stop();
  });

  it('sends as soon as flushThreshold events are queued, SESSION_START included', async () => {
    const { reporter, wire } = start({ flushThreshold: 3 });
    reporter.log('a');
    expect(wire.sent).toHaveLength(0);
    reporter.log('b');
    await settle();
    expect(wire.sent).toHaveLength(1);
    expect(wire.sent[0]!.events).toHaveLength(3);
    wire.answerAll();
    await reporter.stop();
  });

  it('sends on the flush interval, and not before', async () => {
    const { reporter, wire } = start({ flushIntervalMs: 5000 });
    reporter.log('a');
    await vi.advanceTimersByTimeAsync(4999);
    expect(wire.sent).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(wire.sent).toHaveLength(1);
    wire.answerAll();
    await reporter.stop();
  });

  it('accepts severities in any case and refuses others, counting them as invalid and warning once per value', async () => {
    const { reporter, wire, log } = start();
    expect(reporter.log('a', undefined, 'WARNING')).toBe(true);
    expect(reporter.log('b', undefined, 'Error' as 'error')).toBe(true);
    expect(reporter.log('c', undefined, 'fatal' as 'error')).toBe(false);
    expect(reporter.log('d', undefined, 'fatal' as 'error')).toBe(false);
    expect(reporter.log('e', undefined, 7 as unknown as 'error')).toBe(false);
    expect(reporter.log('', undefined)).toBe(false);
    expect(reporter.stats().dropped.invalid).toBe(4);
    const warnings = log.records.filter((r) => r.level === 'warn' && /severity/.test(r.msg ?? ''));
    expect(warnings).toHaveLength(2);
    expect(warnings[0]!.msg).toContain('"fatal"');
    void reporter.flush();
    await settle();
    expect(
      eventsOf(wire.sent)
        .slice(1)
        .map((e) => e.severity),
    ).toEqual(['WARNING', 'ERROR']);
    wire.answerAll();
    await reporter.stop();
  });

  it('refuses events when the queue is full, counts queue_full, and warns once per episode', async () => {
    const { reporter, wire, log } = start({ maxQueueSize: 3, flushThreshold: 10 });
    expect(reporter.log('a')).toBe(true);
    expect(reporter.log('b')).toBe(true);
    expect(reporter.log('c')).toBe(false);
    expect(reporter.log('d')).toBe(false);
    expect(reporter.stats()).toMatchObject({ queueSize: 3, dropped: { queue_full: 2 } });
    const full = () => log.records.filter((r) => /queue full/i.test(r.msg ?? '')).length;
    expect(full()).toBe(1);
    void reporter.flush();
    await settle();
    wire.answer(ok);
    await settle(10);
    expect(reporter.log('e')).toBe(true);
    expect(reporter.log('f')).toBe(true);
    expect(reporter.log('g')).toBe(true);
    expect(reporter.log('h')).toBe(false);
    expect(full()).toBe(2);
    expect(identityHolds(reporter.stats())).toBe(true);
    await stopNow(reporter);
  });

  it('never refuses SESSION_END: at a full queue it displaces the newest event, counted as queue_full, and the bound holds', async () => {
    // The flush interval never passes on the fake clock, so nothing is sent before stop().
    const { reporter, wire } = start({ maxQueueSize: 2, flushThreshold: 10 });
    reporter.log('a');
    const stopped = reporter.stop();
    const stats = reporter.stats();
    expect(stats.queueSize).toBeLessThanOrEqual(2);
    expect(stats.dropped.queue_full).toBe(1);
    expect(identityHolds(stats)).toBe(true);
    await settle();
    wire.answer(ok);
    expect(await stopped).toBe(true);
    const events = eventsOf(wire.sent);
    expect(events.map((e) => e.event)).toEqual(['SESSION_START', 'SESSION_END']);
    expect(events.map((e) => e.event_session_index)).toEqual([0, 2]);
  });

  it('retries a 503 with exponential backoff and the same idempotency key, then drops it as retries_exhausted', async () => {
    const { reporter, wire, log } = start({ maxRetries: 2, retryBaseDelayMs: 100 });
    void reporter.flush();
    await settle();
    const key = wire.pending[0]!.request.idempotencyKey;
    wire.answer({ kind: 'retryable', status: 503, reason: 'HTTP 503' });
    await settle(10);
    expect(reporter.stats().state).toBe('retrying');
    await vi.advanceTimersByTimeAsync(99);
    expect(wire.sent).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(wire.sent).toHaveLength(2);
    expect(wire.pending[0]!.request.idempotencyKey).toBe(key);
    wire.answer({ kind: 'retryable', status: 503, reason: 'HTTP 503' });
    await vi.advanceTimersByTimeAsync(199);
    expect(wire.sent).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(1);
    expect(wire.sent).toHaveLength(3);
    wire.answer({ kind: 'retryable', status: 503, reason: 'HTTP 503' });
    await settle(10);
    expect(reporter.stats()).toMatchObject({ state: 'idle', dropped: { retries_exhausted: 1 }, flushCounter: 1 });
    expect(log.records.some((r) => r.level === 'warn' && /retries/i.test(r.msg ?? ''))).toBe(true);
    await stopNow(reporter);
  });

  it('waits for a Retry-After longer than the backoff', async () => {
    const { reporter, wire } = start({ retryBaseDelayMs: 100 });
    void reporter.flush();
    await settle();
    wire.answer({ kind: 'retryable', status: 429, retryAfterMs: 3000, reason: 'HTTP 429' });
    await vi.advanceTimersByTimeAsync(2999);
    expect(wire.sent).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(wire.sent).toHaveLength(2);
    wire.answerAll();
    await reporter.stop();
  });

  it('drops a 400 as rejected without retrying, warning with the status and never the key', async () => {
    const { reporter, wire, log } = start();
    void reporter.flush();
    await settle();
    wire.answer({ kind: 'rejected', status: 400 });
    await vi.advanceTimersByTimeAsync(60_000);
    expect(wire.sent).toHaveLength(1);
    expect(reporter.stats().dropped.rejected).toBe(1);
    const warning = log.records.find((r) => r.level === 'warn' && /400/.test(r.msg ?? ''));
    expect(warning).toBeDefined();
    expect(log.text()).not.toContain(API_KEY);
    await stopNow(reporter);
  });

  it('splits a batch answered with 413 into halves, down to single events', async () => {
    const { reporter, wire } = start({}, (body) =>
      body.events.length > 1 ? { kind: 'too_large', status: 413 } : body.events[0]!.event_session_index === 2 ? { kind: 'too_large', status: 413 } : ok,
    );
    for (let i = 0; i < 3; i++) reporter.log('e', { i });
    await reporter.flush({ sync: true });
    expect(wire.sent.map((b) => b.events.map((e) => e.event_session_index))).toEqual([[0, 1, 2, 3], [0, 1], [0], [1], [2, 3], [2], [3]]);
    expect(reporter.stats()).toMatchObject({ deliveredCounter: 3, dropped: { rejected: 1 }, flushCounter: 4 });
    await reporter.stop();
  });

  it('stops by sending SESSION_END with the duration, ends the machine, and refuses logging afterwards', async () => {
    const { reporter, wire } = start({}, () => ok);
    reporter.log('a');
    await vi.advanceTimersByTimeAsync(3_723_000);
    const result = await reporter.stop();
    expect(result).toBe(true);
    const events = eventsOf(wire.sent);
    expect(events.at(-1)).toMatchObject({ event: 'SESSION_END', duration: '1:02:03', event_session_index: 2 });
    expect(events.filter((e) => e.event === 'SESSION_END')).toHaveLength(1);
    expect(reporter.stats()).toMatchObject({ state: 'ended', sessionEnded: true, queueSize: 0, inFlight: 0 });
    expect(reporter.log('late')).toBe(false);
    expect(reporter.logException(new Error('late'))).toBe(false);
    expect(reporter.stats().dropped.after_stop).toBe(2);
    expect(vi.getTimerCount()).toBe(0);
    expect(wire.closed()).toBe(1);
  });

  it('is idempotent: a second stop returns the same result and sends nothing new', async () => {
    const { reporter, wire } = start({}, () => ok);
    const first = reporter.stop();
    const second = reporter.stop();
    expect(second).toBe(first);
    expect(await first).toBe(true);
    const sends = wire.sent.length;
    expect(await reporter.stop()).toBe(true);
    expect(wire.sent.length).toBe(sends);
  });

  it('meets the stop deadline against a transport that never answers, dropping the rest as shutdown', async () => {
    const { reporter, wire } = start();
    for (let i = 0; i < 5; i++) reporter.log('e');
    const stopped = reporter.stop(500);
    await vi.advanceTimersByTimeAsync(499);
    expect(wire.pending).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(await stopped).toBe(false);
    const stats = reporter.stats();
    expect(stats).toMatchObject({ state: 'ended', deliveredCounter: 0, inFlight: 0, queueSize: 0 });
    expect(stats.dropped.shutdown).toBe(7);
    expect(identityHolds(stats)).toBe(true);
    expect(wire.pending[0]!.request.signal.aborted).toBe(true);
  });

  it('logs an Error as UNHANDLED_EXCEPTION with type, message and traceback, and flushes at once', async () => {
    const { reporter, wire } = start({ flushIntervalMs: 60_000 });
    const error = new TypeError('bad shape', { cause: new RangeError('too big') });
    expect(reporter.logException(error)).toBe(true);
    await settle();
    expect(wire.sent).toHaveLength(1);
    const exception = eventsOf(wire.sent).find((e) => e.event === 'UNHANDLED_EXCEPTION');
    expect(exception).toMatchObject({ error_type: 'TypeError', error_message: 'bad shape', severity: 'ERROR' });
    expect((exception as { traceback: string }).traceback).toContain('Caused by: RangeError: too big');
    wire.answerAll();
    await reporter.stop();
  });

  it('logs a 4xx error as a user_error GENERIC_EVENT at WARNING', async () => {
    const { reporter, wire } = start();
    const error = Object.assign(new Error('bad request'), { status: 422, body: { detail: 'nope' } });
    reporter.logException(new Error('wrapped', { cause: error }));
    await settle();
    const event = eventsOf(wire.sent).find((e) => e.event === 'GENERIC_EVENT');
    expect(event).toMatchObject({
      event_name: 'user_error',
      severity: 'WARNING',
      event_data: { error_type: 'Error', message: 'bad request', status_code: 422, body: { detail: 'nope' } },
    });
    wire.answerAll();
    await reporter.stop();
  });

  it('on a fatal exception queues the exception and SESSION_END, drains, and logs the session id', async () => {
    const { reporter, wire, log } = start({}, () => ok);
    const drained = await reporter.logFatalException(new Error('boom'));
    expect(drained).toBe(true);
    expect(eventsOf(wire.sent).map((e) => e.event)).toEqual(['SESSION_START', 'UNHANDLED_EXCEPTION', 'SESSION_END']);
    expect(eventsOf(wire.sent)[1]).toMatchObject({ severity: 'CRITICAL' });
    expect(log.records.some((r) => r.level === 'info' && (r.msg ?? '').includes('session-1'))).toBe(true);
    expect(reporter.log('after')).toBe(false);
    expect(await reporter.stop()).toBe(true);
    expect(eventsOf(wire.sent).filter((e) => e.event === 'SESSION_END')).toHaveLength(1);
  });

  it('resolves a sync flush true when everything before it was delivered and false when some was dropped', async () => {
    const { reporter, wire } = start();
    const good = reporter.flush({ sync: true });
    await settle();
    wire.answer(ok);
    expect(await good).toBe(true);
    reporter.log('x');
    const bad = reporter.flush({ sync: true });
    await settle();
    wire.answer({ kind: 'rejected', status: 401 });
    expect(await bad).toBe(false);
    await stopNow(reporter);
  });

  it('resolves waitUntilDrained false at its deadline and true once dropped or delivered', async () => {
    const { reporter, wire } = start();
    const late = reporter.waitUntilDrained(200);
    await vi.advanceTimersByTimeAsync(200);
    expect(await late).toBe(false);
    const drained = reporter.waitUntilDrained(10_000);
    wire.answer({ kind: 'rejected', status: 403 });
    expect(await drained).toBe(true);
    expect(reporter.log('still logging')).toBe(true);
    await stopNow(reporter);
  });

  it('treats a transport that throws like a network error and retries', async () => {
    let calls = 0;
    const { reporter } = start({
      transport: {
        send: () => {
          calls++;
          if (calls === 1) throw new Error('socket exploded');
          return Promise.resolve(ok);
        },
      },
    });
    const flushed = reporter.flush({ sync: true });
    await vi.advanceTimersByTimeAsync(100);
    expect(await flushed).toBe(true);
    expect(calls).toBe(2);
    await reporter.stop();
  });

  it('never throws into the caller, even with a throwing logger and hostile data', async () => {
    const hostile = new Proxy(
      {},
      {
        ownKeys() {
          throw new Error('no keys for you');
        },
        get() {
          throw new Error('no values either');
        },
      },
    );
    const throwing = () => {
      throw new Error('logger down');
    };
    const { reporter } = start({
      logger: { warn: throwing, info: throwing, error: throwing, debug: throwing },
      maxQueueSize: 2,
    });
    expect(() => reporter.log('hostile', hostile)).not.toThrow();
    expect(() => reporter.log('bad', undefined, 'nope' as 'info')).not.toThrow();
    expect(() => reporter.log('full')).not.toThrow();
    await expect(stopNow(reporter)).resolves.toBeTypeOf('boolean');
  });

  it('keeps pushCounter = flushCounter + queueSize + inFlight through a mixed run', async () => {
    const outcomes = [ok, { kind: 'retryable', status: 500, reason: 'HTTP 500' }, { kind: 'rejected', status: 400 }] as const;
    const { reporter } = start({ maxBatchSize: 2, maxQueueSize: 5, flushThreshold: 2, maxRetries: 1 }, (_b, n) => outcomes[n % 3]);
    for (let i = 0; i < 20; i++) {
      reporter.log('e', { i });
      expect(identityHolds(reporter.stats())).toBe(true);
      await vi.advanceTimersByTimeAsync(50);
      expect(identityHolds(reporter.stats())).toBe(true);
    }
    const stopped = reporter.stop(1000);
    await vi.advanceTimersByTimeAsync(1000);
    await stopped;
    const s = reporter.stats();
    expect(identityHolds(s)).toBe(true);
    expect(s.flushCounter).toBe(s.pushCounter);
    expect(s.deliveredCounter + s.dropped.retries_exhausted + s.dropped.rejected + s.dropped.shutdown).toBe(s.pushCounter - 0 - 0);
  });

  it('stops through Symbol.asyncDispose', async () => {
    const { reporter, wire } = start({}, () => ok);
    await reporter[Symbol.asyncDispose]();
    expect(reporter.stats().state).toBe('ended');
    expect(eventsOf(wire.sent).at(-1)?.event).toBe('SESSION_END');
  });
});

describe('startReporter', () => {
  const saved = process.env.TINKER_TELEMETRY;
  afterEach(() => {
    if (saved === undefined) delete process.env.TINKER_TELEMETRY;
    else process.env.TINKER_TELEMETRY = saved;
  });

  it('returns null when telemetry is disabled, by option or by TINKER_TELEMETRY', () => {
    expect(startReporter({ config, sessionId: 's', enabled: false })).toBeNull();
    process.env.TINKER_TELEMETRY = 'off';
    expect(startReporter({ config, sessionId: 's' })).toBeNull();
  });

  it('lets options.enabled override TINKER_TELEMETRY', async () => {
    process.env.TINKER_TELEMETRY = '0';
    const wire = manualTransport(() => ok);
    const reporter = startReporter({ config, sessionId: 's', enabled: true, transport: wire.transport, attachEvents: false });
    expect(reporter).not.toBeNull();
    await reporter!.stop();
  });

  it('throws a RangeError naming the option for a value out of range', () => {
    expect(() => startReporter({ config, sessionId: 's', maxBatchSize: 0 })).toThrow(RangeError);
    expect(() => startReporter({ config, sessionId: 's', maxBatchSize: 0 })).toThrow(/maxBatchSize/);
  });
});

describe('sessionId', () => {
  it('is read-only', async () => {
    const wire = manualTransport(() => ({ kind: 'ok', status: 200 }));
    const reporter = startReporter({ config, sessionId: 'fixed', enabled: true, attachEvents: false, transport: wire.transport }) as TelemetryReporter;
    expect(() => {
      (reporter as unknown as { sessionId: string }).sessionId = 'changed';
    }).toThrow(TypeError);
    expect(reporter.sessionId).toBe('fixed');
    await reporter.stop();
  });
});
