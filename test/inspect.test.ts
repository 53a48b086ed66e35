/**
 * The `inspect` option: an XState inspection observer, such as the Stately
 * inspector's `inspector.inspect`, sees every transition of the reporter's
 * machine; and a WebSocket inspector attached that way does not keep the
 * process alive.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { type StatelyInspectionEvent, createInspector } from '@statelyai/inspect';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { InspectionEvent } from 'xstate';
import { createConfig } from '../src/config.js';
import type { ReporterOptions } from '../src/options.js';
import { type TelemetryReporter, startReporter } from '../src/reporter.js';
import { manualTransport, recordingLogger, settle } from './helpers.js';

const config = createConfig({ apiKey: 'sk-inspect-0123456789', baseUrl: 'http://127.0.0.1:9' });
const ok = { kind: 'ok', status: 200 } as const;

function start(inspect: ReporterOptions['inspect']) {
  const wire = manualTransport();
  const reporter = startReporter({
    config,
    sessionId: 'inspected',
    enabled: true,
    attachEvents: false,
    flushIntervalMs: 1000,
    retryBaseDelayMs: 100,
    random: () => 0,
    transport: wire.transport,
    logger: recordingLogger().logger,
    inspect,
  }) as TelemetryReporter;
  return { reporter, wire };
}

/**
 * Start (idle, then batching on SESSION_START), the flush timer, a 503 that
 * is retried after the backoff, an ACK back to idle, one more event, and a
 * stop that drains it. The Stately inspector hands each event on from a 0 ms
 * timer, which fake timers turn into 1 ms when it is set inside a timer; so
 * 1 ms passes after each step, as it would in real time, and the hand-offs
 * keep their order.
 */
async function runLifecycle(reporter: TelemetryReporter, wire: ReturnType<typeof manualTransport>): Promise<void> {
  const step = () => vi.advanceTimersByTimeAsync(1);
  await vi.advanceTimersByTimeAsync(1000);
  await step();
  wire.answer({ kind: 'retryable', status: 503, reason: 'HTTP 503' });
  await settle();
  await step();
  await vi.advanceTimersByTimeAsync(99);
  await step();
  wire.answer(ok);
  await settle();
  await step();
  reporter.log('after.idle');
  const stopped = reporter.stop(5000);
  await settle();
  wire.answerAll(ok);
  expect(await stopped).toBe(true);
  await vi.runOnlyPendingTimersAsync();
}

const EXPECTED = [
  ['idle', 'xstate.init'],
  ['batching', 'LOG'],
  ['sending', 'xstate.after.flushInterval.reporter.batching'],
  ['retrying', 'FAIL'],
  ['sending', 'xstate.after.retryBackoff.reporter.retrying'],
  ['idle', 'ACK'],
  ['batching', 'LOG'],
  [{ draining: 'sending' }, 'STOP'],
  ['ended', 'ACK'],
];

/** A machine snapshot's state value (the type of an inspected snapshot does not promise one). */
function valueOf(snapshot: unknown): unknown {
  return (snapshot as { value?: unknown }).value;
}

/** Consecutive duplicates removed: FLUSH or STOP while sending changes the context, not the state. */
function changes(values: [unknown, string][]): [unknown, string][] {
  return values.filter((v, i) => i === 0 || JSON.stringify(v[0]) !== JSON.stringify(values[i - 1]![0]));
}

describe('inspect option', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: new Date('2026-01-02T03:04:05.678Z') });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('gives an observer with next() a snapshot of every transition, from idle to ended', async () => {
    const seen: [unknown, string][] = [];
    const { reporter, wire } = start({
      next(event: InspectionEvent) {
        // The root actor only: the sendBatch actors it invokes report their own snapshots.
        if (event.type === '@xstate.snapshot' && event.actorRef.sessionId === event.rootId) {
          seen.push([valueOf(event.snapshot), event.event.type]);
        }
      },
    });
    await runLifecycle(reporter, wire);
    expect(changes(seen)).toEqual(EXPECTED);
    expect(reporter.stats().state).toBe('ended');
  });

  it('feeds the Stately inspector (createInspector with an in-memory adapter) the machine and its snapshots', async () => {
    const received: StatelyInspectionEvent[] = [];
    const inspector = createInspector({ send: (event) => received.push(event) });
    const { reporter, wire } = start(inspector.inspect);
    await runLifecycle(reporter, wire);

    const machineActor = received.find((e) => e.type === '@xstate.actor' && e.name === 'reporter');
    expect(machineActor, 'the reporter machine is registered with the inspector').toBeDefined();
    const definition = JSON.parse((machineActor as { definition: string }).definition) as { id: string; states: Record<string, unknown> };
    expect(definition.id).toBe('reporter');
    // The package serialises the definition with sorted keys.
    expect(Object.keys(definition.states)).toEqual(['batching', 'draining', 'ended', 'idle', 'retrying', 'sending']);

    const snapshots = received
      .filter(
        (e): e is Extract<StatelyInspectionEvent, { type: '@xstate.snapshot' }> => e.type === '@xstate.snapshot' && e.sessionId === machineActor!.sessionId,
      )
      .map((e): [unknown, string] => [valueOf(e.snapshot), e.event.type]);
    expect(changes(snapshots)).toEqual(EXPECTED);
  });

  it('keeps reporting when the observer throws', async () => {
    let calls = 0;
    const { reporter, wire } = start(() => {
      calls++;
      throw new Error('inspector broke');
    });
    expect(reporter.log('still.works')).toBe(true);
    const stopped = reporter.stop(5000);
    await settle();
    wire.answerAll(ok);
    expect(await stopped).toBe(true);
    expect(calls).toBeGreaterThan(0);
    expect(wire.sent.flatMap((b) => b.events.map((e) => e.event))).toEqual(['SESSION_START', 'GENERIC_EVENT', 'SESSION_END']);
  });
});

// Real processes, awaited until they exit; nothing here sleeps.
const ROOT = fileURLToPath(new URL('..', import.meta.url));
/** Generous for a cold tsx start on a busy machine, well inside vitest's 20 s. */
const CHILD_TIMEOUT_MS = 15_000;
const children = new Set<ChildProcess>();

afterEach(() => {
  for (const child of children) child.kill('SIGKILL');
  children.clear();
});

interface Finished {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs `node --import tsx …args` from the repository root and resolves when it exits; fails when it is still running after CHILD_TIMEOUT_MS. */
function runNode(args: readonly string[]): Promise<Finished> {
  const child = spawn(process.execPath, ['--import', 'tsx', ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(
        new Error(`node ${args.join(' ').slice(0, 80)} was still running after ${CHILD_TIMEOUT_MS} ms\n--- stdout ---\n${stdout}\n--- stderr ---\n${stderr}`),
      );
    }, CHILD_TIMEOUT_MS);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    // `close` waits for stdout and stderr to be fully read.
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      children.delete(child);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** A port free on this machine a moment ago (the relay of @statelyai/inspect cannot take port 0). */
async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

describe('a WebSocket inspector in a real process', () => {
  it('with autoStart: false, never connects and does not keep the process alive', async () => {
    // No relay anywhere: a started inspector would retry forever (see examples/inspect/websocket.ts).
    const script = `
      import { createWebSocketInspector } from '@statelyai/inspect';
      import { createConfig, startReporter } from './src/index.js';
      const inspector = createWebSocketInspector({ url: 'ws://127.0.0.1:9', autoStart: false });
      const values = [];
      let handed = 0;
      const reporter = startReporter({
        config: createConfig({ apiKey: 'k', baseUrl: 'http://127.0.0.1:9' }),
        sessionId: 'child', enabled: true, attachEvents: false, flushIntervalMs: 0,
        transport: { send: async () => ({ kind: 'ok', status: 200 }) },
        inspect: {
          next(event) {
            handed++;
            if (event.type === '@xstate.snapshot' && event.actorRef.sessionId === event.rootId) values.push(event.snapshot.value);
            inspector.inspect.next(event);
          },
        },
      });
      reporter.log('child.step');
      await reporter.flush({ sync: true });
      const drained = await reporter.stop();
      console.log(JSON.stringify({ drained, handed, values }));
      // No inspector.stop(), no process.exit(): the process must end on its own.
    `;
    const run = await runNode(['--input-type=module', '-e', script]);
    expect(run, run.stderr).toMatchObject({ code: 0, signal: null });
    const result = JSON.parse(run.stdout.trim().split('\n').at(-1)!) as { drained: boolean; handed: number; values: unknown[] };
    expect(result.drained).toBe(true);
    expect(result.handed).toBeGreaterThan(result.values.length);
    expect(result.values).toEqual(['idle', 'batching', 'sending', 'idle', { draining: 'sending' }, 'ended']);
  });

  it('examples/inspect/websocket.ts runs with the inspector attached to its relay and exits by itself after stop()', async () => {
    let run: Finished | undefined;
    // The port is probed free, then bound by the child: retry the rare case that something took it in between.
    for (let attempt = 0; attempt < 3 && (run === undefined || /is in use/.test(run.stderr)); attempt++) {
      run = await runNode(['examples/inspect/websocket.ts', '--no-open', '--port', String(await freePort())]);
    }
    expect(run, `${run!.stdout}\n${run!.stderr}`).toMatchObject({ code: 0, signal: null });
    // The last-resort exit timer did not fire: nothing held the process after the shutdown.
    expect(run!.stderr).not.toMatch(/exiting anyway/);
    expect(run!.stdout).toMatch(/sending +→ retrying +on FAIL/);
    expect(run!.stdout).toMatch(/draining\.sending +→ ended +on ACK/);
    expect(run!.stdout).toMatch(/delivered (\d+) of \1 events; drained: true/);
  });
});
