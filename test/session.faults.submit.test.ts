/**
 * Submits and the polling of their futures under faults: the real session
 * against `startFakeTinker`, each fault the fake can inject applied to the
 * submit endpoint (`POST /api/v1/optim_step`) and then to
 * `POST /api/v1/retrieve_future`. A submit retries as start-up does (same
 * idempotency key, backoff or Retry-After, a 402 pauses 5 s) and the round
 * trip it reports on the first poll counts those waits; a refused submit is
 * a typed error naming status and path; a hung one ends with the caller's
 * signal or `close()`. A poll answered 408 or 5xx is polled again at once,
 * a 429 or a reset after its backoff, any other 4xx is a typed error, a hang
 * ends at the future's `timeoutMs`; each failure reaches the backend as a
 * `tinker.future.*` GENERIC_EVENT. Every test ends with `expectCleanRun`.
 */
import { describe, expect, it } from 'vitest';
import type { ScriptedResponse } from '../src/testing.js';
import {
  CLOSE_MS,
  OPTIM_STEP,
  PATHS,
  REFUSED_STATUSES,
  RETRIED_STATUSES,
  expectCleanRun,
  errorOf,
  faultWorld,
  forwardedFutureEvents,
  futureEvents,
  rejection,
  requestsTo,
  settleThenClose,
  statusResponse,
  useFaultHarness,
} from './session-faults-helpers.js';

useFaultHarness();

const RESULT = { metrics: { loss: 0.5 } };
const submitOptions = { requestType: 'OptimStep' };

describe('the submit endpoint under faults', () => {
  const RETRIED: { name: string; response: ScriptedResponse; leastWaitMs: number }[] = [
    ...RETRIED_STATUSES.map((given) => ({ name: given.name, response: statusResponse(given), leastWaitMs: (given.retryAfter ?? 1) * 1000 })),
    { name: 'a reset', response: { reset: true }, leastWaitMs: 1000 },
    { name: '402 (a billing pause of 5 s)', response: { status: 402 }, leastWaitMs: 5000 },
  ];

  it.each(RETRIED)(
    'a submit answered $name is sent again with the same body and idempotency key after its wait, and the first poll reports that wait in the round trip',
    async ({ response, leastWaitMs }) => {
      const w = await faultWorld();
      const session = await w.start();
      w.fake.inject({ match: PATHS.submit, response });
      w.fake.scriptNextFuture([{ result: RESULT }]);

      await expect(session.submit('api/v1/optim_step', OPTIM_STEP, submitOptions)).resolves.toEqual({ kind: 'json', value: RESULT });

      const attempts = requestsTo(w.fake, PATHS.submit);
      expect(attempts.map((r) => [r.faulted, r.credential])).toEqual([
        [true, 'api_key'],
        [false, 'api_key'],
      ]);
      expect(attempts[1]?.body).toEqual(OPTIM_STEP);
      expect(attempts[0]?.body).toEqual(OPTIM_STEP);
      expect(attempts[1]?.headers['x-idempotency-key']).toBe(attempts[0]?.headers['x-idempotency-key']);
      expect(attempts[1]!.atMs - attempts[0]!.atMs).toBeGreaterThanOrEqual(leastWaitMs);
      const [poll] = w.fake.futures[0]!.polls;
      expect(poll).toMatchObject({ iteration: '0', requestType: 'OptimStep', allowMetadataOnly: true });
      expect(Number(poll?.createRoundTrip)).toBeGreaterThanOrEqual(leastWaitMs / 1000);
      if ('status' in response && response.status === 402) {
        expect(w.log.records.some((r) => r.level === 'warn' && r.msg?.includes('paused by its billing status'))).toBe(true);
      }

      await session.close(CLOSE_MS);
      expect(futureEvents(w.fake), 'a retried submit publishes no future event').toEqual([]);
      expectCleanRun(w, session.sessionId);
    },
  );

  it.each(REFUSED_STATUSES)(
    'a submit answered $name is not retried: it rejects with an ApiStatusError naming the status and the path, and nothing is polled',
    async (given) => {
      const w = await faultWorld();
      const session = await w.start();
      w.fake.inject({ match: PATHS.submit, response: statusResponse(given) });

      const error = await rejection(w, session.submit('api/v1/optim_step', OPTIM_STEP, submitOptions));
      expect(error).toMatchObject({ name: 'ApiStatusError', code: 'TINKER_API_STATUS', status: given.status, path: PATHS.submit });
      expect(error.message).toContain(`POST ${PATHS.submit}`);
      expect(error.message).toContain(`HTTP ${given.status}`);
      expect(requestsTo(w.fake, PATHS.submit)).toHaveLength(1);
      expect(requestsTo(w.fake, PATHS.future)).toEqual([]);
      expect(session.state).toEqual({ active: 'ok' });

      await session.close(CLOSE_MS);
      expectCleanRun(w, session.sessionId);
    },
  );

  it('a hung submit waits until the caller’s signal aborts it, then rejects with the signal’s reason, and nothing is polled', async () => {
    const w = await faultWorld();
    const session = await w.start();
    w.fake.inject({ match: PATHS.submit, response: { hang: true } });
    const controller = new AbortController();
    const submitting = rejection(w, session.submit('api/v1/optim_step', OPTIM_STEP, { ...submitOptions, signal: controller.signal }));
    await w.fake.waitForRequest(PATHS.submit);
    const reason = new Error('the caller gave up');
    controller.abort(reason);

    expect(await submitting).toBe(reason);
    expect(requestsTo(w.fake, PATHS.submit).map((r) => r.outcome)).toEqual(['hung']);
    expect(requestsTo(w.fake, PATHS.future)).toEqual([]);
    expect(session.state).toEqual({ active: 'ok' });

    await session.close(CLOSE_MS);
    expectCleanRun(w, session.sessionId);
  });

  it('close() ends a hung submit with the session’s SessionClosedError, and resolves', async () => {
    const w = await faultWorld();
    const session = await w.start();
    w.fake.inject({ match: PATHS.submit, response: { hang: true } });
    const submitting = rejection(w, session.submit('api/v1/optim_step', OPTIM_STEP, submitOptions));
    await w.fake.waitForRequest(PATHS.submit);

    await session.close(CLOSE_MS);
    expect(await submitting).toMatchObject({ name: 'SessionClosedError', code: 'TINKER_SESSION_CLOSED', sessionId: session.sessionId });
    expect(session.state).toBe('closed');
    expectCleanRun(w, session.sessionId);
  });
});

describe('retrieve_future under faults', () => {
  /**
   * Submits with a future whose script is a result, the fault once on the first poll; closes the session once the submit
   * has settled, so its telemetry is at the backend; resolves what the submit settled to and the state before the close.
   */
  async function pollThrough(response: ScriptedResponse, timeoutMs?: number) {
    const w = await faultWorld();
    const session = await w.start();
    w.fake.inject({ match: PATHS.future, response });
    w.fake.scriptNextFuture([{ result: RESULT }]);
    const options = timeoutMs === undefined ? submitOptions : { ...submitOptions, timeoutMs };
    const { settled, stateBeforeClose } = await settleThenClose(w, session, session.submit('api/v1/optim_step', OPTIM_STEP, options));
    const polls = requestsTo(w.fake, PATHS.future);
    return { w, session, settled, polls, stateBeforeClose };
  }

  it.each([408, 500, 503].map((status) => ({ status })))(
    'a poll answered $status publishes api_error with the status and is polled again at once',
    async ({ status }) => {
      const { w, session, settled, polls } = await pollThrough({ status });
      expect(settled).toEqual({ value: { kind: 'json', value: RESULT } });
      expect(polls.map((r) => [r.faulted, r.headers['x-tinker-request-iteration']])).toEqual([
        [true, '0'],
        [false, '1'],
      ]);
      expect(futureEvents(w.fake)).toEqual([['tinker.future.api_error', { requestId: 'fake-request-1', requestType: 'OptimStep', status }]]);
      expectCleanRun(w, session.sessionId);
    },
  );

  it('a poll answered 429 with Retry-After publishes api_error 429 and is polled again after its 1 s backoff', async () => {
    const { w, session, settled, polls } = await pollThrough({ status: 429, retryAfter: 3 });
    expect(settled).toEqual({ value: { kind: 'json', value: RESULT } });
    expect(polls.map((r) => r.faulted)).toEqual([true, false]);
    expect(polls[1]!.atMs - polls[0]!.atMs).toBeGreaterThanOrEqual(1000);
    expect(futureEvents(w.fake)).toEqual([['tinker.future.api_error', { requestId: 'fake-request-1', requestType: 'OptimStep', status: 429 }]]);
    expectCleanRun(w, session.sessionId);
  });

  it('a reset poll publishes connection_error and is polled again after its 1 s backoff', async () => {
    const { w, session, settled, polls } = await pollThrough({ reset: true });
    expect(settled).toEqual({ value: { kind: 'json', value: RESULT } });
    expect(polls.map((r) => r.outcome)).toEqual(['reset', 'answered']);
    expect(polls[1]!.atMs - polls[0]!.atMs).toBeGreaterThanOrEqual(1000);
    expect(futureEvents(w.fake)).toEqual([['tinker.future.connection_error', { requestId: 'fake-request-1', requestType: 'OptimStep' }]]);
    expectCleanRun(w, session.sessionId);
  });

  it.each([{ name: '409', status: 409 }, ...REFUSED_STATUSES])(
    'a poll answered $name rejects with an ApiStatusError naming the status, the path and the request, publishing api_error',
    async ({ status }) => {
      const { w, session, settled, polls } = await pollThrough({ status });
      const error = errorOf(settled);
      expect(error).toMatchObject({ name: 'ApiStatusError', code: 'TINKER_API_STATUS', status, path: PATHS.future, requestId: 'fake-request-1' });
      expect(error.message).toContain(`POST ${PATHS.future} for request fake-request-1 answered HTTP ${status}`);
      expect(polls).toHaveLength(1);
      expect(futureEvents(w.fake)).toEqual([['tinker.future.api_error', { requestId: 'fake-request-1', requestType: 'OptimStep', status }]]);
      expectCleanRun(w, session.sessionId);
    },
  );

  it('a hung poll ends at the future’s timeoutMs with a FutureTimeoutError, publishing timeout with the time waited', async () => {
    const timeoutMs = 20_000;
    const { w, session, settled, polls, stateBeforeClose } = await pollThrough({ hang: true }, timeoutMs);
    const error = errorOf(settled);
    expect(error).toMatchObject({ name: 'FutureTimeoutError', code: 'TINKER_FUTURE_TIMEOUT', requestId: 'fake-request-1', timeoutMs });
    expect(polls.map((r) => r.outcome)).toEqual(['hung']);
    expect(futureEvents(w.fake)).toEqual([['tinker.future.timeout', { requestId: 'fake-request-1', requestType: 'OptimStep' }]]);
    const [[, data]] = forwardedFutureEvents(w.fake) as [[string, { measurements: { elapsedMs: number } }, string]];
    expect(data.measurements.elapsedMs).toBeGreaterThanOrEqual(timeoutMs);
    expect(stateBeforeClose).toEqual({ active: 'ok' });
    expectCleanRun(w, session.sessionId);
  });
});
