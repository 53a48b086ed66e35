/**
 * The bounds a caller cannot break: the queue's bytes (`maxQueueBytes`), a
 * name longer than a whole event, and a send path that never throws out of
 * the library, whatever fails inside it.
 */
import { createServer, type Server } from 'node:http';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Clock } from '../src/core/clock.js';
import { lastSnapshotChars, toEventData } from '../src/core/serialize.js';
import { EVENT_OVERHEAD_BYTES, MEASURED_FROM_CHARS, WIRE_BYTES_PER_CHAR, eventBytesAtMost, type WireBody } from '../src/core/wire.js';
import { killAll, runScript } from './child.js';
import { TEST_CONFIG, eventsOf, startTestReporter, stopNow } from './helpers.js';

const KEY = TEST_CONFIG.apiKey;

/** What `log(name, data)` of an event not measured counts against `maxQueueBytes`, by the same functions the reporter uses. */
function expectedBytes(name: string, data: unknown, maxEventBytes = 65_536): number {
  toEventData(data, maxEventBytes, KEY);
  const chars = name.length + lastSnapshotChars();
  if (chars > MEASURED_FROM_CHARS) throw new Error(`an event of ${chars} code units is measured, not bounded`);
  return eventBytesAtMost(chars, WIRE_BYTES_PER_CHAR, maxEventBytes);
}

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('maxQueueBytes', () => {
  it('accepts an event that fills the queue to maxQueueBytes exactly, refuses the next as queue_bytes, and warns once for the episode', async () => {
    const data = { text: 'y'.repeat(500) };
    const each = expectedBytes('e', data, 1024);
    // SESSION_START is queued first and counts its fixed fields; the smallest maxQueueBytes for 1024 is 2560.
    const max = EVENT_OVERHEAD_BYTES + 3 * each;
    expect(max).toBeGreaterThanOrEqual(2560);
    const { reporter, log } = startTestReporter({ maxEventBytes: 1024, maxQueueBytes: max, flushIntervalMs: 60_000 });
    expect(reporter.stats().queueBytes).toBe(EVENT_OVERHEAD_BYTES);
    expect([1, 2, 3].map(() => reporter.log('e', data))).toEqual([true, true, true]);
    expect(reporter.stats().queueBytes).toBe(max);
    expect(reporter.log('e', data)).toBe(false);
    expect(reporter.log('e', {})).toBe(false);
    expect(reporter.stats().dropped.queue_bytes).toBe(2);
    expect(reporter.stats().dropped.queue_full).toBe(0);
    expect(reporter.stats().pushCounter).toBe(4);
    const warnings = log.records.filter((r) => r.level === 'warn' && r.msg?.includes('maxQueueBytes'));
    expect(warnings.map((r) => r.msg)).toEqual([`Telemetry queue holds maxQueueBytes (${max} bytes), dropping event`]);
    await stopNow(reporter);
  });

  it('counts an exception by its fields: refused when they would cross the bound, though its fixed fields alone would fit', async () => {
    const { reporter } = startTestReporter({ maxEventBytes: 1024, maxQueueBytes: 2560, flushIntervalMs: 60_000 });
    // A queued exception would start a flush; a queued ordinary event does not, so the bytes stay counted.
    expect(reporter.log('fill', { pad: 'p'.repeat(500) })).toBe(true);
    expect(reporter.log('fill', { pad: 'p'.repeat(100) })).toBe(true);
    const room = 2560 - reporter.stats().queueBytes;
    expect(room).toBe(2560 - EVENT_OVERHEAD_BYTES - 1024 - expectedBytes('fill', { pad: 'p'.repeat(100) }));
    // "Error" and a message of 1 leave room for a stack of `fits` code units, at 6 bytes each.
    const fits = Math.floor((room - EVENT_OVERHEAD_BYTES) / WIRE_BYTES_PER_CHAR) - 6;
    const tooLarge = Object.assign(new Error('m'), { stack: 's'.repeat(fits + 1) });
    expect(reporter.logException(tooLarge)).toBe(false);
    expect(reporter.stats().dropped.queue_bytes).toBe(1);
    expect(reporter.stats().queueBytes).toBe(2560 - room);
    expect(reporter.logException(Object.assign(new Error('m'), { stack: 's'.repeat(fits) }))).toBe(true);
    expect(reporter.stats()).toMatchObject({ pushCounter: 4, dropped: expect.objectContaining({ queue_bytes: 1 }) });
    await stopNow(reporter);
  });

  it('never refuses SESSION_END: stop() queues and delivers it when the bytes are full', async () => {
    const data = { text: 'z'.repeat(500) };
    const max = EVENT_OVERHEAD_BYTES + 3 * expectedBytes('e', data, 1024);
    const { reporter, wire } = startTestReporter({ maxEventBytes: 1024, maxQueueBytes: max, flushIntervalMs: 60_000 }, () => ({ kind: 'ok', status: 200 }));
    expect([1, 2, 3, 4].map(() => reporter.log('e', data))).toEqual([true, true, true, false]);
    expect(reporter.stats().queueBytes).toBe(max);
    await expect(reporter.stop(1000)).resolves.toBe(true);
    expect(eventsOf(wire.sent).map((e) => e.event)).toEqual(['SESSION_START', 'GENERIC_EVENT', 'GENERIC_EVENT', 'GENERIC_EVENT', 'SESSION_END']);
  });

  it('frees the bytes of events taken into a batch: the batch in flight is not counted', async () => {
    const { reporter, wire } = startTestReporter({ flushIntervalMs: 0 });
    reporter.log('e', { n: 1 });
    expect(reporter.stats().queueBytes).toBeGreaterThan(EVENT_OVERHEAD_BYTES * 2);
    void reporter.flush();
    await vi.advanceTimersByTimeAsync(0);
    expect(wire.pending).toHaveLength(1);
    expect(reporter.stats()).toMatchObject({ queueBytes: 0, inFlight: 2 });
    wire.answerAll();
    await stopNow(reporter);
  });
});

describe('code of the caller that runs while log() takes its snapshot', () => {
  it('cannot make log() accept an event past maxQueueSize: a getter that fills the queue meanwhile gets the event refused and counted', async () => {
    const { reporter } = startTestReporter({ maxQueueSize: 3, flushIntervalMs: 60_000 });
    const filler = {
      get field() {
        reporter.log('inner');
        return 1;
      },
    };
    // SESSION_START and one event leave one place; the getter takes it while the outer event is built.
    expect(reporter.log('first')).toBe(true);
    expect(reporter.log('outer', filler)).toBe(false);
    const stats = reporter.stats();
    expect(stats).toMatchObject({ queueSize: 3, pushCounter: 3, dropped: expect.objectContaining({ queue_full: 1 }) });
    await stopNow(reporter);
    const after = reporter.stats();
    expect(after.pushCounter).toBe(after.flushCounter + after.queueSize + after.inFlight);
  });

  it('gives each event its own index when a getter logs while the outer event is built', async () => {
    const { reporter, wire } = startTestReporter({}, () => ({ kind: 'ok', status: 200 }));
    reporter.log('outer', {
      get field() {
        reporter.log('inner');
        return 1;
      },
    });
    await reporter.stop(1000);
    const indices = eventsOf(wire.sent).map((e) => e.event_session_index);
    expect(indices).toEqual([0, 1, 2, 3]);
    expect(eventsOf(wire.sent).map((e) => (e.event === 'GENERIC_EVENT' ? e.event_name : e.event))).toEqual(['SESSION_START', 'inner', 'outer', 'SESSION_END']);
  });

  it('refuses the event as after_stop when a getter ends the session meanwhile, so nothing follows SESSION_END', async () => {
    const { reporter, wire } = startTestReporter({}, () => ({ kind: 'ok', status: 200 }));
    let stopped: Promise<boolean> | undefined;
    expect(
      reporter.log('outer', {
        get field() {
          stopped = reporter.stop(1000);
          return 1;
        },
      }),
    ).toBe(false);
    expect(reporter.stats().dropped.after_stop).toBe(1);
    await stopped;
    expect(eventsOf(wire.sent).map((e) => e.event)).toEqual(['SESSION_START', 'SESSION_END']);
  });

  it('refuses an exception whose message getter fills the queue meanwhile', async () => {
    const { reporter } = startTestReporter({ maxQueueSize: 2, flushIntervalMs: 60_000 });
    const error = new Error('boom');
    Object.defineProperty(error, 'message', {
      get() {
        reporter.log('inner');
        return 'boom';
      },
    });
    expect(reporter.logException(error)).toBe(false);
    // The getter runs for the message and again for the traceback: its first log takes the last place, its second
    // is refused, and so is the exception itself.
    expect(reporter.stats()).toMatchObject({ pushCounter: 2, queueSize: 2, dropped: expect.objectContaining({ queue_full: 2 }) });
    await stopNow(reporter);
  });
});

describe('warnings about refused names and severities', () => {
  it('are said once per kind and type of value, however many distinct values are refused', async () => {
    const { reporter, log } = startTestReporter();
    for (let i = 0; i < 50; i++) reporter.log('e', {}, `loud-${i}` as never);
    reporter.log('e', {}, 7 as never);
    expect(reporter.stats().dropped.invalid).toBe(51);
    const warnings = log.records.filter((r) => r.level === 'warn' && r.msg?.startsWith('Telemetry event refused: severity'));
    expect(warnings.map((r) => r.msg)).toEqual([
      'Telemetry event refused: severity "loud-0" is not one of debug, info, warning, error, critical',
      'Telemetry event refused: severity `7` (number) is not one of debug, info, warning, error, critical',
    ]);
    await stopNow(reporter);
  });
});

describe('a name longer than maxEventBytes', () => {
  it('is cut when logged, with the key redacted before the cut, and counts only what is kept', async () => {
    const name = `${'n'.repeat(1020)}${KEY}${'n'.repeat(5000)}`;
    const { reporter, wire } = startTestReporter({ maxEventBytes: 1024 }, () => ({ kind: 'ok', status: 200 }));
    expect(reporter.log(name)).toBe(true);
    expect(reporter.stats().queueBytes).toBeLessThan(EVENT_OVERHEAD_BYTES * 2 + 1024 + 64);
    await reporter.stop(1000);
    const sent = JSON.stringify(wire.sent);
    for (let i = 0; i + 8 <= KEY.length; i++) expect(sent).not.toContain(KEY.slice(i, i + 8));
    const event = eventsOf(wire.sent).find((e) => e.event === 'GENERIC_EVENT') as { event_name: string };
    expect(event.event_name.startsWith('n'.repeat(500))).toBe(true);
    // Cut twice, at log() to about maxEventBytes and when sent to fit the event: the last count is of the first cut, not of the name.
    const [, kept = '', omitted = ''] = /^(n*)…\[truncated (\d+) chars\]$/.exec(event.event_name) ?? [];
    expect(kept.length + Number(omitted)).toBeGreaterThan(1024);
    expect(kept.length + Number(omitted)).toBeLessThan(1024 + 64);
  });
});

describe('the send path never throws out of the library', () => {
  it('retries and delivers with an injected random that throws', async () => {
    let answers = 0;
    const { reporter, wire, log } = startTestReporter(
      {
        random: () => {
          throw new Error('hostile random');
        },
        retryBaseDelayMs: 10,
      },
      () => (++answers === 1 ? { kind: 'retryable', reason: 'down' } : { kind: 'ok', status: 200 }),
    );
    reporter.log('e');
    const stopped = reporter.stop(1000);
    await vi.advanceTimersByTimeAsync(100);
    await expect(stopped).resolves.toBe(true);
    expect(reporter.stats()).toMatchObject({ deliveredCounter: 3, dropped: expect.objectContaining({ internal_error: 0 }) });
    expect(wire.sent).toHaveLength(2);
    expect(log.records.filter((r) => r.level === 'error')).toEqual([]);
  });

  it('drops a batch whose send fails inside the library as internal_error, warns once, and delivers the next batch', async () => {
    let hostile = false;
    const clock: Clock = {
      now: () => {
        if (hostile) throw new Error('hostile clock');
        return Date.now();
      },
      setTimeout: (fn, ms) => setTimeout(fn, ms),
      clearTimeout: (id) => clearTimeout(id as ReturnType<typeof setTimeout>),
    };
    const { reporter, wire, log } = startTestReporter({ clock, flushIntervalMs: 0 }, () => ({ kind: 'ok', status: 200 }));
    reporter.log('lost', { n: 1 });
    hostile = true;
    await expect(reporter.flush({ sync: true })).resolves.toBe(false);
    hostile = false;
    expect(reporter.stats().dropped.internal_error).toBe(2);
    expect(reporter.stats().state).toBe('idle');
    reporter.log('kept', { n: 2 });
    await expect(reporter.stop(1000)).resolves.toBe(true);
    expect(eventsOf(wire.sent).map((e) => (e.event === 'GENERIC_EVENT' ? e.event_name : e.event))).toEqual(['kept', 'SESSION_END']);
    const stats = reporter.stats();
    expect(stats.pushCounter).toBe(stats.flushCounter + stats.queueSize + stats.inFlight);
    expect(stats.flushCounter).toBe(stats.deliveredCounter + stats.dropped.internal_error);
    const warnings = log.records.filter((r) => r.msg?.includes('internal_error'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({ level: 'warn', obj: { err: { message: 'hostile clock' } } });
  });
});

describe('the fan-out in a real process', () => {
  let server: Server;
  let url: string;
  const bodies: WireBody[] = [];
  beforeEach(async () => {
    vi.useRealTimers();
    bodies.length = 0;
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        bodies.push(JSON.parse(Buffer.concat(chunks).toString('utf8')) as WireBody);
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"accepted"}');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  });
  afterEach(async () => {
    killAll();
    await new Promise((resolve) => server.close(resolve));
  });

  it.each(['0', '1'])('exits 0 and delivers the event logged after it (host unhandledRejection listener: %s)', async (listener) => {
    const run = runScript('test/fixtures/fanout.ts', { env: { ...process.env, TINKER_BASE_URL: url, HOST_LISTENER: listener }, timeoutMs: 60_000 });
    const exit = await run.exited;
    expect(exit, run.stderr()).toEqual({ code: 0, signal: null });
    const [, accepted, drained, rejections, statsJson] = /^stopped (\w+) (\w+) (\d+) (.*)$/m.exec(run.stdout()) ?? [];
    expect({ accepted, drained, rejections }).toEqual({ accepted: 'true', drained: 'true', rejections: '0' });
    const stats = JSON.parse(statsJson!) as { pushCounter: number; flushCounter: number; deliveredCounter: number; dropped: Record<string, number> };
    const names = eventsOf(bodies).map((e) => (e.event === 'GENERIC_EVENT' ? e.event_name : e.event));
    expect(names).toContain('after.fanout');
    expect(names.at(-1)).toBe('SESSION_END');
    // The fan-out itself is delivered (cut to fit) or counted; never lost without a count.
    expect(stats.flushCounter).toBe(stats.pushCounter);
    expect(stats.deliveredCounter + stats.dropped.internal_error!).toBe(stats.pushCounter);
    expect(stats.deliveredCounter).toBe(eventsOf(bodies).length);
  });
});
