/**
 * The JWT exchange when the server sets pjwt_auth_enabled: the key goes
 * only to auth/token, the JWT everywhere else (the session's got client
 * included); the refresh 300 s before exp on an unref'd timer, on demand
 * at 60 s or less, 60 s after a failure; and neither secret in any error,
 * log line or channel payload.
 */
import { describe, expect, it } from 'vitest';
import { ApiStatusError, RequestFailedError } from '../src/tinker/errors.js';
import { type Answer, KEY, ManualClock, makeApi, makeJwt, recordChannels, rejectionOf, serve } from './tinker-helpers.js';

const TOKEN = '/api/v1/auth/token';
const DEADLINE_MS = 300_000;
/** Seconds of life of each JWT the server issues. */
const LIFE_SEC = 3600;

/** A server with JWT auth: auth/token answers `token(n, nowSec)`; every other call succeeds as its endpoint would. */
async function jwtServer(
  clock: () => ManualClock,
  token: (n: number, nowSec: number) => Answer,
  other: (path: string) => Answer | undefined = () => undefined,
) {
  const issued: string[] = [];
  const server = await serve((request, n) => {
    const custom = other(request.path);
    if (custom !== undefined) return custom;
    switch (request.path) {
      case '/api/v1/client/config':
        return { json: { pjwt_auth_enabled: true } };
      case TOKEN: {
        const answer = token(n, clock().now() / 1000);
        if ('json' in answer && typeof (answer.json as { jwt?: unknown }).jwt === 'string') issued.push((answer.json as { jwt: string }).jwt);
        return answer;
      }
      case '/api/v1/create_session':
        return { json: { session_id: 'sess-1' } };
      case '/api/v1/retrieve_future':
        return { json: { metrics: {} } };
      default:
        return { json: { request_id: 'req-1' } };
    }
  });
  return { ...server, issued };
}

/** Issues a fresh JWT living LIFE_SEC on every exchange. */
const alwaysIssue = (_n: number, nowSec: number): Answer => ({ json: { jwt: makeJwt(nowSec + LIFE_SEC) } });

/** The longest delay Node's `setTimeout` honours: 2³¹ − 1 ms (about 24.8 days). */
const NODE_MAX_DELAY_MS = 2 ** 31 - 1;

/** The manual clock with Node's timer limit: a delay above 2³¹ − 1 ms becomes 1 ms, as `setTimeout` does with a TimeoutOverflowWarning. */
class NodeLimitClock extends ManualClock {
  overflows = 0;

  override setTimeout(fn: () => void, ms: number): unknown {
    if (!(ms <= NODE_MAX_DELAY_MS)) this.overflows++;
    return super.setTimeout(fn, ms <= NODE_MAX_DELAY_MS ? ms : 1);
  }
}

async function started(
  token: (n: number, nowSec: number) => Answer = alwaysIssue,
  other?: (path: string) => Answer | undefined,
  clock: ManualClock = new ManualClock(),
) {
  const server = await jwtServer(() => clock, token, other);
  const made = makeApi(server.baseUrl, { clock });
  await made.api.start(clock.now() + DEADLINE_MS);
  return { server, ...made, clock };
}

/** Lets the loopback exchange run until `condition` holds. */
async function until(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !condition(); i++) await new Promise((resolve) => setImmediate(resolve));
  expect(condition()).toBe(true);
}

const keyOf = (server: { received: { path: string; headers: Record<string, unknown> }[] }, path: string) =>
  server.received.filter((r) => r.path === path).map((r) => r.headers['x-api-key']);

describe('TinkerApi with pjwt_auth_enabled', () => {
  it('exchanges the key at auth/token with {} and then sends the JWT as X-API-Key on every call, the bound got client included', async () => {
    const { server, api, clock } = await started();
    const [jwt] = server.issued;
    await api.createSession({ tags: [], userMetadata: {} }, clock.now() + DEADLINE_MS);
    api.bind('sess-1');
    await api.heartbeat('sess-1', 5_000);
    await api.submit('api/v1/optim_step', {}, { requestType: 'OptimStep' });
    await api.retrieveFuture('req-1', { requestType: 'OptimStep' });
    await api.http.post('api/v1/anything', { json: {} });

    const token = server.to(TOKEN)[0];
    expect(token?.body).toEqual({});
    expect(token?.headers['x-api-key']).toBe(KEY);
    expect(server.to('/api/v1/client/config')[0]?.headers['x-api-key']).toBe(KEY);
    const afterExchange = server.received.slice(2);
    expect(afterExchange.map((r) => r.path)).toEqual([
      '/api/v1/create_session',
      '/api/v1/session_heartbeat',
      '/api/v1/optim_step',
      '/api/v1/retrieve_future',
      '/api/v1/anything',
    ]);
    expect(afterExchange.map((r) => r.headers['x-api-key'])).toEqual(Array(5).fill(jwt));
  });

  it('refreshes 300 s before exp on an unref’d timer, and sends the new JWT from then on', async () => {
    const { server, api, clock } = await started();
    const [refresh, ...others] = clock.pending;
    expect(others).toEqual([]);
    expect(refresh?.ms).toBe((LIFE_SEC - 300) * 1000);
    expect(refresh?.unrefd).toBe(true);

    clock.fire(refresh!);
    await until(() => server.issued.length === 2);
    await until(() => clock.pending.length === 1);
    expect(clock.pending[0]?.ms).toBe((LIFE_SEC - 300) * 1000);
    expect(clock.pending[0]?.unrefd).toBe(true);

    await api.heartbeat('sess-1', 5_000);
    expect(keyOf(server, '/api/v1/session_heartbeat')).toEqual([server.issued[1]]);
    expect(keyOf(server, TOKEN)).toEqual([KEY, KEY]);
  });

  it('refreshes on demand before a call when 60 s or less are left', async () => {
    const { server, api, clock } = await started();
    // The background refresh has not run (a stalled timer): 55 s are left.
    clock.nowMs += (LIFE_SEC - 55) * 1000;
    await api.submit('api/v1/optim_step', {}, { requestType: 'OptimStep' });
    expect(server.received.slice(2).map((r) => r.path)).toEqual([TOKEN, '/api/v1/optim_step']);
    expect(keyOf(server, '/api/v1/optim_step')).toEqual([server.issued[1]]);
  });

  it('does not refresh on demand while more than 60 s are left', async () => {
    const { server, api, clock } = await started();
    clock.nowMs += (LIFE_SEC - 61) * 1000;
    await api.submit('api/v1/optim_step', {}, { requestType: 'OptimStep' });
    expect(server.to(TOKEN)).toHaveLength(1);
  });

  it('keeps the old JWT when a background refresh fails, warns without either secret, and tries again 60 s later', async () => {
    const { server, api, clock, logged } = await started((n, nowSec) =>
      n === 1 ? { status: 503, text: `down; your key ${KEY}` } : { json: { jwt: makeJwt(nowSec + LIFE_SEC) } },
    );
    const [first] = server.issued;
    clock.fire(clock.pending[0]!);
    await until(() => clock.pending.length === 1 && server.to(TOKEN).length === 2);

    const retry = clock.pending[0]!;
    expect(retry.ms).toBe(60_000);
    expect(retry.unrefd).toBe(true);
    const warning = logged.records.find((r) => r.level === 'warn');
    expect(warning?.msg).toContain('JWT refresh failed');
    expect(logged.text()).not.toContain(KEY);
    expect(logged.text()).not.toContain(first!.split('.')[2]!);
    await api.heartbeat('sess-1', 5_000);
    expect(keyOf(server, '/api/v1/session_heartbeat')).toEqual([first]);

    clock.fire(retry);
    // The next refresh is scheduled once the new JWT is in use.
    await until(() => clock.pending.length === 1);
    await api.heartbeat('sess-1', 5_000);
    expect(keyOf(server, '/api/v1/session_heartbeat')).toEqual([first, server.issued[1]]);
  });

  it('after a failed on-demand refresh sends the old JWT, and asks again only 60 s later', async () => {
    const { server, api, clock } = await started((n, nowSec) => (n === 0 || n === 2 ? { json: { jwt: makeJwt(nowSec + LIFE_SEC) } } : { status: 500 }));
    const [first] = server.issued;
    clock.nowMs += (LIFE_SEC - 50) * 1000;
    await api.submit('api/v1/a', {}, { requestType: 'A' });
    clock.nowMs += 59_000;
    await api.submit('api/v1/b', {}, { requestType: 'B' });
    expect(server.to(TOKEN)).toHaveLength(2);
    expect([...keyOf(server, '/api/v1/a'), ...keyOf(server, '/api/v1/b')]).toEqual([first, first]);

    clock.nowMs += 1_000;
    await api.submit('api/v1/c', {}, { requestType: 'C' });
    expect(server.to(TOKEN)).toHaveLength(3);
    expect(keyOf(server, '/api/v1/c')).toEqual([server.issued[1]]);
  });

  it('refreshes a JWT that lives less than 300 s no sooner than 10 s on, instead of at once and forever', async () => {
    const { server, clock } = await started((_n, nowSec) => ({ json: { jwt: makeJwt(nowSec + 100) } }));
    expect(clock.pending.map((t) => t.ms)).toEqual([10_000]);
    clock.fire(clock.pending[0]!);
    await until(() => server.issued.length === 2 && clock.pending.length === 1);
    expect(clock.pending.map((t) => t.ms)).toEqual([10_000]);
  });

  it('refreshes a JWT without a readable exp every 60 s, and never on demand', async () => {
    const { server, api, clock } = await started(() => ({ json: { jwt: 'opaque.token-without.claims' } }));
    expect(clock.pending.map((t) => [t.ms, t.unrefd])).toEqual([[60_000, true]]);
    await api.submit('api/v1/optim_step', {}, { requestType: 'OptimStep' });
    expect(server.to(TOKEN)).toHaveLength(1);
    expect(keyOf(server, '/api/v1/optim_step')).toEqual(['opaque.token-without.claims']);
  });

  it('makes one auth/token request for a 30-day JWT, none in the next hour, and refreshes it 300 s before exp, never arming a timer above 2³¹ − 1 ms', async () => {
    const lifeSec = 30 * 86_400;
    const clock = new NodeLimitClock();
    const { server } = await started((_n, nowSec) => ({ json: { jwt: makeJwt(nowSec + lifeSec) } }), undefined, clock);
    const refreshAtMs = clock.now() + (lifeSec - 300) * 1000;
    expect(server.to(TOKEN)).toHaveLength(1);
    expect(clock.pending.map((t) => [t.ms, t.unrefd])).toEqual([[NODE_MAX_DELAY_MS, true]]);

    clock.advance(3_600_000);
    // A refresh started would have consumed the timer; none did.
    expect(clock.pending).toHaveLength(1);
    await new Promise((resolve) => setImmediate(resolve));
    expect(server.to(TOKEN)).toHaveLength(1);

    clock.advance(refreshAtMs - 1 - clock.now());
    expect(clock.timers.filter((t) => t.fired).map((t) => t.ms)).toEqual([NODE_MAX_DELAY_MS]);
    expect(clock.pending).toHaveLength(1);
    expect(server.to(TOKEN)).toHaveLength(1);
    clock.advance(1);
    await until(() => server.issued.length === 2 && clock.pending.length === 1);
    expect(server.to(TOKEN)).toHaveLength(2);
    expect(clock.overflows).toBe(0);
  });

  it('reaches the refresh of a 300-day JWT through a chain of capped timers, exactly 300 s before exp', async () => {
    const lifeSec = 300 * 86_400;
    const clock = new NodeLimitClock();
    const { server } = await started((_n, nowSec) => ({ json: { jwt: makeJwt(nowSec + lifeSec) } }), undefined, clock);
    const refreshAtMs = clock.now() + (lifeSec - 300) * 1000;

    clock.advance(refreshAtMs - 1 - clock.now());
    const capped = clock.timers.filter((t) => t.fired);
    expect(capped.length).toBe(Math.floor(((lifeSec - 300) * 1000) / NODE_MAX_DELAY_MS));
    expect(capped.every((t) => t.ms === NODE_MAX_DELAY_MS)).toBe(true);
    expect(clock.pending).toHaveLength(1);
    expect(server.to(TOKEN)).toHaveLength(1);

    clock.advance(1);
    await until(() => server.issued.length === 2);
    expect(clock.overflows).toBe(0);
  });

  it.each([
    ['1e300 s', 1e300],
    ['more than a year ahead', 366 * 86_400],
  ])('treats an exp of %s as unreadable: refreshed every 60 s, never in a tight loop', async (_name, expInSec) => {
    const clock = new NodeLimitClock();
    const expSec = expInSec === 1e300 ? 1e300 : clock.now() / 1000 + expInSec;
    const { server } = await started(() => ({ json: { jwt: makeJwt(expSec) } }), undefined, clock);
    expect(clock.pending.map((t) => t.ms)).toEqual([60_000]);

    clock.advance(59_999);
    expect(clock.pending).toHaveLength(1);
    clock.advance(1);
    await until(() => server.issued.length === 2 && clock.pending.length === 1);
    expect(clock.pending.map((t) => t.ms)).toEqual([60_000]);
    expect(server.to(TOKEN)).toHaveLength(2);
    expect(clock.overflows).toBe(0);
  });

  it('close() aborts a refresh in flight: its request is dropped, nothing is logged as failed, and no timer is left', async () => {
    const { server, api, clock, logged } = await started((n, nowSec) => (n === 1 ? { hang: true } : { json: { jwt: makeJwt(nowSec + LIFE_SEC) } }));
    clock.fire(clock.pending[0]!);
    await until(() => server.to(TOKEN).length === 2);
    expect(server.abandoned).toEqual([]);

    api.close();
    await until(() => server.abandoned.length === 1);
    expect(server.abandoned[0]?.path).toBe(TOKEN);
    for (let i = 0; i < 10; i++) await new Promise((resolve) => setImmediate(resolve));
    expect(logged.records.filter((r) => r.level === 'warn')).toEqual([]);
    expect(clock.pending).toEqual([]);
  });

  it('close() during the start-up exchange uses the JWT it brings but arms no refresh', async () => {
    const clock = new ManualClock();
    const ref: { api?: { close(): void } } = {};
    const server = await jwtServer(
      () => clock,
      (_n, nowSec) => {
        ref.api?.close();
        return { json: { jwt: makeJwt(nowSec + LIFE_SEC) } };
      },
    );
    const { api } = makeApi(server.baseUrl, { clock });
    ref.api = api;
    await api.start(clock.now() + DEADLINE_MS);
    expect(api.credential).toBe(server.issued[0]);
    expect(clock.pending).toEqual([]);
  });

  it('close() stops the refresh timer, and is idempotent', async () => {
    const { api, clock } = await started();
    const [refresh] = clock.pending;
    api.close();
    api.close();
    expect(refresh?.cleared).toBe(true);
    expect(clock.pending).toEqual([]);
  });

  it('keeps the key and the JWT out of every error, log line and channel payload, even when the server echoes them', async () => {
    let echo = '';
    let polls = 0;
    const { server, api, clock, logged } = await started(alwaysIssue, (path) => {
      if (path === '/api/v1/create_session') return { json: { session_id: 'sess-1', warning_message: `seen ${echo}` } };
      if (path === '/api/v1/optim_step') return { status: 400, json: { detail: `bad ${echo}` } };
      if (path === '/api/v1/session_heartbeat') return { status: 500, text: `oops ${echo}` };
      if (path === '/api/v1/retrieve_future' && polls++ === 0)
        return { json: { type: 'try_again', queue_state: 'paused_capacity', queue_state_reason: `why ${echo}` } };
      if (path === '/api/v1/retrieve_future') return { json: { error: `failed ${echo}`, category: 'user' } };
      return undefined;
    });
    const jwt = server.issued[0]!;
    echo = `${KEY} ${jwt}`;
    const channels = recordChannels();
    await api.createSession({ tags: [], userMetadata: {} }, clock.now() + DEADLINE_MS);
    api.bind('sess-1');
    const errors = [
      await rejectionOf(api.submit('api/v1/optim_step', {}, { requestType: 'OptimStep' })),
      await rejectionOf(api.heartbeat('sess-1', 5_000)),
      await rejectionOf(api.retrieveFuture('req-1', { requestType: 'OptimStep' })),
    ];
    expect(errors[0]).toBeInstanceOf(ApiStatusError);
    expect(errors[1]).toBeInstanceOf(ApiStatusError);
    expect(errors[2]).toBeInstanceOf(RequestFailedError);
    expect(errors.map((e) => e.message).join('\n')).toContain('[redacted] [redacted]');
    expect((errors[2] as unknown as RequestFailedError).error).toBe('failed [redacted] [redacted]');
    expect(channels.on('tinker:queue:state_change')).toEqual([expect.objectContaining({ reason: 'why [redacted] [redacted]' })]);
    expect(logged.records.filter((r) => r.msg?.includes('is paused'))).toHaveLength(1);

    const everything = [...errors.map((e) => `${e.message} ${JSON.stringify(e)}`), logged.text(), JSON.stringify(channels.messages)].join('\n');
    for (const fragment of [KEY, KEY.slice(-12), jwt, jwt.split('.')[2]!]) expect(everything).not.toContain(fragment);
  });
});
