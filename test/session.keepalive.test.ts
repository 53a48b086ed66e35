/**
 * A script whose only pending work is awaiting its session must not exit in
 * the middle of a wait. The session's timers are unref'd, so that heartbeats
 * never keep a process alive, but a start-up retry's backoff and a future's
 * are awaited by the caller: while they run, the process must live, and with
 * `drainOnExit` its session must not be closed under it. Real child
 * processes (`test/fixtures/session-waits.ts`) against the fake Tinker API on
 * 127.0.0.1 (port 0, closed after each test): only a real event loop can tell
 * whether a timer keeps it alive.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type FakeTinker, startFakeTinker } from '../src/testing.js';
import { killAll, runScript } from './child.js';

const FIXTURE = 'test/fixtures/session-waits.ts';
/** Two 1 s backoffs and a cold tsx start on a busy machine, well inside the test timeout. */
const CHILD_TIMEOUT_MS = 20_000;

let fake: FakeTinker | undefined;
beforeEach(async () => {
  fake = await startFakeTinker();
});
afterEach(async () => {
  killAll();
  await fake?.close();
  fake = undefined;
});

describe('a script that only awaits its session', () => {
  it.each([
    ['on', '1'],
    ['off', '0'],
  ])('with telemetry %s, lives through a start-up retry’s backoff and a future’s 429 backoff, gets its result and exits 0', async (_label, telemetry) => {
    fake!.inject({ match: '/api/v1/create_session', response: { status: 503 }, times: 1 });
    fake!.scriptNextFuture([{ status: 429 }, { result: { model_id: 'fake-model', type: 'unload_model' } }]);
    const env: NodeJS.ProcessEnv = { ...process.env, TINKER_API_KEY: fake!.apiKey, TINKER_BASE_URL: fake!.url, TINKER_TELEMETRY: telemetry };
    delete env.TINKER_TAGS;
    delete env.TINKER_PROJECT_ID;
    const run = runScript(FIXTURE, { env, timeoutMs: CHILD_TIMEOUT_MS, label: `${FIXTURE} (telemetry ${telemetry})` });

    const exit = await run.exited;
    expect(exit, `--- stdout ---\n${run.stdout()}\n--- stderr ---\n${run.stderr()}`).toEqual({ code: 0, signal: null });
    expect(run.stdout()).toBe(
      ['created fake-session-1', 'result {"kind":"json","value":{"model_id":"fake-model","type":"unload_model"}}', 'closed "closed"', ''].join('\n'),
    );
    // Both waits really happened: the 503 was retried, and the 429 was polled again after its backoff.
    expect(fake!.requests.filter((r) => r.path === '/api/v1/create_session').map((r) => r.status)).toEqual([503, 200]);
    expect(fake!.requests.filter((r) => r.path === '/api/v1/retrieve_future').map((r) => r.status)).toEqual([429, 200]);
    expect(fake!.violations).toEqual([]);
  });
});
