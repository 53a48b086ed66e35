/**
 * The edges of the auth layer, each at its boundary: reading `exp`, the
 * JWT refresher's timers and on-demand refresh driven by a manual clock and
 * an exchange the test settles, and the billing pause at its exact bounds.
 * The credentials' own edges are with their other tests, in
 * `tinker.credentials.test.ts`.
 */
import { describe, expect, it } from 'vitest';
import type { Log } from '../src/core/ports.js';
import { SafeLogger } from '../src/host/logger.js';
import { BillingPause } from '../src/tinker/billing.js';
import { Credentials } from '../src/tinker/credentials.js';
import { JwtRefresher, MAX_JWT_LIFETIME_MS, MAX_TIMER_DELAY_MS, REFRESH_BEFORE_EXPIRY_MS, jwtExpiresAtMs } from '../src/tinker/jwt.js';
import { recordingLogger } from './helpers.js';
import { KEY, ManualClock, makeJwt } from './tinker-helpers.js';

/** A JWT whose `exp` is `expMs` (seconds in the token, so `expMs` may be fractional seconds). */
const jwtAt = (expMs: number) => makeJwt(expMs / 1000);

/** A refresher on a manual clock whose exchange waits for the test: `issue` or `fail` settles the oldest pending one. */
function refresher() {
  const clock = new ManualClock();
  const logged = recordingLogger();
  const log: Log = new SafeLogger(logged.logger, {});
  const credentials = new Credentials(KEY);
  const pending: { resolve: (jwt: string) => void; reject: (error: unknown) => void }[] = [];
  let exchanges = 0;
  const jwt = new JwtRefresher({
    credentials,
    clock,
    log,
    exchange: () => {
      exchanges++;
      return new Promise<string>((resolve, reject) => pending.push({ resolve, reject }));
    },
  });
  const settled = () => new Promise((resolve) => setImmediate(resolve));
  return {
    clock,
    logged,
    credentials,
    jwt,
    exchanges: () => exchanges,
    issue: async (token: string) => {
      pending.shift()?.resolve(token);
      await settled();
    },
    fail: async (error: unknown) => {
      pending.shift()?.reject(error);
      await settled();
    },
  };
}

describe('jwtExpiresAtMs at its edges', () => {
  it('is undefined for an exp that overflows to Infinity (1e400), though it is a number', () => {
    const payload = Buffer.from('{"exp":1e400}').toString('base64url');
    expect(jwtExpiresAtMs(`h.${payload}.s`)).toBeUndefined();
  });
});

describe('JwtRefresher at its edges', () => {
  it('logs at debug that a JWT without a readable exp is refreshed every 60 s, and says nothing for one with exp', () => {
    const { jwt, clock, logged } = refresher();
    jwt.adopt(jwtAt(clock.now() + 3_600_000));
    expect(logged.records.filter((r) => r.level === 'debug')).toEqual([]);
    jwt.adopt('no.exp');
    expect(logged.records.filter((r) => r.level === 'debug').map((r) => r.msg)).toEqual([
      'Tinker JWT has no readable expiry within a year; refreshing it every 60 s',
    ]);
    jwt.close();
  });

  it('fresh() resolves without an exchange while no JWT was adopted', async () => {
    const { jwt, exchanges } = refresher();
    await expect(jwt.fresh()).resolves.toBeUndefined();
    expect(exchanges()).toBe(0);
  });

  it('fresh() refreshes when exactly 60 s are left', async () => {
    const { jwt, clock, exchanges } = refresher();
    jwt.adopt(jwtAt(clock.now() + 60_000));
    void jwt.fresh();
    expect(exchanges()).toBe(1);
    jwt.close();
  });

  it('after a refresh, fresh() does not ask again for 10 s, even when the new JWT is as short-lived', async () => {
    const { jwt, clock, exchanges, issue } = refresher();
    jwt.adopt(jwtAt(clock.now() + 30_000));
    const first = jwt.fresh();
    await issue(jwtAt(clock.now() + 30_000));
    await first;
    expect(exchanges()).toBe(1);
    clock.nowMs += 9_999;
    void jwt.fresh();
    expect(exchanges()).toBe(1);
    clock.nowMs += 1;
    void jwt.fresh();
    expect(exchanges()).toBe(2);
    jwt.close();
  });

  it('does not adopt a JWT whose exchange finishes after close()', async () => {
    const { jwt, clock, credentials, issue } = refresher();
    const old = jwtAt(clock.now() + 30_000);
    jwt.adopt(old);
    const refreshing = jwt.fresh();
    jwt.close();
    await issue(jwtAt(clock.now() + 3_600_000));
    await refreshing;
    expect(credentials.jwt).toBe(old);
    expect(clock.pending).toEqual([]);
  });

  it('warns "unknown failure" when the exchange rejects with something that is not an Error', async () => {
    const { jwt, clock, logged, fail } = refresher();
    jwt.adopt(jwtAt(clock.now() + 30_000));
    const refreshing = jwt.fresh();
    await fail('a string');
    await refreshing;
    expect(logged.records.filter((r) => r.level === 'warn').map((r) => r.obj)).toEqual([{ reason: 'unknown failure' }]);
    jwt.close();
  });

  it('believes an exp exactly 365 days ahead, and arms its long wait rather than the 60 s retry', () => {
    const { jwt, clock, logged } = refresher();
    jwt.adopt(jwtAt(clock.now() + MAX_JWT_LIFETIME_MS));
    expect(clock.pending.map((t) => t.ms)).toEqual([MAX_TIMER_DELAY_MS]);
    expect(logged.records).toEqual([]);
    jwt.close();
  });

  it('clears the timer of the JWT it replaces, so only the newest one refreshes', () => {
    const { jwt, clock } = refresher();
    jwt.adopt(jwtAt(clock.now() + 3_600_000));
    const [first] = clock.timers;
    jwt.adopt(jwtAt(clock.now() + 7_200_000));
    expect(first?.cleared).toBe(true);
    expect(clock.pending).toHaveLength(1);
    jwt.close();
  });

  it('a wait of exactly 2³¹ − 1 ms is one timer, whose firing refreshes at once rather than arming another', () => {
    const { jwt, clock, exchanges } = refresher();
    // Whole seconds of exp, so the wait is exactly 2³¹ − 1 ms.
    const expMs = 2_000_000_000_000;
    clock.nowMs = expMs - REFRESH_BEFORE_EXPIRY_MS - MAX_TIMER_DELAY_MS;
    jwt.adopt(jwtAt(expMs));
    const [timer, ...others] = clock.pending;
    expect(others).toEqual([]);
    expect(timer?.ms).toBe(MAX_TIMER_DELAY_MS);
    // Fired by hand: the clock's advance() would also fire a 0 ms timer armed on the way.
    clock.nowMs = timer!.at;
    timer!.fired = true;
    timer!.fn();
    expect(exchanges()).toBe(1);
    expect(clock.pending).toEqual([]);
    jwt.close();
  });
});

describe('BillingPause at its edges', () => {
  const setup = () => {
    const logged = recordingLogger();
    return { pause: new BillingPause(new SafeLogger(logged.logger, {})), logged };
  };

  it('a 402 exactly 300 s after the last warning still belongs to the incident', () => {
    const { pause } = setup();
    expect(pause.shouldPause(0, 1_000, 'd')).toBe(true);
    expect(pause.shouldPause(300_000, 1_000, 'd')).toBe(false);
  });

  it('logs how long the incident paused the job and the bound when it gives up', () => {
    const { pause, logged } = setup();
    pause.shouldPause(1_000, 10_000, 'd');
    expect(pause.shouldPause(11_001, 10_000, 'd')).toBe(false);
    expect(logged.records.filter((r) => r.level === 'error').map((r) => r.obj)).toEqual([{ pausedMs: 10_001, maxPauseMs: 10_000 }]);
  });
});
