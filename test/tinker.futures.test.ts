/**
 * retrieveFuture against a scripted loopback server: each answer and status
 * of a poll, the headers and bodies, the backoffs on the manual clock, the
 * queue-state and future telemetry with the session's id, the paused
 * warning, the overall timeout, the signal and the 45 s per-poll timeout.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { CHANNELS, FUTURE_CHANNELS } from '../src/host/channels.js';
import { ApiStatusError, FutureAbortedError, FutureExpiredError, FutureTimeoutError, InvalidResponseError, RequestFailedError } from '../src/tinker/errors.js';
import { type Answer, KEY, type ManualClock, makeApi, recordChannels, rejectionOf, serve } from './tinker-helpers.js';

const PATH = '/api/v1/retrieve_future';
const tryAgain = (queue_state?: string, queue_state_reason?: string): Answer => ({
  json: {
    type: 'try_again',
    request_id: 'r-1',
    ...(queue_state === undefined ? {} : { queue_state }),
    ...(queue_state_reason === undefined ? {} : { queue_state_reason }),
  },
});
const result: Answer = { json: { metrics: { loss: 0.5 } } };

afterEach(() => {
  vi.useRealTimers();
});

/** A bound TinkerApi whose retrieve_future answers `answers[n]` (the last one again after the end). */
async function polling(answers: Answer[]) {
  const server = await serve((_request, n) => answers[Math.min(n, answers.length - 1)] as Answer);
  const channels = recordChannels();
  const made = makeApi(server.baseUrl);
  made.api.bind('sess-1');
  const futureEvents = () => channels.messages.filter((m) => FUTURE_CHANNELS.includes(m.channel as never));
  return { server, channels, futureEvents, ...made };
}

/** Fires each timer the future sets until it settles; returns their delays. */
async function runTimers(clock: ManualClock, promise: Promise<unknown>): Promise<number[]> {
  let settled = false;
  const done = promise.then(
    () => (settled = true),
    () => (settled = true),
  );
  const delays: number[] = [];
  while (!settled) {
    const timer = await Promise.race([clock.nextTimer(), done.then(() => undefined)]);
    if (timer === undefined) break;
    delays.push(timer.ms);
    clock.fire(timer);
  }
  return delays;
}

async function until(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 1000 && !condition(); i++) await new Promise((resolve) => setImmediate(resolve));
  expect(condition()).toBe(true);
}

describe('retrieveFuture requests', () => {
  it('posts { request_id, allow_metadata_only: true } with the iteration from 0, the request type, and a fresh idempotency key per poll', async () => {
    const { server, api } = await polling([tryAgain('active'), result]);
    await api.retrieveFuture('r-1', { requestType: 'OptimStep' });

    expect(server.received.map((r) => r.path)).toEqual([PATH, PATH]);
    expect(server.received.map((r) => JSON.stringify(r.body))).toEqual(Array(2).fill('{"request_id":"r-1","allow_metadata_only":true}'));
    expect(server.received.map((r) => r.headers['x-tinker-request-iteration'])).toEqual(['0', '1']);
    expect(server.received.map((r) => r.headers['x-tinker-request-type'])).toEqual(['OptimStep', 'OptimStep']);
    expect(server.received.map((r) => r.headers['x-tinker-create-promise-roundtrip-time'])).toEqual([undefined, undefined]);
    expect(new Set(server.received.map((r) => r.headers['x-idempotency-key'])).size).toBe(2);
    expect(server.received[0]?.headers).toMatchObject({ 'x-api-key': KEY, 'content-type': 'application/json', accept: 'application/json' });
  });

  it('sends the submit’s round trip in seconds on the first poll only', async () => {
    const { server, api } = await polling([tryAgain('active'), result]);
    await api.retrieveFuture('r-1', { requestType: 'Sample', createRoundTripMs: 1234 });
    expect(server.received.map((r) => r.headers['x-tinker-create-promise-roundtrip-time'])).toEqual(['1.234', undefined]);
  });

  it('polls again with allow_metadata_only false, for good, after complete_metadata', async () => {
    const { server, api } = await polling([{ json: { status: 'complete_metadata', response_payload_size: 10 } }, tryAgain('active'), result]);
    await api.retrieveFuture('r-1', { requestType: 'ForwardBackward' });
    expect(server.received.map((r) => (r.body as { allow_metadata_only: boolean }).allow_metadata_only)).toEqual([true, false, false]);
  });

  it('fails a second complete_metadata as an invalid response, publishing validation_error', async () => {
    const { api, futureEvents } = await polling([{ json: { status: 'complete_metadata' } }]);
    const error = await rejectionOf(api.retrieveFuture('r-1', { requestType: 'Sample' }));
    expect(error).toBeInstanceOf(InvalidResponseError);
    expect(futureEvents().map((m) => [m.channel, m.payload.status])).toEqual([[CHANNELS.futureValidationError, 200]]);
  });
});

describe('retrieveFuture results', () => {
  it('resolves a JSON result as parsed JSON, objects and other values alike', async () => {
    const first = await polling([result]);
    await expect(first.api.retrieveFuture('r-1', { requestType: 'OptimStep' })).resolves.toEqual({ kind: 'json', value: { metrics: { loss: 0.5 } } });
    const second = await polling([{ json: [1, 'two'] }]);
    await expect(second.api.retrieveFuture('r-1', { requestType: 'X' })).resolves.toEqual({ kind: 'json', value: [1, 'two'] });
    const third = await polling([{ text: 'null' }]);
    await expect(third.api.retrieveFuture('r-1', { requestType: 'X' })).resolves.toEqual({ kind: 'json', value: null });
  });

  it('resolves a protobuf result as its bytes and content type, undecoded', async () => {
    const bytes = Buffer.from([0x0a, 0x03, 0xff, 0x00]);
    const { api } = await polling([{ bytes, headers: { 'content-type': 'application/x-protobuf; charset=binary' } }]);
    const resolved = await api.retrieveFuture('r-1', { requestType: 'Sample' });
    expect(resolved.kind).toBe('binary');
    if (resolved.kind !== 'binary') return;
    expect(resolved.contentType).toBe('application/x-protobuf; charset=binary');
    expect(resolved.bytes).toBeInstanceOf(Uint8Array);
    expect([...resolved.bytes]).toEqual([...bytes]);
  });

  it.each([
    ['user', 'user'],
    ['server', 'server'],
    ['unknown', 'unknown'],
    ['User', 'unknown'],
    [undefined, 'unknown'],
  ])('rejects an error body of category %s with a RequestFailedError of category %s, publishing request_failed with it', async (wire, category) => {
    const { api, futureEvents } = await polling([{ json: { error: 'bad batch', ...(wire === undefined ? {} : { category: wire }) } }]);
    const error = await rejectionOf(api.retrieveFuture('r-1', { requestType: 'OptimStep' }));
    expect(error).toBeInstanceOf(RequestFailedError);
    expect(error).toMatchObject({ code: 'TINKER_REQUEST_FAILED', requestId: 'r-1', category, error: 'bad batch' });
    expect(futureEvents()).toEqual([
      { channel: CHANNELS.futureRequestFailed, payload: { sessionId: 'sess-1', requestId: 'r-1', requestType: 'OptimStep', category, elapsedMs: 0 } },
    ]);
  });

  it('rejects a 2xx that is not JSON with an InvalidResponseError, publishing validation_error with the status', async () => {
    const { api, futureEvents } = await polling([{ status: 200, text: 'not json{' }]);
    const error = await rejectionOf(api.retrieveFuture('r-1', { requestType: 'OptimStep' }));
    expect(error).toBeInstanceOf(InvalidResponseError);
    expect(error).toMatchObject({ path: PATH, requestId: 'r-1', status: 200 });
    expect(futureEvents().map((m) => m.payload)).toEqual([{ sessionId: 'sess-1', requestId: 'r-1', requestType: 'OptimStep', status: 200, elapsedMs: 0 }]);
  });
});

describe('retrieveFuture statuses', () => {
  it('polls again at once after a 408 or a 5xx, publishing api_error with each status', async () => {
    const { api, clock, futureEvents, server } = await polling([{ status: 408 }, { status: 500 }, { status: 503 }, { status: 599 }, result]);
    await api.retrieveFuture('r-1', { requestType: 'OptimStep' });
    expect(clock.timers).toEqual([]);
    expect(server.received).toHaveLength(5);
    expect(futureEvents().map((m) => [m.channel, m.payload.status])).toEqual([
      [CHANNELS.futureApiError, 408],
      [CHANNELS.futureApiError, 500],
      [CHANNELS.futureApiError, 503],
      [CHANNELS.futureApiError, 599],
    ]);
  });

  it('backs off min(2^n, 30) s after 429s and connection errors in a row, starting over after a success or another status', async () => {
    const { api, clock, futureEvents } = await polling([
      { status: 429 },
      { reset: true },
      { status: 429 },
      { status: 500 },
      { status: 429 },
      tryAgain('active'),
      { status: 429 },
      result,
    ]);
    const waiting = api.retrieveFuture('r-1', { requestType: 'OptimStep' });
    expect(await runTimers(clock, waiting)).toEqual([1000, 2000, 4000, 1000, 1000]);
    await waiting;
    expect(futureEvents().map((m) => [m.channel, m.payload.status])).toEqual([
      [CHANNELS.futureApiError, 429],
      [CHANNELS.futureConnectionError, undefined],
      [CHANNELS.futureApiError, 429],
      [CHANNELS.futureApiError, 500],
      [CHANNELS.futureApiError, 429],
      [CHANNELS.futureApiError, 429],
    ]);
  });

  it('caps the backoff at 30 s', async () => {
    const { api, clock } = await polling([...Array<Answer>(7).fill({ status: 429 }), result]);
    const waiting = api.retrieveFuture('r-1', { requestType: 'Sample' });
    expect(await runTimers(clock, waiting)).toEqual([1000, 2000, 4000, 8000, 16000, 30000, 30000]);
  });

  it('polls a 400 again up to 3 times, then rejects with an ApiStatusError 400', async () => {
    const { api, server, futureEvents } = await polling([{ status: 400, json: { detail: 'malformed' } }]);
    const error = await rejectionOf(api.retrieveFuture('r-1', { requestType: 'OptimStep' }));
    expect(error).toBeInstanceOf(ApiStatusError);
    expect(error).toMatchObject({ status: 400, path: PATH, requestId: 'r-1' });
    expect(server.received).toHaveLength(4);
    expect(futureEvents()).toHaveLength(4);
  });

  it('gives 400s a fresh budget after a 408 with a body', async () => {
    const bad: Answer = { status: 400 };
    const { api, server } = await polling([bad, bad, bad, { status: 408, json: {} }, bad, bad, bad, result]);
    await expect(api.retrieveFuture('r-1', { requestType: 'OptimStep' })).resolves.toMatchObject({ kind: 'json' });
    expect(server.received).toHaveLength(8);
  });

  it('pauses 5 s on a 402, without telemetry, for billingMaxPauseMs, then rejects with the 402 and publishes it', async () => {
    const { api, clock, futureEvents } = await polling([{ status: 402, json: { detail: 'billing' } }]);
    const waiting = api.retrieveFuture('r-1', { requestType: 'OptimStep', billingMaxPauseMs: 10_000 });
    // 402s at 0, 5 and 10 s pause; the one at 15 s is past the 10 s bound.
    expect(await runTimers(clock, waiting)).toEqual([5000, 5000, 5000]);
    const error = await rejectionOf(waiting);
    expect(error).toBeInstanceOf(ApiStatusError);
    expect(error.status).toBe(402);
    expect(futureEvents().map((m) => [m.channel, m.payload.status, m.payload.elapsedMs])).toEqual([[CHANNELS.futureApiError, 402, 15_000]]);
  });

  it('rejects a 410 with a FutureExpiredError that says to resubmit, its cause the 410', async () => {
    const { api, futureEvents } = await polling([{ status: 410 }]);
    const error = await rejectionOf(api.retrieveFuture('r-1', { requestType: 'Sample' }));
    expect(error).toBeInstanceOf(FutureExpiredError);
    expect(error).toMatchObject({ code: 'TINKER_FUTURE_EXPIRED', requestId: 'r-1', status: 410 });
    expect(error.message).toContain('submit the request again');
    expect(error.cause).toBeInstanceOf(ApiStatusError);
    expect(futureEvents().map((m) => m.payload.status)).toEqual([410]);
  });

  it.each([401, 403, 404, 409, 422])('rejects a %i with an ApiStatusError naming the status, request and path', async (status) => {
    const { api, server, futureEvents } = await polling([{ status, json: { detail: `denied ${KEY}` } }]);
    const error = await rejectionOf(api.retrieveFuture('r-1', { requestType: 'OptimStep' }));
    expect(error).toBeInstanceOf(ApiStatusError);
    expect(error).toMatchObject({ status, requestId: 'r-1', path: PATH });
    expect(error.message).toContain(`HTTP ${status}`);
    expect(error.message).toContain('r-1');
    expect(error.message).not.toContain(KEY);
    expect(server.received).toHaveLength(1);
    expect(futureEvents().map((m) => m.payload.status)).toEqual([status]);
  });
});

describe('retrieveFuture queue telemetry', () => {
  it('publishes each change of the (queue_state, reason) pair, the first without from, with the session id and queue depth', async () => {
    const { api, channels } = await polling([
      tryAgain('active'),
      tryAgain('active'),
      tryAgain('paused_capacity', 'full'),
      tryAgain('paused_capacity', 'full'),
      tryAgain('paused_capacity'),
      tryAgain(),
      { status: 408, json: { queue_state: 'paused_rate_limit' } },
      { status: 408, json: { queue_state: 'paused_rate_limit' } },
      { status: 408, json: {} },
      tryAgain('active'),
      result,
    ]);
    await api.retrieveFuture('r-1', { requestType: 'OptimStep' });
    const base = { sessionId: 'sess-1', requestId: 'r-1', queueDepth: 1 };
    expect(channels.on(CHANNELS.queueStateChange)).toEqual([
      { ...base, to: 'active' },
      { ...base, from: 'active', to: 'paused_capacity', reason: 'full' },
      { ...base, from: 'paused_capacity', to: 'paused_capacity' },
      { ...base, from: 'paused_capacity', to: 'unknown' },
      { ...base, from: 'unknown', to: 'paused_rate_limit' },
      { ...base, from: 'paused_rate_limit', to: 'active' },
    ]);
    expect(channels.on(CHANNELS.queueStateChange).every((p) => !('from' in p) || p.from !== undefined)).toBe(true);
  });

  it('counts in queueDepth the session’s futures being polled at that moment, and pendingFutures goes back to 0', async () => {
    let pollsOfA = 0;
    const server = await serve((request) => {
      if ((request.body as { request_id: string }).request_id === 'b') return { hang: true };
      return pollsOfA++ === 0 ? { json: { type: 'try_again', request_id: 'a', queue_state: 'active' } } : result;
    });
    const channels = recordChannels();
    const { api } = makeApi(server.baseUrl);
    api.bind('sess-1');
    const controller = new AbortController();
    const b = api.retrieveFuture('b', { requestType: 'Sample', signal: controller.signal });
    expect(api.pendingFutures).toBe(1);
    await until(() => server.received.length === 1);

    await api.retrieveFuture('a', { requestType: 'Sample' });
    expect(channels.on(CHANNELS.queueStateChange)).toEqual([{ sessionId: 'sess-1', requestId: 'a', queueDepth: 2, to: 'active' }]);
    expect(api.pendingFutures).toBe(1);

    controller.abort();
    await expect(b).rejects.toBeInstanceOf(FutureAbortedError);
    expect(api.pendingFutures).toBe(0);
  });

  it('warns about a paused request at most once a minute per request type', async () => {
    const { api, clock, logged } = await polling([tryAgain('paused_capacity'), tryAgain('paused_capacity', 'busy'), tryAgain('paused_rate_limit'), result]);
    await api.retrieveFuture('r-1', { requestType: 'Sample' });
    expect(logged.records.filter((r) => r.level === 'warn').map((r) => r.msg)).toEqual([
      'Tinker Sample request r-1 is paused. Reason: Tinker backend is running short on capacity, please wait.',
    ]);
    clock.nowMs += 60_000;
    const again = await polling([tryAgain('paused_rate_limit', 'quota'), result]);
    // Another client has its own minute; on this one, the minute is up.
    await again.api.retrieveFuture('r-2', { requestType: 'Sample' });
    expect(again.logged.records.filter((r) => r.level === 'warn')).toHaveLength(1);
  });

  it('publishes nothing before bind(), and still resolves', async () => {
    const server = await serve((_request, n) => (n === 0 ? tryAgain('paused_capacity') : n === 1 ? { status: 500 } : result));
    const channels = recordChannels();
    const { api } = makeApi(server.baseUrl);
    await expect(api.retrieveFuture('r-1', { requestType: 'Sample' })).resolves.toMatchObject({ kind: 'json' });
    expect(channels.messages).toEqual([]);
  });
});

describe('retrieveFuture limits', () => {
  it('rejects with a FutureTimeoutError at timeoutMs, publishing timeout, and cuts the poll under way', async () => {
    const { api, clock, server, futureEvents } = await polling([{ hang: true }]);
    const waiting = api.retrieveFuture('r-1', { requestType: 'OptimStep', timeoutMs: 5_000 });
    const timer = await clock.nextTimer();
    expect(timer.ms).toBe(5_000);
    await until(() => server.received.length === 1);
    clock.fire(timer);
    const error = await rejectionOf(waiting);
    expect(error).toBeInstanceOf(FutureTimeoutError);
    expect(error).toMatchObject({ code: 'TINKER_FUTURE_TIMEOUT', requestId: 'r-1', timeoutMs: 5_000 });
    expect(futureEvents()).toEqual([
      { channel: CHANNELS.futureTimeout, payload: { sessionId: 'sess-1', requestId: 'r-1', requestType: 'OptimStep', elapsedMs: 5_000 } },
    ]);
    expect(api.pendingFutures).toBe(0);
  });

  it('times out during a backoff, clearing it', async () => {
    const { api, clock } = await polling([{ status: 429 }]);
    const waiting = api.retrieveFuture('r-1', { requestType: 'OptimStep', timeoutMs: 1_500 });
    const timeout = await clock.nextTimer();
    const backoff = await clock.nextTimer();
    expect(backoff.ms).toBe(1000);
    clock.fire(backoff);
    const second = await clock.nextTimer();
    expect(second.ms).toBe(2000);
    clock.fire(timeout);
    await expect(waiting).rejects.toBeInstanceOf(FutureTimeoutError);
    expect(second.cleared).toBe(true);
  });

  it('rejects with a FutureAbortedError whose cause is the signal’s reason, during a poll, during a backoff, or at once', async () => {
    const hanging = await polling([{ hang: true }]);
    const first = new AbortController();
    const polled = hanging.api.retrieveFuture('r-1', { requestType: 'Sample', signal: first.signal });
    await until(() => hanging.server.received.length === 1);
    first.abort(new Error('closed'));
    const error = await rejectionOf(polled);
    expect(error).toBeInstanceOf(FutureAbortedError);
    expect(error).toMatchObject({ code: 'TINKER_FUTURE_ABORTED', requestId: 'r-1' });
    expect((error.cause as Error).message).toBe('closed');

    const limited = await polling([{ status: 429 }]);
    const second = new AbortController();
    const backingOff = limited.api.retrieveFuture('r-2', { requestType: 'Sample', signal: second.signal });
    const backoff = await limited.clock.nextTimer();
    second.abort('bye');
    await expect(backingOff).rejects.toMatchObject({ name: 'FutureAbortedError', cause: 'bye' });
    expect(backoff.cleared).toBe(true);

    const idle = await polling([result]);
    const third = new AbortController();
    third.abort('already');
    await expect(idle.api.retrieveFuture('r-3', { requestType: 'Sample', signal: third.signal })).rejects.toMatchObject({ cause: 'already' });
    expect(idle.server.received).toEqual([]);
    expect(idle.futureEvents()).toEqual([]);
  });

  it('gives each poll 45 s before it fails as a connection error and backs off', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const { api, clock, server, futureEvents } = await polling([{ hang: true }]);
    const controller = new AbortController();
    const waiting = api.retrieveFuture('r-1', { requestType: 'Sample', signal: controller.signal });
    // got defers parts of a request with zero-delay timers, which are fake here too: run those, never more.
    const untilFaked = async (condition: () => boolean) => {
      for (let i = 0; i < 1000 && !condition(); i++) {
        await vi.advanceTimersByTimeAsync(0);
        await new Promise((resolve) => setImmediate(resolve));
      }
      expect(condition()).toBe(true);
    };
    await untilFaked(() => server.received.length === 1);
    // got's own timers (zero-delay and short ones around the timeout) make the boundary fuzzy by a few ms: 44 s, then 46 s.
    await vi.advanceTimersByTimeAsync(44_000);
    for (let i = 0; i < 50; i++) await new Promise((resolve) => setImmediate(resolve));
    expect(futureEvents()).toEqual([]);
    await vi.advanceTimersByTimeAsync(2_000);
    await untilFaked(() => futureEvents().length === 1);
    expect(futureEvents()[0]?.channel).toBe(CHANNELS.futureConnectionError);
    expect((await clock.nextTimer()).ms).toBe(1000);
    controller.abort();
    await expect(waiting).rejects.toBeInstanceOf(FutureAbortedError);
  });

  it('refuses an empty request id or request type and a timeoutMs that is not a whole number ≥ 1', async () => {
    const { api } = makeApi('http://127.0.0.1:9');
    await expect(api.retrieveFuture('', { requestType: 'Sample' })).rejects.toThrow(TypeError);
    await expect(api.retrieveFuture('r', { requestType: '' })).rejects.toThrow(/requestType/);
    await expect(api.retrieveFuture('r', { requestType: 'Sample', timeoutMs: 0 })).rejects.toThrow(RangeError);
  });
});
