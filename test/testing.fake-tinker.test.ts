import { request as httpRequest } from 'node:http';
import { describe, expect, it } from 'vitest';
import { FAKE_TINKER_API_KEY, startFakeTinker } from '../src/testing.js';
import { VALID, createSession, get, manualClock, post, start } from './fake-tinker-helpers.js';

describe('startFakeTinker: the server', () => {
  it('listens on 127.0.0.1 on a free port and accepts the default tml- test key', async () => {
    const fake = await start();
    expect(fake.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(Number(new URL(fake.url).port)).toBeGreaterThan(0);
    expect(fake.apiKey).toBe(FAKE_TINKER_API_KEY);
    expect(fake.apiKey.startsWith('tml-')).toBe(true);
    expect((await get(fake, '/api/v1/healthz')).json).toEqual({ status: 'ok' });
  });

  it('accepts the API key given as an option, and no other', async () => {
    const fake = await start({ apiKey: 'tml-mine' });
    expect(fake.apiKey).toBe('tml-mine');
    expect((await post(fake, '/api/v1/client/config', VALID['client/config'])).status).toBe(200);
    expect((await post(fake, '/api/v1/client/config', VALID['client/config'], { key: FAKE_TINKER_API_KEY })).status).toBe(401);
  });

  it('answers a wrong key 401 and records it as invalid, without the key', async () => {
    const fake = await start();
    const answer = await post(fake, '/api/v1/create_session', VALID.create_session, { key: 'tml-wrong-key' });
    expect(answer.status).toBe(401);
    expect(fake.requests[0]).toMatchObject({ credential: 'invalid', status: 401, outcome: 'answered' });
    expect(JSON.stringify(fake.requests)).not.toContain('tml-wrong-key');
    expect(fake.sessions).toEqual([]);
  });

  it('answers a missing key 401 and records it as missing', async () => {
    const fake = await start();
    expect((await post(fake, '/api/v1/client/config', VALID['client/config'], { key: null })).status).toBe(401);
    expect(fake.requests[0]?.credential).toBe('missing');
  });

  it('records method, path, headers without X-API-Key, credential, parsed body and status', async () => {
    const fake = await start();
    await post(fake, '/api/v1/client/config?x=1', VALID['client/config'], { headers: { 'x-tinker-test': 'yes' } });
    const [request] = fake.requests;
    expect(request).toMatchObject({
      index: 0,
      method: 'POST',
      path: '/api/v1/client/config',
      credential: 'api_key',
      body: VALID['client/config'],
      status: 200,
      outcome: 'answered',
      faulted: false,
    });
    expect(request?.headers['x-tinker-test']).toBe('yes');
    expect(request?.headers).not.toHaveProperty('x-api-key');
    expect(JSON.stringify(fake.requests)).not.toContain(fake.apiKey);
  });

  it('answers an unknown path 404 and a wrong method 405', async () => {
    const fake = await start();
    expect((await post(fake, '/api/v1/forward', {})).status).toBe(404);
    expect((await get(fake, '/api/v1/create_session')).status).toBe(405);
  });

  it('answers get_server_capabilities with a model list', async () => {
    const fake = await start();
    expect((await get(fake, '/api/v1/get_server_capabilities')).json.supported_models).toHaveLength(1);
  });
});

describe('startFakeTinker: the session endpoints', () => {
  it('client/config answers every field of ClientConfigResponse with the Python defaults', async () => {
    const fake = await start();
    const answer = await post(fake, '/api/v1/client/config', VALID['client/config']);
    expect(answer.json).toEqual({
      pjwt_auth_enabled: false,
      credential_default_source: 'api_key',
      sample_dispatch_bytes_semaphore_size: 10_485_760,
      inflight_response_bytes_semaphore_size: 52_428_800,
      parallel_fwdbwd_chunks: true,
      proto_compress_fwdbwd: false,
      fwdbwd_max_chunk_len: 1024,
      fwdbwd_max_chunk_bytes_count: 5_000_000,
      fwdbwd_dispatch_bytes_semaphore_size: 50_000_000,
      billing_exception_max_pause_duration_sec: 3600,
      sample_no_retries: false,
      sample_enable_stuck_detection: true,
      sample_max_concurrent_requests: 2000,
      use_pyqwest_transport: true,
      create_model_via_load_weights: false,
    });
  });

  it('client/config answers the options given, in snake_case', async () => {
    const fake = await start({ clientConfig: { pjwtAuthEnabled: true, billingExceptionMaxPauseDurationSec: 5 } });
    const answer = await post(fake, '/api/v1/client/config', VALID['client/config']);
    expect(answer.json).toMatchObject({ pjwt_auth_enabled: true, billing_exception_max_pause_duration_sec: 5, sample_no_retries: false });
  });

  it('client/dynamic_config answers refresh_interval_sec, or 404 when turned off', async () => {
    const on = await start({ dynamicConfig: { refreshIntervalSec: 30 } });
    expect((await post(on, '/api/v1/client/dynamic_config', VALID['client/dynamic_config'])).json).toEqual({ refresh_interval_sec: 30 });
    const byDefault = await start();
    expect((await post(byDefault, '/api/v1/client/dynamic_config', VALID['client/dynamic_config'])).json).toEqual({ refresh_interval_sec: 300 });
    const off = await start({ dynamicConfig: false });
    expect((await post(off, '/api/v1/client/dynamic_config', VALID['client/dynamic_config'])).status).toBe(404);
  });

  it('create_session issues a new session id each time and records tags, metadata, project id and SDK version', async () => {
    const { clock } = manualClock(1_000);
    const fake = await start({ clock });
    const first = await post(fake, '/api/v1/create_session', VALID.create_session);
    const { project_id: _dropped, ...withoutProject } = VALID.create_session;
    const second = await post(fake, '/api/v1/create_session', withoutProject);
    expect(first.json).toEqual({ type: 'create_session', session_id: 'fake-session-1' });
    expect(second.json.session_id).toBe('fake-session-2');
    expect(fake.sessions).toEqual([
      { sessionId: 'fake-session-1', tags: ['a', 'b'], userMetadata: { run: 7 }, projectId: 'proj-1', sdkVersion: '0.1.0', createdAtMs: 1_000, dropped: false },
      {
        sessionId: 'fake-session-2',
        tags: ['a', 'b'],
        userMetadata: { run: 7 },
        projectId: undefined,
        sdkVersion: '0.1.0',
        createdAtMs: 1_000,
        dropped: false,
      },
    ]);
  });

  it('create_session answers the info, warning and error messages given as options, and only those', async () => {
    const fake = await start({ createSessionMessages: { info: 'hello', error: 'quota low' } });
    const answer = await post(fake, '/api/v1/create_session', VALID.create_session);
    expect(answer.json).toEqual({ type: 'create_session', session_id: 'fake-session-1', info_message: 'hello', error_message: 'quota low' });
  });

  it('session_heartbeat records a beat of a known session and answers its type', async () => {
    const { clock, advance } = manualClock(5_000);
    const fake = await start({ clock });
    const sessionId = await createSession(fake);
    advance(10_000);
    const answer = await post(fake, '/api/v1/session_heartbeat', { session_id: sessionId, type: 'session_heartbeat' });
    expect(answer.json).toEqual({ type: 'session_heartbeat' });
    expect(fake.heartbeats).toEqual([{ sessionId, atMs: 15_000 }]);
  });

  it('session_heartbeat answers 404 for an unknown session and records no beat', async () => {
    const fake = await start();
    const answer = await post(fake, '/api/v1/session_heartbeat', { session_id: 'nobody', type: 'session_heartbeat' });
    expect(answer.status).toBe(404);
    expect(fake.heartbeats).toEqual([]);
  });

  it('session_heartbeat answers 404 once dropSession has forgotten the session', async () => {
    const fake = await start();
    const sessionId = await createSession(fake);
    fake.dropSession(sessionId);
    expect((await post(fake, '/api/v1/session_heartbeat', { session_id: sessionId, type: 'session_heartbeat' })).status).toBe(404);
    expect(fake.sessions[0]?.dropped).toBe(true);
  });

  it('telemetry answers {"status":"accepted"} and records the batch and its events, flat', async () => {
    const fake = await start();
    const answer = await post(fake, '/api/v1/telemetry', VALID.telemetry);
    await post(fake, '/api/v1/telemetry', { ...VALID.telemetry, events: [VALID.telemetry.events[0]] });
    expect(answer.json).toEqual({ status: 'accepted' });
    expect(fake.telemetry.batches).toEqual([VALID.telemetry, { ...VALID.telemetry, events: [VALID.telemetry.events[0]] }]);
    expect(fake.telemetry.events.map((event) => event.event_id)).toEqual(['e0', 'e1', 'e2', 'e3', 'e0']);
  });
});

describe('startFakeTinker: JWT auth', () => {
  it('auth/token answers a JWT-shaped token with iat and exp claims in seconds', async () => {
    const { clock } = manualClock(1_700_000_000_500);
    const fake = await start({ clock, jwtTtlMs: 600_000 });
    const { json } = await post(fake, '/api/v1/auth/token', {});
    const parts = (json.jwt as string).split('.');
    expect(json.jwt).toMatch(/^eyJ/);
    expect(parts).toHaveLength(3);
    const claims = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8'));
    expect(claims).toMatchObject({ iat: 1_700_000_000, exp: 1_700_000_600 });
  });

  it('accepts the JWT as X-API-Key afterwards and records that the request used it', async () => {
    const fake = await start({ clientConfig: { pjwtAuthEnabled: true } });
    const { json } = await post(fake, '/api/v1/auth/token', {});
    const answer = await post(fake, '/api/v1/create_session', VALID.create_session, { key: json.jwt });
    expect(answer.status).toBe(200);
    expect(fake.requests.map((request) => [request.credential, request.jwtIndex])).toEqual([
      ['api_key', undefined],
      ['jwt', 0],
    ]);
    expect(JSON.stringify(fake.requests)).not.toContain(json.jwt);
  });

  it('numbers the JWTs it issues, so a refreshed one is told apart', async () => {
    const fake = await start();
    await post(fake, '/api/v1/auth/token', {});
    const second = (await post(fake, '/api/v1/auth/token', {})).json.jwt;
    await post(fake, '/api/v1/client/config', VALID['client/config'], { key: second });
    expect(fake.requests[2]).toMatchObject({ credential: 'jwt', jwtIndex: 1 });
  });

  it('answers an expired JWT 401 and records it as expired_jwt', async () => {
    const { clock, advance } = manualClock(1_700_000_000_000);
    const fake = await start({ clock, jwtTtlMs: 60_000 });
    const { jwt } = (await post(fake, '/api/v1/auth/token', {})).json;
    advance(59_999);
    expect((await post(fake, '/api/v1/client/config', VALID['client/config'], { key: jwt })).status).toBe(200);
    advance(1);
    expect((await post(fake, '/api/v1/client/config', VALID['client/config'], { key: jwt })).status).toBe(401);
    expect(fake.requests.map((request) => request.credential)).toEqual(['api_key', 'jwt', 'expired_jwt']);
  });

  it('answers a JWT-shaped token it did not issue 401', async () => {
    const fake = await start();
    const forged = 'eyJhbGciOiJIUzI1NiJ9.eyJleHAiOjk5OTk5OTk5OTl9.c2ln';
    expect((await post(fake, '/api/v1/client/config', VALID['client/config'], { key: forged })).status).toBe(401);
    expect(fake.requests[0]?.credential).toBe('invalid');
  });
});

describe('startFakeTinker: waiting and closing', () => {
  it('waitForRequest resolves with the count-th matching request once it is answered, counting earlier ones', async () => {
    const fake = await start();
    const sessionId = await createSession(fake);
    const beat = { session_id: sessionId, type: 'session_heartbeat' };
    await post(fake, '/api/v1/session_heartbeat', beat);
    const second = fake.waitForRequest('api/v1/session_heartbeat', { count: 2 });
    await post(fake, '/api/v1/session_heartbeat', beat);
    expect(await second).toMatchObject({ index: 2, status: 200, path: '/api/v1/session_heartbeat' });
    expect(await fake.waitForRequest((request) => request.path.endsWith('create_session'))).toMatchObject({ index: 0 });
  });

  it('waitForRequest rejects after its timeout', async () => {
    const fake = await start();
    await expect(fake.waitForRequest('/api/v1/telemetry', { timeoutMs: 20 })).rejects.toThrow(/No request matching \/api\/v1\/telemetry within 20 ms/);
  });

  it('waitForRequest rejects when the fake closes first', async () => {
    const fake = await start();
    const waiting = fake.waitForRequest('/api/v1/telemetry');
    await fake.close();
    await expect(waiting).rejects.toThrow(/closed/);
  });

  it('close() ends a hung request and resolves, and a second close() is the same promise', async () => {
    const fake = await startFakeTinker();
    fake.inject({ match: '/api/v1/session_heartbeat', response: { hang: true } });
    const outcome = post(fake, '/api/v1/session_heartbeat', VALID.session_heartbeat).then(
      () => 'answered',
      () => 'connection closed',
    );
    await fake.waitForRequest('/api/v1/session_heartbeat');
    expect(fake.requests[0]?.outcome).toBe('hung');
    const closing = fake.close();
    expect(fake.close()).toBe(closing);
    await closing;
    expect(await outcome).toBe('connection closed');
  });

  it('close() ends a keep-alive connection and a request waiting on a delay, and clears the delay timer', async () => {
    const { clock, pending } = manualClock();
    const fake = await startFakeTinker({ clock });
    fake.inject({ match: '/api/v1/healthz', response: { status: 200, delayMs: 1_000 } });
    const outcome = new Promise<string>((resolve) => {
      const req = httpRequest(`${fake.url}/api/v1/healthz`, { headers: { 'x-api-key': fake.apiKey }, agent: false }, () => resolve('answered'));
      req.on('error', () => resolve('connection closed'));
      req.end();
    });
    await expect.poll(() => pending()).toBe(1);
    await fake.close();
    expect(pending()).toBe(0);
    expect(await outcome).toBe('connection closed');
    expect(fake.requests[0]?.outcome).toBe('pending');
  });

  it('[Symbol.asyncDispose] closes the fake', async () => {
    let url = '';
    {
      await using fake = await startFakeTinker();
      url = fake.url;
    }
    await expect(fetch(`${url}/api/v1/healthz`)).rejects.toThrow();
  });
});

describe('startFakeTinker: errors in the fake', () => {
  it('answers 500 and records the error when a fault predicate throws, and goes on serving', async () => {
    const fake = await start();
    fake.inject({
      match: () => {
        throw new Error('predicate bug');
      },
      response: { status: 503 },
    });
    const answer = await post(fake, '/api/v1/client/config', VALID['client/config']);
    expect(answer.status).toBe(500);
    expect(answer.json.detail).toContain('predicate bug');
    expect(fake.errors).toHaveLength(1);
    fake.clearFaults();
    expect((await post(fake, '/api/v1/client/config', VALID['client/config'])).status).toBe(200);
  });

  it('answers 500 and records the error when a scripted reply cannot be written (a header Node refuses)', async () => {
    const fake = await start();
    fake.inject({ match: '/api/v1/healthz', response: { status: 503, headers: { 'x-bad': 'line\nbreak' } } });
    const answer = await get(fake, '/api/v1/healthz');
    expect(answer.status).toBe(500);
    expect(answer.json.detail).toMatch(/fake-tinker internal error: Invalid character in header content/);
    expect(fake.requests[0]).toMatchObject({ status: 500, outcome: 'answered', faulted: true });
    expect(fake.errors).toHaveLength(1);
  });

  it('answers a body over maxBodyBytes 413', async () => {
    const fake = await start({ maxBodyBytes: 10 });
    const answer = await post(fake, '/api/v1/client/config', VALID['client/config']);
    expect(answer.status).toBe(413);
    expect(fake.requests[0]).toMatchObject({ status: 413, bodyBytes: 23, body: undefined });
  });

  it('rejects a bad option with the one message template', async () => {
    await expect(startFakeTinker({ port: -1 })).rejects.toThrow('Expected `port` to be an integer from 0 to 65535, got `-1` (number)');
    await expect(startFakeTinker({ jwtTtl: 5 } as never)).rejects.toThrow(/Unknown option `jwtTtl` for startFakeTinker\(\)\. Did you mean `jwtTtlMs`\?/);
    await expect(startFakeTinker({ clientConfig: { pjwtAuthEnabled: 'yes' } } as never)).rejects.toThrow(
      'Expected `clientConfig.pjwtAuthEnabled` to be a boolean, got `"yes"` (string)',
    );
    await expect(startFakeTinker({ apiKey: 7 } as never)).rejects.toThrow('Expected `apiKey` to be a string, got `[redacted]` (number)');
  });

  it('rejects when the port is taken', async () => {
    const fake = await start();
    await expect(startFakeTinker({ port: Number(new URL(fake.url).port) })).rejects.toThrow(/EADDRINUSE/);
  });
});
