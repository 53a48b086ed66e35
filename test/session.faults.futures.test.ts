/**
 * Scripted futures: the real session polling futures the fake answers step
 * by step. `try_again` in each queue state, with a reason, publishes each
 * change of the (state, reason) pair (`from` absent the first time,
 * `queueDepth` the futures being polled) and warns about a pause;
 * `complete_metadata` asks again without metadata; an error body of each
 * category is a `RequestFailedError`; 400 is polled again three times; 402
 * pauses within the billing bound; 410 is a `FutureExpiredError`; a binary
 * result resolves as its bytes. Each failure reaches the backend as its
 * `tinker.future.*` event. Every test ends with `expectCleanRun`.
 */
import { describe, expect, it } from 'vitest';
import type { FakeTinkerOptions, FutureStep } from '../src/testing.js';
import {
  API_KEY,
  OPTIM_STEP,
  PATHS,
  type FaultWorld,
  errorOf,
  expectCleanRun,
  faultWorld,
  futureEvents,
  requestsTo,
  settleThenClose,
  useFaultHarness,
} from './session-faults-helpers.js';

useFaultHarness();

const RESULT = { metrics: { loss: 0.25 } };
const REQUEST = 'fake-request-1';
const QUEUE = 'tinker.queue.state_change';

/** A session that submits an optim_step whose future follows `steps`; closed once the submit has settled. */
async function submitScripted(steps: readonly FutureStep[], fakeOptions: FakeTinkerOptions = {}) {
  const w = await faultWorld(fakeOptions);
  const session = await w.start();
  w.fake.scriptNextFuture(steps);
  const { settled } = await settleThenClose(w, session, session.submit('api/v1/optim_step', OPTIM_STEP, { requestType: 'OptimStep' }));
  return { w, session, settled, polls: w.fake.futures[0]?.polls ?? [] };
}

const warnings = (w: FaultWorld) => w.log.records.filter((r) => r.level === 'warn').map((r) => r.msg);

describe('try_again', () => {
  it.each([
    { state: 'active', to: 'active', warns: false },
    { state: 'paused_capacity', to: 'paused_capacity', warns: true },
    { state: 'paused_rate_limit', to: 'paused_rate_limit', warns: true },
    { state: 'resharding', to: 'unknown', warns: false },
  ])('in $state with a reason publishes a first queue change to $to without from, then the result resolves', async ({ state, to, warns }) => {
    const reason = `because of ${state}`;
    const { w, session, settled, polls } = await submitScripted([{ tryAgain: state, reason }, { result: RESULT }]);
    expect(settled).toEqual({ value: { kind: 'json', value: RESULT } });
    expect(polls.map((p) => p.iteration)).toEqual(['0', '1']);
    expect(futureEvents(w.fake)).toEqual([[QUEUE, { requestId: REQUEST, to, reason }]]);
    expect(warnings(w)).toEqual(warns ? [`Tinker OptimStep request ${REQUEST} is paused. Reason: ${reason}.`] : []);
    expectCleanRun(w, session.sessionId);
  });

  it('publishes each change of the (state, reason) pair with from and to, none for a repeat, and warns about a pause once a minute per request type', async () => {
    const { w, session, settled } = await submitScripted([
      { tryAgain: 'paused_capacity', reason: 'short on capacity' },
      { tryAgain: 'paused_capacity', reason: 'short on capacity' },
      { tryAgain: 'paused_rate_limit', reason: 'too many clients' },
      { tryAgain: 'active' },
      { tryAgain: 'active' },
      { tryAgain: 'active', reason: 'scheduled' },
      { tryAgain: 'resharding' },
      { result: RESULT },
    ]);
    expect(settled).toEqual({ value: { kind: 'json', value: RESULT } });
    expect(futureEvents(w.fake)).toEqual([
      [QUEUE, { requestId: REQUEST, to: 'paused_capacity', reason: 'short on capacity' }],
      [QUEUE, { requestId: REQUEST, from: 'paused_capacity', to: 'paused_rate_limit', reason: 'too many clients' }],
      [QUEUE, { requestId: REQUEST, from: 'paused_rate_limit', to: 'active' }],
      [QUEUE, { requestId: REQUEST, from: 'active', to: 'active', reason: 'scheduled' }],
      [QUEUE, { requestId: REQUEST, from: 'active', to: 'unknown' }],
    ]);
    expect(warnings(w)).toEqual([`Tinker OptimStep request ${REQUEST} is paused. Reason: short on capacity.`]);
    expectCleanRun(w, session.sessionId);
  });

  it('counts in queueDepth the session’s futures being polled at that moment', async () => {
    const w = await faultWorld();
    const session = await w.start();
    // The second poll of each is held 20 s (200 ms real), so each first answer comes while both are polled.
    for (const id of ['q-1', 'q-2']) w.fake.scriptFuture(id, [{ tryAgain: 'active' }, { delayMs: 20_000 }, { result: { id } }]);
    const both = Promise.all(['q-1', 'q-2'].map((id) => session.retrieveFuture(id, { requestType: 'Sample' })));
    const { settled } = await settleThenClose(w, session, both);

    expect(settled).toEqual({
      value: [
        { kind: 'json', value: { id: 'q-1' } },
        { kind: 'json', value: { id: 'q-2' } },
      ],
    });
    const depths = w.fake.telemetry.events
      .filter((e) => e.event_name === QUEUE)
      .map((e) => e.event_data as { measurements: { queueDepth: number }; metadata: { requestId: string } });
    expect(depths.map((d) => [d.metadata.requestId, d.measurements.queueDepth]).sort()).toEqual([
      ['q-1', 2],
      ['q-2', 2],
    ]);
    // Polled by id, not after a submit: no promise round trip to report.
    expect(w.fake.futures.flatMap((f) => f.polls.map((p) => [p.requestType, p.createRoundTrip]))).toEqual(Array(4).fill(['Sample', undefined]));
    expectCleanRun(w, session.sessionId);
  });
});

describe('complete_metadata', () => {
  it('is polled again with allow_metadata_only false, which the result answers', async () => {
    const { w, session, settled, polls } = await submitScripted([{ completeMetadata: true, payloadBytes: 4096 }, { tryAgain: 'active' }, { result: RESULT }]);
    expect(settled).toEqual({ value: { kind: 'json', value: RESULT } });
    expect(polls.map((p) => p.allowMetadataOnly)).toEqual([true, false, false]);
    expect(futureEvents(w.fake)).toEqual([[QUEUE, { requestId: REQUEST, to: 'active' }]]);
    expectCleanRun(w, session.sessionId);
  });

  it('a second complete_metadata is an InvalidResponseError, published as validation_error with the status', async () => {
    const { w, session, settled } = await submitScripted([{ completeMetadata: true }, { completeMetadata: true }]);
    expect(errorOf(settled)).toMatchObject({
      name: 'InvalidResponseError',
      code: 'TINKER_INVALID_RESPONSE',
      path: PATHS.future,
      requestId: REQUEST,
      status: 200,
    });
    expect(futureEvents(w.fake)).toEqual([['tinker.future.validation_error', { requestId: REQUEST, requestType: 'OptimStep', status: 200 }]]);
    expectCleanRun(w, session.sessionId);
  });
});

describe('results and errors', () => {
  it.each([
    { category: 'user', reads: 'user' },
    { category: 'server', reads: 'server' },
    { category: 'unknown', reads: 'unknown' },
    { category: 'Fatal', reads: 'unknown' },
  ])('an error body of category $category rejects with a RequestFailedError of category $reads, published as request_failed', async ({ category, reads }) => {
    const { w, session, settled } = await submitScripted([{ tryAgain: 'active' }, { error: `bad batch sent with ${API_KEY}`, category }]);
    const error = errorOf(settled);
    expect(error).toMatchObject({
      name: 'RequestFailedError',
      code: 'TINKER_REQUEST_FAILED',
      requestId: REQUEST,
      category: reads,
      error: 'bad batch sent with [redacted]',
    });
    expect(error.message).toBe(`Tinker request ${REQUEST} failed (category ${reads}): bad batch sent with [redacted]`);
    expect(futureEvents(w.fake)).toEqual([
      [QUEUE, { requestId: REQUEST, to: 'active' }],
      ['tinker.future.request_failed', { requestId: REQUEST, requestType: 'OptimStep', category: reads }],
    ]);
    expectCleanRun(w, session.sessionId);
  });

  it('a binary result resolves as its bytes and content type, undecoded', async () => {
    const bytes = new Uint8Array([0x0a, 0x03, 0x66, 0x6f, 0x6f, 0xff]);
    const { w, session, settled } = await submitScripted([{ tryAgain: 'active' }, { binary: bytes }]);
    expect(settled).toEqual({ value: { kind: 'binary', contentType: 'application/x-protobuf', bytes } });
    expectCleanRun(w, session.sessionId);
  });

  it('a JSON result that is not an object resolves as it is', async () => {
    const { w, session, settled } = await submitScripted([{ result: [1, 'two', null] }]);
    expect(settled).toEqual({ value: { kind: 'json', value: [1, 'two', null] } });
    expectCleanRun(w, session.sessionId);
  });

  it('a 2xx that is not JSON rejects with an InvalidResponseError, published as validation_error with the status', async () => {
    const { w, session, settled } = await submitScripted([{ status: 200, body: 'surely not JSON' }]);
    expect(errorOf(settled)).toMatchObject({ name: 'InvalidResponseError', path: PATHS.future, requestId: REQUEST, status: 200 });
    expect(futureEvents(w.fake)).toEqual([['tinker.future.validation_error', { requestId: REQUEST, requestType: 'OptimStep', status: 200 }]]);
    expectCleanRun(w, session.sessionId);
  });
});

describe('statuses of a poll', () => {
  const apiError = (status: number) => ['tinker.future.api_error', { requestId: REQUEST, requestType: 'OptimStep', status }];

  it('a 400 is polled again up to 3 times, each published as api_error, and the result still resolves', async () => {
    const { w, session, settled, polls } = await submitScripted([{ status: 400 }, { status: 400 }, { status: 400 }, { result: RESULT }]);
    expect(settled).toEqual({ value: { kind: 'json', value: RESULT } });
    expect(polls.map((p) => p.iteration)).toEqual(['0', '1', '2', '3']);
    expect(futureEvents(w.fake)).toEqual([apiError(400), apiError(400), apiError(400)]);
    expectCleanRun(w, session.sessionId);
  });

  it('a fourth 400 rejects with an ApiStatusError 400 naming the path and the request', async () => {
    const { w, session, settled, polls } = await submitScripted(Array(5).fill({ status: 400, body: { detail: 'bad request id' } }));
    const error = errorOf(settled);
    expect(error).toMatchObject({ name: 'ApiStatusError', status: 400, path: PATHS.future, requestId: REQUEST });
    expect(error.message).toBe(`Tinker API POST ${PATHS.future} for request ${REQUEST} answered HTTP 400: {"detail":"bad request id"}`);
    expect(polls).toHaveLength(4);
    expect(futureEvents(w.fake)).toEqual(Array(4).fill(apiError(400)));
    expectCleanRun(w, session.sessionId);
  });

  it('a 402 pauses 5 s and asks again, without telemetry, warning about the billing pause', async () => {
    const { w, session, settled } = await submitScripted([{ status: 402, body: { detail: 'billing' } }, { result: RESULT }]);
    expect(settled).toEqual({ value: { kind: 'json', value: RESULT } });
    const [paused, asked] = requestsTo(w.fake, PATHS.future);
    expect(asked!.atMs - paused!.atMs).toBeGreaterThanOrEqual(5000);
    expect(futureEvents(w.fake)).toEqual([]);
    expect(warnings(w)).toEqual(['Tinker job is paused by its billing status (HTTP 402); asking again every 5 s']);
    expectCleanRun(w, session.sessionId);
  });

  it('402s past billing_exception_max_pause_duration_sec reject with an ApiStatusError 402, published once as api_error', async () => {
    const { w, session, settled, polls } = await submitScripted(Array(6).fill({ status: 402 }), { clientConfig: { billingExceptionMaxPauseDurationSec: 12 } });
    expect(errorOf(settled)).toMatchObject({ name: 'ApiStatusError', status: 402, path: PATHS.future, requestId: REQUEST });
    // Paused at 0, 5 and 10 s; a 402 more than 12 s after the first gives up.
    expect(polls.length).toBeGreaterThanOrEqual(3);
    expect(polls.length).toBeLessThanOrEqual(4);
    const times = requestsTo(w.fake, PATHS.future).map((r) => r.atMs);
    for (let i = 1; i < times.length; i++) expect(times[i]! - times[i - 1]!).toBeGreaterThanOrEqual(5000);
    expect(futureEvents(w.fake)).toEqual([apiError(402)]);
    expect(w.log.records.some((r) => r.level === 'error' && r.msg?.includes('paused by its billing status for too long'))).toBe(true);
    expectCleanRun(w, session.sessionId);
  });

  it('a 410 rejects with a FutureExpiredError that says to resubmit, caused by the 410, published as api_error', async () => {
    const { w, session, settled } = await submitScripted([{ tryAgain: 'active' }, { status: 410 }]);
    const error = errorOf(settled);
    expect(error).toMatchObject({ name: 'FutureExpiredError', code: 'TINKER_FUTURE_EXPIRED', requestId: REQUEST, status: 410 });
    expect(error.message).toContain('submit the request again');
    expect(error.cause).toMatchObject({ name: 'ApiStatusError', status: 410, path: PATHS.future, requestId: REQUEST });
    expect(futureEvents(w.fake)).toEqual([[QUEUE, { requestId: REQUEST, to: 'active' }], apiError(410)]);
    expectCleanRun(w, session.sessionId);
  });

  it('a 408 with a queue state in its body is polled again, publishing api_error and the queue change', async () => {
    const { w, session, settled } = await submitScripted([
      { status: 408, body: { type: 'try_again', request_id: REQUEST, queue_state: 'paused_capacity', queue_state_reason: 'busy' } },
      { result: RESULT },
    ]);
    expect(settled).toEqual({ value: { kind: 'json', value: RESULT } });
    expect(futureEvents(w.fake)).toEqual([apiError(408), [QUEUE, { requestId: REQUEST, to: 'paused_capacity', reason: 'busy' }]]);
    expectCleanRun(w, session.sessionId);
  });
});
