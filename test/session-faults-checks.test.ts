/**
 * The closing checks of the session fault tests can fail: each catches what
 * it is there to catch, so that a fault test passing them proves something.
 */
import { describe, expect, it } from 'vitest';
import { publishQueueStateChange } from '../src/host/channels.js';
import { API_KEY, CLOSE_MS, PATHS, expectCleanRun, faultWorld, sentJwts, useFaultHarness } from './session-faults-helpers.js';

useFaultHarness();

describe('expectCleanRun', () => {
  it('passes a clean run, and fails on a piece of the key or of a JWT in an error the test saw', async () => {
    const w = await faultWorld({ clientConfig: { pjwtAuthEnabled: true } });
    const session = await w.start();
    await session.close(CLOSE_MS);
    expectCleanRun(w, session.sessionId);

    w.errors.push(new Error(`echo ${API_KEY.slice(10, 18)}`));
    expect(() => expectCleanRun(w, session.sessionId)).toThrow(/the key/);
    w.errors.length = 0;
    const [jwt] = sentJwts();
    w.errors.push(new Error(`echo ${jwt!.slice(-8)}`));
    expect(() => expectCleanRun(w, session.sessionId)).toThrow(/a JWT/);
  });

  it('fails when a queue event the session published never reached the backend', async () => {
    const w = await faultWorld();
    const session = await w.start();
    await session.close(CLOSE_MS);
    publishQueueStateChange({ sessionId: session.sessionId, requestId: 'late', queueDepth: 1, to: 'active' });
    expect(() => expectCleanRun(w, session.sessionId)).toThrow(/reached the backend as published/);
  });

  it('fails when the batches carry another id than the one expected, or when there was no session', async () => {
    const w = await faultWorld();
    const session = await w.start();
    await session.close(CLOSE_MS);
    expect(() => expectCleanRun(w, 'another-session')).toThrow();
    expect(() => expectCleanRun(w, undefined)).toThrow(/no telemetry without a session/);
  });

  it('fails when a body broke the strict validation', async () => {
    const w = await faultWorld();
    await fetch(`${w.fake.url}${PATHS.heartbeat}`, {
      method: 'POST',
      headers: { 'x-api-key': API_KEY, 'content-type': 'application/json' },
      body: JSON.stringify({ session_id: null, type: 'session_heartbeat' }),
    });
    expect(() => expectCleanRun(w, undefined)).toThrow(/strict validation/);
  });
});
