/**
 * Futures and `close()`, on fake timers against a double of the API: submit
 * and retrieveFuture, and a close that stops the heartbeat, aborts the
 * futures with typed errors, drains telemetry within its deadline, and is
 * idempotent.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { eventsOf, isolateTinkerEnv, manualTransport, settle } from './helpers.js';
import { FutureAbortedError } from '../src/tinker/errors.js';
import { BODY, sessionEnds, startTestSession } from './session-helpers.js';

isolateTinkerEnv();
beforeEach(() => {
  vi.useFakeTimers({ now: 2_000_000 });
});
afterEach(() => {
  vi.useRealTimers();
});

const BEATS = { heartbeatIntervalMs: 1000, heartbeatTimeoutMs: 500, heartbeatWarnAfterMs: 5000 };
const RESULT = { kind: 'json', value: { metrics: { loss: 0.5 } } } as const;

describe('futures', () => {
  it('submits, then polls the future it answers with, sending the round trip of the submit, and resolves with the result', async () => {
    const { session, fake } = await startTestSession();
    const result = session.submit('api/v1/optim_step', BODY, { requestType: 'OptimStep', timeoutMs: 9000 });
    await settle();
    expect(fake.calls.submit.map((c) => c.args)).toEqual([['api/v1/optim_step', BODY, 'OptimStep']]);
    fake.calls.submit[0]!.resolve({ requestId: 'req-1', submittedAtMs: 2_000_000, roundTripMs: 42 });
    await settle();
    expect(fake.calls.retrieveFuture.map((c) => c.args)).toEqual([['req-1', { requestType: 'OptimStep', timeoutMs: 9000, createRoundTripMs: 42 }]]);
    fake.calls.retrieveFuture[0]!.resolve(RESULT);
    await expect(result).resolves.toEqual(RESULT);
    await session.close(0);
  });

  it('passes billingMaxPauseMs, the bound of a 402 pause, to the polling of a submit and of a retrieveFuture', async () => {
    const { session, fake } = await startTestSession();
    const submitted = session.submit('api/v1/optim_step', BODY, { requestType: 'OptimStep', billingMaxPauseMs: 0 });
    await settle();
    fake.calls.submit[0]!.resolve({ requestId: 'req-1', submittedAtMs: 2_000_000, roundTripMs: 7 });
    await settle();
    const polled = session.retrieveFuture('req-2', { requestType: 'Sample', billingMaxPauseMs: 60_000 });
    await settle();
    expect(fake.calls.retrieveFuture.map((c) => c.args)).toStrictEqual([
      ['req-1', { requestType: 'OptimStep', timeoutMs: undefined, billingMaxPauseMs: 0, createRoundTripMs: 7 }],
      ['req-2', { requestType: 'Sample', timeoutMs: undefined, billingMaxPauseMs: 60_000 }],
    ]);
    for (const call of fake.calls.retrieveFuture) call.resolve(RESULT);
    await expect(Promise.all([submitted, polled])).resolves.toEqual([RESULT, RESULT]);
    await session.close(0);
  });

  it('refuses a billingMaxPauseMs that is not an integer ≥ 0, naming it, before any request', async () => {
    const { session, fake } = await startTestSession();
    const error = await session.retrieveFuture('req-3', { requestType: 'Sample', billingMaxPauseMs: -1 }).catch((thrown: unknown) => thrown);
    expect(error).toBeInstanceOf(RangeError);
    expect((error as Error).message).toMatch(/^Expected `billingMaxPauseMs` to be an integer/);
    expect(fake.calls.retrieveFuture).toHaveLength(0);
    await session.close(0);
  });

  it('polls a future by its id with the options given', async () => {
    const { session, fake } = await startTestSession();
    const result = session.retrieveFuture('req-9', { requestType: 'Sample' });
    await settle();
    expect(fake.calls.retrieveFuture.map((c) => c.args)).toEqual([['req-9', { requestType: 'Sample', timeoutMs: undefined }]]);
    fake.calls.retrieveFuture[0]!.resolve(RESULT);
    await expect(result).resolves.toEqual(RESULT);
    await session.close(0);
  });

  it('lets the caller’s own signal abort a future', async () => {
    const { session, fake } = await startTestSession();
    const controller = new AbortController();
    const result = session.retrieveFuture('req-9', { requestType: 'Sample', signal: controller.signal });
    await settle();
    const reason = new Error('caller gave up');
    controller.abort(reason);
    await expect(result).rejects.toMatchObject({ name: 'FutureAbortedError', cause: reason });
    expect(fake.calls.retrieveFuture[0]!.signal?.aborted).toBe(true);
    await session.close(0);
  });

  it.each([
    ['a path that is not a string', () => [42, BODY, { requestType: 'OptimStep' }], 'Expected `path` to be a non-empty string, got `42` (number)'],
    ['a body that is not an object', () => ['api/v1/x', 'text', { requestType: 'OptimStep' }], 'Expected `body` to be a JSON object, got `"text"` (string)'],
    [
      'no requestType',
      () => ['api/v1/x', BODY, {}],
      'Expected `requestType` to be an operation name of letters, digits and _ that starts with a letter (PascalCase, e.g. `OptimStep`), got `undefined` (undefined)',
    ],
    [
      'a requestType with a newline',
      () => ['api/v1/x', BODY, { requestType: 'OptimStep\r\nX: y' }],
      'Expected `requestType` to be an operation name of letters, digits and _ that starts with a letter (PascalCase, e.g. `OptimStep`), got `"OptimStep\\r\\nX: y"` (string)',
    ],
    [
      'a timeout of 0',
      () => ['api/v1/x', BODY, { requestType: 'X', timeoutMs: 0 }],
      'Expected `timeoutMs` to be an integer ≥ 1 (at most 2^31−1, the longest Node.js timer), got `0` (number)',
    ],
  ])('rejects a submit with %s, naming it, before any request', async (_label, args, message) => {
    const { session, fake } = await startTestSession();
    await expect(session.submit(...(args() as Parameters<typeof session.submit>))).rejects.toThrow(message);
    expect(fake.calls.submit).toEqual([]);
    await session.close(0);
  });
});

describe('close()', () => {
  it('stops the heartbeat: the beat in flight is aborted and no other is sent', async () => {
    const { session, fake } = await startTestSession(BEATS);
    await vi.advanceTimersByTimeAsync(1000);
    expect(fake.beats()).toBe(1);
    await session.close(0);
    expect(fake.calls.heartbeat[0]!.signal?.aborted).toBe(true);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(fake.beats()).toBe(1);
  });

  it('aborts every future still polling as the close starts, before the drain, with FutureAbortedError caused by a SessionClosedError naming the session', async () => {
    const wire = manualTransport();
    const { session, fake } = await startTestSession({ telemetry: { transport: wire.transport } });
    const polled = session.retrieveFuture('req-1', { requestType: 'OptimStep' });
    const submitted = session.submit('api/v1/optim_step', BODY, { requestType: 'OptimStep' });
    let pollError: unknown;
    let submitError: unknown;
    polled.catch((e: unknown) => (pollError = e));
    submitted.catch((e: unknown) => (submitError = e));
    await settle();
    const closing = session.close(5000);
    await settle();
    expect(session.state).toBe('closing');
    wire.answerAll();
    await closing;
    expect(pollError).toBeInstanceOf(FutureAbortedError);
    expect((pollError as Error).cause).toMatchObject({ name: 'SessionClosedError', code: 'TINKER_SESSION_CLOSED', sessionId: 'sess-from-server' });
    // Still submitting: the submit itself is aborted, with the same reason.
    expect(submitError).toMatchObject({ name: 'SessionClosedError', sessionId: 'sess-from-server' });
    expect(fake.calls.submit[0]!.signal?.aborted).toBe(true);
  });

  it('refuses futures once the session is closing or closed, with SessionClosedError', async () => {
    const { session, fake } = await startTestSession({ telemetry: { transport: manualTransport().transport } });
    const closing = session.close(1000);
    expect(session.state).toBe('closing');
    await expect(session.retrieveFuture('r', { requestType: 'X' })).rejects.toMatchObject({ code: 'TINKER_SESSION_CLOSED', sessionId: 'sess-from-server' });
    await vi.advanceTimersByTimeAsync(1000);
    await closing;
    await expect(session.submit('api/v1/x', BODY, { requestType: 'X' })).rejects.toMatchObject({ code: 'TINKER_SESSION_CLOSED' });
    expect(fake.calls.submit).toEqual([]);
  });

  it('sends SESSION_END and resolves once telemetry has drained', async () => {
    const wire = manualTransport();
    const { session } = await startTestSession({ telemetry: { transport: wire.transport } });
    let closed = false;
    const closing = session.close(10_000).then(() => (closed = true));
    await vi.advanceTimersByTimeAsync(0);
    expect([closed, session.state]).toEqual([false, 'closing']);
    wire.answerAll();
    await closing;
    expect(session.state).toBe('closed');
    expect(sessionEnds(wire)).toBe(1);
    expect(session.reporter?.stats()).toMatchObject({ state: 'ended', deliveredCounter: 2 });
  });

  it('resolves at its deadline when the drain hangs, having dropped what was left, with no timer left behind', async () => {
    const wire = manualTransport();
    const { session, fake } = await startTestSession({ ...BEATS, telemetry: { transport: wire.transport } });
    let closed = false;
    void session.close(2000).then(() => (closed = true));
    await vi.advanceTimersByTimeAsync(1999);
    expect(closed).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(closed).toBe(true);
    expect(session.state).toBe('closed');
    expect(session.reporter?.stats().dropped.shutdown).toBe(2);
    expect(fake.closed()).toBe(1);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('drains within the telemetry’s flushTimeoutMs when given no deadline', async () => {
    const wire = manualTransport();
    const { session } = await startTestSession({ telemetry: { transport: wire.transport, flushTimeoutMs: 3000 } });
    let closed = false;
    void session.close().then(() => (closed = true));
    await vi.advanceTimersByTimeAsync(2999);
    expect(closed).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(closed).toBe(true);
  });

  it('is idempotent: every call returns the first one’s promise, and SESSION_END is sent once', async () => {
    const wire = manualTransport();
    const { session } = await startTestSession({ telemetry: { transport: wire.transport } });
    const first = session.close(1000);
    expect(session.close(50)).toBe(first);
    await vi.advanceTimersByTimeAsync(999);
    wire.answerAll();
    await first;
    expect(session.close()).toBe(first);
    expect(sessionEnds(wire)).toBe(1);
  });

  it('closes through [Symbol.asyncDispose]', async () => {
    const { session, wire } = await startTestSession();
    await session[Symbol.asyncDispose]();
    expect(session.state).toBe('closed');
    expect(eventsOf(wire.sent).map((e) => e.event)).toEqual(['SESSION_START', 'SESSION_END']);
  });

  it.each([[-1], [1.5], [Number.NaN], ['soon' as unknown as number]])(
    'falls back to the default deadline for a timeout of %s, with one warning, and still resolves',
    async (timeoutMs) => {
      const wire = manualTransport();
      const { session, log } = await startTestSession({ telemetry: { transport: wire.transport, flushTimeoutMs: 500 } });
      const closing = session.close(timeoutMs);
      await vi.advanceTimersByTimeAsync(500);
      await closing;
      const warnings = log.records.filter((r) => r.msg?.startsWith('Tinker session close(): expected a timeout in ms from 0 to 2^31−1'));
      expect(warnings).toHaveLength(1);
      expect(warnings[0]!.msg).toMatch(/; using 500$/);
    },
  );
});
