/**
 * The futures' telemetry reaches the session's reporter: a real reporter of
 * the same session, forwarding the queue and future channels, turns what
 * TinkerApi publishes while it polls into GENERIC_EVENTs with the documented
 * names and data, optional fields absent when they are.
 */
import { describe, expect, it } from 'vitest';
import { FORWARDABLE_CHANNELS } from '../src/host/channels.js';
import { eventsOf, startTestReporter } from './helpers.js';
import { type Answer, makeApi, serve } from './tinker-helpers.js';

describe('futures telemetry forwarded by the session’s reporter', () => {
  it('arrives as GENERIC_EVENTs named after the channels, with measurements and metadata', async () => {
    const answers: Answer[] = [
      { json: { type: 'try_again', request_id: 'r-1', queue_state: 'paused_capacity' } },
      { json: { type: 'try_again', request_id: 'r-1', queue_state: 'active' } },
      { status: 500 },
      { json: { error: 'bad', category: 'user' } },
    ];
    const server = await serve((_request, n) => answers[n] as Answer);
    const { reporter, wire } = startTestReporter(
      { sessionId: 'sess-1', attachEvents: true, events: FORWARDABLE_CHANNELS, handlerId: `h-${Math.random()}` },
      () => ({
        kind: 'ok',
        status: 200,
      }),
    );
    const { api } = makeApi(server.baseUrl);
    api.bind('sess-1');

    await expect(api.retrieveFuture('r-1', { requestType: 'OptimStep' })).rejects.toMatchObject({ name: 'RequestFailedError' });
    await reporter.stop(1_000);

    const generic = eventsOf(wire.sent).flatMap((e) =>
      e.event === 'GENERIC_EVENT' && !e.event_name.startsWith('tinker.http.') ? [[e.event_name, e.event_data, e.severity]] : [],
    );
    expect(generic).toEqual([
      ['tinker.queue.state_change', { measurements: { queueDepth: 1 }, metadata: { requestId: 'r-1', to: 'paused_capacity' } }, 'INFO'],
      ['tinker.queue.state_change', { measurements: { queueDepth: 1 }, metadata: { requestId: 'r-1', from: 'paused_capacity', to: 'active' } }, 'INFO'],
      ['tinker.future.api_error', { measurements: { elapsedMs: 0 }, metadata: { requestId: 'r-1', requestType: 'OptimStep', status: 500 } }, 'ERROR'],
      ['tinker.future.request_failed', { measurements: { elapsedMs: 0 }, metadata: { requestId: 'r-1', requestType: 'OptimStep', category: 'user' } }, 'ERROR'],
    ]);
    // The HTTP channels of the same polls were forwarded too, each with the session's id as the reporter's.
    expect(eventsOf(wire.sent).filter((e) => e.event === 'GENERIC_EVENT' && e.event_name === 'tinker.http.request.stop')).toHaveLength(4);
  });
});
