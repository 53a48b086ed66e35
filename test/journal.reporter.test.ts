/**
 * The reporter's journal with `spoolDir`: at every point it holds exactly the
 * accepted events that no batch file holds and that have no outcome yet, and
 * it is gone once the session has ended. (The crash itself is in
 * test/spool.crash.test.ts, with real processes.)
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createConfig } from '../src/config.js';
import { parseJournal } from '../src/io/journal.js';
import type { ReporterOptions } from '../src/options.js';
import { type TelemetryReporter, startReporter } from '../src/reporter.js';
import type { SendResult, Transport } from '../src/core/ports.js';
import { type WireBody, envelopeJson } from '../src/core/wire.js';
import { recordingLogger } from './helpers.js';

const config = createConfig({ apiKey: 'sk-test-0123456789abcdef', baseUrl: 'http://127.0.0.1:9' });

let dir: string;
let answers: (SendResult | undefined)[];
let bodies: WireBody[];
/** Answers each send with the next of `answers`, or never (until aborted) when it is undefined or missing. */
const transport: Transport = {
  send(request) {
    bodies.push(JSON.parse(request.body) as WireBody);
    const answer = answers.shift();
    if (answer !== undefined) return Promise.resolve(answer);
    return new Promise((resolve) => request.signal.addEventListener('abort', () => resolve({ kind: 'retryable', reason: 'aborted' })));
  },
};

function start(overrides: Partial<ReporterOptions> = {}): TelemetryReporter {
  return startReporter({
    config,
    sessionId: 'journaled',
    enabled: true,
    attachEvents: false,
    drainOnExit: false,
    flushIntervalMs: 1000,
    retryBaseDelayMs: 100,
    maxRetries: 0,
    random: () => 0,
    transport,
    logger: recordingLogger().logger,
    spoolDir: dir,
    ...overrides,
  }) as TelemetryReporter;
}

const journalFile = () => readdirSync(dir).find((f) => f.endsWith('.journal'));
/** The event indices the journal holds as live, in order, after letting its microtask write. */
async function live(): Promise<number[]> {
  await Promise.resolve();
  const file = journalFile();
  if (file === undefined) throw new Error('no journal');
  const parsed = parseJournal(readFileSync(join(dir, file), 'utf8'));
  if ('problem' in parsed) throw new Error(parsed.problem);
  return [...parsed.live.keys()];
}

beforeEach(() => {
  vi.useFakeTimers({ now: new Date('2026-01-02T03:04:05.678Z') });
  dir = mkdtempSync(join(tmpdir(), 'journal-reporter-'));
  answers = [];
  bodies = [];
});
afterEach(() => {
  vi.useRealTimers();
  rmSync(dir, { recursive: true, force: true });
});

describe('the journal of a reporter with spoolDir', () => {
  it('is headed by the session’s envelope and holds every accepted event, as it will be sent', async () => {
    const reporter = start();
    reporter.log('step', { i: 1 });
    reporter.log('', {});
    reporter.log('step', { i: 2 }, 'error');
    expect(await live()).toEqual([0, 1, 2]);
    // logException() flushes at once: the batch is held on disk, so the journal lets go of all of it.
    answers = [{ kind: 'ok', status: 200 }];
    reporter.logException(new Error('boom'));
    await vi.advanceTimersByTimeAsync(0);
    expect(await live()).toEqual([]);
    const [header, ...lines] = readFileSync(join(dir, journalFile()!), 'utf8').trimEnd().split('\n');
    expect(header).toBe(envelopeJson('journaled'));
    expect(lines.pop()).toBe('[0,1,2,3]');
    expect(bodies[0]!.events.map((e) => JSON.stringify(e))).toEqual(lines);
  });

  it('lets go of a batch once it is on disk as a claimed file, and the file of it once delivered', async () => {
    const reporter = start({ maxBatchSize: 2 });
    for (let i = 0; i < 4; i++) reporter.log('step', { i });
    await reporter.flush();
    await vi.advanceTimersByTimeAsync(0);
    expect(bodies).toHaveLength(1);
    expect(await live()).toEqual([2, 3, 4]);
    expect(readdirSync(dir).filter((f) => f.includes('.batch.claimed-'))).toHaveLength(1);
  });

  it('lets go of events delivered without a claimed file, when the spool cannot hold the batch', async () => {
    const reporter = start({ maxSpoolBytes: 10 });
    reporter.log('step');
    expect(await live()).toEqual([0, 1]);
    answers = [{ kind: 'ok', status: 200 }];
    expect(await reporter.flush({ sync: true })).toBe(true);
    expect(readdirSync(dir).filter((f) => f.includes('.batch'))).toEqual([]);
    expect(await live()).toEqual([]);
  });

  it('lets go of events dropped and counted: rejected, or displaced from a full queue by SESSION_END', async () => {
    const reporter = start({ maxSpoolBytes: 10, maxQueueSize: 2 });
    reporter.log('a');
    expect(await live()).toEqual([0, 1]);
    answers = [{ kind: 'rejected', status: 400 }];
    expect(await reporter.flush({ sync: true })).toBe(false);
    expect(await live()).toEqual([]);
    reporter.log('b');
    reporter.log('c');
    const stopped = reporter.stop(50);
    // SESSION_END displaced `c` (index 3), counted queue_full.
    expect(reporter.stats().dropped.queue_full).toBe(1);
    expect(await live()).toEqual([2, 4]);
    await vi.advanceTimersByTimeAsync(50);
    await stopped;
  });

  it('is deleted when the session ends with everything delivered', async () => {
    const reporter = start();
    reporter.log('a');
    expect(journalFile()).toBeDefined();
    answers = [
      { kind: 'ok', status: 200 },
      { kind: 'ok', status: 200 },
    ];
    expect(await reporter.stop()).toBe(true);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('is deleted when the stop deadline leaves the rest in the spool, whose files hold every event once', async () => {
    const reporter = start({ maxBatchSize: 2 });
    for (let i = 0; i < 4; i++) reporter.log('step', { i });
    const stopped = reporter.stop(50);
    await vi.advanceTimersByTimeAsync(50);
    expect(await stopped).toBe(false);
    const files = readdirSync(dir);
    expect(files.every((f) => f.endsWith('.batch'))).toBe(true);
    const indices = files.flatMap((f) => (JSON.parse(readFileSync(join(dir, f), 'utf8')) as WireBody).events.map((e) => e.event_session_index));
    expect(indices.sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(reporter.stats()).toMatchObject({ spooled: 6, recovered: 0 });
  });

  it('counts as spool_overflow the files evicted to make room for a crashed reporter’s events, while the reporter is being built', async () => {
    const envelope = envelopeJson('crashed');
    const event = (i: number) =>
      JSON.stringify({
        event: 'GENERIC_EVENT',
        event_id: `crashed-${i}`,
        event_session_index: i,
        severity: 'INFO',
        timestamp: '2026-01-02T03:04:05.678Z',
        event_name: 'e',
        event_data: {},
      });
    const older = `${envelope.slice(0, -1)},"events":[${event(0)}]}`.replace('"crashed"', '"older"');
    writeFileSync(join(dir, `001700000000000-000000000-33333333-3333-4333-8333-333333333333-1-${Buffer.byteLength(older)}.batch`), older);
    // Above the kernel's largest pid: a process that is surely dead.
    writeFileSync(join(dir, '2147483646-0000dead.journal'), `${envelope}\n${event(0)}\n${event(1)}\n`);
    answers = Array.from({ length: 3 }, () => ({ kind: 'ok', status: 200 }) as const);
    const reporter = start({ maxSpoolBytes: Buffer.byteLength(older) + 200 });
    expect(reporter.stats()).toMatchObject({ recovered: 2, dropped: { spool_overflow: 1 } });
    await vi.advanceTimersByTimeAsync(0);
    expect(bodies[0]).toMatchObject({ session_id: 'crashed', events: [{ event_id: 'crashed-0' }, { event_id: 'crashed-1' }] });
    expect(reporter.stats()).toMatchObject({ replayed: 2 });
    expect(await reporter.stop()).toBe(true);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('never holds the API key: the journal, the batch in flight and the spooled batches are all redacted', async () => {
    const key = 'sk-test-0123456789abcdef';
    const contents = () => readdirSync(dir).map((f) => readFileSync(join(dir, f), 'utf8'));
    const reporter = start({ maxBatchSize: 2 });
    reporter.log(`step ${key}`, { header: { 'X-API-Key': key }, [key]: 'as a key' });
    reporter.logException(new Error(`401 for ${key}`));
    reporter.log('later', { echo: key });
    await vi.advanceTimersByTimeAsync(0);
    // Mid-session: the journal holds the queued event, a claimed file the batch in flight.
    expect(readdirSync(dir).some((f) => f.endsWith('.journal'))).toBe(true);
    expect(readdirSync(dir).some((f) => f.includes('.batch.claimed-'))).toBe(true);
    expect(contents().join('\n')).toContain('[redacted]');
    expect(contents().join('\n')).not.toContain(key);
    const stopped = reporter.stop(50);
    await vi.advanceTimersByTimeAsync(50);
    expect(await stopped).toBe(false);
    expect(readdirSync(dir).every((f) => f.endsWith('.batch'))).toBe(true);
    expect(contents().join('\n')).toContain('[redacted]');
    expect(contents().join('\n')).not.toContain(key);
  });

  it('is not written without spoolDir, and recovered is always 0', async () => {
    const reporter = start({ spoolDir: undefined });
    reporter.log('a');
    await Promise.resolve();
    expect(readdirSync(dir)).toEqual([]);
    expect(reporter.stats().recovered).toBe(0);
    answers = [
      { kind: 'ok', status: 200 },
      { kind: 'ok', status: 200 },
    ];
    await reporter.stop();
  });
});
