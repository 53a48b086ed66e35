/**
 * Every request a session sends, as the fake Tinker API received it: the
 * method, the path and each header, for every endpoint (start-up with the
 * JWT, create_session, heartbeats, a submit and its polls, a future polled
 * by id, telemetry). The fake records the headers without `X-API-Key` and
 * tells which credential that header held, so the key itself is never
 * stored. Every test ends with `expectCleanRun`.
 */
import { describe, expect, it } from 'vitest';
import { SDK_VERSION } from '../src/core/version.js';
import type { RecordedRequest } from '../src/testing.js';
import { CLOSE_MS, OPTIM_STEP, PATHS, expectCleanRun, faultWorld, requestsTo, useFaultHarness } from './session-faults-helpers.js';

useFaultHarness();

/** A session that sends to every endpoint: start-up (the JWT when `jwt`), a heartbeat, a submit polled twice, a future polled by id, telemetry. */
async function everyEndpoint(jwt = true) {
  const w = await faultWorld(jwt ? { clientConfig: { pjwtAuthEnabled: true } } : {});
  const session = await w.start({ heartbeatIntervalMs: 2_000 });
  w.fake.scriptNextFuture([{ tryAgain: 'active' }, { result: { metrics: {} } }]);
  await session.submit('api/v1/optim_step', OPTIM_STEP, { requestType: 'OptimStep' });
  w.fake.scriptFuture('by-id', [{ result: {} }]);
  await session.retrieveFuture('by-id', { requestType: 'Sample' });
  await w.fake.waitForRequest(PATHS.heartbeat);
  await session.close(CLOSE_MS);
  expectCleanRun(w, session.sessionId);
  const sent = w.fake.requests;
  const to = (path: string) => requestsTo(w.fake, path);
  // Every endpoint was reached, or a test below would pass on nothing.
  for (const path of Object.values(PATHS)) if (jwt || path !== PATHS.token) expect(to(path).length, path).toBeGreaterThan(0);
  return { w, session, sent, to };
}

const CALL_HEADERS = ['accept', 'accept-encoding', 'connection', 'content-length', 'content-type', 'host', 'user-agent', 'x-idempotency-key'];
const POLL_HEADERS = [...CALL_HEADERS, 'x-tinker-request-iteration', 'x-tinker-request-type'];
const TELEMETRY_HEADERS = ['connection', 'content-length', 'content-type', 'host', 'user-agent', 'x-idempotency-key'];

const names = (request: RecordedRequest) => Object.keys(request.headers).sort();

describe('what a session sends', () => {
  it('POSTs to each endpoint, and each request carries exactly the headers of its endpoint besides X-API-Key', async () => {
    const { sent, to } = await everyEndpoint();
    expect(new Set(sent.map((r) => r.method))).toEqual(new Set(['POST']));
    expect(new Set(sent.map((r) => r.path))).toEqual(new Set(Object.values(PATHS)));
    for (const path of [PATHS.config, PATHS.token, PATHS.create, PATHS.heartbeat, PATHS.submit]) {
      for (const request of to(path)) expect(names(request), path).toEqual(CALL_HEADERS);
    }
    const [firstPoll, ...laterPolls] = to(PATHS.future);
    expect(names(firstPoll!)).toEqual([...POLL_HEADERS, 'x-tinker-create-promise-roundtrip-time'].sort());
    for (const request of laterPolls) expect(names(request)).toEqual(POLL_HEADERS);
    for (const request of to(PATHS.telemetry)) expect(names(request)).toEqual(TELEMETRY_HEADERS);
  });

  it('X-API-Key: the key to client/config and auth/token, the JWT to create_session, session_heartbeat, the submit, retrieve_future and telemetry', async () => {
    const { sent } = await everyEndpoint();
    const credentials = Object.fromEntries(
      [...new Set(sent.map((r) => r.path))].map((path) => [path, [...new Set(sent.filter((r) => r.path === path).map((r) => r.credential))]]),
    );
    expect(credentials).toEqual({
      [PATHS.config]: ['api_key'],
      [PATHS.token]: ['api_key'],
      [PATHS.create]: ['jwt'],
      [PATHS.heartbeat]: ['jwt'],
      [PATHS.submit]: ['jwt'],
      [PATHS.future]: ['jwt'],
      [PATHS.telemetry]: ['jwt'],
    });
  });

  it('X-API-Key: the key on every request when the server does not enable the JWT, and no auth/token request', async () => {
    const { sent, to } = await everyEndpoint(false);
    expect(to(PATHS.token)).toEqual([]);
    expect(new Set(sent.map((r) => r.credential))).toEqual(new Set(['api_key']));
  });

  it('Content-Type: application/json on every request; Accept: application/json on every call but telemetry', async () => {
    const { sent } = await everyEndpoint();
    for (const request of sent) {
      expect(request.headers['content-type'], request.path).toBe('application/json');
      expect(request.headers.accept, request.path).toBe(request.path === PATHS.telemetry ? undefined : 'application/json');
    }
  });

  it('User-Agent: tinker-telemetry/<version> node/<version> on every request', async () => {
    const { sent } = await everyEndpoint();
    for (const request of sent) expect(request.headers['user-agent'], request.path).toBe(`tinker-telemetry/${SDK_VERSION} node/${process.version}`);
  });

  it('X-Idempotency-Key: tinker-telemetry-retry-<uuid> per call (each poll its own), a bare uuid per telemetry batch, never two requests alike', async () => {
    const { sent } = await everyEndpoint();
    const uuid = '[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}';
    for (const request of sent) {
      const pattern = request.path === PATHS.telemetry ? new RegExp(`^${uuid}$`) : new RegExp(`^tinker-telemetry-retry-${uuid}$`);
      expect(request.headers['x-idempotency-key'], request.path).toMatch(pattern);
    }
    // No request here was retried, so no two share a key.
    expect(new Set(sent.map((r) => r.headers['x-idempotency-key'])).size).toBe(sent.length);
  });

  it('X-Tinker-Request-Iteration and X-Tinker-Request-Type on every poll; X-Tinker-Create-Promise-Roundtrip-Time, in seconds, on the first poll after a submit only', async () => {
    const { w, to } = await everyEndpoint();
    const polls = to(PATHS.future).map((r) => [
      (r.body as { request_id: string }).request_id,
      r.headers['x-tinker-request-iteration'],
      r.headers['x-tinker-request-type'],
      r.headers['x-tinker-create-promise-roundtrip-time'] === undefined ? undefined : 'present',
    ]);
    expect(polls).toEqual([
      ['fake-request-1', '0', 'OptimStep', 'present'],
      ['fake-request-1', '1', 'OptimStep', undefined],
      ['by-id', '0', 'Sample', undefined],
    ]);
    expect(w.fake.futures[0]?.polls[0]?.createRoundTrip).toMatch(/^\d+\.\d{3}$/);
    // The round trip is the submit's, from its call to its answer: at least as long as the submit request took to arrive.
    expect(Number(w.fake.futures[0]?.polls[0]?.createRoundTrip)).toBeGreaterThan(0);
  });

  it('Accept-Encoding: gzip, deflate, br on every call but telemetry; Connection: keep-alive, Host and Content-Length (the body’s bytes) on every request', async () => {
    const { w, sent } = await everyEndpoint();
    const host = new URL(w.fake.url).host;
    for (const request of sent) {
      expect(request.headers['accept-encoding'], request.path).toBe(request.path === PATHS.telemetry ? undefined : 'gzip, deflate, br');
      expect(request.headers.connection, request.path).toBe('keep-alive');
      expect(request.headers.host, request.path).toBe(host);
      expect(Number(request.headers['content-length']), request.path).toBe(request.bodyBytes);
      expect(request.bodyBytes, request.path).toBe(Buffer.byteLength(JSON.stringify(request.body)));
    }
  });

  it('session.http sends the credential in use (the JWT) as X-API-Key with got’s own headers, and its requests reach the backend under the session’s id', async () => {
    const w = await faultWorld({ clientConfig: { pjwtAuthEnabled: true } });
    const session = await w.start();
    const answer: unknown = JSON.parse(await session.http.get('api/v1/healthz').text());
    await session.close(CLOSE_MS);

    expect(answer).toEqual({ status: 'ok' });
    const [request] = requestsTo(w.fake, '/api/v1/healthz');
    expect(request).toMatchObject({ method: 'GET', credential: 'jwt', jwtIndex: 0 });
    expect(names(request!)).toEqual(['accept-encoding', 'connection', 'host', 'user-agent']);
    expect(request?.headers['user-agent']).toMatch(/^got /);
    const http = w.fake.telemetry.events.filter((e) => String(e.event_name).startsWith('tinker.http.'));
    expect(http.map((e) => [e.event_name, (e.event_data as { metadata: { method: string; path: string } }).metadata.path])).toEqual([
      ['tinker.http.request.start', '/api/v1/healthz'],
      ['tinker.http.request.stop', '/api/v1/healthz'],
    ]);
    expectCleanRun(w, session.sessionId);
  });
});
