/**
 * `createSession` end to end: the real `TinkerApi` over got against
 * `startFakeTinker` on 127.0.0.1 (port 0, closed after each test), with the
 * reporter sending to the same fake. It checks the wiring the unit tests
 * cannot: every body passes the fake's strict validation, the server-issued
 * id is the one heartbeats and telemetry carry, a future's queue telemetry
 * reaches the backend, and close() ends it all.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createConfig } from '../src/config.js';
import { SDK_VERSION } from '../src/core/version.js';
import { openSession } from '../src/session.js';
import { type FakeTinker, startFakeTinker } from '../src/testing.js';
import { FutureAbortedError } from '../src/tinker/errors.js';
import { isolateTinkerEnv, recordingLogger } from './helpers.js';
import { fakeHooks } from './session-helpers.js';

isolateTinkerEnv();
let fake: FakeTinker | undefined;
afterEach(async () => {
  await fake?.close();
  fake = undefined;
});

// Every field of the Python SDK's model, its defaults included, as the SDK sends them.
const OPTIM_STEP = {
  adam_params: { learning_rate: 0.0001, beta1: 0.9, beta2: 0.95, eps: 1e-12, weight_decay: 0, grad_clip_norm: 0 },
  model_id: 'fake-model',
  type: 'optim_step',
};

async function startSession(options: { telemetry?: Record<string, unknown> } = {}) {
  fake = await startFakeTinker();
  const log = recordingLogger();
  const session = await openSession(
    {
      config: createConfig({ apiKey: fake.apiKey, baseUrl: fake.url }),
      tags: ['integration'],
      userMetadata: { suite: 'session' },
      heartbeatIntervalMs: 20,
      heartbeatTimeoutMs: 2000,
      heartbeatWarnAfterMs: 60_000,
      logger: log.logger,
      telemetry: { enabled: true, flushIntervalMs: 50, ...options.telemetry },
    },
    // The real TinkerApi; only the process is faked, so no listener lands on this test process.
    { hooks: fakeHooks().hooks },
  );
  return { fake, session, log };
}

describe('a session against the fake Tinker API', () => {
  it('starts, beats, polls a future, reports under the server’s id, and closes, every request valid', async () => {
    const { fake, session } = await startSession();
    expect(fake.sessions.map((s) => [s.sessionId, s.tags, s.userMetadata, s.projectId, s.sdkVersion])).toEqual([
      [session.sessionId, ['integration'], { suite: 'session' }, undefined, SDK_VERSION],
    ]);
    expect(session.state).toEqual({ active: 'ok' });

    await fake.waitForRequest('/api/v1/session_heartbeat', { count: 2 });
    expect(fake.heartbeats.every((h) => h.sessionId === session.sessionId)).toBe(true);

    fake.scriptNextFuture([{ tryAgain: 'paused_capacity', reason: 'busy' }, { tryAgain: 'active' }, { result: { metrics: { loss: 0.25 } } }]);
    await expect(session.submit('api/v1/optim_step', OPTIM_STEP, { requestType: 'OptimStep' })).resolves.toEqual({
      kind: 'json',
      value: { metrics: { loss: 0.25 } },
    });

    await session.close(5000);
    expect(session.state).toBe('closed');
    expect(fake.violations).toEqual([]);
    const { batches, events } = fake.telemetry;
    expect(batches.length).toBeGreaterThan(0);
    expect(batches.every((b) => b.session_id === session.sessionId)).toBe(true);
    expect(events[0]?.event).toBe('SESSION_START');
    expect(events.at(-1)?.event).toBe('SESSION_END');
    expect(events.filter((e) => e.event === 'SESSION_END')).toHaveLength(1);
    const queue = events.filter((e) => e.event_name === 'tinker.queue.state_change');
    expect(queue.map((e) => (e.event_data as { metadata: { to: string } }).metadata.to)).toEqual(['paused_capacity', 'active']);
    expect(events.some((e) => e.event_name === 'tinker.http.request.stop')).toBe(true);

    const beats = fake.heartbeats.length;
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(fake.heartbeats.length, 'no heartbeat after close').toBe(beats);
  });

  it('aborts a future still polling when the session closes, with the session’s SessionClosedError as its cause', async () => {
    const { session } = await startSession();
    fake!.scriptNextFuture([{ hang: true }]);
    const polled = session.submit('api/v1/optim_step', OPTIM_STEP, { requestType: 'OptimStep' }).catch((error: unknown) => error);
    await fake!.waitForRequest('/api/v1/retrieve_future');
    await session.close(2000);
    const error = await polled;
    expect(error).toBeInstanceOf(FutureAbortedError);
    expect((error as Error).cause).toMatchObject({ name: 'SessionClosedError', sessionId: session.sessionId });
  });

  it('rejects with the API’s typed error when create_session is refused, naming the status and never the key', async () => {
    fake = await startFakeTinker();
    fake.inject({ match: '/api/v1/create_session', response: { status: 403 }, times: Infinity });
    const starting = openSession(
      { config: createConfig({ apiKey: fake.apiKey, baseUrl: fake.url }), logger: recordingLogger().logger },
      { hooks: fakeHooks().hooks },
    );
    const error = (await starting.catch((e: unknown) => e)) as Error & { code?: string; status?: number };
    expect(error).toMatchObject({ name: 'ApiStatusError', code: 'TINKER_API_STATUS', status: 403 });
    expect(error.message).toContain('403');
    expect(error.message).not.toContain(fake.apiKey);
    expect(fake.telemetry.batches).toEqual([]);
  });
});
