/**
 * The reporter against a real HTTP server on 127.0.0.1 (port 0), through the
 * default got transport. Delays are kept to tens of milliseconds.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { type Responder, type Sink, startSink } from '../demo/sink.js';
import { createConfig } from '../src/config.js';
import type { ReporterOptions } from '../src/options.js';
import { type TelemetryReporter, startReporter } from '../src/reporter.js';
import { recordingLogger } from './helpers.js';

const API_KEY = 'sk-integration-abcdef0123456789';
let sink: Sink | undefined;
let hung: Server | undefined;
const reporters: TelemetryReporter[] = [];

afterEach(async () => {
  await Promise.all(reporters.splice(0).map((r) => r.stop(50)));
  await sink?.close();
  sink = undefined;
  if (hung) {
    hung.closeAllConnections();
    await new Promise((resolve) => hung!.close(resolve));
    hung = undefined;
  }
});

async function withSink(respond?: Responder, overrides: Partial<ReporterOptions> = {}) {
  sink = await startSink(respond);
  const log = recordingLogger();
  const reporter = startReporter({
    config: createConfig({ apiKey: API_KEY, baseUrl: sink.url }),
    sessionId: 'integration',
    enabled: true,
    attachEvents: false,
    flushIntervalMs: 0,
    retryBaseDelayMs: 20,
    logger: log.logger,
    ...overrides,
  }) as TelemetryReporter;
  reporters.push(reporter);
  return { reporter, sink, log };
}

const delivered = (s: Sink) => s.batches.flatMap((b) => b.body.events);

describe('reporter over HTTP', () => {
  it('delivers batches in order with the API key, JSON content type, user-agent and idempotency key', async () => {
    const seen: Record<string, string | string[] | undefined>[] = [];
    const { reporter, sink } = await withSink(
      (request) => {
        seen.push(request.headers);
        return { status: 200 };
      },
      { maxBatchSize: 4 },
    );
    for (let i = 0; i < 9; i++) reporter.log('step', { i });
    expect(await reporter.stop()).toBe(true);
    expect(delivered(sink).map((e) => e.event_session_index)).toEqual([...Array(11).keys()]);
    expect(sink.batches.map((b) => b.body.events.length)).toEqual([4, 4, 3]);
    for (const headers of seen) {
      expect(headers['x-api-key']).toBe(API_KEY);
      expect(headers['content-type']).toBe('application/json');
      expect(headers['user-agent']).toMatch(/^tinker-telemetry\/\d+\.\d+\.\d+/);
      expect(headers['x-idempotency-key']).toMatch(/^[0-9a-f-]{36}$/);
    }
    expect(new Set(seen.map((h) => h['x-idempotency-key'])).size).toBe(3);
  });

  it('retries 503s with growing backoff and the same idempotency key, then delivers', async () => {
    const arrivals: { at: number; key: string | undefined }[] = [];
    const { reporter, sink } = await withSink(
      (request) => {
        arrivals.push({ at: performance.now(), key: request.headers['x-idempotency-key'] as string });
        return { status: arrivals.length <= 3 ? 503 : 200 };
      },
      { retryBaseDelayMs: 40, maxRetries: 3 },
    );
    expect(await reporter.flush({ sync: true })).toBe(true);
    expect(arrivals).toHaveLength(4);
    expect(new Set(arrivals.map((a) => a.key)).size).toBe(1);
    const gaps = arrivals.slice(1).map((a, i) => a.at - arrivals[i]!.at);
    // Backoff 40, 80, 160 ms with up to 10% jitter; the lower bounds are firm.
    expect(gaps[0]).toBeGreaterThanOrEqual(39);
    expect(gaps[1]).toBeGreaterThanOrEqual(79);
    expect(gaps[2]).toBeGreaterThanOrEqual(159);
    expect(delivered(sink)).toHaveLength(1);
  });

  it('drops a 401 batch as rejected without retrying, and never logs the key', async () => {
    let requests = 0;
    const { reporter, log } = await withSink(() => {
      requests++;
      return { status: 401 };
    });
    expect(await reporter.flush({ sync: true })).toBe(false);
    expect(requests).toBe(1);
    expect(reporter.stats().dropped.rejected).toBe(1);
    expect(log.text()).toContain('401');
    expect(log.text()).not.toContain(API_KEY);
  });

  it('splits a batch the server answers with 413 until each part fits', async () => {
    const { reporter, sink } = await withSink((_request, batch) => ({ status: batch.body.events.length > 2 ? 413 : 200 }), { maxBatchSize: 8 });
    for (let i = 0; i < 7; i++) reporter.log('big', { i });
    expect(await reporter.flush({ sync: true })).toBe(true);
    expect(delivered(sink).map((e) => e.event_session_index)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(Math.max(...sink.batches.map((b) => b.body.events.length))).toBeLessThanOrEqual(2);
  });

  it('honours Retry-After when it is longer than the backoff', async () => {
    const arrivals: number[] = [];
    const { reporter } = await withSink(
      () => {
        arrivals.push(performance.now());
        return arrivals.length === 1 ? { status: 429, headers: { 'retry-after': '1' } } : { status: 200 };
      },
      { retryBaseDelayMs: 10 },
    );
    expect(await reporter.flush({ sync: true })).toBe(true);
    expect(arrivals[1]! - arrivals[0]!).toBeGreaterThanOrEqual(990);
  });

  it('reads an HTTP-date Retry-After against the reporter clock, not the wall clock', async () => {
    // A clock stopped an hour before the wall clock: a date 30 s after its now is in the wall clock's past.
    const stoppedAt = Math.floor((Date.now() - 3_600_000) / 1000) * 1000;
    const clockNowAt = () => stoppedAt;
    let retryAfter = '';
    let scheduled!: (record: { delayMs?: number }) => void;
    const retrying = new Promise<{ delayMs?: number }>((resolve) => (scheduled = resolve));
    const log = recordingLogger();
    const { reporter } = await withSink(
      () => {
        retryAfter = new Date(clockNowAt() + 30_000).toUTCString();
        return { status: 503, headers: { 'retry-after': retryAfter } };
      },
      {
        retryBaseDelayMs: 20,
        clock: {
          now: clockNowAt,
          setTimeout: (fn, ms) => setTimeout(fn, ms),
          clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
        },
        logger: {
          ...log.logger,
          child: () => ({
            ...log.logger,
            debug: (obj: object, msg?: string) => {
              if (msg === 'Telemetry batch failed; retrying') scheduled(obj);
            },
          }),
        },
      },
    );
    void reporter.flush();
    const record = await retrying;
    expect(retryAfter).toMatch(/GMT$/);
    expect(record.delayMs).toBe(30_000);
    expect(reporter.stats().state).toBe('retrying');
  });

  it('meets the stop deadline against a server that never answers', async () => {
    hung = createServer(() => undefined);
    await new Promise<void>((resolve) => hung!.listen(0, '127.0.0.1', resolve));
    const reporter = startReporter({
      config: createConfig({ apiKey: API_KEY, baseUrl: `http://127.0.0.1:${(hung.address() as AddressInfo).port}` }),
      sessionId: 'hung',
      enabled: true,
      attachEvents: false,
      httpTimeoutMs: 60_000,
      logger: recordingLogger().logger,
    }) as TelemetryReporter;
    reporter.log('stuck');
    const started = performance.now();
    const drained = await reporter.stop(150);
    const took = performance.now() - started;
    expect(drained).toBe(false);
    expect(took).toBeGreaterThanOrEqual(149);
    expect(took).toBeLessThan(1000);
    expect(reporter.stats()).toMatchObject({ state: 'ended', dropped: { shutdown: 3 } });
  });

  it('refuses events past maxQueueSize and counts them', async () => {
    // A timer that never fires within the test, so nothing is sent while the queue fills.
    const { reporter } = await withSink(undefined, { maxQueueSize: 5, flushThreshold: 100, flushIntervalMs: 60_000 });
    const accepted = Array.from({ length: 10 }, (_, i) => reporter.log('e', { i })).filter(Boolean).length;
    expect(accepted).toBe(4);
    expect(reporter.stats()).toMatchObject({ queueSize: 5, dropped: { queue_full: 6 } });
  });

  it('makes no request at all when telemetry is disabled', async () => {
    let requests = 0;
    sink = await startSink(() => {
      requests++;
      return { status: 200 };
    });
    const reporter = startReporter({ config: createConfig({ apiKey: API_KEY, baseUrl: sink.url }), sessionId: 'off', enabled: false });
    expect(reporter).toBeNull();
    expect(requests).toBe(0);
  });

  it('delivers the exception and SESSION_END before a fatal exception resolves', async () => {
    const { reporter, sink } = await withSink();
    expect(await reporter.logFatalException(new Error('fatal'))).toBe(true);
    expect(delivered(sink).map((e) => e.event)).toEqual(['SESSION_START', 'UNHANDLED_EXCEPTION', 'SESSION_END']);
  });

  it('stops once: later stops make no request', async () => {
    let requests = 0;
    const { reporter } = await withSink(() => {
      requests++;
      return { status: 200 };
    });
    expect(await reporter.stop()).toBe(true);
    const after = requests;
    expect(await reporter.stop()).toBe(true);
    expect(await reporter.stop(1)).toBe(true);
    expect(requests).toBe(after);
  });

  it('sends hostile data as valid JSON without throwing', async () => {
    const { reporter, sink } = await withSink();
    const cyclic: Record<string, unknown> = { name: 'loop' };
    cyclic.self = cyclic;
    const hostile = {
      cyclic,
      big: 10n ** 30n,
      fn() {},
      sym: Symbol('s'),
      map: new Map([['k', 1]]),
      set: new Set([1, 2]),
      date: new Date(0),
      error: new Error('inner'),
      nan: Number.NaN,
      inf: Number.POSITIVE_INFINITY,
      undef: undefined,
      huge: 'x'.repeat(1_000_000),
    };
    expect(reporter.log('hostile', hostile)).toBe(true);
    expect(await reporter.stop()).toBe(true);
    const event = delivered(sink).find((e) => e.event === 'GENERIC_EVENT') as unknown as { event_data: Record<string, unknown> };
    expect(event.event_data).toMatchObject({
      cyclic: { name: 'loop', self: '[Circular]' },
      big: '1000000000000000000000000000000',
      nan: 'NaN',
      inf: 'Infinity',
      date: '1970-01-01T00:00:00.000Z',
    });
    expect(event.event_data).not.toHaveProperty('undef');
    expect((event.event_data.huge as string).length).toBeLessThan(1_000_000);
  });
});
