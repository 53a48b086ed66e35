/**
 * A crash during a send loses nothing with `spoolDir`: a child process
 * (`test/fixtures/spool-writer.ts`) sends to a sink that never answers and is
 * killed with SIGKILL mid-request; a reporter started afterwards on the same
 * directory resends the batch, and every accepted event reaches a good sink
 * exactly once, with its original id, session and idempotency key.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { type IncomingHttpHeaders, type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { createConfig, startReporter } from '../src/index.js';
import type { TelemetryReporter } from '../src/reporter.js';
import type { WireBody } from '../src/wire.js';
import { recordingLogger } from './helpers.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const FIXTURE = 'test/fixtures/spool-writer.ts';
const CHILD_TIMEOUT_MS = 15_000;
const EVENTS = 40;

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

/** Resolves once the child's stdout has printed `text`; rejects when it exits first or after CHILD_TIMEOUT_MS. */
function printed(child: ChildProcess, output: { out: string; err: string }, text: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${FIXTURE} did not print ${text} within ${CHILD_TIMEOUT_MS} ms\n${output.out}\n${output.err}`)), CHILD_TIMEOUT_MS);
    const check = () => {
      if (!output.out.includes(text)) return;
      clearTimeout(timer);
      child.stdout!.off('data', check);
      resolve();
    };
    child.stdout!.on('data', check);
    child.once('exit', () => {
      clearTimeout(timer);
      reject(new Error(`${FIXTURE} exited before printing ${text}\n${output.out}\n${output.err}`));
    });
    check();
  });
}

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
        reject(error as Error);
      },
    );
  });
}

describe('spool after a crash', () => {
  it('resends the batch in flight when the process was killed with SIGKILL, every accepted event exactly once', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'spool-crash-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const hanging = await sink(true);
    cleanups.push(() => hanging.close());

    const output = { out: '', err: '' };
    const child = spawn(process.execPath, ['--import', 'tsx', FIXTURE], {
      cwd: ROOT,
      env: { ...process.env, TINKER_BASE_URL: hanging.url, SPOOL_DIR: dir, EVENTS: String(EVENTS) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    cleanups.push(() => void child.kill('SIGKILL'));
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (output.out += chunk));
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (output.err += chunk));
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.once('exit', (_code, signal) => resolve(signal)));

    await printed(child, output, `accepted ${EVENTS}`);
    await printed(child, output, 'in flight');
    await within(hanging.arrived, 'the request reaching the hanging sink');
    child.kill('SIGKILL');
    expect(await within(exited, 'the child dying')).toBe('SIGKILL');

    // What the child sent and never heard back about: SESSION_START and every accepted event.
    expect(hanging.received).toHaveLength(1);
    const lost = JSON.parse(hanging.received[0]!.raw) as WireBody;
    expect(lost.events.map((e) => e.event_session_index)).toEqual(Array.from({ length: EVENTS + 1 }, (_, i) => i));
    expect(readdirSync(dir)).toEqual([expect.stringMatching(new RegExp(`\\.batch\\.claimed-${child.pid}-[0-9a-f]{8}$`)) as string]);

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
    expect(fromChild).toHaveLength(1);
    expect(fromChild[0]!.raw).toBe(hanging.received[0]!.raw);
    expect(fromChild[0]!.headers['x-idempotency-key']).toBe(hanging.received[0]!.headers['x-idempotency-key']);
    const ids = good.received.flatMap((r) => (JSON.parse(r.raw) as WireBody).events.map((e) => e.event_id));
    expect(new Set(ids).size).toBe(ids.length);
    for (const event of lost.events) expect(ids.filter((id) => id === event.event_id)).toHaveLength(1);
    expect(reporter.stats()).toMatchObject({ replayed: EVENTS + 1, spoolCorrupt: 0, spoolErrors: 0, deliveredCounter: 2 });
    expect(readdirSync(dir)).toEqual([]);
    expect(log.records.filter((r) => r.level !== 'debug')).toEqual([]);
  });
});
