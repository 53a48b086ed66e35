/**
 * `createSession`'s start-up, against a double of the Tinker API: the calls
 * in order within the deadline, what create_session is sent, the reporter
 * started under the server's id, the server's messages logged, and the ways
 * start-up ends without a session (an error, an abort, no key).
 */
import { createInspector, type StatelyInspectionEvent } from '@statelyai/inspect';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { InspectionEvent } from 'xstate';
import { createConfig } from '../src/config.js';
import { CHANNELS, FORWARDABLE_CHANNELS, publishFuture, publishQueueStateChange } from '../src/host/channels.js';
import { openSession } from '../src/session.js';
import { DEFAULT_SESSION_OPTIONS } from '../src/session-options.js';
import { TEST_CONFIG, eventsOf, isolateTinkerEnv, recordingLogger, settle } from './helpers.js';
import { fakeHooks, fakeTinkerApi, startTestSession } from './session-helpers.js';

const NOW = new Date('2026-03-04T05:06:07.000Z').getTime();

isolateTinkerEnv();
beforeEach(() => {
  vi.useFakeTimers({ now: NOW });
  delete process.env.TINKER_TAGS;
  delete process.env.TINKER_PROJECT_ID;
});
afterEach(() => {
  delete process.env.TINKER_TAGS;
  delete process.env.TINKER_PROJECT_ID;
  vi.useRealTimers();
});

describe('start-up', () => {
  it('asks for the client config, then creates the session, both within createTimeoutMs of the call, and binds the server-issued id', async () => {
    const { session, fake } = await startTestSession({ createTimeoutMs: 45_000 });
    expect(fake.calls.start.map((c) => c.args)).toEqual([[NOW + 45_000]]);
    expect(fake.calls.createSession.map((c) => c.args)).toEqual([[{ tags: [], userMetadata: {} }, NOW + 45_000]]);
    expect(fake.bound).toEqual(['sess-from-server']);
    expect(session.sessionId).toBe('sess-from-server');
    expect(session.http).toBe(fake.http);
    await session.close(0);
  });

  it('gives the API this package’s version, the config, and a clock', async () => {
    const { session, fake } = await startTestSession();
    const options = fake.options()!;
    expect(options.sdkVersion).toBe('0.1.0');
    expect(options.config).toBe(TEST_CONFIG);
    expect(options.clock?.now()).toBe(NOW);
    await session.close(0);
  });

  it('has the default start-up deadline of 300 s', async () => {
    expect(DEFAULT_SESSION_OPTIONS.createTimeoutMs).toBe(300_000);
    const { session, fake } = await startTestSession();
    expect(fake.calls.start[0]!.args).toEqual([NOW + 300_000]);
    await session.close(0);
  });

  it('sends the tags, metadata and project id it is given', async () => {
    const { session, fake } = await startTestSession({ tags: ['a', 'b b'], userMetadata: { run: 7, nested: { ok: true } }, projectId: 'proj-1' });
    expect(fake.calls.createSession[0]!.args[0]).toEqual({ tags: ['a', 'b b'], userMetadata: { run: 7, nested: { ok: true } }, projectId: 'proj-1' });
    await session.close(0);
  });

  it('takes the tags from TINKER_TAGS and the project from TINKER_PROJECT_ID when the options leave them out', async () => {
    process.env.TINKER_TAGS = ' exp-1, ,gpu ,exp-1,';
    process.env.TINKER_PROJECT_ID = 'proj-env';
    const { session, fake } = await startTestSession();
    expect(fake.calls.createSession[0]!.args[0]).toEqual({ tags: ['exp-1', 'gpu'], userMetadata: {}, projectId: 'proj-env' });
    await session.close(0);
  });

  it('prefers the options to the environment, and leaves an empty TINKER_PROJECT_ID out of the request', async () => {
    process.env.TINKER_TAGS = 'from-env';
    process.env.TINKER_PROJECT_ID = '  ';
    const { session, fake } = await startTestSession({ tags: [] });
    const request = fake.calls.createSession[0]!.args[0] as object;
    expect(request).toEqual({ tags: [], userMetadata: {} });
    expect(Object.keys(request)).not.toContain('projectId');
    await session.close(0);
  });

  it('logs the server’s info, warning and error messages once each, at their levels, through the session’s logger', async () => {
    const fake = fakeTinkerApi({ created: { sessionId: 's-msg', infoMessage: 'welcome', warningMessage: 'quota low', errorMessage: 'model retiring' } });
    const { session, log } = await startTestSession({}, {}, fake);
    const server = log.records.filter((r) => ['welcome', 'quota low', 'model retiring'].includes(r.msg ?? ''));
    expect(server.map((r) => [r.level, r.msg, (r.obj as { component?: string }).component])).toEqual([
      ['info', 'welcome', 'tinker-telemetry'],
      ['warn', 'quota low', 'tinker-telemetry'],
      ['error', 'model retiring', 'tinker-telemetry'],
    ]);
    await session.close(0);
  });

  it('starts the reporter under the server’s id, with SESSION_START, once the session exists', async () => {
    const { session, wire } = await startTestSession();
    expect(session.reporter?.sessionId).toBe('sess-from-server');
    await session.close(1000);
    expect(eventsOf(wire.sent).map((e) => e.event)).toEqual(['SESSION_START', 'SESSION_END']);
    expect(wire.sent.every((b) => b.session_id === 'sess-from-server')).toBe(true);
  });

  it('forwards the HTTP, queue and future channels of its session by default, and no other session’s', async () => {
    const { session, wire } = await startTestSession({ telemetry: { attachEvents: true } });
    expect(FORWARDABLE_CHANNELS).toEqual(expect.arrayContaining([CHANNELS.futureTimeout, CHANNELS.queueStateChange, CHANNELS.httpRequestStart]));
    publishFuture(CHANNELS.futureTimeout, { sessionId: 'sess-from-server', requestId: 'r1', requestType: 'OptimStep', elapsedMs: 5 });
    publishQueueStateChange({ sessionId: 'sess-from-server', requestId: 'r1', queueDepth: 1, from: 'active', to: 'paused_capacity' });
    publishFuture(CHANNELS.futureTimeout, { sessionId: 'another-session', requestId: 'r2', requestType: 'OptimStep', elapsedMs: 5 });
    await session.close(1000);
    const names = eventsOf(wire.sent)
      .filter((e) => e.event === 'GENERIC_EVENT')
      .map((e) => [e.event_name, (e.event_data as { metadata: { requestId: string } }).metadata.requestId]);
    expect(names).toEqual([
      ['tinker.future.timeout', 'r1'],
      ['tinker.queue.state_change', 'r1'],
    ]);
  });

  it('keeps the channels the telemetry options name instead', async () => {
    const { session, wire } = await startTestSession({ telemetry: { attachEvents: true, events: [CHANNELS.httpRequestStart] } });
    publishFuture(CHANNELS.futureTimeout, { sessionId: 'sess-from-server', requestId: 'r1', requestType: 'OptimStep', elapsedMs: 5 });
    await session.close(1000);
    expect(eventsOf(wire.sent).filter((e) => e.event === 'GENERIC_EVENT')).toEqual([]);
  });

  it('is { active: "ok" } once started: the machine’s state value, not its snapshot', async () => {
    const { session } = await startTestSession();
    expect(session.state).toEqual({ active: 'ok' });
    await session.close(0);
    expect(session.state).toBe('closed');
  });

  it('hands the reporter the session’s logger unless the telemetry options name one', async () => {
    const own = recordingLogger();
    const { session, log } = await startTestSession({ telemetry: { logger: own.logger } });
    const other = await startTestSession();
    session.reporter!.log('refused', {}, 'loud' as 'info');
    other.session.reporter!.log('refused', {}, 'loud' as 'info');
    const refusals = (records: { msg?: string | undefined }[]) => records.filter((r) => r.msg?.startsWith('Telemetry event refused')).length;
    expect([refusals(own.records), refusals(log.records), refusals(other.log.records)]).toEqual([1, 0, 1]);
    await other.session.close(0);
    await session.close(0);
  });
});

describe('start-up that ends without a session', () => {
  it('rejects with the API’s error, starts no reporter, closes the API and leaves no timer', async () => {
    const fake = fakeTinkerApi({ created: false });
    const hooks = fakeHooks();
    const starting = openSession({ config: TEST_CONFIG, logger: recordingLogger().logger }, { createApi: fake.factory, hooks: hooks.hooks });
    await settle();
    const failure = Object.assign(new Error('HTTP 401 on api/v1/create_session'), { code: 'TINKER_API_STATUS', status: 401 });
    fake.calls.createSession[0]!.reject(failure);
    await expect(starting).rejects.toBe(failure);
    expect(fake.closed()).toBe(1);
    expect(vi.getTimerCount()).toBe(0);
    expect(hooks.host.eventNames()).toEqual([]);
  });

  it('rejects with the signal’s reason when the signal aborts start-up, and aborts the request in flight', async () => {
    const fake = fakeTinkerApi({ start: false });
    const controller = new AbortController();
    const starting = openSession({ config: TEST_CONFIG, signal: controller.signal, logger: recordingLogger().logger }, { createApi: fake.factory });
    await settle();
    expect(fake.calls.start).toHaveLength(1);
    const reason = new Error('user gave up');
    controller.abort(reason);
    await expect(starting).rejects.toBe(reason);
    expect(fake.calls.start[0]!.signal?.aborted).toBe(true);
    expect(fake.calls.createSession).toEqual([]);
    expect(fake.closed()).toBe(1);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('rejects at once with an already-aborted signal, sending nothing', async () => {
    const fake = fakeTinkerApi();
    const reason = new Error('never mind');
    await expect(openSession({ config: TEST_CONFIG, signal: AbortSignal.abort(reason) }, { createApi: fake.factory })).rejects.toBe(reason);
    expect(fake.calls.start).toEqual([]);
  });

  it('ignores the signal once the session exists', async () => {
    const controller = new AbortController();
    const { session } = await startTestSession({ signal: controller.signal });
    controller.abort();
    expect(session.state).toEqual({ active: 'ok' });
    await session.close(0);
  });

  it.each([
    ['on', true],
    ['off', false],
  ])('rejects without an API key, with telemetry %s, before any request', async (_label, enabled) => {
    const fake = fakeTinkerApi();
    const config = createConfig({ baseUrl: 'http://127.0.0.1:9' });
    await expect(openSession({ config, telemetry: { enabled } }, { createApi: fake.factory })).rejects.toMatchObject({
      code: 'ERR_TINKER_TELEMETRY_MISSING_API_KEY',
      message: expect.stringMatching(/^No Tinker API key for createSession\(\)/),
    });
    expect(fake.calls.start).toEqual([]);
  });
});

describe('the inspect option', () => {
  /** The root actor's state values, consecutive repeats removed. */
  const values = (events: InspectionEvent[], rootId?: string) =>
    events
      .filter((e) => e.type === '@xstate.snapshot' && e.actorRef.sessionId === e.rootId && (rootId === undefined || e.rootId === rootId))
      .map((e) => (e as { snapshot: { value?: unknown } }).snapshot.value)
      .filter((v, i, all) => i === 0 || JSON.stringify(v) !== JSON.stringify(all[i - 1]));

  it('gives the observer of telemetry.inspect every transition of the session machine, and the reporter’s', async () => {
    const seen: InspectionEvent[] = [];
    const { session } = await startTestSession({ telemetry: { inspect: (event) => seen.push(event) } });
    await session.close(1000);
    const sessionRoot = seen.find((e) => e.type === '@xstate.actor' && (e.actorRef as { logic?: { id?: string } }).logic?.id === 'session')?.rootId;
    expect(sessionRoot).toBeDefined();
    expect(values(seen, sessionRoot)).toEqual(['creating', { active: 'ok' }, 'closing', 'closed']);
    expect(values(seen).some((v) => v === 'ended')).toBe(true);
  });

  it('registers the session machine with the Stately inspector', async () => {
    const received: StatelyInspectionEvent[] = [];
    const inspector = createInspector({ send: (event) => received.push(event) });
    const { session } = await startTestSession({ telemetry: { inspect: inspector.inspect } });
    await session.close(1000);
    await vi.runOnlyPendingTimersAsync();
    const actor = received.find((e) => e.type === '@xstate.actor' && e.name === 'session');
    expect(actor, 'the session machine is registered').toBeDefined();
    const definition = JSON.parse((actor as { definition: string }).definition) as { id: string; states: Record<string, unknown> };
    expect(definition.id).toBe('session');
    expect(Object.keys(definition.states)).toEqual(['active', 'closed', 'closing', 'creating', 'failed']);
    expect(received.some((e) => e.type === '@xstate.actor' && e.name === 'reporter')).toBe(true);
  });
});
