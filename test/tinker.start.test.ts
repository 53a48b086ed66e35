/**
 * TinkerApi's start-up against a real loopback server: the bodies and
 * headers of client/config and create_session, which answers are retried
 * and after how long (on the manual clock), Retry-After and x-should-retry,
 * the deadline, the signal, and the typed errors, among them a session_id
 * or a JWT that is not of the shape the server issues.
 */
import { describe, expect, it } from 'vitest';
import { DEFAULT_CLIENT_CONFIG } from '../src/tinker/client-config.js';
import { ApiConnectionError, ApiStatusError, DeadlineExceededError, InvalidResponseError } from '../src/tinker/errors.js';
import { type Answer, KEY, type ManualClock, type ManualTimer, makeApi, makeJwt, recordChannels, rejectionOf, serve } from './tinker-helpers.js';

const CONFIG = '/api/v1/client/config';
const CREATE = '/api/v1/create_session';
const TOKEN = '/api/v1/auth/token';
const DEADLINE_MS = 300_000;

/** A server for start-up: client/config answers `config(n)`, create_session `create(n)`. */
function startUp(config: (n: number) => Answer = () => ({ json: {} }), create: (n: number) => Answer = () => ({ json: { session_id: 's-1' } })) {
  return serve((request, n) => (request.path === CONFIG ? config(n) : request.path === CREATE ? create(n) : { status: 404 }));
}

/** Fires every timer the call sets but its deadline timer (the first), until `promise` settles; returns the fired delays. */
async function runBackoffs(clock: ManualClock, promise: Promise<unknown>): Promise<number[]> {
  let settled = false;
  const done = promise.then(
    () => (settled = true),
    () => (settled = true),
  );
  const deadline = await clock.nextTimer();
  const delays: number[] = [];
  while (!settled) {
    const timer = await Promise.race([clock.nextTimer(), done.then(() => undefined)]);
    if (timer === undefined || timer === deadline) break;
    delays.push(timer.ms);
    clock.fire(timer);
  }
  return delays;
}

describe('TinkerApi.start', () => {
  it('posts client/config with { sdk_version } and the common headers, and returns the config with the defaults filled in', async () => {
    const server = await startUp(() => ({ json: { billing_exception_max_pause_duration_sec: 60, some_future_flag: true } }));
    const { api, clock } = makeApi(server.baseUrl);

    const config = await api.start(clock.now() + DEADLINE_MS);

    expect(config).toEqual({ ...DEFAULT_CLIENT_CONFIG, billingExceptionMaxPauseDurationSec: 60 });
    const [request] = server.received;
    expect(request?.method).toBe('POST');
    expect(request?.path).toBe(CONFIG);
    expect(request?.body).toEqual({ sdk_version: '0.1.0' });
    expect(request?.headers['x-api-key']).toBe(KEY);
    expect(request?.headers['content-type']).toBe('application/json');
    expect(request?.headers.accept).toBe('application/json');
    expect(request?.headers['user-agent']).toMatch(/^tinker-telemetry\/0\.1\.0 node\/v\d+/);
    expect(request?.headers['x-idempotency-key']).toMatch(/^tinker-telemetry-retry-[0-9a-f-]{36}$/);
  });

  it('makes no auth/token request when pjwt_auth_enabled is false', async () => {
    const server = await startUp(() => ({ json: { pjwt_auth_enabled: false } }));
    const { api, clock } = makeApi(server.baseUrl);
    await api.start(clock.now() + DEADLINE_MS);
    expect(server.received.map((r) => r.path)).toEqual([CONFIG]);
  });

  it.each([408, 409, 429, 500, 502, 503])('retries a %i after 1 s with the same idempotency key', async (status) => {
    const server = await startUp((n) => (n === 0 ? { status } : { json: {} }));
    const { api, clock } = makeApi(server.baseUrl);

    const started = api.start(clock.now() + DEADLINE_MS);
    expect(await runBackoffs(clock, started)).toEqual([1000]);
    await started;

    const keys = server.to(CONFIG).map((r) => r.headers['x-idempotency-key']);
    expect(keys).toHaveLength(2);
    expect(keys[0]).toBe(keys[1]);
  });

  it('retries a network failure (a reset connection)', async () => {
    const server = await startUp((n) => (n === 0 ? { reset: true } : { json: {} }));
    const { api, clock } = makeApi(server.baseUrl);
    const started = api.start(clock.now() + DEADLINE_MS);
    expect(await runBackoffs(clock, started)).toEqual([1000]);
    await expect(started).resolves.toMatchObject({ pjwtAuthEnabled: false });
  });

  it('doubles the backoff for each retry, with the jitter the random source gives, and caps it at 30 s', async () => {
    const server = await startUp((n) => (n < 7 ? { status: 503 } : { json: {} }));
    const { api, clock } = makeApi(server.baseUrl, { random: () => 0.5 });
    const started = api.start(clock.now() + DEADLINE_MS);
    // 1 s × 2^(n−1) × (1 + 0.5 × 0.1), then the 30 s cap.
    expect(await runBackoffs(clock, started)).toEqual([1050, 2100, 4200, 8400, 16800, 30000, 30000]);
    await started;
  });

  it('waits as long as a longer Retry-After says, in seconds or as an HTTP date, and keeps the backoff when it is shorter', async () => {
    const dates: string[] = [];
    const server = await startUp((n) => {
      if (n === 0) return { status: 503, headers: { 'retry-after': '7' } };
      if (n === 1) return { status: 429, headers: { 'retry-after': dates[0] ?? '' } };
      if (n === 2) return { status: 503, headers: { 'retry-after': '1' } };
      return { json: {} };
    });
    const { api, clock } = makeApi(server.baseUrl);
    dates.push(new Date(clock.now() + 7000 + 12_000).toUTCString());
    const started = api.start(clock.now() + DEADLINE_MS);
    // 7 s; then the date 12 s after the first retry; then the 4 s backoff, longer than Retry-After's 1 s.
    expect(await runBackoffs(clock, started)).toEqual([7000, 12000, 4000]);
    await started;
  });

  it('follows x-should-retry: false on a 503 (no retry) and true on a 400 (retried)', async () => {
    const refused = await startUp(() => ({ status: 503, headers: { 'x-should-retry': 'false' } }));
    const first = makeApi(refused.baseUrl);
    const error = await rejectionOf(first.api.start(first.clock.now() + DEADLINE_MS));
    expect(error).toBeInstanceOf(ApiStatusError);
    expect(error.status).toBe(503);
    expect(refused.received).toHaveLength(1);

    const forced = await startUp((n) => (n === 0 ? { status: 400, headers: { 'x-should-retry': 'true' } } : { json: {} }));
    const second = makeApi(forced.baseUrl);
    const started = second.api.start(second.clock.now() + DEADLINE_MS);
    expect(await runBackoffs(second.clock, started)).toEqual([1000]);
    await started;
  });

  it.each([400, 401, 403, 404, 422])('rejects a %i at once with an ApiStatusError that names the status and the path, never the key', async (status) => {
    const server = await startUp(() => ({ status, json: { detail: `bad key ${KEY}` } }));
    const { api, clock } = makeApi(server.baseUrl);

    const error = await rejectionOf(api.start(clock.now() + DEADLINE_MS));

    expect(error).toBeInstanceOf(ApiStatusError);
    expect(error).toMatchObject({ code: 'TINKER_API_STATUS', name: 'ApiStatusError', status, path: CONFIG });
    expect(error.message).toContain(`HTTP ${status}`);
    expect(error.message).toContain(CONFIG);
    expect(error.message).toContain('[redacted]');
    expect(error.message).not.toContain(KEY);
    expect(server.received).toHaveLength(1);
  });

  it('rejects a 2xx that is not JSON, or not an object, with an InvalidResponseError', async () => {
    const notJson = await startUp(() => ({ text: '<html>' }));
    const a = makeApi(notJson.baseUrl);
    const error = await rejectionOf(a.api.start(a.clock.now() + DEADLINE_MS));
    expect(error).toBeInstanceOf(InvalidResponseError);
    expect(error).toMatchObject({ code: 'TINKER_INVALID_RESPONSE', path: CONFIG, status: 200 });

    const notObject = await startUp(() => ({ json: [1, 2] }));
    const b = makeApi(notObject.baseUrl);
    await expect(b.api.start(b.clock.now() + DEADLINE_MS)).rejects.toBeInstanceOf(InvalidResponseError);
  });

  it('gives up with a DeadlineExceededError, the last failure as cause, when the next wait would end past the deadline', async () => {
    const server = await startUp(() => ({ status: 503 }));
    const { api, clock } = makeApi(server.baseUrl);
    const started = api.start(clock.now() + 20_000);

    expect(await runBackoffs(clock, started)).toEqual([1000, 2000, 4000, 8000]);
    const error = await rejectionOf(started);

    // 15 s have passed; the next wait (16 s) would end after the 20 s deadline.
    expect(error).toBeInstanceOf(DeadlineExceededError);
    expect(error).toMatchObject({ code: 'TINKER_DEADLINE', name: 'DeadlineExceededError', path: CONFIG, deadlineMs: 20_000 });
    expect(error.cause).toBeInstanceOf(ApiStatusError);
    expect((error.cause as ApiStatusError).status).toBe(503);
    expect(error.message).toContain('HTTP 503');
    expect(server.received).toHaveLength(5);
  });

  it('cuts an attempt still under way at the deadline, with the failure before it as cause', async () => {
    const server = await startUp((n) => (n === 0 ? { reset: true } : { hang: true }));
    const { api, clock } = makeApi(server.baseUrl);
    const started = api.start(clock.now() + 5_000);
    const deadline = await clock.nextTimer();
    const backoff = await clock.nextTimer();
    clock.fire(backoff);
    await waitFor(() => server.received.length === 2);
    clock.fire(deadline);

    const error = await rejectionOf(started);
    expect(error).toBeInstanceOf(DeadlineExceededError);
    expect(error.cause).toBeInstanceOf(ApiConnectionError);
    expect(error.cause).toMatchObject({ code: 'TINKER_API_CONNECTION', path: CONFIG });
  });

  it('says no attempt had finished when the first one is still under way at the deadline', async () => {
    const server = await startUp(() => ({ hang: true }));
    const { api, clock } = makeApi(server.baseUrl);
    const started = api.start(clock.now() + 5_000);
    const deadline = await clock.nextTimer();
    await waitFor(() => server.received.length === 1);
    clock.fire(deadline);
    const error = await rejectionOf(started);
    expect(error).toBeInstanceOf(DeadlineExceededError);
    expect(error.cause).toBeUndefined();
    expect(error.message).toContain('no attempt had finished');
  });

  it('rejects with the signal’s reason when aborted during a backoff, and sends nothing more', async () => {
    const server = await startUp(() => ({ status: 503 }));
    const { api, clock } = makeApi(server.baseUrl);
    const controller = new AbortController();
    const started = api.start(clock.now() + DEADLINE_MS, controller.signal);
    await clock.nextTimer();
    const backoff: ManualTimer = await clock.nextTimer();
    const reason = new Error('stop now');
    controller.abort(reason);

    await expect(started).rejects.toBe(reason);
    expect(backoff.cleared).toBe(true);
    expect(server.received).toHaveLength(1);
  });

  it('publishes nothing on the channels before bind(): there is no session yet', async () => {
    const server = await startUp();
    const channels = recordChannels();
    const { api, clock } = makeApi(server.baseUrl);
    await api.start(clock.now() + DEADLINE_MS);
    await api.createSession({ tags: [], userMetadata: {} }, clock.now() + DEADLINE_MS);
    expect(channels.messages).toEqual([]);
  });
});

describe('TinkerApi.createSession', () => {
  it('posts { tags, user_metadata, sdk_version, type } in that order, with no project_id when none is given', async () => {
    const server = await startUp();
    const { api, clock } = makeApi(server.baseUrl);
    const created = await api.createSession({ tags: ['a', 'b'], userMetadata: { run: 'x' } }, clock.now() + DEADLINE_MS);

    expect(created).toEqual({ sessionId: 's-1' });
    const body = server.to(CREATE)[0]?.body as Record<string, unknown>;
    expect(Object.keys(body)).toEqual(['tags', 'user_metadata', 'sdk_version', 'type']);
    expect(body).toEqual({ tags: ['a', 'b'], user_metadata: { run: 'x' }, sdk_version: '0.1.0', type: 'create_session' });
    expect(server.to(CREATE)[0]?.headers['x-api-key']).toBe(KEY);
  });

  it('sends project_id before type when one is given', async () => {
    const server = await startUp();
    const { api, clock } = makeApi(server.baseUrl);
    await api.createSession({ tags: [], userMetadata: {}, projectId: 'p-7' }, clock.now() + DEADLINE_MS);
    const body = server.to(CREATE)[0]?.body as Record<string, unknown>;
    expect(Object.keys(body)).toEqual(['tags', 'user_metadata', 'sdk_version', 'project_id', 'type']);
    expect(body.project_id).toBe('p-7');
  });

  it('logs info_message, warning_message and error_message at their levels, and still resolves', async () => {
    const server = await startUp(undefined, () => ({
      json: { type: 'create_session', session_id: 's-9', info_message: 'hello', warning_message: 'careful', error_message: 'broken', extra: null },
    }));
    const { api, clock, logged } = makeApi(server.baseUrl);
    const created = await api.createSession({ tags: [], userMetadata: {} }, clock.now() + DEADLINE_MS);

    expect(created).toEqual({ sessionId: 's-9', infoMessage: 'hello', warningMessage: 'careful', errorMessage: 'broken' });
    expect(logged.records.map((r) => [r.level, r.msg])).toEqual([
      ['info', 'hello'],
      ['warn', 'careful'],
      ['error', 'broken'],
    ]);
  });

  it('logs nothing for null or absent messages', async () => {
    const server = await startUp(undefined, () => ({ json: { session_id: 's-9', info_message: null, warning_message: '' } }));
    const { api, clock, logged } = makeApi(server.baseUrl);
    await api.createSession({ tags: [], userMetadata: {} }, clock.now() + DEADLINE_MS);
    expect(logged.records).toEqual([]);
  });

  it('retries as start does, and reports the whole start-up deadline in DeadlineExceededError', async () => {
    const server = await startUp(undefined, () => ({ status: 502 }));
    const { api, clock } = makeApi(server.baseUrl);
    const deadlineAtMs = clock.now() + 10_000;
    await api.start(deadlineAtMs);
    clock.nowMs += 2_000;
    const creating = api.createSession({ tags: [], userMetadata: {} }, deadlineAtMs);
    // From 2 s in: 1, 2 and 4 s of backoff end at 9 s; the next 8 s would pass the 10 s deadline.
    expect(await runBackoffs(clock, creating)).toEqual([1000, 2000, 4000]);
    const error = await rejectionOf(creating);
    expect(error).toBeInstanceOf(DeadlineExceededError);
    expect(error.deadlineMs).toBe(10_000);
    expect(error.path).toBe(CREATE);
  });

  it.each([
    ['300 characters long', 's'.repeat(300)],
    ['with an escape and a newline', 'sess-1\u001b[2K\n{"level":50,"msg":"forged"}'],
    ['with a space', 'sess 1'],
  ])('rejects a session_id %s with an InvalidResponseError that does not quote it', async (_label, sessionId) => {
    const server = await startUp(undefined, () => ({ json: { session_id: sessionId } }));
    const { api, clock } = makeApi(server.baseUrl);
    const error = await rejectionOf(api.createSession({ tags: [], userMetadata: {} }, clock.now() + DEADLINE_MS));
    expect(error).toBeInstanceOf(InvalidResponseError);
    expect(error).toMatchObject({ path: CREATE, status: 200 });
    expect(error.message).not.toContain(sessionId);
    expect([...error.message].filter((c) => c < ' ' || c === '\u007f')).toEqual([]);
    expect(error.message.length).toBeLessThan(200);
  });

  it('accepts a session_id of 256 printable ASCII characters', async () => {
    const sessionId = `${'!~'.repeat(127)}ab`;
    const server = await startUp(undefined, () => ({ json: { session_id: sessionId } }));
    const { api, clock } = makeApi(server.baseUrl);
    await expect(api.createSession({ tags: [], userMetadata: {} }, clock.now() + DEADLINE_MS)).resolves.toMatchObject({ sessionId });
  });

  it('rejects an answer without a session_id with an InvalidResponseError', async () => {
    const server = await startUp(undefined, () => ({ json: { type: 'create_session' } }));
    const { api, clock } = makeApi(server.baseUrl);
    const error = await rejectionOf(api.createSession({ tags: [], userMetadata: {} }, clock.now() + DEADLINE_MS));
    expect(error).toBeInstanceOf(InvalidResponseError);
    expect(error.path).toBe(CREATE);
  });
});

/** Waits, in short real turns, until `condition` holds: the server runs in this process, so this only lets its I/O happen. */
async function waitFor(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !condition(); i++) await new Promise((resolve) => setImmediate(resolve));
  expect(condition()).toBe(true);
}

describe('TinkerApi.start: the JWT of auth/token', () => {
  /** A server whose client config asks for a JWT and whose auth/token answers `jwt`. */
  const jwtServer = (jwt: unknown) =>
    serve((request) => (request.path === CONFIG ? { json: { pjwt_auth_enabled: true } } : request.path === TOKEN ? { json: { jwt } } : { status: 404 }));

  it.each([
    ['a NUL', `${makeJwt(2_000_000_000)}\u0000`],
    ['a newline between its parts', makeJwt(2_000_000_000).replace('.', '\n.')],
    ['two parts', makeJwt(2_000_000_000).split('.').slice(0, 2).join('.')],
    ['an empty signature', `${makeJwt(2_000_000_000).split('.').slice(0, 2).join('.')}.`],
    ['a character outside base64url', makeJwt(2_000_000_000).replace('.', '+.')],
    ['more than 16 KiB', `${makeJwt(2_000_000_000)}${'A'.repeat(16 * 1024)}`],
    ['no string at all', 42],
  ])('rejects a jwt with %s with an InvalidResponseError that does not quote it', async (_label, jwt) => {
    const server = await jwtServer(jwt);
    const { api, clock } = makeApi(server.baseUrl);
    const error = await rejectionOf(api.start(clock.now() + DEADLINE_MS));
    expect(error).toBeInstanceOf(InvalidResponseError);
    expect(error).toMatchObject({ path: TOKEN, status: 200 });
    if (typeof jwt === 'string') expect(error.message).not.toContain(jwt.split('.')[0]);
    expect([...error.message].filter((c) => c < ' ' || c === '\u007f')).toEqual([]);
  });

  it('takes a JWT of three base64url parts, as the server issues them', async () => {
    const jwt = makeJwt(2_000_000_000);
    const server = await jwtServer(jwt);
    const { api, clock } = makeApi(server.baseUrl);
    await api.start(clock.now() + DEADLINE_MS);
    expect(api.credential).toBe(jwt);
    api.close();
  });
});
