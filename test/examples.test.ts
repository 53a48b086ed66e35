/**
 * Smoke tests of `examples/`: each example runs as its own process, the way
 * a reader would run it, against a loopback sink that this file starts (or,
 * for `session.ts`, the fake Tinker API it starts itself), and must exit 0
 * having delivered exactly the events it claims to send.
 */
import { type IncomingMessage, type Server, createServer, get } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { WireBody, WireEvent } from '../src/core/wire.js';
import { type Running, killAll, runScript } from './child.js';

const API_KEY = 'examples-test-key';
/** Generous for a cold tsx start on a busy machine, yet well inside the test timeout. */
const CHILD_TIMEOUT_MS = 15_000;

interface Received {
  method: string | undefined;
  path: string | undefined;
  apiKey: string | string[] | undefined;
  body: WireBody;
}

let server: Server | undefined;
let received: Received[] = [];
let baseUrl = '';

beforeEach(async () => {
  received = [];
  server = createServer((request: IncomingMessage, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      // Recorded before the answer, so once a child has seen its batches accepted, they are all here.
      received.push({
        method: request.method,
        path: request.url,
        apiKey: request.headers['x-api-key'],
        body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as WireBody,
      });
      response.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"accepted"}');
    });
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterEach(async () => {
  // A child left over by a failed test must not outlive the file.
  killAll();
  await new Promise<void>((resolve) => {
    server?.closeAllConnections();
    server?.close(() => resolve());
  });
  server = undefined;
});

function runExample(name: string): Running {
  const env: NodeJS.ProcessEnv = { ...process.env, TINKER_BASE_URL: baseUrl, TINKER_API_KEY: API_KEY };
  // The examples honour these, so a developer's shell must not switch telemetry off or pin a port here.
  delete env.TINKER_TELEMETRY;
  delete env.PORT;
  return runScript(`examples/${name}.ts`, { env, timeoutMs: CHILD_TIMEOUT_MS });
}

/** Exit 0, with the output attached to the failure message otherwise. */
async function expectCleanExit(run: Running, name: string): Promise<void> {
  const exit = await run.exited;
  expect(exit, `examples/${name}.ts\n--- stdout ---\n${run.stdout()}\n--- stderr ---\n${run.stderr()}`).toEqual({ code: 0, signal: null });
}

/**
 * The events the sink received, by session id, in `event_session_index`
 * order, after checking what holds for every session: all POSTs went to the
 * telemetry endpoint with the key from TINKER_API_KEY, indices run 0..n−1,
 * ids are unique, and there is exactly one SESSION_START, first, and exactly
 * one SESSION_END, last.
 */
function sessions(): Map<string, WireEvent[]> {
  const bySession = new Map<string, WireEvent[]>();
  for (const { method, path, apiKey, body } of received) {
    expect({ method, path, apiKey }).toEqual({ method: 'POST', path: '/api/v1/telemetry', apiKey: API_KEY });
    bySession.set(body.session_id, [...(bySession.get(body.session_id) ?? []), ...body.events]);
  }
  for (const [id, events] of bySession) {
    events.sort((a, b) => a.event_session_index - b.event_session_index);
    expect(
      events.map((e) => e.event_session_index),
      id,
    ).toEqual(events.map((_, i) => i));
    expect(new Set(events.map((e) => e.event_id)).size, id).toBe(events.length);
    expect(events.filter((e) => e.event === 'SESSION_START').length, id).toBe(1);
    expect(events.filter((e) => e.event === 'SESSION_END').length, id).toBe(1);
    expect(events[0]!.event, id).toBe('SESSION_START');
    expect(events.at(-1)!.event, id).toBe('SESSION_END');
  }
  return bySession;
}

/** One line per event: its type, its name or error type, and its severity. */
function summary(events: readonly WireEvent[]): string[] {
  return events.map((e) => {
    if (e.event === 'GENERIC_EVENT') return `${e.event} ${e.event_name} ${e.severity}`;
    if (e.event === 'UNHANDLED_EXCEPTION') return `${e.event} ${e.error_type} ${e.severity}`;
    return e.event;
  });
}

function onlySession(prefix: string): WireEvent[] {
  const all = sessions();
  expect([...all.keys()]).toEqual([expect.stringMatching(new RegExp(`^${prefix}-\\d+$`))]);
  return [...all.values()][0]!;
}

function httpGet(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    // No keep-alive agent, so the server's close() has no idle socket of ours to wait for.
    get(url, { agent: false }, (response) => {
      response.resume();
      response.once('end', () => resolve(response.statusCode ?? 0));
    }).once('error', reject);
  });
}

describe('examples', () => {
  it('basic.ts logs four events with their severities, flushes, stops and exits 0', async () => {
    const run = runExample('basic');
    await expectCleanExit(run, 'basic');

    const events = onlySession('basic-example');
    expect(summary(events)).toEqual([
      'SESSION_START',
      'GENERIC_EVENT train.step INFO',
      'GENERIC_EVENT train.step DEBUG',
      'GENERIC_EVENT checkpoint.slow WARNING',
      'GENERIC_EVENT eval.failed ERROR',
      'SESSION_END',
    ]);
    expect(events[1]).toMatchObject({ event_data: { step: 1, loss: 0.37 } });
    expect(run.stdout()).toContain('flush({ sync: true }) → true');
    expect(run.stdout()).toContain('stop() → true');
    expect(run.stdout()).toContain('"deliveredCounter":6');
  });

  it('capture-and-fatal.ts reports each captured failure, and the fatal one is delivered before logFatalException resolves', async () => {
    const run = runExample('capture-and-fatal');
    await expectCleanExit(run, 'capture-and-fatal');

    const events = onlySession('capture-example');
    expect(summary(events)).toEqual([
      'SESSION_START',
      'UNHANDLED_EXCEPTION RangeError ERROR',
      'UNHANDLED_EXCEPTION TypeError ERROR',
      'UNHANDLED_EXCEPTION SyntaxError ERROR',
      'GENERIC_EVENT user_error WARNING',
      'UNHANDLED_EXCEPTION EvaluationError ERROR',
      'UNHANDLED_EXCEPTION Error CRITICAL',
      'SESSION_END',
    ]);
    expect(events[4]).toMatchObject({ event_data: { status_code: 404, message: 'model not found' } });
    expect(events[6]).toMatchObject({ error_message: 'CUDA out of memory', traceback: expect.stringContaining('allocation of 2 GiB failed') });
    expect(run.stdout()).not.toContain('FAIL');
    // Counted by the example when logFatalException resolved: every event, SESSION_END included, was already delivered.
    expect(run.stdout()).toContain(`logFatalException() → true`);
    expect(run.stdout()).toContain(`delivered when it resolved (${events.length} of ${events.length})`);
  });

  it('http-server.ts reports one event per request and, on SIGTERM, drains and exits 0', async () => {
    const run = runExample('http-server');
    const [, port] = await run.waitForOutput(/listening on http:\/\/127\.0\.0\.1:(\d+)/);
    const url = `http://127.0.0.1:${port}`;

    expect(await httpGet(`${url}/`)).toBe(200);
    expect(await httpGet(`${url}/missing?q=1`)).toBe(404);
    expect(await httpGet(`${url}/health`)).toBe(200);
    // The example prints each request after logging it, so these lines mean the three events are queued.
    await run.waitForOutput(/GET \/health → 200/);
    await run.waitForOutput(/GET \/missing → 404/);
    run.child.kill('SIGTERM');
    await expectCleanExit(run, 'http-server');

    const events = onlySession('http-server-example');
    expect(summary(events)).toEqual([
      'SESSION_START',
      'GENERIC_EVENT http.request INFO',
      'GENERIC_EVENT http.request WARNING',
      'GENERIC_EVENT http.request INFO',
      'SESSION_END',
    ]);
    const requests = events.filter((e) => e.event === 'GENERIC_EVENT').map((e) => e.event_data);
    expect(requests).toEqual([
      { method: 'GET', path: '/', status: 200, durationMs: expect.any(Number) },
      { method: 'GET', path: '/missing', status: 404, durationMs: expect.any(Number) },
      { method: 'GET', path: '/health', status: 200, durationMs: expect.any(Number) },
    ]);
    for (const { durationMs } of requests as { durationMs: number }[]) expect(durationMs).toBeGreaterThanOrEqual(0);
    expect(run.stdout()).toContain('SIGTERM: no longer accepting connections');
    expect(run.stdout()).toContain('drained true, accepted 5, delivered 5');
  });

  it('two-sessions.ts keeps two sessions apart: own events, own forwarded channel message, own SESSION_END', async () => {
    const run = runExample('two-sessions');
    await expectCleanExit(run, 'two-sessions');

    const all = sessions();
    expect([...all.keys()].sort()).toEqual([expect.stringMatching(/^two-sessions-evaluation-\d+$/), expect.stringMatching(/^two-sessions-training-\d+$/)]);
    const of = (role: string) => [...all].find(([id]) => id.startsWith(`two-sessions-${role}-`))![1];
    expect(summary(of('training'))).toEqual([
      'SESSION_START',
      'GENERIC_EVENT train.step INFO',
      'GENERIC_EVENT train.step INFO',
      'GENERIC_EVENT train.step INFO',
      'GENERIC_EVENT tinker.http.request.stop INFO',
      'SESSION_END',
    ]);
    expect(of('training')[4]).toMatchObject({ event_data: { metadata: { path: '/api/v1/forward_backward', status: 200 } } });
    expect(summary(of('evaluation'))).toEqual([
      'SESSION_START',
      ...Array.from({ length: 5 }, () => 'GENERIC_EVENT eval.batch INFO'),
      'GENERIC_EVENT eval.done INFO',
      'SESSION_END',
    ]);
    expect(run.stdout()).toContain('training.log() now refused, evaluation.log() still accepted');
  });

  it('session.ts runs a session on its own fake Tinker API: beats, a future paused then done, a failed one, and its telemetry under the server’s id', async () => {
    const run = runExample('session');
    await expectCleanExit(run, 'session');

    // It starts its own fake, whatever TINKER_BASE_URL says, so this file's sink hears nothing.
    expect(received).toEqual([]);
    const out = run.stdout();
    expect(out).toContain('  [info] Welcome to the fake Tinker API\n');
    expect(out).toContain('session fake-session-1 created, state {"active":"ok"}\n');
    expect(out).toContain('  [warn] Tinker CreateModel request fake-request-1 is paused. Reason: Tinker backend is running short on capacity, please wait.\n');
    expect(out).toContain('create_model → {"kind":"json","value":{"model_id":"example-model","type":"create_model"}}\n');
    expect(out).toContain('optim_step → RequestFailedError (TINKER_REQUEST_FAILED), category user: learning rate out of range\n');
    expect(out).toContain('closed, state "closed"\n');
    expect(out).toMatch(/the fake received 1 session, \d+ heartbeats for it, 0 invalid bodies\n/);
    expect(out).toMatch(/telemetry events in \d+ batch(es)?, all for fake-session-1:\n/);
    expect(out).toContain('  queue: (first) → paused_capacity\n  queue: paused_capacity → active\n  future: request_failed, category user\n');
    // One line per event name, in order of first appearance: the session's ends, the HTTP of its requests, the queue and the failure.
    const names = [...out.matchAll(/^ {2}(\S+) +(\d+)$/gm)].map(([, name, count]) => [name, Number(count)] as const);
    expect(names.map(([name]) => name).sort()).toEqual(
      [
        'SESSION_END',
        'SESSION_START',
        'tinker.future.request_failed',
        'tinker.http.request.start',
        'tinker.http.request.stop',
        'tinker.queue.state_change',
      ].sort(),
    );
    expect(Object.fromEntries(names)).toMatchObject({ SESSION_START: 1, SESSION_END: 1, 'tinker.queue.state_change': 2, 'tinker.future.request_failed': 1 });
  });
});
