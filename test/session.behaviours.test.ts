/**
 * The session's edges against a double of the API: the argument checks of
 * submit and retrieveFuture, the public `createSession`, the logger bindings
 * once active, a failure inside the lifecycle machine (during and after
 * start-up), a reporter that cannot start, an API whose close() throws, the
 * reporter's process hooks left to the session, the clock of the default
 * transport, and the FATAL the machine is told of.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { InspectionEvent } from 'xstate';
import type { Clock } from '../src/core/clock.js';
import type { Transport } from '../src/core/ports.js';
import { createConfig } from '../src/config.js';
import type { HookedReporter, ProcessHooks } from '../src/host/process-hooks.js';
import { createNodeTransport } from '../src/io/node-transport.js';
import { startReporter } from '../src/reporter.js';
import { Session, createSession } from '../src/session.js';
import { resolveSessionOptions } from '../src/session-options.js';
import { TEST_CONFIG, isolateTinkerEnv, manualTransport, settle } from './helpers.js';
import { BODY, fakeTinkerApi, sessionEnds, startTestSession } from './session-helpers.js';

vi.mock(import('../src/io/node-transport.js'), async (importOriginal) => {
  const real = await importOriginal();
  return { ...real, createNodeTransport: vi.fn(real.createNodeTransport) };
});
vi.mock(import('../src/reporter.js'), async (importOriginal) => {
  const real = await importOriginal();
  return { ...real, startReporter: vi.fn(real.startReporter) };
});

const NOW = 3_000_000;
const KEY = TEST_CONFIG.apiKey;

isolateTinkerEnv();
beforeEach(() => {
  vi.useFakeTimers({ now: NOW });
});
afterEach(() => {
  vi.useRealTimers();
  vi.mocked(createNodeTransport).mockClear();
  vi.mocked(startReporter).mockClear();
});

/** Hooks that only keep the target the session registers, so that a test can call it as a signal would. */
function capturingHooks() {
  const targets: HookedReporter[] = [];
  const hooks = {
    register: (target: HookedReporter) => {
      targets.push(target);
      return () => undefined;
    },
  } as unknown as ProcessHooks;
  return { hooks, targets };
}

describe('the arguments of submit and retrieveFuture', () => {
  it.each([
    ['not a string', 42, 'Expected `requestId` to be a non-empty string, got `42` (number)'],
    ['empty', '', 'Expected `requestId` to be a non-empty string, got `""` (string)'],
    ['only blanks', '  ', 'Expected `requestId` to be a non-empty string, got `"  "` (string)'],
  ])('refuses a requestId that is %s, naming it, before any request', async (_label, requestId, message) => {
    const { session, fake } = await startTestSession();
    const error = await session.retrieveFuture(requestId as string, { requestType: 'Sample' }).catch((thrown: unknown) => thrown);
    expect(error).toBeInstanceOf(TypeError);
    expect((error as Error).message).toBe(message);
    await settle();
    expect(fake.calls.retrieveFuture).toEqual([]);
    await session.close(0);
  });

  it.each([
    ['a path of blanks', () => ['  ', BODY], 'Expected `path` to be a non-empty string, got `"  "` (string)'],
    ['an empty path', () => ['', BODY], 'Expected `path` to be a non-empty string, got `""` (string)'],
    ['a null body', () => ['api/v1/x', null], 'Expected `body` to be a JSON object, got `null` (null)'],
  ])('refuses a submit with %s, naming it, before any request', async (_label, args, message) => {
    const { session, fake } = await startTestSession();
    const [path, body] = args() as Parameters<typeof session.submit>;
    const error = await session.submit(path, body, { requestType: 'OptimStep' }).catch((thrown: unknown) => thrown);
    expect((error as Error).message).toBe(message);
    await settle();
    expect(fake.calls.submit).toEqual([]);
    await session.close(0);
  });
});

describe('createSession', () => {
  it('is the public door: it rejects without an API key, coded, before anything else', async () => {
    const config = createConfig({ baseUrl: 'http://127.0.0.1:9' });
    await expect(createSession({ config })).rejects.toMatchObject({ code: 'ERR_TINKER_TELEMETRY_MISSING_API_KEY' });
  });

  it('has no session id before start-up has one', () => {
    const fake = fakeTinkerApi();
    const session = new Session(resolveSessionOptions({ config: TEST_CONFIG }), { createApi: fake.factory });
    expect(session.sessionId).toBe('');
    expect(fake.calls.start).toEqual([]);
  });

  it('logs that the session started, under the component and the server’s id', async () => {
    const { session, log } = await startTestSession();
    expect(log.records.filter((r) => r.msg === 'Tinker session sess-from-server started')).toEqual([
      { level: 'info', msg: 'Tinker session sess-from-server started', obj: { component: 'tinker-telemetry', sessionId: 'sess-from-server' } },
    ]);
    await session.close(0);
  });
});

describe('a failure inside the lifecycle machine', () => {
  it('after start-up: logs it redacted, aborts the futures with the session’s id, ends the reporter’s session and closes the API', async () => {
    const broken = new Error(`fatal bookkeeping broke with ${KEY}`);
    const { session, fake, wire, log } = await startTestSession(
      {},
      {
        adjustMachine: (machine) =>
          machine.provide({
            actions: {
              markFatal: () => {
                throw broken;
              },
            },
          }),
      },
    );
    let polled: unknown = 'pending';
    session.retrieveFuture('req-1', { requestType: 'Sample' }).catch((error: unknown) => (polled = error));
    await settle();
    const view = session.instrument(
      {
        fail: () => {
          throw new Error('client failed');
        },
      },
      { fatal: true },
    );
    expect(() => view.fail()).toThrow('client failed');
    await vi.advanceTimersByTimeAsync(0);
    expect(log.records.filter((r) => r.level === 'error')).toEqual([
      {
        level: 'error',
        msg: 'Tinker session lifecycle failed; the session is abandoned',
        obj: { component: 'tinker-telemetry', sessionId: 'sess-from-server', err: { name: 'Error', message: 'fatal bookkeeping broke with [redacted]' } },
      },
    ]);
    expect(polled).toMatchObject({ name: 'FutureAbortedError', cause: { name: 'SessionClosedError', sessionId: 'sess-from-server' } });
    expect(sessionEnds(wire)).toBe(1);
    expect(fake.closed()).toBe(1);
    await expect(session.close(0)).resolves.toBeUndefined();
  });

  it('during start-up: rejects createSession with it, logs it, and closes the API', async () => {
    const broken = new Error('start action broke');
    const fake = fakeTinkerApi();
    const starting = startTestSession(
      {},
      {
        adjustMachine: (machine) =>
          machine.provide({
            actions: {
              startReporter: () => {
                throw broken;
              },
            },
          }),
      },
      fake,
    );
    await expect(starting).rejects.toBe(broken);
    expect(fake.closed()).toBe(1);
  });
});

describe('a reporter that cannot start', () => {
  it('is logged at error, redacted, and the session goes on without telemetry or process hooks', async () => {
    vi.mocked(startReporter).mockImplementationOnce(() => {
      throw new Error(`reporter refused ${KEY}`);
    });
    const { session, log, host } = await startTestSession({ telemetry: { drainOnExit: true } });
    expect(session.reporter).toBeNull();
    expect(session.state).toEqual({ active: 'ok' });
    expect(host.eventNames()).toEqual([]);
    expect(log.records.filter((r) => r.level === 'error')).toEqual([
      {
        level: 'error',
        msg: 'Telemetry could not start for Tinker session sess-from-server; the session goes on without it',
        obj: { component: 'tinker-telemetry', sessionId: 'sess-from-server', err: { name: 'Error', message: 'reporter refused [redacted]' } },
      },
    ]);
    await session.close(0);
  });
});

describe('an API whose close() throws', () => {
  it('is logged at error, redacted, and close() still resolves', async () => {
    const fake = fakeTinkerApi();
    fake.api.close = () => {
      throw new Error(`close broke ${KEY}`);
    };
    const { session, log } = await startTestSession({}, {}, fake);
    await expect(session.close(0)).resolves.toBeUndefined();
    expect(session.state).toBe('closed');
    expect(log.records.filter((r) => r.level === 'error')).toEqual([
      {
        level: 'error',
        msg: 'Tinker API close() failed',
        obj: { component: 'tinker-telemetry', sessionId: 'sess-from-server', err: { name: 'Error', message: 'close broke [redacted]' } },
      },
    ]);
  });
});

describe('the process hooks', () => {
  it('are the session’s alone: its reporter hooks nothing of the real process, whatever the telemetry options ask', async () => {
    const events = ['beforeExit', 'uncaughtException', 'unhandledRejection', 'SIGTERM'] as const;
    const counts = () => events.map((event) => process.listenerCount(event));
    const before = counts();
    const { session, host } = await startTestSession({ telemetry: { drainOnExit: true, captureUncaught: true, handleSignals: ['SIGTERM'] } });
    expect(counts()).toEqual(before);
    expect(host.eventNames().sort()).toEqual([...events].sort());
    await session.close(0);
  });

  it('report that the close did not drain when the close deadline ended it first', async () => {
    const { hooks, targets } = capturingHooks();
    const wire = manualTransport();
    const stuck: Clock = { now: () => NOW, setTimeout: () => 0, clearTimeout: () => undefined };
    const { session } = await startTestSession({ telemetry: { transport: wire.transport, clock: stuck, flushTimeoutMs: 5000 } }, { hooks });
    expect(targets).toHaveLength(1);
    const stopped = targets[0]!.stop();
    await vi.advanceTimersByTimeAsync(5000);
    await expect(stopped).resolves.toBe(false);
    expect(session.state).toBe('closed');
  });
});

describe('the default telemetry transport', () => {
  const quiet: Transport = { send: () => Promise.resolve({ kind: 'ok', status: 200 }) };

  it('reads the time from the telemetry clock, else from the session’s, else from the system', async () => {
    const transport = vi.mocked(createNodeTransport);
    transport.mockImplementation(() => quiet);
    try {
      const own: Clock = { now: () => 42, setTimeout: (fn, ms) => setTimeout(fn, ms), clearTimeout: (handle) => clearTimeout(handle as number) };
      const first = await startTestSession({ telemetry: { transport: undefined, clock: own } });
      const second = await startTestSession({ telemetry: { transport: undefined } });
      expect(transport.mock.calls.map(([options]) => options.now?.())).toEqual([42, NOW]);
      await first.session.close(0);
      await second.session.close(0);
    } finally {
      transport.mockReset();
    }
  });
});

describe('a fatal capture', () => {
  it('tells the machine, which remembers it', async () => {
    const seen: InspectionEvent[] = [];
    const { session } = await startTestSession({ telemetry: { inspect: (event) => seen.push(event) } });
    const view = session.instrument(
      {
        fail: () => {
          throw new Error('client failed');
        },
      },
      { fatal: true },
    );
    expect(() => view.fail()).toThrow('client failed');
    const fatal = seen.filter((e) => e.type === '@xstate.snapshot' && (e.snapshot as { context?: { fatal?: boolean } }).context?.fatal === true);
    expect(fatal.length).toBeGreaterThan(0);
    await session.close(0);
  });

  it('after the close tells a stopped machine nothing, so XState prints no warning', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    try {
      const { session } = await startTestSession();
      const view = session.instrument(
        {
          fail: () => {
            throw new Error('client failed');
          },
        },
        { fatal: true },
      );
      await session.close(0);
      expect(() => view.fail()).toThrow('client failed');
      expect(warn).not.toHaveBeenCalled();
    } finally {
      warn.mockRestore();
    }
  });

  it('accepts null options of instrument as none', async () => {
    const { session } = await startTestSession();
    const view = session.instrument({ ok: () => 1 }, null as unknown as { fatal?: boolean });
    expect(view.ok()).toBe(1);
    await session.close(0);
  });
});

describe('an abort event without a reason during start-up', () => {
  it('rejects createSession with a SessionClosedError for no session', async () => {
    const fake = fakeTinkerApi({ start: false });
    const controller = new AbortController();
    const starting = startTestSession({ signal: controller.signal }, {}, fake);
    await settle();
    controller.signal.dispatchEvent(new Event('abort'));
    await expect(starting).rejects.toMatchObject({ name: 'SessionClosedError', sessionId: '', message: 'Tinker session  is closed' });
  });
});

describe('an abort of start-up as the session becomes active', () => {
  it('starts no reporter once the abort has the session closing', async () => {
    const controller = new AbortController();
    const inspect = (event: InspectionEvent) => {
      const value = event.type === '@xstate.snapshot' ? (event.snapshot as { value?: unknown }).value : undefined;
      if (JSON.stringify(value) === '{"active":"ok"}') controller.abort(new Error('too late'));
    };
    const { session, wire, host } = await startTestSession({ signal: controller.signal, telemetry: { inspect, handleSignals: ['SIGTERM'] } });
    await vi.advanceTimersByTimeAsync(5000);
    expect(session.state).toBe('closed');
    expect(session.reporter).toBeNull();
    expect(host.eventNames()).toEqual([]);
    expect(wire.sent).toEqual([]);
  });
});
