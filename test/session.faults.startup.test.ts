/**
 * Start-up under faults: the real session against `startFakeTinker`, each
 * fault the fake can inject applied to each start-up call in turn
 * (`client/config`, `auth/token` with `pjwt_auth_enabled`,
 * `create_session`). What is retried is retried with the same idempotency
 * key after the backoff or the longer Retry-After, within
 * `createTimeoutMs`; what is not, or what outlasts the deadline, rejects
 * `createSession` with a typed error naming the path (and the status),
 * never the key; no telemetry is sent for a session that never existed.
 * Every test ends with `expectCleanRun`.
 */
import { describe, expect, it } from 'vitest';
import { SDK_VERSION } from '../src/core/version.js';
import {
  CLOSE_MS,
  PATHS,
  REFUSED_STATUSES,
  RETRIED_STATUSES,
  expectCleanRun,
  faultWorld,
  rejection,
  requestsTo,
  sentJwts,
  statusResponse,
  useFaultHarness,
} from './session-faults-helpers.js';

useFaultHarness();

/** The start-up calls, in the order they are made; `auth/token` is made only when the config enables the JWT, so its tests do. */
const CALLS = [
  { name: 'client/config', path: PATHS.config, jwt: false, credential: 'api_key' },
  { name: 'auth/token', path: PATHS.token, jwt: true, credential: 'api_key' },
  { name: 'create_session', path: PATHS.create, jwt: true, credential: 'jwt' },
] as const;

/** A start-up deadline that a hang or an endless 503 reaches quickly: 30 s on the clock, 300 ms real. */
const SHORT_DEADLINE_MS = 30_000;

describe.each(CALLS)('start-up: $name', ({ path, jwt, credential }) => {
  const world = () => faultWorld(jwt ? { clientConfig: { pjwtAuthEnabled: true } } : {});

  it.each(RETRIED_STATUSES)(
    'a $name is retried after the backoff or the longer Retry-After, with the same idempotency key, and the session starts',
    async (given) => {
      const w = await world();
      w.fake.inject({ match: path, response: statusResponse(given) });
      const session = await w.start();
      expect(session.state).toEqual({ active: 'ok' });

      const attempts = requestsTo(w.fake, path);
      expect(attempts.map((r) => [r.faulted, r.status, r.credential])).toEqual([
        [true, given.status, credential],
        [false, 200, credential],
      ]);
      const [first, second] = attempts as [(typeof attempts)[0], (typeof attempts)[0]];
      expect(second.body).toEqual(first.body);
      expect(second.headers['x-idempotency-key']).toBe(first.headers['x-idempotency-key']);
      // The backoff of a first retry is 1 s and 10 % jitter at most; a longer Retry-After wins.
      expect(second.atMs - first.atMs).toBeGreaterThanOrEqual((given.retryAfter ?? 1) * 1000);
      if (jwt) expect(requestsTo(w.fake, PATHS.create)[0]?.credential).toBe('jwt');
      expect(w.fake.sessions.map((s) => [s.sessionId, s.tags, s.sdkVersion])).toEqual([[session.sessionId, ['faults'], SDK_VERSION]]);

      await session.close(CLOSE_MS);
      expect(w.fake.telemetry.events.map((e) => e.event)).toEqual(expect.arrayContaining(['SESSION_START', 'SESSION_END']));
      expectCleanRun(w, session.sessionId);
    },
  );

  it('a reset connection is retried after the backoff, with the same idempotency key, and the session starts', async () => {
    const w = await world();
    w.fake.inject({ match: path, response: { reset: true } });
    const session = await w.start();

    const attempts = requestsTo(w.fake, path);
    expect(attempts.map((r) => [r.faulted, r.outcome])).toEqual([
      [true, 'reset'],
      [false, 'answered'],
    ]);
    expect(attempts[1]?.headers['x-idempotency-key']).toBe(attempts[0]?.headers['x-idempotency-key']);
    expect(attempts[1]!.atMs - attempts[0]!.atMs).toBeGreaterThanOrEqual(1000);
    expect(session.state).toEqual({ active: 'ok' });

    await session.close(CLOSE_MS);
    expectCleanRun(w, session.sessionId);
  });

  it('a hang lasts until createTimeoutMs, then createSession rejects with a DeadlineExceededError naming the path, not the key', async () => {
    const w = await world();
    w.fake.inject({ match: path, response: { hang: true } });
    const startedAtMs = w.clock.now();
    const error = await rejection(w, w.start({ createTimeoutMs: SHORT_DEADLINE_MS }));

    expect(error).toMatchObject({ name: 'DeadlineExceededError', code: 'TINKER_DEADLINE', path });
    // deadlineMs counts from TinkerApi.start, which reads the clock a moment after the session set the deadline: up to a few ms less.
    expect(error.deadlineMs).toBeGreaterThan(SHORT_DEADLINE_MS - 100);
    expect(error.deadlineMs).toBeLessThanOrEqual(SHORT_DEADLINE_MS);
    expect(error.message).toContain(path);
    expect(error.message).toContain('no attempt had finished');
    expect(error.cause).toBeUndefined();
    expect(w.clock.now() - startedAtMs).toBeGreaterThanOrEqual(SHORT_DEADLINE_MS);
    expect(requestsTo(w.fake, path).map((r) => r.outcome)).toEqual(['hung']);
    expect(w.fake.sessions).toEqual([]);
    expect(w.states.at(-1)).toBe('failed');
    expectCleanRun(w, undefined);
  });

  it('a 503 that never ends is retried until the next wait would pass createTimeoutMs, then rejects with a DeadlineExceededError caused by the 503', async () => {
    const w = await world();
    w.fake.inject({ match: path, response: { status: 503 }, times: Infinity });
    const error = await rejection(w, w.start({ createTimeoutMs: SHORT_DEADLINE_MS }));

    expect(error).toMatchObject({ name: 'DeadlineExceededError', code: 'TINKER_DEADLINE', path });
    expect(error.cause).toMatchObject({ name: 'ApiStatusError', code: 'TINKER_API_STATUS', status: 503, path });
    expect(error.message).toContain(path);
    expect(error.message).toContain('HTTP 503');
    // 1 + 2 + 4 + 8 s of backoff fit in 30 s with the requests' own time; a fifth wait of 16 s cannot.
    const attempts = requestsTo(w.fake, path);
    expect(attempts.length).toBeGreaterThanOrEqual(3);
    expect(attempts.length).toBeLessThanOrEqual(5);
    expect(new Set(attempts.map((r) => r.headers['x-idempotency-key'])).size).toBe(1);
    expect(w.fake.sessions).toEqual([]);
    expectCleanRun(w, undefined);
  });

  it.each(REFUSED_STATUSES)(
    'a $name is not retried: createSession rejects with an ApiStatusError naming the status and the path, not the key',
    async (given) => {
      const w = await world();
      w.fake.inject({ match: path, response: statusResponse(given) });
      const error = await rejection(w, w.start());

      expect(error).toMatchObject({ name: 'ApiStatusError', code: 'TINKER_API_STATUS', status: given.status, path });
      expect(error.message).toContain(`POST ${path}`);
      expect(error.message).toContain(`HTTP ${given.status}`);
      expect(requestsTo(w.fake, path)).toHaveLength(1);
      expect(w.fake.sessions).toEqual([]);
      expect(w.states.at(-1)).toBe('failed');
      expectCleanRun(w, undefined);
    },
  );
});

describe('start-up with the JWT', () => {
  it('sends the key to client/config and auth/token only, the JWT to every later call, and none of either in telemetry, logs or errors', async () => {
    const w = await faultWorld({ clientConfig: { pjwtAuthEnabled: true } });
    w.fake.inject({ match: PATHS.create, response: { status: 503, body: { detail: `echo ${w.fake.apiKey}` } } });
    const session = await w.start();
    await w.fake.waitForRequest(PATHS.heartbeat);
    await session.close(CLOSE_MS);

    const credentials = new Map(w.fake.requests.map((r) => [r.path, r.credential]));
    expect(Object.fromEntries(credentials)).toEqual({
      [PATHS.config]: 'api_key',
      [PATHS.token]: 'api_key',
      [PATHS.create]: 'jwt',
      [PATHS.heartbeat]: 'jwt',
      [PATHS.telemetry]: 'jwt',
    });
    expect(sentJwts()).toHaveLength(1);
    expectCleanRun(w, session.sessionId);
  });
});

describe('auth/token during the session: the JWT refresh', () => {
  it.each([
    { name: '503', response: { status: 503 }, says: `POST ${PATHS.token} answered HTTP 503` },
    { name: '401', response: { status: 401 }, says: `POST ${PATHS.token} answered HTTP 401` },
    { name: 'a reset', response: { reset: true as const }, says: `POST ${PATHS.token} got no response (ECONNRESET` },
  ])('a refresh answered $name keeps the JWT in use, warns, and tries again 60 s later, whose success the next calls use', async ({ response, says }) => {
    // A JWT living 330 s is refreshed 300 s before it expires: 30 s after start-up (300 ms real).
    const w = await faultWorld({ clientConfig: { pjwtAuthEnabled: true }, jwtTtlMs: 330_000 });
    const session = await w.start({ heartbeatIntervalMs: 5_000 });
    const fault = w.fake.inject({ match: PATHS.token, response, times: Infinity });
    await w.waitForLog((r) => r.level === 'warn' && (r.msg ?? '').startsWith('Tinker JWT refresh failed'));
    fault.remove();
    const renewed = await w.fake.waitForRequest((r) => r.path === PATHS.heartbeat && r.jwtIndex === 1);
    await session.close(CLOSE_MS);

    const warning = w.log.records.find((r) => r.level === 'warn' && (r.msg ?? '').startsWith('Tinker JWT refresh failed'));
    expect(warning?.msg).toBe('Tinker JWT refresh failed; keeping the current token and trying again in 60 s');
    expect((warning?.obj as { reason?: string }).reason).toContain(says);
    const refreshes = requestsTo(w.fake, PATHS.token).slice(1);
    expect(refreshes.map((r) => [r.faulted, r.credential])).toEqual([
      [true, 'api_key'],
      [false, 'api_key'],
    ]);
    expect(refreshes[1]!.atMs - refreshes[0]!.atMs).toBeGreaterThanOrEqual(60_000);
    // Until the new JWT came, every call went on with the first one, accepted.
    const beats = requestsTo(w.fake, PATHS.heartbeat);
    expect(beats.filter((r) => r.index < renewed.index).map((r) => [r.credential, r.jwtIndex, r.status])).toEqual(
      beats.filter((r) => r.index < renewed.index).map(() => ['jwt', 0, 200]),
    );
    // The telemetry sent at the close, after the renewal, carries the new JWT too.
    expect(requestsTo(w.fake, PATHS.telemetry).at(-1)).toMatchObject({ credential: 'jwt', jwtIndex: 1 });
    expect(session.state).toBe('closed');
    expect(sentJwts()).toHaveLength(2);
    expectCleanRun(w, session.sessionId);
  });
});
