/**
 * The reporter's hooks into the process: `drainOnExit`, `handleSignals` and
 * `captureUncaught`. The registry is tested against an EventEmitter standing
 * in for `process`; the reporter's wiring against the real `process` (its
 * listeners counted, never emitted); and the whole, end to end, in real child
 * processes (`test/fixtures/process-lifecycle.ts`) that send to a loopback
 * sink on 127.0.0.1.
 */
import { EventEmitter } from 'node:events';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { type Sink, startSink } from '../demo/sink.js';
import { createConfig } from '../src/config.js';
import { DEFAULT_OPTIONS, type ReporterOptions, resolveOptions } from '../src/options.js';
import {
  HANDLED_SIGNALS,
  type HandledSignal,
  type HookChoice,
  type HookEvent,
  type HostProcess,
  ProcessHooks,
  type Reraise,
  nodeReraise,
} from '../src/host/process-hooks.js';
import { type TelemetryReporter, startReporter } from '../src/reporter.js';
import { type Running, killAll, runScript } from './child.js';
import { manualTransport, recordingLogger, settle } from './helpers.js';

const config = createConfig({ apiKey: 'sk-test-0123456789abcdef', baseUrl: 'http://127.0.0.1:9' });
const base = { config, sessionId: 's' };

/** resolveOptions' error for `options`, for exact comparison. */
function errorOf(options: Record<string, unknown>): { type: string; message: string; code: unknown } {
  try {
    resolveOptions({ ...base, ...options });
  } catch (error) {
    return { type: (error as Error).constructor.name, message: (error as Error).message, code: (error as { code?: unknown }).code };
  }
  throw new Error('resolveOptions accepted the options');
}

describe('the process options', () => {
  it('default to draining on exit, no signals and no capture, and DEFAULT_OPTIONS says so', () => {
    const resolved = resolveOptions(base);
    expect(resolved.drainOnExit).toBe(true);
    expect(resolved.captureUncaught).toBe(false);
    expect(resolved.handleSignals).toEqual([]);
    expect(Object.isFrozen(resolved.handleSignals)).toBe(true);
    expect(DEFAULT_OPTIONS).toMatchObject({ drainOnExit: true, captureUncaught: false });
    expect(DEFAULT_OPTIONS).not.toHaveProperty('handleSignals');
  });

  it('take the values given, copying and freezing the signal list', () => {
    const signals: HandledSignal[] = ['SIGTERM', 'SIGINT', 'SIGHUP'];
    const resolved = resolveOptions({ ...base, drainOnExit: false, captureUncaught: true, handleSignals: signals });
    signals.pop();
    expect(resolved).toMatchObject({ drainOnExit: false, captureUncaught: true, handleSignals: ['SIGTERM', 'SIGINT', 'SIGHUP'] });
    expect(Object.isFrozen(resolved.handleSignals)).toBe(true);
    expect(HANDLED_SIGNALS).toEqual(['SIGTERM', 'SIGINT', 'SIGHUP']);
  });

  it.each([
    [{ drainOnExit: 'yes' }, 'TypeError', 'Expected `drainOnExit` to be a boolean, got `"yes"` (string)'],
    [{ captureUncaught: 1 }, 'TypeError', 'Expected `captureUncaught` to be a boolean, got `1` (number)'],
    [
      { handleSignals: 'SIGTERM' },
      'TypeError',
      'Expected `handleSignals` to be an array of signal names, each one of SIGTERM, SIGINT, SIGHUP, got `"SIGTERM"` (string)',
    ],
    [{ handleSignals: null }, 'TypeError', 'Expected `handleSignals` to be an array of signal names, each one of SIGTERM, SIGINT, SIGHUP, got `null` (null)'],
    [{ handleSignals: [15] }, 'TypeError', 'Expected `handleSignals[0]` to be a signal name, one of SIGTERM, SIGINT, SIGHUP, got `15` (number)'],
    [{ handleSignals: ['SIGTERM', 'SIGKILL'] }, 'RangeError', 'Expected `handleSignals[1]` to be one of SIGTERM, SIGINT, SIGHUP, got `"SIGKILL"` (string)'],
    [{ handleSignals: ['sigint'] }, 'RangeError', 'Expected `handleSignals[0]` to be one of SIGTERM, SIGINT, SIGHUP, got `"sigint"` (string)'],
  ])('refuses %j with a %s that names the option and the value', (options, type, message) => {
    const error = errorOf(options);
    expect(error).toEqual({
      type,
      message,
      code: type === 'TypeError' ? 'ERR_TINKER_TELEMETRY_INVALID_OPTION' : 'ERR_TINKER_TELEMETRY_OPTION_OUT_OF_RANGE',
    });
  });

  it('knows the new names, and suggests them for a near miss', () => {
    expect(errorOf({ drainOnexit: true }).message).toMatch(/^Unknown option `drainOnexit` for startReporter\. Did you mean `drainOnExit`\?/);
    expect(errorOf({ handleSignal: [] }).message).toMatch(/Did you mean `handleSignals`\?/);
    expect(errorOf({ captureUncaugth: true }).message).toMatch(/Did you mean `captureUncaught`\?/);
  });
});

/** `process` as the registry sees it: an EventEmitter with a pid and a recorded `kill`. */
class FakeProcess extends EventEmitter implements HostProcess {
  readonly pid = 4242;
  readonly kill = vi.fn((_pid: number, _signal: HandledSignal) => true);
}

function deferred() {
  let resolve: (value: boolean) => void = () => undefined;
  const promise = new Promise<boolean>((r) => (resolve = r));
  return { promise, resolve };
}

function setup() {
  const host = new FakeProcess();
  const reraise = {
    exception: vi.fn((_error: unknown) => undefined),
    rejection: vi.fn((_reason: unknown) => new Promise<never>(() => undefined)),
  } satisfies Reraise;
  const hooks = new ProcessHooks(host, reraise);
  /** A reporter whose stop() and fatal drain end when the test says so; like the real one, it unhooks itself before its stop resolves. */
  const hook = (choice: Partial<HookChoice>) => {
    const stopped = deferred();
    const drained = deferred();
    const reporter = { stop: vi.fn(() => stopped.promise), logFatalException: vi.fn((_error: unknown) => drained.promise) };
    const unhook = hooks.register(reporter, { drainOnExit: false, handleSignals: [], captureUncaught: false, ...choice });
    return {
      reporter,
      unhook,
      finishStop() {
        unhook();
        stopped.resolve(true);
      },
      finishFatal: () => drained.resolve(true),
    };
  };
  const counts = () => Object.fromEntries(host.eventNames().map((name) => [name, host.listenerCount(name)]));
  return { host, reraise, hooks, hook, counts };
}

const ALL_EVENTS: readonly HookEvent[] = ['beforeExit', 'uncaughtException', 'unhandledRejection', ...HANDLED_SIGNALS];

describe('ProcessHooks', () => {
  it('adds one listener per event however many reporters hook in, and removes it with the last', () => {
    const { hook, counts } = setup();
    const all = Array.from({ length: 50 }, () => hook({ drainOnExit: true, handleSignals: [...HANDLED_SIGNALS], captureUncaught: true }));
    expect(counts()).toEqual(Object.fromEntries(ALL_EVENTS.map((event) => [event, 1])));
    for (const reporter of all.slice(1)) reporter.unhook();
    expect(counts()).toEqual(Object.fromEntries(ALL_EVENTS.map((event) => [event, 1])));
    all[0]!.unhook();
    expect(counts()).toEqual({});
  });

  it('listens only to the events a reporter asked for, and to none when it asked for nothing', () => {
    const { hook, counts } = setup();
    hook({});
    expect(counts()).toEqual({});
    const drain = hook({ drainOnExit: true });
    expect(counts()).toEqual({ beforeExit: 1 });
    drain.unhook();
    const signal = hook({ handleSignals: ['SIGINT'] });
    expect(counts()).toEqual({ SIGINT: 1 });
    signal.unhook();
    hook({ captureUncaught: true });
    expect(counts()).toEqual({ uncaughtException: 1, unhandledRejection: 1 });
  });

  it('unhooks once: a second call leaves the other reporters hooked', () => {
    const { host, hook, counts } = setup();
    const first = hook({ drainOnExit: true });
    const second = hook({ drainOnExit: true });
    first.unhook();
    first.unhook();
    expect(counts()).toEqual({ beforeExit: 1 });
    host.emit('beforeExit', 0);
    expect(first.reporter.stop).not.toHaveBeenCalled();
    expect(second.reporter.stop).toHaveBeenCalledTimes(1);
    second.unhook();
    second.unhook();
    expect(counts()).toEqual({});
  });

  describe('beforeExit', () => {
    it('stops every reporter that drains on exit, and only those', () => {
      const { host, hook } = setup();
      const a = hook({ drainOnExit: true });
      const b = hook({ drainOnExit: true, captureUncaught: true });
      const other = hook({ handleSignals: ['SIGTERM'], captureUncaught: true });
      host.emit('beforeExit', 0);
      expect(a.reporter.stop).toHaveBeenCalledTimes(1);
      expect(b.reporter.stop).toHaveBeenCalledTimes(1);
      expect(other.reporter.stop).not.toHaveBeenCalled();
      expect(host.kill).not.toHaveBeenCalled();
    });

    it('is not listened to any more once the drain has ended, so the next beforeExit does nothing', async () => {
      const { host, hook, counts } = setup();
      const reporter = hook({ drainOnExit: true });
      host.emit('beforeExit', 0);
      reporter.finishStop();
      await settle();
      expect(counts()).toEqual({});
      expect(host.emit('beforeExit', 0)).toBe(false);
      expect(reporter.reporter.stop).toHaveBeenCalledTimes(1);
    });

    it('does nothing when its listener runs after the last reporter left (an emit calls the listeners it started with)', () => {
      const { host, hook } = setup();
      const reporter = hook({ drainOnExit: true });
      const [listener] = host.listeners('beforeExit') as (() => void)[];
      reporter.unhook();
      expect(() => listener!()).not.toThrow();
      expect(reporter.reporter.stop).not.toHaveBeenCalled();
    });
  });

  describe.each(HANDLED_SIGNALS)('%s', (signal) => {
    it('stops the reporters that asked for it, then removes the listener and raises the signal again', async () => {
      const { host, hook, counts } = setup();
      const asked = hook({ handleSignals: [signal], drainOnExit: true });
      const other = hook({ drainOnExit: true, handleSignals: HANDLED_SIGNALS.filter((s) => s !== signal) });
      host.emit(signal, signal);
      expect(asked.reporter.stop).toHaveBeenCalledTimes(1);
      expect(other.reporter.stop).not.toHaveBeenCalled();
      await settle();
      expect(host.kill, 'not before the drain has ended').not.toHaveBeenCalled();
      asked.finishStop();
      await settle();
      expect(host.kill.mock.calls).toEqual([[4242, signal]]);
      expect(counts()[signal]).toBeUndefined();
    });
  });

  describe('signals', () => {
    it('wait for every reporter that asked for the signal before raising it', async () => {
      const { host, hook } = setup();
      const first = hook({ handleSignals: ['SIGTERM'] });
      const second = hook({ handleSignals: ['SIGTERM'] });
      host.emit('SIGTERM', 'SIGTERM');
      first.finishStop();
      await settle();
      expect(host.kill).not.toHaveBeenCalled();
      second.finishStop();
      await settle();
      expect(host.kill.mock.calls).toEqual([[4242, 'SIGTERM']]);
    });

    it('are not raised again when the host listens too: the host decides', async () => {
      const { host, hook, counts } = setup();
      const hostListener = vi.fn();
      host.on('SIGINT', hostListener);
      const reporter = hook({ handleSignals: ['SIGINT'] });
      host.emit('SIGINT', 'SIGINT');
      reporter.finishStop();
      await settle();
      expect(reporter.reporter.stop).toHaveBeenCalledTimes(1);
      expect(hostListener).toHaveBeenCalledTimes(1);
      expect(host.kill).not.toHaveBeenCalled();
      expect(counts()).toEqual({ SIGINT: 1 });
      expect(host.listeners('SIGINT')).toEqual([hostListener]);
    });

    it('raise a repeated signal at once, without waiting for the drain, and only once', async () => {
      const { host, hook, counts } = setup();
      const reporter = hook({ handleSignals: ['SIGTERM'] });
      host.emit('SIGTERM', 'SIGTERM');
      await settle();
      expect(host.kill).not.toHaveBeenCalled();
      host.emit('SIGTERM', 'SIGTERM');
      expect(host.kill.mock.calls).toEqual([[4242, 'SIGTERM']]);
      expect(counts()).toEqual({});
      expect(reporter.reporter.stop).toHaveBeenCalledTimes(1);
      reporter.finishStop();
      await settle();
      expect(host.kill).toHaveBeenCalledTimes(1);
    });

    it('are still raised when the listener runs after the last reporter left', async () => {
      const { host, hook } = setup();
      const reporter = hook({ handleSignals: ['SIGHUP'] });
      const [listener] = host.listeners('SIGHUP') as ((signal: string) => void)[];
      reporter.unhook();
      listener!('SIGHUP');
      await settle();
      expect(reporter.reporter.stop).not.toHaveBeenCalled();
      expect(host.kill.mock.calls).toEqual([[4242, 'SIGHUP']]);
    });

    it('start afresh after a signal the host kept, even while a reporter of the last one still drains', async () => {
      const { host, hook, counts } = setup();
      host.on('SIGTERM', () => undefined);
      const draining = hook({ handleSignals: ['SIGTERM'] });
      host.emit('SIGTERM', 'SIGTERM');
      host.emit('SIGTERM', 'SIGTERM');
      expect(counts(), 'ours removed by the repeated signal, the host kept').toEqual({ SIGTERM: 1 });
      const next = hook({ handleSignals: ['SIGTERM'] });
      expect(counts()).toEqual({ SIGTERM: 2 });
      host.emit('SIGTERM', 'SIGTERM');
      expect(next.reporter.stop).toHaveBeenCalledTimes(1);
      expect(draining.reporter.stop).toHaveBeenCalledTimes(1);
      draining.finishStop();
      await settle();
      expect(counts(), 'the old reporter ending does not unhook the new one').toEqual({ SIGTERM: 2 });
      expect(host.kill).not.toHaveBeenCalled();
    });
  });

  describe('uncaught errors', () => {
    it('report an uncaught exception on every capturing reporter, then hand it back to Node once they have drained', async () => {
      const { host, reraise, hook, counts } = setup();
      const a = hook({ captureUncaught: true });
      const b = hook({ captureUncaught: true, drainOnExit: true });
      const other = hook({ drainOnExit: true });
      const error = new Error('boom');
      host.emit('uncaughtException', error, 'uncaughtException');
      expect(a.reporter.logFatalException.mock.calls).toEqual([[error]]);
      expect(b.reporter.logFatalException.mock.calls).toEqual([[error]]);
      expect(other.reporter.logFatalException).not.toHaveBeenCalled();
      a.finishFatal();
      await settle();
      expect(reraise.exception, 'not before every drain has ended').not.toHaveBeenCalled();
      b.finishFatal();
      await settle();
      expect(reraise.exception).toHaveBeenCalledTimes(1);
      expect(reraise.exception.mock.calls[0]![0]).toBe(error);
      expect(reraise.rejection).not.toHaveBeenCalled();
      expect(counts(), 'both fatal listeners gone, so the re-raised error reaches Node').toEqual({ beforeExit: 1 });
      expect(a.reporter.stop).not.toHaveBeenCalled();
    });

    it('report an unhandled rejection, then reject it again', async () => {
      const { host, reraise, hook, counts } = setup();
      const reporter = hook({ captureUncaught: true });
      const reason = { not: 'an error' };
      host.emit('unhandledRejection', reason, Promise.resolve());
      expect(reporter.reporter.logFatalException.mock.calls).toEqual([[reason]]);
      reporter.finishFatal();
      await settle();
      expect(reraise.rejection).toHaveBeenCalledTimes(1);
      expect(reraise.rejection.mock.calls[0]![0]).toBe(reason);
      expect(reraise.exception).not.toHaveBeenCalled();
      expect(counts()).toEqual({});
    });

    it('ignore a second error while the first one drains, as Node would have exited at the first', async () => {
      const { host, reraise, hook } = setup();
      const reporter = hook({ captureUncaught: true });
      const first = new Error('first');
      host.emit('uncaughtException', first, 'uncaughtException');
      host.emit('unhandledRejection', new Error('second'), Promise.resolve());
      host.emit('uncaughtException', new Error('third'), 'uncaughtException');
      expect(reporter.reporter.logFatalException.mock.calls).toEqual([[first]]);
      reporter.finishFatal();
      await settle();
      expect(reraise.exception.mock.calls).toEqual([[first]]);
      expect(reraise.rejection).not.toHaveBeenCalled();
    });

    it.each(['uncaughtException', 'unhandledRejection'] as const)(
      'only report a %s when the host listens to it too: the host decides, and each error is reported',
      async (event) => {
        const { host, reraise, hook, counts } = setup();
        host.on(event, () => undefined);
        const reporter = hook({ captureUncaught: true });
        const first = new Error('first');
        const second = new Error('second');
        host.emit(event, first);
        host.emit(event, second);
        reporter.finishFatal();
        await settle();
        expect(reporter.reporter.logFatalException.mock.calls).toEqual([[first], [second]]);
        expect(reraise.exception).not.toHaveBeenCalled();
        expect(reraise.rejection).not.toHaveBeenCalled();
        expect(counts()).toEqual({ uncaughtException: event === 'uncaughtException' ? 2 : 1, unhandledRejection: event === 'unhandledRejection' ? 2 : 1 });
      },
    );

    it('protect a reporter started after a rejection that was handed back (and that Node only warned about)', async () => {
      const { host, reraise, hook, counts } = setup();
      const first = hook({ captureUncaught: true });
      host.emit('unhandledRejection', new Error('warned'), Promise.resolve());
      first.finishFatal();
      await settle();
      expect(counts()).toEqual({});
      const next = hook({ captureUncaught: true });
      expect(counts()).toEqual({ uncaughtException: 1, unhandledRejection: 1 });
      const error = new Error('later');
      host.emit('uncaughtException', error, 'uncaughtException');
      expect(next.reporter.logFatalException.mock.calls).toEqual([[error]]);
      expect(first.reporter.logFatalException).toHaveBeenCalledTimes(1);
      next.finishFatal();
      await settle();
      expect(reraise.exception.mock.calls).toEqual([[error]]);
    });

    it('still hand the error back when the listener runs after the last reporter left', async () => {
      const { host, reraise, hook } = setup();
      const reporter = hook({ captureUncaught: true });
      const [listener] = host.listeners('uncaughtException') as ((error: unknown) => void)[];
      reporter.unhook();
      const error = new Error('late');
      listener!(error);
      await settle();
      expect(reporter.reporter.logFatalException).not.toHaveBeenCalled();
      expect(reraise.exception.mock.calls).toEqual([[error]]);
    });
  });
});

describe('nodeReraise', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('throws the same exception again on a later turn, so that it is uncaught', () => {
    vi.useFakeTimers({ toFake: ['setImmediate'] });
    const error = new Error('again');
    expect(() => nodeReraise.exception(error)).not.toThrow();
    let thrown: unknown;
    try {
      vi.runAllTimers();
    } catch (caught) {
      thrown = caught;
    }
    expect(thrown).toBe(error);
  });

  it('rejects a fresh promise with the same reason', async () => {
    const reason = { code: 42 };
    await expect(nodeReraise.rejection(reason)).rejects.toBe(reason);
  });
});

describe('a reporter in this process', () => {
  const started: TelemetryReporter[] = [];
  afterEach(async () => {
    await Promise.all(started.splice(0).map((reporter) => reporter.stop(50)));
  });

  function start(overrides: Partial<ReporterOptions> = {}) {
    const wire = manualTransport(() => ({ kind: 'ok', status: 200 }));
    const reporter = startReporter({
      ...base,
      enabled: true,
      attachEvents: false,
      transport: wire.transport,
      logger: recordingLogger().logger,
      ...overrides,
    });
    if (reporter !== null) started.push(reporter);
    return { reporter, wire };
  }

  const count = (event: HookEvent) => process.listenerCount(event);

  it('listens to beforeExit from start until it has stopped', async () => {
    const before = count('beforeExit');
    const { reporter } = start();
    expect(count('beforeExit')).toBe(before + 1);
    await reporter!.stop();
    expect(count('beforeExit')).toBe(before);
  });

  it('stops and drains when its beforeExit listener runs', async () => {
    const listenersBefore = process.listeners('beforeExit');
    const { reporter, wire } = start();
    const ours = process.listeners('beforeExit').filter((listener) => !listenersBefore.includes(listener));
    expect(ours).toHaveLength(1);
    ours[0]!(0);
    expect(reporter!.stats().sessionEnded).toBe(true);
    await reporter!.stop();
    expect(reporter!.stats().state).toBe('ended');
    expect(wire.sent.flatMap((body) => body.events).map((event) => event.event)).toEqual(['SESSION_START', 'SESSION_END']);
    expect(process.listeners('beforeExit')).toEqual(listenersBefore);
  });

  it('listens to nothing with drainOnExit false, and to what it asked for otherwise', async () => {
    const events: HookEvent[] = ['beforeExit', 'SIGTERM', 'SIGINT', 'SIGHUP', 'uncaughtException', 'unhandledRejection'];
    const before = Object.fromEntries(events.map((event) => [event, count(event)]));
    const quiet = start({ drainOnExit: false }).reporter!;
    expect(Object.fromEntries(events.map((event) => [event, count(event)]))).toEqual(before);
    const loud = start({ drainOnExit: false, handleSignals: ['SIGHUP'], captureUncaught: true }).reporter!;
    expect(Object.fromEntries(events.map((event) => [event, count(event)]))).toEqual({
      ...before,
      SIGHUP: before.SIGHUP! + 1,
      uncaughtException: before.uncaughtException! + 1,
      unhandledRejection: before.unhandledRejection! + 1,
    });
    await Promise.all([quiet.stop(), loud.stop()]);
    expect(Object.fromEntries(events.map((event) => [event, count(event)]))).toEqual(before);
  });

  it('is not made, and hooks nothing, when telemetry is disabled', () => {
    const before = count('beforeExit');
    expect(start({ enabled: false, handleSignals: ['SIGTERM'] }).reporter).toBeNull();
    expect(count('beforeExit')).toBe(before);
  });
});

// ---------------------------------------------------------------------------
// End to end, in child processes.

const FIXTURE = 'test/fixtures/process-lifecycle.ts';
const CHILD_TIMEOUT_MS = 15_000;

type Scenario = 'return' | 'signal' | 'throw' | 'reject';

let sink: Sink | undefined;

afterEach(async () => {
  killAll();
  await sink?.close();
  sink = undefined;
});

function runFixture(scenario: Scenario, sinkUrl: string, env: NodeJS.ProcessEnv = {}): Running {
  const childEnv: NodeJS.ProcessEnv = { ...process.env, SCENARIO: scenario, TINKER_BASE_URL: sinkUrl, ...env };
  return runScript(FIXTURE, { env: childEnv, timeoutMs: CHILD_TIMEOUT_MS, label: `${FIXTURE} (SCENARIO=${scenario})` });
}

interface ReceivedEvent {
  event: string;
  event_session_index: number;
  severity: string;
  error_type?: string;
  error_message?: string;
  traceback?: string;
}

/** A sink that answers each request with `statuses[n]` (200 after the list), counting every request. */
async function startCountingSink(statuses: number[] = []) {
  let requests = 0;
  sink = await startSink(() => ({ status: statuses[requests++] ?? 200 }));
  const started = sink;
  return {
    url: started.url,
    requests: () => requests,
    events: () => started.batches.flatMap((batch) => batch.body.events) as unknown as ReceivedEvent[],
    sessions: () => [...new Set(started.batches.map((batch) => batch.body.session_id))],
  };
}

const LOGGED = ['SESSION_START', 'GENERIC_EVENT', 'GENERIC_EVENT', 'GENERIC_EVENT'];

describe('a process that', () => {
  it('runs out of work drains what is queued: one SESSION_END, exit code 0', async () => {
    const sink = await startCountingSink();
    const run = runFixture('return', sink.url);
    expect(await run.exited, run.stderr()).toEqual({ code: 0, signal: null });
    expect(sink.events().map((e) => e.event)).toEqual([...LOGGED, 'SESSION_END']);
    expect(sink.events().map((e) => e.event_session_index)).toEqual([0, 1, 2, 3, 4]);
    expect(sink.sessions()).toEqual(['fixture-return']);
    expect(sink.requests()).toBe(1);
  });

  it('runs out of work still delivers after a 503 on the way out: the backoff keeps it alive', async () => {
    const sink = await startCountingSink([503]);
    const run = runFixture('return', sink.url);
    expect(await run.exited, run.stderr()).toEqual({ code: 0, signal: null });
    expect(sink.requests()).toBe(2);
    expect(sink.events().map((e) => e.event)).toEqual([...LOGGED, 'SESSION_END']);
  });

  it('runs out of work with drainOnExit false exits without sending what is queued', async () => {
    const sink = await startCountingSink();
    const run = runFixture('return', sink.url, { DRAIN_ON_EXIT: 'false' });
    expect(await run.exited, run.stderr()).toEqual({ code: 0, signal: null });
    expect(sink.requests()).toBe(0);
  });

  it('gets SIGTERM with handleSignals drains, then dies by SIGTERM', async () => {
    const sink = await startCountingSink();
    const run = runFixture('signal', sink.url);
    await run.printed('ready');
    expect(sink.requests(), 'nothing sent before the signal').toBe(0);
    run.child.kill('SIGTERM');
    expect(await run.exited, run.stderr()).toEqual({ code: null, signal: 'SIGTERM' });
    expect(run.child.signalCode).toBe('SIGTERM');
    expect(sink.events().map((e) => e.event)).toEqual([...LOGGED, 'SESSION_END']);
  });

  it('throws with captureUncaught reports the exception, drains, and crashes as Node does: exit code 1, the error on stderr', async () => {
    const sink = await startCountingSink();
    const run = runFixture('throw', sink.url);
    expect(await run.exited, run.stderr()).toEqual({ code: 1, signal: null });
    const events = sink.events();
    expect(events.map((e) => e.event)).toEqual([...LOGGED, 'UNHANDLED_EXCEPTION', 'SESSION_END']);
    expect(events[4]).toMatchObject({ severity: 'CRITICAL', error_type: 'Error', error_message: 'fixture boom' });
    expect(events[4]!.traceback).toContain('process-lifecycle.ts');
    // Node's own report: the source line of the re-raise, the original stack, and Node's version.
    expect(run.stderr()).toContain('throw error; // Re-raised by tinker-telemetry after its drain; the original stack is below.');
    expect(run.stderr()).toMatch(/\nError: fixture boom\n {4}at .*process-lifecycle\.ts:\d+:\d+/);
    expect(run.stderr()).toMatch(/\nNode\.js v\d+\.\d+\.\d+\n$/);
  });

  it('leaves a rejection unhandled with captureUncaught reports it, drains, and crashes as Node does: exit code 1, the error on stderr', async () => {
    const sink = await startCountingSink();
    const run = runFixture('reject', sink.url);
    expect(await run.exited, run.stderr()).toEqual({ code: 1, signal: null });
    const events = sink.events();
    expect(events.map((e) => e.event)).toEqual([...LOGGED, 'UNHANDLED_EXCEPTION', 'SESSION_END']);
    expect(events[4]).toMatchObject({ severity: 'CRITICAL', error_type: 'Error', error_message: 'fixture rejection' });
    expect(run.stderr()).toMatch(/\nError: fixture rejection\n {4}at .*process-lifecycle\.ts:\d+:\d+/);
    expect(run.stderr()).toMatch(/\nNode\.js v\d+\.\d+\.\d+\n$/);
  });
});
