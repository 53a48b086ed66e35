/**
 * A crash loses nothing with `spoolDir`: a child process
 * (`test/fixtures/spool-writer.ts`) sends its first batch to a sink that
 * never answers, with the rest of its events still queued, and is killed with
 * SIGKILL mid-request. A reporter started afterwards on the same directory
 * resends the batch that was in flight (byte for byte, same idempotency key)
 * and recovers the queued events from the dead reporter's journal: every
 * accepted event reaches a good sink exactly once, with its original id and
 * session.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { type IncomingHttpHeaders, type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createConfig, startReporter } from '../src/index.js';
import type { TelemetryReporter } from '../src/reporter.js';
import type { WireBody } from '../src/core/wire.js';
import { killAll, runScript } from './child.js';
import { recordingLogger } from './helpers.js';

const FIXTURE = 'test/fixtures/spool-writer.ts';
const CHILD_TIMEOUT_MS = 15_000;
const EVENTS = 40;
/** Events per batch in the child: SESSION_START and 9 events in flight, 31 queued. */
const BATCH = 10;

interface Received {
  raw: string;
  headers: IncomingHttpHeaders;
}

/** A sink on 127.0.0.1 that records each request and answers 200, or never answers when `hang`. */
async function sink(hang: boolean): Promise<{ url: string; received: Received[]; arrived: Promise<void>; close(): Promise<void> }> {
  const received: Received[] = [];
  let arrivedResolve: () => void = () => undefined;
  const arrived = new Promise<void>((resolve) => (arrivedResolve = resolve));
  const server: Server = createServer((req, res) => {
    let raw = '';
    req.setEncoding('utf8').on('data', (chunk: string) => (raw += chunk));
    req.on('end', () => {
      received.push({ raw, headers: req.headers });
      arrivedResolve();
      if (!hang) res.writeHead(200).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    arrived,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function within<T>(promise: Promise<T>, what: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what} did not happen within ${CHILD_TIMEOUT_MS} ms`)), CHILD_TIMEOUT_MS);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}

/**
 * A spool directory and a sink that never answers, then `fixture` started
 * against both with `env`; the child is killed after the test if still alive.
 */
async function crashSetup(prefix: string, fixture: string, env: Record<string, string>) {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const hanging = await sink(true);
  cleanups.push(() => hanging.close());
  const run = runScript(fixture, { env: { ...process.env, TINKER_BASE_URL: hanging.url, SPOOL_DIR: dir, ...env }, timeoutMs: CHILD_TIMEOUT_MS });
  cleanups.push(killAll);
  return { dir, hanging, run };
}

describe('spool after a crash', () => {
  it('resends the batch in flight and recovers the queued events when the process was killed with SIGKILL, every accepted event exactly once', async () => {
    const { dir, hanging, run } = await crashSetup('spool-crash-', FIXTURE, { EVENTS: String(EVENTS), BATCH: String(BATCH) });

    await run.printed(`accepted ${EVENTS}`);
    await run.printed('in flight');
    await within(hanging.arrived, 'the request reaching the hanging sink');
    run.child.kill('SIGKILL');
    expect(await run.exited).toEqual({ code: null, signal: 'SIGKILL' });

    // What the child sent and never heard back about: its first batch. The rest was still queued.
    expect(hanging.received).toHaveLength(1);
    const lost = JSON.parse(hanging.received[0]!.raw) as WireBody;
    expect(lost.events.map((e) => e.event_session_index)).toEqual(Array.from({ length: BATCH }, (_, i) => i));
    const owner = `${run.child.pid}-[0-9a-f]{8}`;
    expect(readdirSync(dir).sort()).toEqual([
      expect.stringMatching(new RegExp(`\\.batch\\.claimed-${owner}$`)) as string,
      expect.stringMatching(new RegExp(`^${owner}\\.journal$`)) as string,
    ]);

    const good = await sink(false);
    cleanups.push(() => good.close());
    const log = recordingLogger();
    const reporter = startReporter({
      config: createConfig({ apiKey: 'sk-test-0123456789abcdef', baseUrl: good.url }),
      sessionId: 'after-crash',
      enabled: true,
      attachEvents: false,
      drainOnExit: false,
      spoolDir: dir,
      logger: log.logger,
    }) as TelemetryReporter;
    expect(await within(reporter.stop(), 'the second reporter stopping')).toBe(true);

    const fromChild = good.received.filter((r) => (JSON.parse(r.raw) as WireBody).session_id === lost.session_id);
    // The batch in flight is resent as it was; the queued events come after it, in batches of the new reporter's size.
    expect(fromChild[0]!.raw).toBe(hanging.received[0]!.raw);
    expect(fromChild[0]!.headers['x-idempotency-key']).toBe(hanging.received[0]!.headers['x-idempotency-key']);
    const childEvents = fromChild.flatMap((r) => (JSON.parse(r.raw) as WireBody).events);
    expect(childEvents.map((e) => e.event_session_index)).toEqual(Array.from({ length: EVENTS + 1 }, (_, i) => i));
    expect(childEvents.map((e) => e.event)).toEqual(['SESSION_START', ...Array<string>(EVENTS).fill('GENERIC_EVENT')]);
    expect(childEvents.slice(1).map((e) => (e as unknown as { event_data: { i: number } }).event_data.i)).toEqual(Array.from({ length: EVENTS }, (_, i) => i));
    const ids = good.received.flatMap((r) => (JSON.parse(r.raw) as WireBody).events.map((e) => e.event_id));
    expect(new Set(ids).size).toBe(ids.length);
    expect(reporter.stats()).toMatchObject({ recovered: EVENTS + 1 - BATCH, replayed: EVENTS + 1, spoolCorrupt: 0, spoolErrors: 0 });
    expect(readdirSync(dir)).toEqual([]);
    expect(log.records.filter((r) => r.level !== 'debug' && r.level !== 'info')).toEqual([]);
    expect(log.records.filter((r) => r.level === 'info').map((r) => r.msg)).toContain(
      `Telemetry recovered ${EVENTS + 1 - BATCH} unsent events of session ${lost.session_id}, whose process ended without stopping`,
    );
  });

  it('recovers what a fatal exception left unsent at its deadline, after the process has exited with its crash code', async () => {
    const { dir, hanging, run } = await crashSetup('spool-fatal-', 'test/fixtures/process-lifecycle.ts', {
      SCENARIO: 'throw',
      FLUSH_TIMEOUT_MS: '300',
      BATCH: '2',
    });
    expect(await run.exited).toEqual({ code: 1, signal: null });
    expect(run.stderr()).toContain('fixture boom');
    // SESSION_START and the first step were in flight; the rest, the exception and SESSION_END were queued.
    expect(hanging.received).toHaveLength(1);
    const lost = JSON.parse(hanging.received[0]!.raw) as WireBody;
    expect(lost.events.map((e) => e.event_session_index)).toEqual([0, 1]);

    const good = await sink(false);
    cleanups.push(() => good.close());
    const reporter = startReporter({
      config: createConfig({ apiKey: 'sk-test-0123456789abcdef', baseUrl: good.url }),
      sessionId: 'after-fatal',
      enabled: true,
      attachEvents: false,
      drainOnExit: false,
      spoolDir: dir,
      logger: recordingLogger().logger,
    }) as TelemetryReporter;
    expect(await within(reporter.stop(), 'the second reporter stopping')).toBe(true);

    const fromChild = good.received.map((r) => JSON.parse(r.raw) as WireBody).filter((body) => body.session_id === lost.session_id);
    const events = fromChild.flatMap((body) => body.events);
    expect(events.map((e) => [e.event_session_index, e.event])).toEqual([
      [0, 'SESSION_START'],
      [1, 'GENERIC_EVENT'],
      [2, 'GENERIC_EVENT'],
      [3, 'GENERIC_EVENT'],
      [4, 'UNHANDLED_EXCEPTION'],
      [5, 'SESSION_END'],
    ]);
    expect(events[4]).toMatchObject({ error_type: 'Error', error_message: 'fixture boom', severity: 'CRITICAL' });
    expect(new Set(events.map((e) => e.event_id)).size).toBe(6);
    expect(reporter.stats()).toMatchObject({ recovered: 4, replayed: 6, spoolCorrupt: 0, spoolErrors: 0 });
    expect(readdirSync(dir)).toEqual([]);
  });
});
