/**
 * The session and the process: `drainOnExit`, `handleSignals` and
 * `captureUncaught` from the telemetry options hook the session (a close of
 * the whole session, once), fatal captures end the reporter's session with
 * one SESSION_END whatever follows, and disabled telemetry leaves a working
 * session without a reporter. The process is an EventEmitter.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { eventsOf, isolateTinkerEnv, manualTransport, settle } from './helpers.js';
import { BODY, sessionEnds, startTestSession } from './session-helpers.js';

isolateTinkerEnv();
beforeEach(() => {
  vi.useFakeTimers({ now: 3_000_000 });
});
afterEach(() => {
  vi.useRealTimers();
});

const BEATS = { heartbeatIntervalMs: 1000, heartbeatTimeoutMs: 500, heartbeatWarnAfterMs: 5000 };

describe('handleSignals', () => {
  it('closes the whole session on the signal, once, then gives the signal back', async () => {
    const wire = manualTransport();
    const { session, fake, host } = await startTestSession({ ...BEATS, telemetry: { transport: wire.transport, handleSignals: ['SIGTERM'] } });
    await vi.advanceTimersByTimeAsync(1000);
    expect(host.listenerCount('SIGTERM')).toBe(1);
    host.emit('SIGTERM');
    await settle();
    expect(session.state).toBe('closing');
    expect(fake.calls.heartbeat[0]!.signal?.aborted).toBe(true);
    expect(host.kill).not.toHaveBeenCalled();
    wire.answerAll();
    await vi.advanceTimersByTimeAsync(0);
    expect(session.state).toBe('closed');
    expect(host.kill.mock.calls).toEqual([[4242, 'SIGTERM']]);
    expect(sessionEnds(wire)).toBe(1);
    expect(host.eventNames()).toEqual([]);
  });

  it('joins a close already under way instead of starting another', async () => {
    const wire = manualTransport();
    const { session, host } = await startTestSession({ telemetry: { transport: wire.transport, handleSignals: ['SIGINT'] } });
    const closing = session.close(5000);
    host.emit('SIGINT');
    await settle();
    expect(host.kill).not.toHaveBeenCalled();
    wire.answerAll();
    await closing;
    await settle();
    expect(host.kill.mock.calls).toEqual([[4242, 'SIGINT']]);
    expect(sessionEnds(wire)).toBe(1);
  });

  it('closes with the default deadline, so a drain that hangs still lets the signal through', async () => {
    const { session, host } = await startTestSession({ telemetry: { transport: manualTransport().transport, handleSignals: ['SIGHUP'], flushTimeoutMs: 700 } });
    host.emit('SIGHUP');
    await vi.advanceTimersByTimeAsync(699);
    expect(host.kill).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(1);
    expect(session.state).toBe('closed');
    expect(host.kill.mock.calls).toEqual([[4242, 'SIGHUP']]);
  });

  it('leaves signals alone by default', async () => {
    const { session, host } = await startTestSession();
    expect(host.listenerCount('SIGTERM') + host.listenerCount('SIGINT') + host.listenerCount('SIGHUP')).toBe(0);
    await session.close(0);
  });
});

describe('drainOnExit', () => {
  it('closes the session when the process runs out of work, by default', async () => {
    const { session, host, wire } = await startTestSession();
    expect(host.listenerCount('beforeExit')).toBe(1);
    host.emit('beforeExit', 0);
    await vi.advanceTimersByTimeAsync(0);
    expect(session.state).toBe('closed');
    expect(sessionEnds(wire)).toBe(1);
    expect(host.listenerCount('beforeExit')).toBe(0);
  });

  it('leaves beforeExit alone when false', async () => {
    const { session, host } = await startTestSession({ telemetry: { drainOnExit: false } });
    expect(host.listenerCount('beforeExit')).toBe(0);
    await session.close(0);
  });
});

describe('fatal captures', () => {
  it('reports an uncaught exception through the reporter’s fatal path, hands it back, and a later close() adds no second SESSION_END', async () => {
    const { session, host, reraise, wire } = await startTestSession({ telemetry: { captureUncaught: true } });
    const crash = new TypeError('boom');
    host.emit('uncaughtException', crash);
    await vi.advanceTimersByTimeAsync(0);
    expect(reraise.exception).toHaveBeenCalledWith(crash);
    expect(sessionEnds(wire)).toBe(1);
    // The Tinker session itself goes on until it is closed.
    expect(session.state).toEqual({ active: 'ok' });
    await session.close(1000);
    const events = eventsOf(wire.sent).map((e) => e.event);
    expect(events).toEqual(['SESSION_START', 'UNHANDLED_EXCEPTION', 'SESSION_END']);
  });

  it('ends the reporter’s session once when an instrumented client fails fatally, and close() adds no second SESSION_END', async () => {
    const { session, wire } = await startTestSession();
    const client = {
      async train() {
        await Promise.resolve();
        throw new Error('diverged');
      },
    };
    const instrumented = session.instrument(client, { fatal: true });
    await expect(instrumented.train()).rejects.toThrow('diverged');
    await expect(instrumented.train()).rejects.toThrow('diverged');
    expect(session.reporter?.stats().sessionEnded).toBe(true);
    await session.close(1000);
    expect(sessionEnds(wire)).toBe(1);
    expect(eventsOf(wire.sent).filter((e) => e.event === 'UNHANDLED_EXCEPTION')).toHaveLength(1);
  });

  it('reports what an instrumented client throws, without ending the session, when not fatal', async () => {
    const { session, wire } = await startTestSession();
    const instrumented = session.instrument({
      step() {
        throw new RangeError('bad step');
      },
    });
    expect(() => instrumented.step()).toThrow('bad step');
    expect(session.reporter?.stats().sessionEnded).toBe(false);
    await session.close(1000);
    expect(eventsOf(wire.sent).map((e) => e.event)).toEqual(['SESSION_START', 'UNHANDLED_EXCEPTION', 'SESSION_END']);
  });
});

describe('with telemetry disabled', () => {
  it('has no reporter and hooks nothing, yet starts, beats, polls futures and closes', async () => {
    const { session, fake, host, wire } = await startTestSession({
      ...BEATS,
      telemetry: { enabled: false, handleSignals: ['SIGTERM'], captureUncaught: true },
    });
    expect(session.reporter).toBeNull();
    expect(host.eventNames()).toEqual([]);
    await vi.advanceTimersByTimeAsync(1000);
    expect(fake.beats()).toBe(1);
    fake.answerBeat(true);
    const result = session.retrieveFuture('req-1', { requestType: 'OptimStep' });
    await settle();
    fake.calls.retrieveFuture[0]!.resolve({ kind: 'json', value: 1 });
    await expect(result).resolves.toEqual({ kind: 'json', value: 1 });
    const instrumented = session.instrument({ run: () => 'plain' }, { fatal: true });
    expect(instrumented.run()).toBe('plain');
    await session.close();
    expect(session.state).toBe('closed');
    expect(wire.sent).toEqual([]);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('submits too', async () => {
    const { session, fake } = await startTestSession({ telemetry: { enabled: false } });
    const result = session.submit('api/v1/optim_step', BODY, { requestType: 'OptimStep' });
    await settle();
    fake.calls.submit[0]!.resolve({ requestId: 'r', submittedAtMs: 0, roundTripMs: 1 });
    await settle();
    fake.calls.retrieveFuture[0]!.resolve({ kind: 'json', value: null });
    await expect(result).resolves.toEqual({ kind: 'json', value: null });
    await session.close();
  });
});
