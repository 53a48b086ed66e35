/**
 * TinkerApi once a session exists: bind() and the session's got client,
 * the heartbeat (one POST, its own timeout, no retries, typed rejections)
 * and submit (path forms, body as given, retries with one idempotency key,
 * the 402 billing pause, the answer's shape).
 */
import { describe, expect, it } from 'vitest';
import { CHANNELS, HTTP_CHANNELS } from '../src/host/channels.js';
import { ApiConnectionError, ApiStatusError, InvalidResponseError } from '../src/tinker/errors.js';
import { type Answer, KEY, makeApi, recordChannels, rejectionOf, serve } from './tinker-helpers.js';

const HEARTBEAT = '/api/v1/session_heartbeat';

async function until(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !condition(); i++) await new Promise((resolve) => setImmediate(resolve));
  expect(condition()).toBe(true);
}

describe('TinkerApi.bind and http', () => {
  it('has no http client before bind(), and one bound to the session after it', async () => {
    const server = await serve(() => ({ json: { ok: true } }));
    const { api } = makeApi(server.baseUrl);
    expect(() => api.http).toThrow(/bind\(\)/);
    api.bind('sess-1');
    await expect(api.http.get('api/v1/ping').json()).resolves.toEqual({ ok: true });
    expect(server.received[0]?.headers['x-api-key']).toBe(KEY);
  });

  it('publishes each call’s HTTP telemetry with the session id once bound, and none before', async () => {
    const server = await serve(() => ({ json: { request_id: 'r' } }));
    const channels = recordChannels();
    const { api } = makeApi(server.baseUrl);
    await api.submit('api/v1/optim_step', {}, { requestType: 'OptimStep' });
    expect(channels.messages).toEqual([]);

    api.bind('sess-1');
    await api.submit('api/v1/optim_step', {}, { requestType: 'OptimStep' });
    const http = channels.messages.filter((m) => HTTP_CHANNELS.includes(m.channel as never));
    expect(http.map((m) => m.channel)).toEqual([CHANNELS.httpRequestStart, CHANNELS.httpRequestStop]);
    expect(http.map((m) => m.payload.sessionId)).toEqual(['sess-1', 'sess-1']);
    expect(http[1]?.payload).toMatchObject({ method: 'POST', path: '/api/v1/optim_step', status: 200 });
  });

  it('ignores binding the same id again and refuses another id', () => {
    const { api } = makeApi('http://127.0.0.1:9');
    api.bind('sess-1');
    const http = api.http;
    api.bind('sess-1');
    expect(api.http).toBe(http);
    expect(() => api.bind('sess-2')).toThrow(/already bound to session sess-1/);
    expect(() => makeApi('http://127.0.0.1:9').api.bind('')).toThrow(TypeError);
  });

  it('refuses to be built without a key, naming no key', () => {
    expect(() => makeApi('http://127.0.0.1:9', { config: { apiKey: ' ', baseUrl: 'http://127.0.0.1:9' } })).toThrow(
      expect.objectContaining({ code: 'ERR_TINKER_TELEMETRY_MISSING_API_KEY' }),
    );
  });
});

describe('TinkerApi.heartbeat', () => {
  it('posts { session_id, type: session_heartbeat } with the common headers', async () => {
    const server = await serve(() => ({ json: { type: 'session_heartbeat' } }));
    const { api } = makeApi(server.baseUrl);
    api.bind('sess-1');
    await api.heartbeat('sess-1', 10_000);
    const [beat] = server.received;
    expect(beat?.path).toBe(HEARTBEAT);
    expect(JSON.stringify(beat?.body)).toBe('{"session_id":"sess-1","type":"session_heartbeat"}');
    expect(beat?.headers).toMatchObject({ 'x-api-key': KEY, 'content-type': 'application/json', accept: 'application/json' });
    expect(beat?.headers['x-idempotency-key']).toMatch(/^tinker-telemetry-retry-/);
    expect(beat?.headers['user-agent']).toMatch(/^tinker-telemetry\//);
  });

  it.each([408, 429, 500, 503])('rejects a %i with an ApiStatusError after one request: no retries', async (status) => {
    const server = await serve(() => ({ status }));
    const { api, clock } = makeApi(server.baseUrl);
    const error = await rejectionOf(api.heartbeat('sess-1', 10_000));
    expect(error).toBeInstanceOf(ApiStatusError);
    expect(error).toMatchObject({ status, path: HEARTBEAT });
    expect(server.received).toHaveLength(1);
    expect(clock.timers).toEqual([]);
  });

  it('rejects with an ApiConnectionError when no answer comes within its own timeout', async () => {
    const server = await serve(() => ({ hang: true }));
    const { api } = makeApi(server.baseUrl);
    const error = await rejectionOf(api.heartbeat('sess-1', 50));
    expect(error).toBeInstanceOf(ApiConnectionError);
    expect(error).toMatchObject({ code: 'TINKER_API_CONNECTION', path: HEARTBEAT });
    expect(error.message).toMatch(/ETIMEDOUT|Timeout/i);
    expect(server.received).toHaveLength(1);
  });

  it('gives got’s error to no one: the cause is a plain Error without the request options', async () => {
    const server = await serve(() => ({ reset: true }));
    const { api } = makeApi(server.baseUrl);
    const error = await rejectionOf(api.heartbeat('sess-1', 5_000));
    expect(error).toBeInstanceOf(ApiConnectionError);
    expect(Object.getPrototypeOf(error.cause)).toBe(Error.prototype);
    expect(error.cause).toMatchObject({ code: 'ECONNRESET' });
    expect(error.cause).not.toHaveProperty('options');
    expect(JSON.stringify(error.cause)).not.toContain(KEY);
  });

  it('rejects with the signal’s reason when aborted', async () => {
    const server = await serve(() => ({ hang: true }));
    const { api } = makeApi(server.baseUrl);
    const controller = new AbortController();
    const beating = api.heartbeat('sess-1', 10_000, controller.signal);
    await until(() => server.received.length === 1);
    const reason = new Error('closing');
    controller.abort(reason);
    await expect(beating).rejects.toBe(reason);
  });
});

describe('TinkerApi.submit', () => {
  it('posts the body as given to the path with or without its leading slash, and returns the request id, model id and timings', async () => {
    const server = await serve((request) => ({ json: request.path.endsWith('create_model') ? { request_id: 'r-2', model_id: 'm-1' } : { request_id: 'r-1' } }));
    const { api, clock } = makeApi(server.baseUrl);
    const body = { model_id: 'm', seq_id: 3, adam_params: { learning_rate: 0.001 }, type: 'optim_step' };

    const first = await api.submit('api/v1/optim_step', body, { requestType: 'OptimStep' });
    const second = await api.submit('/api/v1/create_model', {}, { requestType: 'CreateModel' });

    expect(server.received.map((r) => r.path)).toEqual(['/api/v1/optim_step', '/api/v1/create_model']);
    expect(server.received[0]?.body).toEqual(body);
    expect(first).toEqual({ requestId: 'r-1', submittedAtMs: clock.now(), roundTripMs: 0 });
    expect(second).toMatchObject({ requestId: 'r-2', modelId: 'm-1' });
  });

  it('retries a 503 and a reset with one idempotency key, logs each retry at debug, and counts the waits in roundTripMs', async () => {
    const answers: Answer[] = [{ status: 503 }, { reset: true }, { json: { request_id: 'r-1' } }];
    const server = await serve((_request, n) => answers[n] ?? { status: 500 });
    const { api, clock, logged } = makeApi(server.baseUrl);
    const submitting = api.submit('api/v1/optim_step', {}, { requestType: 'OptimStep' });
    const first = await clock.nextTimer();
    expect(first.ms).toBe(1000);
    clock.fire(first);
    const second = await clock.nextTimer();
    expect(second.ms).toBe(2000);
    clock.fire(second);

    await expect(submitting).resolves.toMatchObject({ requestId: 'r-1', roundTripMs: 3000 });
    const retries = logged.records.filter((r) => r.level === 'debug');
    expect(retries.map((r) => r.obj)).toEqual([
      expect.objectContaining({ path: '/api/v1/optim_step', requestType: 'OptimStep', retry: 1, delayMs: 1000 }),
      expect.objectContaining({ path: '/api/v1/optim_step', requestType: 'OptimStep', retry: 2, delayMs: 2000 }),
    ]);
    const keys = new Set(server.received.map((r) => r.headers['x-idempotency-key']));
    expect(server.received).toHaveLength(3);
    expect(keys.size).toBe(1);
  });

  it('gives each submit its own idempotency key', async () => {
    const server = await serve(() => ({ json: { request_id: 'r' } }));
    const { api } = makeApi(server.baseUrl);
    await api.submit('api/v1/a', {}, { requestType: 'A' });
    await api.submit('api/v1/a', {}, { requestType: 'A' });
    expect(new Set(server.received.map((r) => r.headers['x-idempotency-key'])).size).toBe(2);
  });

  it('pauses 5 s on a 402 while the client config’s billing window lasts, then fails with the 402', async () => {
    const server = await serve((request) =>
      request.path === '/api/v1/client/config' ? { json: { billing_exception_max_pause_duration_sec: 20 } } : { status: 402, json: { detail: 'billing' } },
    );
    const { api, clock, logged } = makeApi(server.baseUrl);
    await api.start(clock.now() + 1000);
    const submitting = api.submit('api/v1/optim_step', {}, { requestType: 'OptimStep' });
    let pauses = 0;
    let settled = false;
    const done = submitting.then(
      () => (settled = true),
      () => (settled = true),
    );
    while (!settled) {
      const timer = await Promise.race([clock.nextTimer(), done.then(() => undefined)]);
      if (timer === undefined) break;
      expect(timer.ms).toBe(5000);
      pauses++;
      clock.fire(timer);
    }
    const error = await rejectionOf(submitting);
    expect(error).toBeInstanceOf(ApiStatusError);
    expect(error.status).toBe(402);
    // 402s at 0, 5, 10, 15 and 20 s pause; the one at 25 s is past the 20 s window.
    expect(pauses).toBe(5);
    expect(logged.records.filter((r) => r.level === 'warn').map((r) => r.obj)).toEqual([
      expect.objectContaining({ status: 402, detail: '{"detail":"billing"}' }),
    ]);
    expect(logged.records.filter((r) => r.level === 'error').map((r) => r.msg)).toEqual([expect.stringContaining('billing status for too long')]);
  });

  it('rejects an answer without a request_id with an InvalidResponseError naming the path', async () => {
    const server = await serve(() => ({ json: { model_id: 'm' } }));
    const { api } = makeApi(server.baseUrl);
    const error = await rejectionOf(api.submit('api/v1/optim_step', {}, { requestType: 'OptimStep' }));
    expect(error).toBeInstanceOf(InvalidResponseError);
    expect(error).toMatchObject({ path: '/api/v1/optim_step', status: 200 });
  });

  it.each([
    ['a request_id 300 characters long', { request_id: 'r'.repeat(300) }, 'r'.repeat(300)],
    ['a request_id with an escape and a newline', { request_id: 'r-1\u001b]0;x\u0007\nWARN forged' }, 'r-1\u001b]0;x\u0007\nWARN forged'],
    ['a model_id with a NUL', { request_id: 'r-1', model_id: 'm\u0000' }, 'm\u0000'],
  ])('rejects an answer with %s with an InvalidResponseError that does not quote it', async (_label, answer, bad) => {
    const server = await serve(() => ({ json: answer }));
    const { api } = makeApi(server.baseUrl);
    const error = await rejectionOf(api.submit('api/v1/optim_step', {}, { requestType: 'OptimStep' }));
    expect(error).toBeInstanceOf(InvalidResponseError);
    expect(error).toMatchObject({ path: '/api/v1/optim_step', status: 200, requestId: undefined });
    expect(error.message).not.toContain(bad);
    expect([...error.message].filter((c) => c < ' ' || c === '\u007f')).toEqual([]);
  });

  it('rejects with the signal’s reason when aborted during a backoff', async () => {
    const server = await serve(() => ({ status: 500 }));
    const { api, clock } = makeApi(server.baseUrl);
    const controller = new AbortController();
    const submitting = api.submit('api/v1/optim_step', {}, { requestType: 'OptimStep', signal: controller.signal });
    await clock.nextTimer();
    controller.abort('stop');
    await expect(submitting).rejects.toBe('stop');
    expect(server.received).toHaveLength(1);
  });
});
