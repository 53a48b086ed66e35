/**
 * The session's heartbeat, on fake timers against a double of the API: its
 * schedule, its own timeout, the failing substate and its rate-limited
 * warning, and that it never fails the session nor stops by itself.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Clock } from '../src/core/clock.js';
import { DEFAULT_SESSION_OPTIONS } from '../src/session-options.js';
import { HEARTBEAT_WARN_INTERVAL_MS } from '../src/session/heartbeat.js';
import { TEST_CONFIG, isolateTinkerEnv } from './helpers.js';
import { fakeTinkerApi, startTestSession } from './session-helpers.js';

const BEATS = { heartbeatIntervalMs: 1000, heartbeatTimeoutMs: 500, heartbeatWarnAfterMs: 5000 };

isolateTinkerEnv();
beforeEach(() => {
  vi.useFakeTimers({ now: 1_000_000 });
});
afterEach(() => {
  vi.useRealTimers();
});

/** Advances the clock ms by ms until the next beat is sent, so the test can answer it while it is in flight. */
async function untilNextBeat(fake: ReturnType<typeof fakeTinkerApi>): Promise<void> {
  const sent = fake.beats();
  for (let ms = 0; fake.beats() === sent; ms++) {
    if (ms > 60_000) throw new Error('no heartbeat within a minute');
    await vi.advanceTimersByTimeAsync(1);
  }
}

/** The warnings about the heartbeat, as their messages. */
const heartbeatWarnings = (records: { level: string; msg?: string | undefined }[]) =>
  records.filter((r) => r.level === 'warn' && r.msg?.includes('no heartbeat has succeeded')).map((r) => r.msg);

describe('the heartbeat schedule', () => {
  it('defaults to a beat every 10 s, each given 10 s, and failing after 120 s', () => {
    expect(DEFAULT_SESSION_OPTIONS).toMatchObject({ heartbeatIntervalMs: 10_000, heartbeatTimeoutMs: 10_000, heartbeatWarnAfterMs: 120_000 });
  });

  it('sends the first beat one interval after start-up, for the server’s session id and with its timeout', async () => {
    const { session, fake } = await startTestSession(BEATS);
    await vi.advanceTimersByTimeAsync(999);
    expect(fake.beats()).toBe(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(fake.calls.heartbeat.map((c) => c.args)).toEqual([['sess-from-server', 500]]);
    await session.close(0);
  });

  it('sends the next beat one interval after the last one answered, never two at once', async () => {
    const { session, fake } = await startTestSession(BEATS);
    await vi.advanceTimersByTimeAsync(1000);
    await vi.advanceTimersByTimeAsync(300);
    fake.answerBeat(true);
    await vi.advanceTimersByTimeAsync(999);
    expect(fake.beats()).toBe(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(fake.beats()).toBe(2);
    await session.close(0);
  });

  it('counts a beat without an answer after heartbeatTimeoutMs as failed, aborts its request, and goes on', async () => {
    const { session, fake } = await startTestSession(BEATS);
    await vi.advanceTimersByTimeAsync(1000);
    const first = fake.calls.heartbeat[0]!;
    await vi.advanceTimersByTimeAsync(499);
    expect(first.signal?.aborted).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(first.signal?.aborted).toBe(true);
    expect(first.signal?.reason).toMatchObject({ code: 'ERR_TINKER_HEARTBEAT_TIMEOUT' });
    await vi.advanceTimersByTimeAsync(1000);
    expect(fake.beats()).toBe(2);
    expect(session.state).toEqual({ active: 'ok' });
    await session.close(0);
  });

  it('goes on after a beat whose call throws at once, which counts as failed and reaches no caller', async () => {
    const fake = fakeTinkerApi();
    let throws = 0;
    fake.api.heartbeat = () => {
      throws++;
      throw new Error('broken double');
    };
    const { session } = await startTestSession(BEATS, {}, fake);
    await vi.advanceTimersByTimeAsync(3000);
    expect(throws).toBe(3);
    expect(session.state).toEqual({ active: 'ok' });
    await session.close(0);
  });

  it('keeps its timers unref’d, so heartbeats never keep the process alive', async () => {
    const handles: { unref: ReturnType<typeof vi.fn>; ref: ReturnType<typeof vi.fn>; timer: ReturnType<typeof setTimeout> }[] = [];
    const clock: Clock = {
      now: () => Date.now(),
      setTimeout: (fn, ms) => {
        const handle = { timer: setTimeout(fn, ms), unref: vi.fn(), ref: vi.fn() };
        handles.push(handle);
        return handle;
      },
      clearTimeout: (handle) => clearTimeout((handle as { timer: ReturnType<typeof setTimeout> }).timer),
    };
    const { session } = await startTestSession({ ...BEATS, telemetry: { clock: { now: () => Date.now(), setTimeout, clearTimeout } } }, { clock });
    await vi.advanceTimersByTimeAsync(3000);
    expect(handles.length).toBeGreaterThan(3);
    expect(handles.every((h) => h.unref.mock.calls.length === 1 && h.ref.mock.calls.length === 0)).toBe(true);
    await session.close(0);
  });
});

describe('failing and ok', () => {
  it('moves to { active: "failing" } once heartbeatWarnAfterMs passes without a success, and warns naming the silence and the last error', async () => {
    const { session, fake, log } = await startTestSession(BEATS);
    for (let t = 0; t < 4; t++) {
      await vi.advanceTimersByTimeAsync(1000);
      fake.answerBeat(false);
      await vi.advanceTimersByTimeAsync(0);
    }
    await vi.advanceTimersByTimeAsync(5000 - 4000 - 1);
    expect(session.state).toEqual({ active: 'ok' });
    await vi.advanceTimersByTimeAsync(1);
    expect(session.state).toEqual({ active: 'failing' });
    expect(heartbeatWarnings(log.records)).toEqual([
      'Tinker session sess-from-server: no heartbeat has succeeded for 5 s (last error: Tinker API POST /api/v1/session_heartbeat answered HTTP 503); ' +
        'the connection may be unreliable or Tinker may be down, and the server may end the session',
    ]);
    const record = log.records.find((r) => r.msg?.includes('no heartbeat has succeeded'))!;
    expect(record.obj).toMatchObject({ sessionId: 'sess-from-server', sinceSuccessMs: 5000, lastError: { code: 'TINKER_API_STATUS', name: 'ApiStatusError' } });
    await session.close(0);
  });

  it('goes back to ok on the next success, which restarts the count', async () => {
    const { session, fake } = await startTestSession(BEATS);
    await vi.advanceTimersByTimeAsync(5000);
    expect(session.state).toEqual({ active: 'failing' });
    await untilNextBeat(fake);
    fake.answerBeat(true);
    await vi.advanceTimersByTimeAsync(0);
    expect(session.state).toEqual({ active: 'ok' });
    await vi.advanceTimersByTimeAsync(4999);
    expect(session.state).toEqual({ active: 'ok' });
    await vi.advanceTimersByTimeAsync(1);
    expect(session.state).toEqual({ active: 'failing' });
    await session.close(0);
  });

  it('warns at most once a minute while failing, and at once when a new failing episode starts', async () => {
    expect(HEARTBEAT_WARN_INTERVAL_MS).toBe(60_000);
    const { session, fake, log } = await startTestSession(BEATS);
    // Every beat times out: a failure every 1.5 s, each one a call of warnFailing once failing.
    await vi.advanceTimersByTimeAsync(5000 + 59_999);
    expect(heartbeatWarnings(log.records)).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1500);
    expect(heartbeatWarnings(log.records)).toHaveLength(2);
    await untilNextBeat(fake);
    fake.answerBeat(true);
    await vi.advanceTimersByTimeAsync(0);
    expect(session.state).toEqual({ active: 'ok' });
    await vi.advanceTimersByTimeAsync(5000);
    expect(session.state).toEqual({ active: 'failing' });
    expect(heartbeatWarnings(log.records)).toHaveLength(3);
    await session.close(0);
  });

  it('never puts the API key in the warning, even when the error carries it', async () => {
    const fake = fakeTinkerApi();
    fake.api.heartbeat = () => Promise.reject(new Error(`bad key ${TEST_CONFIG.apiKey}`));
    const { session, log } = await startTestSession(BEATS, {}, fake);
    await vi.advanceTimersByTimeAsync(5000);
    expect(session.state).toEqual({ active: 'failing' });
    const text = JSON.stringify(log.records);
    expect(heartbeatWarnings(log.records)).toHaveLength(1);
    expect(text).not.toContain(TEST_CONFIG.apiKey);
    expect(text).toContain('bad key [redacted]');
    await session.close(0);
  });
});
