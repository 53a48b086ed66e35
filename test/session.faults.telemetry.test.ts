/**
 * The session's telemetry under faults: the real session and its reporter
 * (the got transport) against `startFakeTinker`, each fault the fake can
 * inject applied to `POST /api/v1/telemetry`. A batch answered 408, 429,
 * 5xx, a reset or a hang (cut by `httpTimeoutMs`) is sent again, the same
 * body with the same idempotency key, after the reporter's backoff or the
 * longer Retry-After, and delivered, queue telemetry included; one answered
 * any other 4xx (409 included: the reporter retries no 4xx but 408 and 429)
 * is dropped and counted as `rejected`, and the session and its later
 * telemetry go on. Every test ends with `expectCleanRun`.
 */
import { describe, expect, it } from 'vitest';
import type { RecordedRequest, ScriptedResponse, TelemetryBatch } from '../src/testing.js';
import {
  CLOSE_MS,
  OPTIM_STEP,
  PATHS,
  REFUSED_STATUSES,
  RETRIED_STATUSES,
  type StatusCase,
  expectCleanRun,
  faultWorld,
  forwardedFutureEvents,
  requestsTo,
  statusResponse,
  useFaultHarness,
} from './session-faults-helpers.js';

useFaultHarness();

/** `httpTimeoutMs` of the reporter in these tests: got's timeout, in real ms, which is what ends a hung send. */
const HTTP_TIMEOUT_MS = 300;

const isQueueBatch = (request: RecordedRequest) => request.path === PATHS.telemetry && JSON.stringify(request.body).includes('tinker.queue.state_change');

const RETRIED: { name: string; response: ScriptedResponse; leastWaitMs: number }[] = [
  ...RETRIED_STATUSES.filter((given) => given.status !== 409).map((given) => ({
    name: given.name,
    response: statusResponse(given),
    leastWaitMs: (given.retryAfter ?? 1) * 1000,
  })),
  { name: 'a reset', response: { reset: true }, leastWaitMs: 1000 },
  { name: 'a hang', response: { hang: true }, leastWaitMs: 1000 },
];

const REFUSED: StatusCase[] = [{ name: '409', status: 409 }, ...REFUSED_STATUSES];

describe('telemetry under faults', () => {
  it.each(RETRIED)(
    'a batch answered with $name is sent again, the same body and idempotency key, after the backoff or Retry-After, and delivered with its queue events',
    async ({ response, leastWaitMs }) => {
      const w = await faultWorld();
      w.fake.inject({ match: isQueueBatch, response });
      const session = await w.start({ telemetry: { httpTimeoutMs: HTTP_TIMEOUT_MS } });
      w.fake.scriptNextFuture([{ tryAgain: 'paused_capacity', reason: 'warming up' }, { result: { metrics: {} } }]);
      await session.submit('api/v1/optim_step', OPTIM_STEP, { requestType: 'OptimStep' });

      const delivered = await w.fake.waitForRequest((r) => isQueueBatch(r) && r.status === 200);
      const failed = requestsTo(w.fake, PATHS.telemetry).find((r) => r.faulted);
      expect(failed?.outcome).toBe('hang' in response ? 'hung' : 'reset' in response ? 'reset' : 'answered');
      expect(delivered.headers['x-idempotency-key']).toBe(failed?.headers['x-idempotency-key']);
      expect(delivered.body).toEqual(failed?.body);
      expect(delivered.atMs - failed!.atMs).toBeGreaterThanOrEqual(leastWaitMs);

      await session.close(CLOSE_MS);
      const names = w.fake.telemetry.events.map((e) => e.event);
      expect(names.filter((name) => name === 'SESSION_START')).toHaveLength(1);
      expect(names.filter((name) => name === 'SESSION_END')).toHaveLength(1);
      expect(forwardedFutureEvents(w.fake)).toEqual([
        [
          'tinker.queue.state_change',
          { measurements: { queueDepth: 1 }, metadata: { requestId: 'fake-request-1', to: 'paused_capacity', reason: 'warming up' } },
          'INFO',
        ],
      ]);
      const stats = session.reporter!.stats();
      expect(stats.deliveredCounter).toBe(stats.pushCounter);
      expect(Object.values(stats.dropped).every((count) => count === 0)).toBe(true);
      expectCleanRun(w, session.sessionId);
    },
  );

  it.each(REFUSED)('a batch answered $name is dropped as rejected, not sent again, and the session’s later telemetry is delivered', async (given) => {
    const w = await faultWorld();
    w.fake.inject({ match: PATHS.telemetry, response: statusResponse(given) });
    const session = await w.start();
    const refused = await w.fake.waitForRequest(PATHS.telemetry);
    const lost = (refused.body as unknown as TelemetryBatch).events;
    await w.waitForLog((r) => r.level === 'warn' && (r.msg ?? '').includes(`rejected with HTTP ${given.status}`));
    expect(session.state).toEqual({ active: 'ok' });

    await session.close(CLOSE_MS);
    const attempts = requestsTo(w.fake, PATHS.telemetry);
    expect(attempts.filter((r) => r.headers['x-idempotency-key'] === refused.headers['x-idempotency-key'])).toHaveLength(1);
    const deliveredIds = new Set(w.fake.telemetry.events.map((e) => e.event_id));
    expect(lost.filter((event) => deliveredIds.has(event.event_id))).toEqual([]);
    expect(w.fake.telemetry.events.filter((e) => e.event === 'SESSION_END')).toHaveLength(1);
    expect(session.reporter!.stats().dropped.rejected).toBe(lost.length);
    expectCleanRun(w, session.sessionId);
  });
});
