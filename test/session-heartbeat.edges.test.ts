/**
 * The edges of the session's heartbeat and futures, on the pieces
 * themselves: a beat answers once at most, even when its request settles
 * after its timeout or after its stop; the warning that the heartbeat is
 * failing, on the very minute of its rate limit and with no error to name;
 * the futures tracked only while they run; and the context the session
 * machine starts with.
 */
import { createActor } from 'xstate';
import { describe, expect, it } from 'vitest';
import { sessionMachine } from '../machines/session.machine.js';
import type { Log } from '../src/core/ports.js';
import { FutureTracker } from '../src/session/future-tracker.js';
import { HEARTBEAT_WARN_INTERVAL_MS, Heartbeat } from '../src/session/heartbeat.js';
import { manualClock } from './fake-tinker-helpers.js';
import { settle } from './helpers.js';
import { type Deferred, deferred } from './session-helpers.js';

const API_KEY = 'sk-test-0123456789abcdef';
const TIMEOUT_MS = 1000;

/** A Heartbeat on a manual clock whose every beat waits for the test to settle it. */
function heartbeatRig() {
  const time = manualClock();
  const requests: { answer: Deferred<void>; signal: AbortSignal | undefined }[] = [];
  const api = {
    heartbeat: (_sessionId: string, _timeoutMs: number, signal?: AbortSignal) => {
      const answer = deferred<void>();
      requests.push({ answer, signal });
      return answer.promise;
    },
  };
  const heartbeat = new Heartbeat({ api, timers: time.clock, timeoutMs: TIMEOUT_MS, apiKey: API_KEY });
  const warnings: { obj: object; msg: string }[] = [];
  const noop = () => undefined;
  const log: Log = { warn: (obj, msg) => void warnings.push({ obj, msg }), info: noop, error: noop, debug: noop, warnOnce: noop, rearm: noop };
  return { time, requests, heartbeat, warnings, log };
}

const warningText = (seconds: number, because = '') =>
  `Tinker session s-1: no heartbeat has succeeded for ${seconds} s${because}; ` +
  'the connection may be unreliable or Tinker may be down, and the server may end the session';

describe('one beat', () => {
  it('answers false once at its timeout and not again when the request succeeds afterwards', async () => {
    const { time, requests, heartbeat } = heartbeatRig();
    const answers: boolean[] = [];
    heartbeat.beat('s-1', (ok) => answers.push(ok));
    time.advance(TIMEOUT_MS);
    expect(answers).toEqual([false]);
    requests[0]!.answer.resolve();
    await settle();
    expect(answers).toEqual([false]);
  });

  it('never answers once stopped, even when its request succeeds afterwards', async () => {
    const { requests, heartbeat } = heartbeatRig();
    const answers: boolean[] = [];
    const stop = heartbeat.beat('s-1', (ok) => answers.push(ok));
    stop();
    expect(requests[0]!.signal?.aborted).toBe(true);
    requests[0]!.answer.resolve();
    await settle();
    expect(answers).toEqual([]);
  });
});

describe('the warning that the heartbeat is failing', () => {
  it('says nothing of a last error when no beat has failed, and logs none', () => {
    const { time, heartbeat, warnings, log } = heartbeatRig();
    heartbeat.started();
    time.advance(120_000);
    heartbeat.warnFailing(log, 's-1');
    expect(warnings).toEqual([{ obj: { sinceSuccessMs: 120_000, lastError: undefined }, msg: warningText(120) }]);
  });

  it('names no last error when the failure carried no message, but logs what it had', async () => {
    const { requests, heartbeat, warnings, log } = heartbeatRig();
    heartbeat.started();
    heartbeat.beat('s-1', () => undefined);
    requests[0]!.answer.reject({ code: 'ECONNRESET' });
    await settle();
    heartbeat.warnFailing(log, 's-1');
    expect(warnings).toEqual([{ obj: { sinceSuccessMs: 0, lastError: { code: 'ECONNRESET' } }, msg: warningText(0) }]);
  });

  it('warns again exactly HEARTBEAT_WARN_INTERVAL_MS after the last warning, not a millisecond sooner', () => {
    const { time, heartbeat, warnings, log } = heartbeatRig();
    heartbeat.started();
    heartbeat.warnFailing(log, 's-1');
    time.advance(HEARTBEAT_WARN_INTERVAL_MS - 1);
    heartbeat.warnFailing(log, 's-1');
    expect(warnings).toHaveLength(1);
    time.advance(1);
    heartbeat.warnFailing(log, 's-1');
    expect(warnings.map((w) => w.msg)).toEqual([warningText(0), warningText(60)]);
  });

  it('warns at once in a new episode: a successful beat lifts the rate limit', async () => {
    const { time, requests, heartbeat, warnings, log } = heartbeatRig();
    heartbeat.started();
    heartbeat.warnFailing(log, 's-1');
    heartbeat.beat('s-1', () => undefined);
    requests[0]!.answer.resolve();
    await settle();
    time.advance(5000);
    heartbeat.warnFailing(log, 's-1');
    expect(warnings.map((w) => w.msg)).toEqual([warningText(0), warningText(5)]);
  });
});

describe('the futures a session tracks', () => {
  it('counts a future only while it runs', async () => {
    const tracker = new FutureTracker();
    const poll = deferred<string>();
    const result = tracker.run(undefined, () => poll.promise);
    expect(tracker.size).toBe(1);
    poll.resolve('done');
    await expect(result).resolves.toBe('done');
    expect(tracker.size).toBe(0);
  });

  it('leaves a settled future alone when aborting all, and counts only those running', async () => {
    const tracker = new FutureTracker();
    let settledSignal: AbortSignal | undefined;
    await tracker.run(undefined, async (signal) => {
      settledSignal = signal;
      return 1;
    });
    let runningSignal: AbortSignal | undefined;
    const running = tracker.run(undefined, (signal) => {
      runningSignal = signal;
      return new Promise((_resolve, reject) => signal.addEventListener('abort', () => reject(signal.reason as Error)));
    });
    const reason = new Error('closed');
    expect(tracker.abortAll(reason)).toBe(1);
    await expect(running).rejects.toBe(reason);
    expect(runningSignal?.aborted).toBe(true);
    expect(settledSignal?.aborted).toBe(false);
  });
});

describe('the session machine', () => {
  it('starts with no session id and no fatal capture', () => {
    const actor = createActor(sessionMachine, { input: { heartbeatIntervalMs: 10, heartbeatWarnAfterMs: 20, closeTimeoutMs: 30 } }).start();
    expect(actor.getSnapshot().context).toStrictEqual({
      heartbeatIntervalMs: 10,
      heartbeatWarnAfterMs: 20,
      closeTimeoutMs: 30,
      sessionId: '',
      error: undefined,
      fatal: false,
    });
    actor.stop();
  });
});
