/** The reporter with `spoolDir`: what is spooled, when, how it is counted, and how the next reporter resends it. */
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { afterEach, beforeEach, describe, expect, it, onTestFinished, vi } from 'vitest';
import { CHANNELS } from '../src/host/channels.js';
import { createConfig } from '../src/config.js';
import { DEFAULT_OPTIONS } from '../src/options.js';
import { DROP_REASONS } from '../src/core/outbox.js';
import { type ReporterStats, type TelemetryReporter, startReporter } from '../src/reporter.js';
import type { ReporterOptions } from '../src/options.js';
import type { SendResult, TelemetryRequest, Transport } from '../src/core/ports.js';
import type { WireBody } from '../src/core/wire.js';
import { recordingLogger } from './helpers.js';

const config = createConfig({ apiKey: 'sk-test-0123456789abcdef', baseUrl: 'http://127.0.0.1:9' });
const ok: SendResult = { kind: 'ok', status: 200 };

/** A transport that keeps every raw request and answers with `answer(n)`, or never when it returns undefined. */
function rawTransport(answer: (n: number, body: WireBody) => SendResult | undefined) {
  const requests: TelemetryRequest[] = [];
  const transport: Transport = {
    send(request) {
      requests.push(request);
      const result = answer(requests.length, JSON.parse(request.body) as WireBody);
      if (result !== undefined) return Promise.resolve(result);
      return new Promise((resolve) => request.signal.addEventListener('abort', () => resolve({ kind: 'retryable', reason: 'aborted' })));
    },
  };
  return { transport, requests, bodies: () => requests.map((r) => JSON.parse(r.body) as WireBody) };
}

let dir: string;

function start(sessionId: string, transport: Transport, overrides: Partial<ReporterOptions> = {}) {
  const log = recordingLogger();
  const reporter = startReporter({
    config,
    sessionId,
    enabled: true,
    attachEvents: false,
    drainOnExit: false,
    flushIntervalMs: 1000,
    retryBaseDelayMs: 100,
    maxRetries: 1,
    random: () => 0,
    transport,
    logger: log.logger,
    spoolDir: dir,
    ...overrides,
  }) as TelemetryReporter;
  return { reporter, log };
}

/** The spool's batch files; the journal of a live reporter is left out (test/journal.reporter.test.ts covers it). */
const files = () =>
  readdirSync(dir)
    .filter((f) => !f.endsWith('.journal'))
    .sort();
const ready = () => files().filter((f) => f.endsWith('.batch'));
const eventsIn = (name: string) => Number(/-(\d+)-\d+\.batch/.exec(name)?.[1]);

function booksBalance(s: ReporterStats): void {
  expect(s.pushCounter).toBe(s.flushCounter + s.queueSize + s.inFlight);
  expect(s.flushCounter).toBe(s.deliveredCounter + s.dropped.retries_exhausted + s.dropped.rejected + s.dropped.shutdown + s.spooled);
}

beforeEach(() => {
  vi.useFakeTimers({ now: new Date('2026-01-02T03:04:05.678Z') });
  dir = mkdtempSync(join(tmpdir(), 'spool-reporter-'));
});
afterEach(() => {
  vi.useRealTimers();
  rmSync(dir, { recursive: true, force: true });
});

describe('spoolDir', () => {
  it('spools what is left at the stop deadline, and the next reporter resends it first, byte for byte, under the original session and key', async () => {
    const dead = rawTransport(() => undefined);
    const a = start('session-a', dead.transport, { maxBatchSize: 2 });
    for (let i = 0; i < 3; i++) a.reporter.log('step', { i });
    const stopped = a.reporter.stop(50);
    await vi.advanceTimersByTimeAsync(50);
    expect(await stopped).toBe(false);
    const sa = a.reporter.stats();
    expect(sa).toMatchObject({ state: 'ended', pushCounter: 5, flushCounter: 5, spooled: 5, deliveredCounter: 0, queueSize: 0, inFlight: 0 });
    expect(sa.dropped.shutdown).toBe(0);
    booksBalance(sa);
    expect(files()).toEqual(ready());
    expect(ready().map(eventsIn)).toEqual([2, 2, 1]);
    // The batch in flight at the deadline was on disk before it was sent, exactly as sent.
    expect(readFileSync(join(dir, ready()[0]!), 'utf8')).toBe(dead.requests[0]!.body);
    expect(ready()[0]).toContain(dead.requests[0]!.idempotencyKey);
    const onDisk = ready().map((f) => readFileSync(join(dir, f), 'utf8'));

    const good = rawTransport(() => ok);
    const b = start('session-b', good.transport);
    await vi.advanceTimersByTimeAsync(0);
    expect(good.requests.slice(0, 3).map((r) => r.body)).toEqual(onDisk);
    expect(good.requests[0]!.idempotencyKey).toBe(dead.requests[0]!.idempotencyKey);
    expect(
      good
        .bodies()
        .slice(0, 3)
        .flatMap((body) => body.events.map((e) => [body.session_id, e.event_session_index, e.event])),
    ).toEqual([
      ['session-a', 0, 'SESSION_START'],
      ['session-a', 1, 'GENERIC_EVENT'],
      ['session-a', 2, 'GENERIC_EVENT'],
      ['session-a', 3, 'GENERIC_EVENT'],
      ['session-a', 4, 'SESSION_END'],
    ]);
    // Sent at once, not after the flush interval, and before anything of this session.
    expect(good.bodies()[3]).toMatchObject({ session_id: 'session-b', events: [{ event: 'SESSION_START', event_session_index: 0 }] });
    const sb = b.reporter.stats();
    expect(sb).toMatchObject({ replayed: 5, replayDropped: 0, deliveredCounter: 1, pushCounter: 1, flushCounter: 1, spooled: 0, state: 'idle' });
    booksBalance(sb);
    expect(files()).toEqual([]);
    await b.reporter.stop();
  });

  it('holds each batch on disk, claimed, while it is sent, and deletes it on delivery', async () => {
    let release: (() => void) | undefined;
    const slow = rawTransport(() => undefined);
    const transport: Transport = {
      send: (request) =>
        new Promise((resolve) => {
          void slow.transport.send(request);
          release = () => resolve(ok);
        }),
    };
    const { reporter } = start('session-a', transport);
    await reporter.flush();
    await vi.advanceTimersByTimeAsync(0);
    expect(files()).toEqual([
      expect.stringMatching(new RegExp(`-${slow.requests[0]!.idempotencyKey}-1-\\d+\\.batch\\.claimed-${process.pid}-[0-9a-f]{8}$`)) as string,
    ]);
    expect(readFileSync(join(dir, files()[0]!), 'utf8')).toBe(slow.requests[0]!.body);
    release?.();
    await vi.advanceTimersByTimeAsync(0);
    expect(files()).toEqual([]);
    expect(reporter.stats()).toMatchObject({ deliveredCounter: 1, spooled: 0 });
  });

  it('spools a batch whose retries ran out, and a sync flush waiting on it reports false', async () => {
    const failing = rawTransport(() => ({ kind: 'retryable', status: 503, reason: 'HTTP 503' }));
    const { reporter, log } = start('session-a', failing.transport);
    reporter.log('x');
    const flushed = reporter.flush({ sync: true });
    await vi.advanceTimersByTimeAsync(100);
    expect(await flushed).toBe(false);
    expect(failing.requests).toHaveLength(2);
    const s = reporter.stats();
    expect(s).toMatchObject({ spooled: 2, flushCounter: 2, dropped: { retries_exhausted: 0 } });
    booksBalance(s);
    expect(ready()).toHaveLength(1);
    expect(files()).toEqual(ready());
    expect(readFileSync(join(dir, ready()[0]!), 'utf8')).toBe(failing.requests[1]!.body);
    expect(log.records.filter((r) => r.level === 'warn')).toEqual([]);
  });

  it('never spools a rejected batch: it is dropped and its file removed', async () => {
    const rejecting = rawTransport(() => ({ kind: 'rejected', status: 400 }));
    const { reporter } = start('session-a', rejecting.transport);
    expect(await reporter.flush({ sync: true })).toBe(false);
    expect(reporter.stats()).toMatchObject({ spooled: 0, dropped: { rejected: 1 } });
    expect(files()).toEqual([]);
  });

  it('replaces a batch split by a 413 with its two halves on disk', async () => {
    const seen: string[][] = [];
    const splitting = rawTransport((n) => {
      seen.push(files());
      return n === 1 ? { kind: 'too_large', status: 413 } : ok;
    });
    const { reporter } = start('session-a', splitting.transport);
    reporter.log('x');
    expect(await reporter.flush({ sync: true })).toBe(true);
    const halves = splitting.requests.slice(1).map((r) => r.idempotencyKey);
    expect(seen[1]).toHaveLength(2);
    expect(seen[1]!.every((f) => f.includes('.claimed-'))).toBe(true);
    expect(halves.every((key) => seen[1]!.some((f) => f.includes(key)))).toBe(true);
    expect(seen[2]).toHaveLength(1);
    expect(seen[2]![0]).toContain(halves[1]);
    expect(files()).toEqual([]);
  });

  it('removes a resent batch the server rejects, counted as replayDropped, and releases one whose retries ran out', async () => {
    const dead = rawTransport(() => undefined);
    const a = start('session-a', dead.transport, { maxBatchSize: 1 });
    const stopped = a.reporter.stop(10);
    await vi.advanceTimersByTimeAsync(10);
    await stopped;
    expect(ready()).toHaveLength(2);
    const [first, second] = ready();

    const mixed = rawTransport((n, body) =>
      body.session_id === 'session-a' ? (n === 1 ? { kind: 'rejected', status: 422 } : { kind: 'retryable', status: 503, reason: 'HTTP 503' }) : ok,
    );
    const b = start('session-b', mixed.transport);
    await vi.advanceTimersByTimeAsync(100);
    expect(mixed.bodies().map((body) => body.session_id)).toEqual(['session-a', 'session-a', 'session-a', 'session-b']);
    const s = b.reporter.stats();
    expect(s).toMatchObject({ replayed: 0, replayDropped: 1, deliveredCounter: 1, spooled: 0, dropped: { rejected: 0, retries_exhausted: 0 } });
    booksBalance(s);
    expect(files()).toEqual([second]);
    expect(files()).not.toContain(first);
    await b.reporter.stop();
  });

  it('splits a resent batch answered 413 into halves under the original session, reporting their real sizes, and delivers both', async () => {
    const dead = rawTransport(() => undefined);
    const a = start('session-a', dead.transport, { maxBatchSize: 5 });
    for (let i = 0; i < 2; i++) a.reporter.log('step', { i });
    const stopped = a.reporter.stop(10);
    await vi.advanceTimersByTimeAsync(10);
    await stopped;
    expect(ready().map(eventsIn)).toEqual([4]);
    const spooledBody = readFileSync(join(dir, ready()[0]!), 'utf8');

    const sizes: [string, number][] = [];
    const sent = (message: unknown) => sizes.push(['sent', (message as { size: number }).size]);
    const failed = (message: unknown) => sizes.push(['failed', (message as { size: number }).size]);
    subscribe(CHANNELS.telemetryBatchSent, sent);
    subscribe(CHANNELS.telemetryBatchFailed, failed);
    onTestFinished(() => {
      unsubscribe(CHANNELS.telemetryBatchSent, sent);
      unsubscribe(CHANNELS.telemetryBatchFailed, failed);
    });
    const seen: string[][] = [];
    const splitting = rawTransport((n) => {
      seen.push(files());
      return n === 1 ? { kind: 'too_large', status: 413 } : ok;
    });
    const b = start('session-b', splitting.transport);
    await vi.advanceTimersByTimeAsync(0);
    const bodies = splitting.bodies();
    expect(bodies.slice(0, 3).map((body) => [body.session_id, body.events.map((e) => e.event_session_index)])).toEqual([
      ['session-a', [0, 1, 2, 3]],
      ['session-a', [0, 1]],
      ['session-a', [2, 3]],
    ]);
    // The halves carry the very events of the whole, each with a key of its own.
    const whole = JSON.parse(spooledBody) as WireBody;
    expect([...bodies[1]!.events, ...bodies[2]!.events]).toEqual(whole.events);
    expect({ ...bodies[1], events: [] }).toEqual({ ...whole, events: [] });
    const keys = splitting.requests.slice(0, 3).map((r) => r.idempotencyKey);
    expect(new Set(keys).size).toBe(3);
    // While the first half is sent, both halves are on disk, claimed, and the whole is gone.
    expect(seen[1]!.map(eventsIn)).toEqual([2, 2]);
    expect(seen[1]!.every((f) => f.includes('.claimed-'))).toBe(true);
    expect(sizes.slice(0, 3)).toEqual([
      ['failed', 4],
      ['sent', 2],
      ['sent', 2],
    ]);
    const s = b.reporter.stats();
    expect(s).toMatchObject({ replayed: 4, replayDropped: 0 });
    booksBalance(s);
    expect(files()).toEqual([]);
    await b.reporter.stop();
  });

  it('moves a corrupt spool file aside, counts it, and goes on', async () => {
    writeFileSync(join(dir, 'garbage.batch'), 'not json');
    const good = rawTransport(() => ok);
    const { reporter } = start('session-b', good.transport);
    expect(await reporter.flush({ sync: true })).toBe(true);
    expect(reporter.stats()).toMatchObject({ spoolCorrupt: 1, replayed: 0, deliveredCounter: 1 });
    expect(files()).toEqual(['garbage.batch.corrupt']);
  });

  it('evicts the oldest spooled batches beyond maxSpoolBytes and counts their events as spool_overflow', async () => {
    const published: { reason: string; count: number }[] = [];
    const onDropped = (message: unknown) => {
      const { sessionId, reason, count } = message as { sessionId: string; reason: string; count: number };
      if (sessionId === 'session-a' && reason === 'spool_overflow') published.push({ reason, count });
    };
    subscribe(CHANNELS.telemetryEventDropped, onDropped);
    onTestFinished(() => {
      unsubscribe(CHANNELS.telemetryEventDropped, onDropped);
    });
    const dead = rawTransport(() => undefined);
    const a = start('session-a', dead.transport, { maxBatchSize: 1, maxSpoolBytes: 1000 });
    for (let i = 0; i < 6; i++) a.reporter.log('step', { i });
    const stopped = a.reporter.stop(10);
    await vi.advanceTimersByTimeAsync(10);
    await stopped;
    const s = a.reporter.stats();
    const kept = ready()
      .map(eventsIn)
      .reduce((x, y) => x + y, 0);
    expect(s.spooled).toBe(8);
    expect(s.dropped.spool_overflow).toBeGreaterThan(0);
    expect(kept + s.dropped.spool_overflow).toBe(8);
    // Each eviction is published too, so a subscriber sees every lost event.
    expect(published.reduce((sum, m) => sum + m.count, 0)).toBe(s.dropped.spool_overflow);
    expect(ready().reduce((sum, f) => sum + Number(/-(\d+)\.batch$/.exec(f)?.[1]), 0)).toBeLessThanOrEqual(1000);
    booksBalance(s);
    // The newest survive: the last one written holds SESSION_END.
    const last = JSON.parse(readFileSync(join(dir, ready().at(-1)!), 'utf8')) as WireBody;
    expect(last.events[0]!.event).toBe('SESSION_END');
    expect(DROP_REASONS).toContain('spool_overflow');
  });

  it('counts spool errors and drops as before when the directory cannot be used, without throwing', async () => {
    const file = join(dir, 'a-file');
    writeFileSync(file, 'x');
    const dead = rawTransport(() => undefined);
    const { reporter, log } = start('session-a', dead.transport, { spoolDir: file });
    const stopped = reporter.stop(10);
    await vi.advanceTimersByTimeAsync(10);
    expect(await stopped).toBe(false);
    const s = reporter.stats();
    expect(s.spoolErrors).toBeGreaterThanOrEqual(3);
    expect(s).toMatchObject({ spooled: 0, dropped: { shutdown: 2 } });
    booksBalance(s);
    expect(log.records.some((r) => r.level === 'warn' && /^Telemetry spool mkdir failed/.test(r.msg ?? ''))).toBe(true);
  });

  it('reports zero spool counters without spoolDir and drops at the deadline as before', async () => {
    const dead = rawTransport(() => undefined);
    const { reporter } = start('session-a', dead.transport, { spoolDir: undefined });
    const stopped = reporter.stop(10);
    await vi.advanceTimersByTimeAsync(10);
    await stopped;
    expect(reporter.stats()).toMatchObject({
      spooled: 0,
      replayed: 0,
      replayDropped: 0,
      spoolCorrupt: 0,
      spoolErrors: 0,
      dropped: { shutdown: 2, spool_overflow: 0 },
    });
    expect(files()).toEqual([]);
  });
});

describe('spool options', () => {
  const base = { config, sessionId: 's', enabled: false };
  it('defaults maxSpoolBytes to 64 MiB', () => {
    expect(DEFAULT_OPTIONS.maxSpoolBytes).toBe(67_108_864);
  });
  it.each([
    [{ spoolDir: '' }, RangeError, 'Expected `spoolDir` to be a non-empty string, got `""` (string)'],
    [{ spoolDir: 5 }, TypeError, 'Expected `spoolDir` to be a non-empty string, got `5` (number)'],
    [{ maxSpoolBytes: 0 }, RangeError, 'Expected `maxSpoolBytes` to be an integer from 1 to 9007199254740991, got `0` (number)'],
    [{ maxSpoolBytes: 1.5 }, RangeError, 'Expected `maxSpoolBytes` to be an integer from 1 to 9007199254740991, got `1.5` (number)'],
    [{ maxSpoolBytes: '1' }, TypeError, 'Expected `maxSpoolBytes` to be an integer ≥ 1, got `"1"` (string)'],
  ])('refuses %o', (extra, type, message) => {
    expect(() => startReporter({ ...base, ...extra } as never)).toThrow(type);
    expect(() => startReporter({ ...base, ...extra } as never)).toThrow(message);
  });
  it('accepts a valid spoolDir and maxSpoolBytes', () => {
    expect(startReporter({ ...base, spoolDir: '/tmp/x', maxSpoolBytes: 1 })).toBeNull();
  });
});
