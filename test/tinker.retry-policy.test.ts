/** The pure retry rules, the billing pause and the clock's sleep. */
import { describe, expect, it } from 'vitest';
import { SafeLogger } from '../src/host/logger.js';
import { BillingPause } from '../src/tinker/billing.js';
import { MAX_BACKOFF_MS, callRetryDelayMs, isRetryableStatus, pollBackoffMs } from '../src/tinker/retry-policy.js';
import { sleep, unrefTimeout } from '../src/tinker/wait.js';
import { recordingLogger } from './helpers.js';
import { ManualClock } from './tinker-helpers.js';

describe('isRetryableStatus', () => {
  it.each([408, 409, 429, 500, 502, 503, 504, 599])('retries %i', (status) => expect(isRetryableStatus(status, undefined)).toBe(true));
  it.each([200, 301, 400, 401, 402, 403, 404, 410, 413, 422, 600])('does not retry %i', (status) => expect(isRetryableStatus(status, undefined)).toBe(false));
  it('lets x-should-retry decide, whatever its case, and ignores other values', () => {
    expect(isRetryableStatus(503, 'false')).toBe(false);
    expect(isRetryableStatus(503, ' FALSE ')).toBe(false);
    expect(isRetryableStatus(400, 'true')).toBe(true);
    expect(isRetryableStatus(400, 'yes')).toBe(false);
    expect(isRetryableStatus(503, ['false'])).toBe(true);
  });
});

describe('callRetryDelayMs', () => {
  it('is the reporter backoff from 1 s, doubling, with up to 10 % jitter', () => {
    expect([1, 2, 3, 4].map((n) => callRetryDelayMs(n, undefined, () => 0))).toEqual([1000, 2000, 4000, 8000]);
    expect(callRetryDelayMs(1, undefined, () => 0.999_999)).toBe(1100);
  });
  it('never waits more than 30 s on its own', () => {
    expect(callRetryDelayMs(6, undefined, () => 0)).toBe(MAX_BACKOFF_MS);
    expect(callRetryDelayMs(40, undefined, () => 0.9)).toBe(30_000);
  });
  it('waits a longer Retry-After (up to its 60 s cap), and ignores a shorter one', () => {
    expect(callRetryDelayMs(1, 45_000, () => 0)).toBe(45_000);
    expect(callRetryDelayMs(20, 60_000, () => 0)).toBe(60_000);
    expect(callRetryDelayMs(3, 1_000, () => 0)).toBe(4000);
  });
});

describe('pollBackoffMs', () => {
  it('is min(2^n, 30) s', () => {
    expect([0, 1, 2, 3, 4, 5, 6, 50].map(pollBackoffMs)).toEqual([1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]);
  });
});

describe('BillingPause', () => {
  const setup = () => {
    const logged = recordingLogger();
    return { pause: new BillingPause(new SafeLogger(logged.logger, {})), logged };
  };

  it('pauses until the incident is longer than the bound, then gives up with an error log', () => {
    const { pause, logged } = setup();
    expect(pause.shouldPause(0, 10_000, 'd')).toBe(true);
    expect(pause.shouldPause(10_000, 10_000, 'd')).toBe(true);
    expect(pause.shouldPause(10_001, 10_000, 'd')).toBe(false);
    expect(logged.records.map((r) => r.level)).toEqual(['warn', 'error']);
  });

  it('warns at most once a minute', () => {
    const { pause, logged } = setup();
    for (let t = 0; t <= 125_000; t += 5_000) pause.shouldPause(t, 3_600_000, 'billing');
    // Warned at 0, then at the first 402 more than 60 s later (65 s), then more than 60 s after that (130 s is past the loop).
    expect(logged.records.filter((r) => r.level === 'warn')).toHaveLength(2);
    expect(logged.records[0]?.obj).toMatchObject({ status: 402, detail: 'billing' });
  });

  it('starts a new incident after 300 s without a warned 402', () => {
    const { pause } = setup();
    expect(pause.shouldPause(0, 1_000, 'd')).toBe(true);
    expect(pause.shouldPause(2_000, 1_000, 'd')).toBe(false);
    expect(pause.shouldPause(301_000, 1_000, 'd')).toBe(true);
  });
});

describe('sleep and unrefTimeout', () => {
  it('sleep resolves when the clock reaches the time, with a ref’d timer', async () => {
    const clock = new ManualClock();
    let done = false;
    const slept = sleep(clock, 500).then(() => (done = true));
    const timer = await clock.nextTimer();
    expect(timer.ms).toBe(500);
    expect(timer.unrefd).toBe(false);
    clock.advance(499);
    await Promise.resolve();
    expect(done).toBe(false);
    clock.advance(1);
    await slept;
    expect(done).toBe(true);
  });

  it('sleep rejects with the reason and clears its timer when aborted, and at once when already aborted', async () => {
    const clock = new ManualClock();
    const controller = new AbortController();
    const slept = sleep(clock, 500, controller.signal);
    const timer = await clock.nextTimer();
    const reason = new Error('stop');
    controller.abort(reason);
    await expect(slept).rejects.toBe(reason);
    expect(timer.cleared).toBe(true);
    await expect(sleep(clock, 1, controller.signal)).rejects.toBe(reason);
    expect(clock.timers).toHaveLength(1);
  });

  it('unrefTimeout unrefs its timer', () => {
    const clock = new ManualClock();
    unrefTimeout(clock, () => undefined, 10);
    expect(clock.timers[0]?.unrefd).toBe(true);
  });
});
