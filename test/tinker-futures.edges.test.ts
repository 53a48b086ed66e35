/**
 * The edges of waiting for a future, driven through `retrieveFuture`'s
 * context with scripted attempts (no HTTP): stops that race an answer or a
 * timer, statuses at the borders of their ranges, the bodies of 408s, the
 * debug lines of backoffs and the abort listeners left behind; and the
 * edges of `sleep`, `unrefTimeout` and `QueueStateTracker`.
 */
import { getEventListeners } from 'node:events';
import { describe, expect, it } from 'vitest';
import type { Log } from '../src/core/ports.js';
import { CHANNELS, FUTURE_CHANNELS } from '../src/host/channels.js';
import { BillingPause } from '../src/tinker/billing.js';
import { Credentials } from '../src/tinker/credentials.js';
import { ApiStatusError, FutureAbortedError, InvalidResponseError, RequestFailedError } from '../src/tinker/errors.js';
import { type FutureContext, type PollRequest, retrieveFuture } from '../src/tinker/futures.js';
import type { Attempt } from '../src/tinker/http.js';
import { PausedWarnings, QueueStateTracker } from '../src/tinker/queue-state.js';
import { sleep, unrefTimeout } from '../src/tinker/wait.js';
import { KEY, ManualClock, recordChannels, rejectionOf } from './tinker-helpers.js';

interface Logged {
  level: string;
  obj: object;
  msg: string;
}

/** A response attempt: `body` as JSON, or as it is when a string; no headers unless given. */
function answer(status: number, body: unknown = {}, headers: Record<string, string> = {}): Attempt {
  return { kind: 'response', status, headers, body: Buffer.from(typeof body === 'string' ? body : JSON.stringify(body)) };
}

const result = answer(200, { metrics: { loss: 0.5 } });

/** A future context whose polls answer `script(request, n)`, bound to `sess-1`, on a manual clock, logging to `records`. */
function context(script: (request: PollRequest, n: number) => Attempt | Promise<Attempt>) {
  const clock = new ManualClock();
  const records: Logged[] = [];
  const at = (level: string) => (obj: object, msg: string) => void records.push({ level, obj, msg });
  const log: Log = {
    warn: at('warn'),
    info: at('info'),
    error: at('error'),
    debug: at('debug'),
    warnOnce: (_key, obj, msg) => at('warn')(obj, msg),
    rearm: () => undefined,
  };
  const polls: PollRequest[] = [];
  let pending = 0;
  const futures: FutureContext = {
    poll: (request) => {
      polls.push(request);
      if (request.signal.aborted) return Promise.resolve({ kind: 'aborted' });
      return Promise.resolve(script(request, polls.length - 1));
    },
    credentials: new Credentials(KEY),
    clock,
    log,
    billing: new BillingPause(log),
    pausedWarnings: new PausedWarnings(log),
    billingMaxPauseMs: () => 3_600_000,
    sessionId: () => 'sess-1',
    track: () => {
      pending++;
      return () => void pending--;
    },
    pending: () => pending,
  };
  const channels = recordChannels();
  const futureEvents = () => channels.messages.filter((m) => FUTURE_CHANNELS.includes(m.channel as never));
  return { futures, clock, records, polls, channels, futureEvents };
}

/** A promise and its resolve, for an attempt the test answers when it chooses. */
function later() {
  let resolve!: (attempt: Attempt) => void;
  const promise = new Promise<Attempt>((r) => (resolve = r));
  return { promise, resolve };
}

async function ticks(n = 10): Promise<void> {
  for (let i = 0; i < n; i++) await Promise.resolve();
}

describe('retrieveFuture stops', () => {
  it('ends the wait with a FutureAbortedError when an attempt comes back aborted, even with no signal given', async () => {
    const { futures, polls } = context(() => ({ kind: 'aborted' }));
    const error = await rejectionOf(retrieveFuture(futures, 'r-1', { requestType: 'Sample' }));
    expect(error).toBeInstanceOf(FutureAbortedError);
    expect(error.cause).toBeUndefined();
    expect(polls).toHaveLength(1);
  });

  it('rejects as aborted, not with the answer, when a poll answers after the signal aborted', async () => {
    const pending = later();
    const { futures } = context(() => pending.promise);
    const controller = new AbortController();
    const waiting = retrieveFuture(futures, 'r-1', { requestType: 'Sample', signal: controller.signal });
    await ticks();
    controller.abort('bye');
    pending.resolve(result);
    await expect(waiting).rejects.toMatchObject({ name: 'FutureAbortedError', cause: 'bye' });
  });

  it('keeps an abort an abort when the timeout falls due before the aborted poll returns, publishing no timeout', async () => {
    const pending = later();
    const { futures, clock, futureEvents } = context(() => pending.promise);
    const controller = new AbortController();
    const waiting = retrieveFuture(futures, 'r-1', { requestType: 'Sample', signal: controller.signal, timeoutMs: 1_000 });
    await ticks();
    controller.abort('bye');
    clock.advance(1_000);
    pending.resolve({ kind: 'aborted' });
    const error = await rejectionOf(waiting);
    expect(error).toBeInstanceOf(FutureAbortedError);
    expect(error.cause).toBe('bye');
    expect(futureEvents()).toEqual([]);
  });

  it('ends the wait when the signal aborts during a backoff, without polling again', async () => {
    const { futures, clock, polls } = context(() => answer(429));
    const controller = new AbortController();
    const waiting = retrieveFuture(futures, 'r-1', { requestType: 'Sample', signal: controller.signal });
    const backoff = await clock.nextTimer();
    controller.abort('bye');
    await expect(waiting).rejects.toMatchObject({ name: 'FutureAbortedError', cause: 'bye' });
    expect(backoff.cleared).toBe(true);
    expect(polls).toHaveLength(1);
  });

  it('leaves no abort listener on the caller’s signal once it settles', async () => {
    const { futures } = context(() => result);
    const controller = new AbortController();
    await retrieveFuture(futures, 'r-1', { requestType: 'Sample', signal: controller.signal });
    expect(getEventListeners(controller.signal, 'abort')).toEqual([]);
  });
});

describe('retrieveFuture statuses at the edges', () => {
  it('publishes validation_error with the status of an answer over the size limit', async () => {
    const { futures, futureEvents } = context(() => ({ kind: 'too_large', status: 200, limitBytes: 10 }));
    await rejectionOf(retrieveFuture(futures, 'r-1', { requestType: 'Sample' }));
    expect(futureEvents().map((m) => [m.channel, m.payload.status])).toEqual([[CHANNELS.futureValidationError, 200]]);
  });

  it.each([199, 300])('fails a %i at once as an ApiStatusError: only 200–299 is a success', async (status) => {
    const { futures, polls } = context(() => answer(status, { metrics: { loss: 0.5 } }));
    const error = await rejectionOf(retrieveFuture(futures, 'r-1', { requestType: 'Sample' }));
    expect(error).toBeInstanceOf(ApiStatusError);
    expect(error.status).toBe(status);
    expect(polls).toHaveLength(1);
  });

  it('fails a 600 at once: only 500–599 is polled again as a server error', async () => {
    const { futures, polls } = context((_request, n) => (n === 0 ? answer(600) : result));
    const error = await rejectionOf(retrieveFuture(futures, 'r-1', { requestType: 'Sample' }));
    expect(error).toBeInstanceOf(ApiStatusError);
    expect(error.status).toBe(600);
    expect(polls).toHaveLength(1);
  });

  it('names what the body should have been in an InvalidResponseError: JSON, or the result after a complete_metadata', async () => {
    const notJson = context(() => answer(200, 'not json{'));
    const first = await rejectionOf(retrieveFuture(notJson.futures, 'r-1', { requestType: 'Sample' }));
    expect(first).toBeInstanceOf(InvalidResponseError);
    expect(first.message).toMatch(/with a body that is not JSON$/);
    const twice = context(() => answer(200, { status: 'complete_metadata' }));
    const second = await rejectionOf(retrieveFuture(twice.futures, 'r-1', { requestType: 'Sample' }));
    expect(second).toBeInstanceOf(InvalidResponseError);
    expect(second.message).toMatch(/with a body that is not the result \(a second complete_metadata came\)$/);
  });

  it('keeps an error that is not a string as its JSON text in the RequestFailedError', async () => {
    const { futures } = context(() => answer(200, { error: { why: 'oom' }, category: 'server' }));
    const error = await rejectionOf(retrieveFuture(futures, 'r-1', { requestType: 'Sample' }));
    expect(error).toBeInstanceOf(RequestFailedError);
    expect(error.error).toBe('{"why":"oom"}');
  });
});

describe('retrieveFuture bodies of error statuses', () => {
  it('does not read a queue state from a 5xx body', async () => {
    const { futures, channels } = context((_request, n) => (n === 0 ? answer(500, { queue_state: 'active' }) : result));
    await retrieveFuture(futures, 'r-1', { requestType: 'Sample' });
    expect(channels.on(CHANNELS.queueStateChange)).toEqual([]);
  });

  it('reads no queue state from a 408 whose queue_state is null or empty', async () => {
    const script = [answer(408, { queue_state: null }), answer(408, { queue_state: '' }), result];
    const { futures, channels, polls } = context((_request, n) => script[n] as Attempt);
    await retrieveFuture(futures, 'r-1', { requestType: 'Sample' });
    expect(polls).toHaveLength(3);
    expect(channels.on(CHANNELS.queueStateChange)).toEqual([]);
  });

  it('polls on after a 408 that is not JSON, without giving 400s a fresh budget', async () => {
    const script = [answer(400), answer(400), answer(400), answer(408, 'timeout<html>'), answer(400), result];
    const { futures, polls } = context((_request, n) => script[n] as Attempt);
    const error = await rejectionOf(retrieveFuture(futures, 'r-1', { requestType: 'Sample' }));
    expect(error).toBeInstanceOf(ApiStatusError);
    expect(error.status).toBe(400);
    expect(polls).toHaveLength(5);
  });
});

describe('retrieveFuture backoff logs', () => {
  it('logs each backoff at debug, after no response and after a 429, with the request, iteration and delay', async () => {
    const script: Attempt[] = [{ kind: 'network', reason: 'ECONNRESET', cause: new Error('reset') }, answer(429), result];
    const { futures, clock, records } = context((_request, n) => script[n] as Attempt);
    const waiting = retrieveFuture(futures, 'r-1', { requestType: 'Sample' });
    clock.fire(await clock.nextTimer());
    clock.fire(await clock.nextTimer());
    await waiting;
    expect(records.filter((r) => r.level === 'debug')).toEqual([
      {
        level: 'debug',
        obj: { requestId: 'r-1', requestType: 'Sample', iteration: 0, delayMs: 1000, reason: 'ECONNRESET' },
        msg: 'Tinker future poll got no response; backing off',
      },
      {
        level: 'debug',
        obj: { requestId: 'r-1', requestType: 'Sample', iteration: 1, delayMs: 2000 },
        msg: 'Tinker future poll rate limited (HTTP 429); backing off',
      },
    ]);
  });
});

describe('sleep and unrefTimeout at the edges', () => {
  it('sleep leaves no abort listener on the signal, whether it resolves or the signal aborts', async () => {
    const clock = new ManualClock();
    const resolved = new AbortController();
    const slept = sleep(clock, 10, resolved.signal);
    clock.advance(10);
    await slept;
    expect(getEventListeners(resolved.signal, 'abort')).toEqual([]);

    const aborted = new AbortController();
    const cut = sleep(clock, 10, aborted.signal);
    aborted.abort('stop');
    await expect(cut).rejects.toBe('stop');
    expect(getEventListeners(aborted.signal, 'abort')).toEqual([]);
  });

  it('unrefTimeout returns a handle without unref (a number, null) as it is, calling nothing on it', () => {
    for (const handle of [7, null]) {
      let fired = false;
      const clock = { now: () => 0, setTimeout: () => handle, clearTimeout: () => undefined };
      expect(unrefTimeout(clock, () => (fired = true), 10)).toBe(handle);
      expect(fired).toBe(false);
    }
  });
});

describe('QueueStateTracker at the edges', () => {
  it('gives a change no reason key when there is no reason', () => {
    const tracker = new QueueStateTracker();
    expect(Object.keys(tracker.observe('active', undefined) ?? {})).toEqual(['to']);
    expect(Object.keys(tracker.observe('paused_capacity', undefined) ?? {})).toEqual(['to', 'from']);
  });
});
