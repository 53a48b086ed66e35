/**
 * The edges of the Tinker protocol layer's calls: `call` driven directly
 * (an abort before or during the credential, a status under 200, the
 * deadline it reports by default, a request that cannot be built), and
 * `TinkerApi`'s argument checks, error texts, path normalisation and
 * billing pause before `start()`, against a real loopback server on the
 * manual clock.
 */
import type { Got } from 'got';
import { describe, expect, it, vi } from 'vitest';
import { SafeLogger } from '../src/host/logger.js';
import { BillingPause } from '../src/tinker/billing.js';
import { type CallContext, call } from '../src/tinker/call.js';
import { Credentials } from '../src/tinker/credentials.js';
import { ApiConnectionError, ApiStatusError, DeadlineExceededError, InvalidResponseError } from '../src/tinker/errors.js';
import { unboundClient } from '../src/tinker/http.js';
import { createSessionBody } from '../src/tinker/messages.js';
import { TinkerApi } from '../src/tinker/api.js';
import { recordingLogger } from './helpers.js';
import { KEY, ManualClock, makeApi, rejectionOf, serve } from './tinker-helpers.js';

const CONFIG = '/api/v1/client/config';
const TOKEN = '/api/v1/auth/token';
const HEARTBEAT = '/api/v1/session_heartbeat';
const SUBMIT = '/api/v1/optim_step';

/** A `CallContext` sending through `client` (default: got against `baseUrl`), on a manual clock, jitter 0; `credential` and `client` are spies. */
function callContext(baseUrl: string, overrides: Partial<CallContext> = {}) {
  const clock = new ManualClock();
  const logged = recordingLogger();
  const log = new SafeLogger(logged.logger, {});
  const got = unboundClient(baseUrl);
  const context: CallContext = {
    client: vi.fn(() => got),
    credential: vi.fn(async () => KEY),
    credentials: new Credentials(KEY),
    clock,
    log,
    random: () => 0,
    billing: new BillingPause(log),
    billingMaxPauseMs: () => 3_600_000,
    ...overrides,
  };
  return { context, clock, logged };
}

/** Whether `promise` settles before `clock` gets a new timer (a backoff or pause the call went to sleep in). */
async function settledOrSlept(clock: ManualClock, promise: Promise<unknown>): Promise<'settled' | 'slept'> {
  const settled = promise.then(
    () => 'settled' as const,
    () => 'settled' as const,
  );
  return Promise.race([settled, clock.nextTimer().then(() => 'slept' as const)]);
}

describe('call, driven directly', () => {
  it('reports as deadlineMs the time from its start to deadlineAtMs when the request gives no deadlineMs', async () => {
    const server = await serve(() => ({ status: 503 }));
    const { context, clock } = callContext(server.baseUrl);
    const error = await rejectionOf(call(context, { path: CONFIG, body: {}, retry: true, deadlineAtMs: clock.now() + 500 }));
    expect(error).toBeInstanceOf(DeadlineExceededError);
    expect(error.deadlineMs).toBe(500);
  });

  it('rejects with the reason of a signal aborted before it starts, without asking for a credential or sending anything', async () => {
    const server = await serve(() => ({ json: {} }));
    const { context } = callContext(server.baseUrl);
    const reason = new Error('stopped by the host');
    const error = await rejectionOf(call(context, { path: CONFIG, body: {}, retry: true, signal: AbortSignal.abort(reason) }));
    expect(error).toBe(reason);
    expect(context.credential).not.toHaveBeenCalled();
    expect(context.client).not.toHaveBeenCalled();
    expect(server.received).toHaveLength(0);
  });

  it('rejects with the reason of a signal aborted while the credential was fetched, without reaching for the client', async () => {
    const server = await serve(() => ({ json: {} }));
    const controller = new AbortController();
    const reason = new Error('stopped during a JWT refresh');
    const { context } = callContext(server.baseUrl, {
      credential: vi.fn(async () => {
        controller.abort(reason);
        return KEY;
      }),
    });
    const error = await rejectionOf(call(context, { path: CONFIG, body: {}, retry: true, signal: controller.signal }));
    expect(error).toBe(reason);
    expect(context.client).not.toHaveBeenCalled();
    expect(server.received).toHaveLength(0);
  });

  it('treats a status under 200 as a failure (ApiStatusError), never as an answer', async () => {
    const pending = Object.assign(Promise.resolve({ statusCode: 199, headers: {}, body: Buffer.from('{}') }), { on: () => pending });
    const fake = { post: () => pending } as unknown as Got;
    const { context } = callContext('http://127.0.0.1:9', { client: () => fake });
    const error = await rejectionOf(call(context, { path: HEARTBEAT, body: {}, retry: false }));
    expect(error).toBeInstanceOf(ApiStatusError);
    expect(error.status).toBe(199);
  });

  it('rejects a request that cannot be built (a newline in the credential) at once, with no backoff, even with retry on', async () => {
    const server = await serve(() => ({ json: {} }));
    const { context, clock } = callContext(server.baseUrl, { credential: async () => 'bad\nvalue' });
    const done = call(context, { path: SUBMIT, body: {}, retry: true });
    expect(await settledOrSlept(clock, done)).toBe('settled');
    expect(await rejectionOf(done)).toBeInstanceOf(ApiConnectionError);
    expect(clock.timers).toHaveLength(0);
  });
});

describe('TinkerApi calls', () => {
  it('treats a 300 as a failure (ApiStatusError): only 200 to 299 are answers', async () => {
    const server = await serve(() => ({ status: 300, json: {} }));
    const { api } = makeApi(server.baseUrl);
    const error = await rejectionOf(api.heartbeat('sess-1', 10_000));
    expect(error).toBeInstanceOf(ApiStatusError);
    expect(error.status).toBe(300);
  });

  it('rejects a heartbeat whose 200 is not JSON with an InvalidResponseError saying it is not JSON', async () => {
    const server = await serve(() => ({ text: 'all good' }));
    const { api } = makeApi(server.baseUrl);
    const error = await rejectionOf(api.heartbeat('sess-1', 10_000));
    expect(error).toBeInstanceOf(InvalidResponseError);
    expect(error.message).toMatch(/is not JSON$/);
  });

  it('rejects a submit whose answer is over the limit at once, with no backoff: it would be over again', async () => {
    const server = await serve(() => ({ text: `"${'x'.repeat(1024 * 1024 + 16)}"` }));
    const { api, clock } = makeApi(server.baseUrl);
    const done = api.submit(SUBMIT, {}, { requestType: 'OptimStep' });
    expect(await settledOrSlept(clock, done)).toBe('settled');
    expect(await rejectionOf(done)).toBeInstanceOf(InvalidResponseError);
    expect(server.to(SUBMIT)).toHaveLength(1);
  });

  it('gives up at once, without sleeping or logging a retry, when the next wait would end exactly at the deadline', async () => {
    const server = await serve(() => ({ status: 503 }));
    const { api, clock, logged } = makeApi(server.baseUrl);
    // The first backoff is 1 s with jitter 0: it would end exactly at the deadline.
    const done = api.start(clock.now() + 1_000);
    await clock.nextTimer(); // The deadline's own timer.
    expect(await settledOrSlept(clock, done)).toBe('settled');
    expect(await rejectionOf(done)).toBeInstanceOf(DeadlineExceededError);
    expect(logged.records.filter((r) => r.level === 'debug')).toHaveLength(0);
  });

  it('logs each retry at debug as "Tinker API call failed; retrying" with the path', async () => {
    const server = await serve((_request, n) => (n === 0 ? { status: 503 } : { json: {} }));
    const { api, clock, logged } = makeApi(server.baseUrl);
    const done = api.start(clock.now() + 300_000);
    await clock.nextTimer(); // The deadline's own timer.
    clock.fire(await clock.nextTimer());
    await done;
    const retries = logged.records.filter((r) => r.level === 'debug');
    expect(retries.map((r) => r.msg)).toEqual(['Tinker API call failed; retrying']);
    expect(retries[0]?.obj).toMatchObject({ path: CONFIG, retry: 1, delayMs: 1_000 });
  });

  it('bounds a billing pause before start() by the default config (1 h), giving up on the 402 after it', async () => {
    const server = await serve(() => ({ status: 402, json: { detail: 'billing' } }));
    const { api, clock } = makeApi(server.baseUrl);
    const done = api.submit(SUBMIT, {}, { requestType: 'OptimStep' });
    // Asked again every 200 s (under the 5 min that would end the incident): the 20th 402 comes 3 800 s after the first.
    let pauses = 0;
    while (pauses < 30 && (await settledOrSlept(clock, done)) === 'slept') {
      pauses++;
      clock.advance(200_000);
    }
    expect(pauses).toBe(19);
    const error = await rejectionOf(done);
    expect(error).toBeInstanceOf(ApiStatusError);
    expect(error.status).toBe(402);
  });

  it('names the path in errors without the extra leading slashes a submit path was given', async () => {
    const server = await serve(() => ({ json: {} }));
    const { api } = makeApi(server.baseUrl);
    const error = await rejectionOf(api.submit(`//${SUBMIT.slice(1)}`, {}, { requestType: 'OptimStep' }));
    expect(error).toBeInstanceOf(InvalidResponseError);
    expect(error.path).toBe(SUBMIT);
    expect(error.message).toContain(`POST ${SUBMIT} answered`);
  });
});

describe('TinkerApi error texts', () => {
  it('names TinkerApi when it has no key', () => {
    expect(
      () => new TinkerApi({ config: { apiKey: '', baseUrl: 'http://127.0.0.1:9' }, sdkVersion: '0.1.0', log: new SafeLogger(recordingLogger().logger, {}) }),
    ).toThrow(/No Tinker API key for TinkerApi:/);
  });

  it('says client/config must answer a JSON object, with its path and status', async () => {
    const server = await serve(() => ({ json: [1, 2] }));
    const { api, clock } = makeApi(server.baseUrl);
    const error = await rejectionOf(api.start(clock.now() + 300_000));
    expect(error).toBeInstanceOf(InvalidResponseError);
    expect(error.path).toBe(CONFIG);
    expect(error.status).toBe(200);
    expect(error.message).toBe(`Tinker API POST ${CONFIG} answered HTTP 200 with a body that is not a JSON object`);
  });

  it('says what create_session, a submit and auth/token must answer', async () => {
    const server = await serve((request) => (request.path === CONFIG ? { json: { pjwt_auth_enabled: true } } : { json: { jwt: 'not-a-jwt' } }));
    const { api, clock } = makeApi(server.baseUrl);
    const created = await rejectionOf(api.createSession({ tags: [], userMetadata: {} }, clock.now() + 300_000));
    expect(created.message).toMatch(/is not an object with a session_id of 1–256 printable ASCII characters$/);
    const submitted = await rejectionOf(api.submit(SUBMIT, {}, { requestType: 'OptimStep' }));
    expect(submitted.message).toMatch(/is not an object with a request_id of 1–256 printable ASCII characters$/);
    const started = await rejectionOf(api.start(clock.now() + 300_000));
    expect(started.message).toMatch(new RegExp(`POST ${TOKEN} .* is not an object with a jwt of three base64url parts, at most 16 KiB$`));
  });

  it('logs create_session’s messages with the session id', async () => {
    const server = await serve(() => ({ json: { session_id: 's-1', info_message: 'welcome' } }));
    const { api, clock, logged } = makeApi(server.baseUrl);
    await api.createSession({ tags: [], userMetadata: {} }, clock.now() + 300_000);
    expect(logged.records.find((r) => r.msg === 'welcome')?.obj).toMatchObject({ sessionId: 's-1' });
  });
});

describe('TinkerApi argument checks', () => {
  const api = () => makeApi('http://127.0.0.1:9').api;

  it('refuses to bind a session id that is not a string, or is empty, naming sessionId and what it must be', () => {
    expect(() => api().bind(42 as never)).toThrow(TypeError);
    expect(() => api().bind('')).toThrow(/sessionId.*a non-empty string/);
  });

  it('refuses a request id that is not a non-empty string, naming requestId and what it must be', async () => {
    await expect(api().retrieveFuture(42 as never, { requestType: 'OptimStep' })).rejects.toThrow(TypeError);
    await expect(api().retrieveFuture('', { requestType: 'OptimStep' })).rejects.toThrow(/requestId.*a non-empty string/);
  });

  it('refuses a request type that is not a non-empty string, or no options at all, naming requestType and what it must be', async () => {
    await expect(api().retrieveFuture('r-1', { requestType: 42 } as never)).rejects.toMatchObject({
      name: 'TypeError',
      message: expect.stringMatching(/requestType.*a non-empty string/),
    });
    await expect(api().retrieveFuture('r-1', undefined as never)).rejects.toMatchObject({
      name: 'TypeError',
      message: expect.stringMatching(/requestType.*a non-empty string/),
    });
  });

  it('names timeoutMs when it is out of range', async () => {
    await expect(api().retrieveFuture('r-1', { requestType: 'OptimStep', timeoutMs: 0 })).rejects.toThrow(/timeoutMs/);
  });
});

describe('createSessionBody', () => {
  it('has no project_id key at all (not even an undefined one) when none is given', () => {
    expect(Object.keys(createSessionBody({ tags: [], userMetadata: {} }, '0.1.0'))).not.toContain('project_id');
  });
});
