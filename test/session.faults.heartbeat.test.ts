/**
 * Heartbeats under faults: the real session against `startFakeTinker`, each
 * fault the fake can inject applied to `session_heartbeat`. A beat is never
 * retried: it fails (at its own timeout for a hang), the next one comes
 * `heartbeatIntervalMs` after it, the session stays active, turns
 * `{ active: 'failing' }` with a warning that names the last error once no
 * beat has succeeded for `heartbeatWarnAfterMs`, and is ok again at the next
 * success. Every test ends with `expectCleanRun`.
 */
import { describe, expect, it } from 'vitest';
import type { StateValue } from 'xstate';
import type { ScriptedResponse } from '../src/testing.js';
import {
  CLOSE_MS,
  PATHS,
  REFUSED_STATUSES,
  RETRIED_STATUSES,
  expectCleanRun,
  faultWorld,
  requestsTo,
  statusResponse,
  useFaultHarness,
} from './session-faults-helpers.js';

useFaultHarness();

/**
 * Beats every 2 s (20 ms real), each allowed 20 s (200 ms real), failing after 30 s without a success: long enough for a
 * first hung beat to have timed out (at 22 s) when the warning comes, so that it has a last error to name.
 */
const BEATS = { heartbeatIntervalMs: 2_000, heartbeatTimeoutMs: 20_000, heartbeatWarnAfterMs: 30_000 };

const same = (expected: StateValue) => (state: StateValue) => JSON.stringify(state) === JSON.stringify(expected);

/** Each fault, and what the failing warning then says of the last error. */
const FAULTS: { name: string; response: ScriptedResponse; says: string }[] = [
  { name: 'a hang', response: { hang: true }, says: `got no answer within ${BEATS.heartbeatTimeoutMs} ms` },
  { name: 'a reset', response: { reset: true }, says: `POST ${PATHS.heartbeat} got no response (ECONNRESET` },
  ...[...RETRIED_STATUSES, ...REFUSED_STATUSES].map((given) => ({
    name: given.name,
    response: statusResponse(given),
    says: `POST ${PATHS.heartbeat} answered HTTP ${given.status}`,
  })),
];

describe('heartbeats under faults', () => {
  it.each(FAULTS)(
    'beats answered with $name fail without a retry; past heartbeatWarnAfterMs the session is failing and warns with the last error; the next success makes it ok',
    async ({ response, says }) => {
      const w = await faultWorld();
      const fault = w.fake.inject({ match: PATHS.heartbeat, response, times: Infinity });
      const session = await w.start(BEATS);

      await w.waitForState(same({ active: 'failing' }));
      const warning = w.log.records.find((r) => r.level === 'warn' && r.msg?.includes('no heartbeat has succeeded'));
      expect(warning?.msg).toContain(`Tinker session ${session.sessionId}`);
      expect(warning?.msg).toContain(says);
      const failed = requestsTo(w.fake, PATHS.heartbeat);
      expect(failed.every((r) => r.faulted)).toBe(true);
      // No retry: each beat starts an interval after the one before answered, or, for a hang, timed out.
      const leastGapMs = 'hang' in response ? BEATS.heartbeatTimeoutMs : BEATS.heartbeatIntervalMs;
      for (let i = 1; i < failed.length; i++) expect(failed[i]!.atMs - failed[i - 1]!.atMs).toBeGreaterThanOrEqual(leastGapMs);
      // A retry would send the beat's idempotency key again; each request is a beat of its own.
      expect(new Set(failed.map((r) => r.headers['x-idempotency-key'])).size).toBe(failed.length);

      fault.remove();
      await w.waitForState(same({ active: 'ok' }));
      expect(w.states).toEqual(['creating', { active: 'ok' }, { active: 'failing' }, { active: 'ok' }]);
      expect(w.fake.heartbeats.length).toBeGreaterThan(0);
      expect(w.fake.heartbeats.every((beat) => beat.sessionId === session.sessionId)).toBe(true);
      expect(requestsTo(w.fake, PATHS.heartbeat).map((r) => r.body)).toEqual(
        requestsTo(w.fake, PATHS.heartbeat).map(() => ({ session_id: session.sessionId, type: 'session_heartbeat' })),
      );

      await session.close(CLOSE_MS);
      expectCleanRun(w, session.sessionId);
    },
  );

  it('a single failed beat within heartbeatWarnAfterMs leaves the session ok, and the next beat is accepted', async () => {
    const w = await faultWorld();
    w.fake.inject({ match: PATHS.heartbeat, response: { status: 503 } });
    const session = await w.start({ heartbeatIntervalMs: 2_000 });
    const accepted = await w.fake.waitForRequest((r) => r.path === PATHS.heartbeat && r.status === 200);
    expect(requestsTo(w.fake, PATHS.heartbeat)[0]).toMatchObject({ faulted: true, status: 503 });
    expect(accepted.index).toBeGreaterThan(requestsTo(w.fake, PATHS.heartbeat)[0]!.index);
    expect(session.state).toEqual({ active: 'ok' });
    expect(w.states).toEqual(['creating', { active: 'ok' }]);
    expect(w.log.records.filter((r) => r.level === 'warn')).toEqual([]);

    await session.close(CLOSE_MS);
    expectCleanRun(w, session.sessionId);
  });

  it('a session the server forgot keeps beating, failing with its 404, and never stops by itself', async () => {
    const w = await faultWorld();
    const session = await w.start(BEATS);
    w.fake.dropSession(session.sessionId);
    await w.waitForState(same({ active: 'failing' }));
    const beats = requestsTo(w.fake, PATHS.heartbeat).length;
    await w.fake.waitForRequest(PATHS.heartbeat, { count: beats + 2 });
    expect(w.log.records.find((r) => r.level === 'warn')?.msg).toContain(`HTTP 404: {"detail":"Session not found: ${session.sessionId}"}`);
    expect(session.state).toEqual({ active: 'failing' });

    await session.close(CLOSE_MS);
    expectCleanRun(w, session.sessionId);
  });
});
