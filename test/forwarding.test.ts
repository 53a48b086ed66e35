/** Reporters forwarding diagnostics channels into their own session, and publishing their own lifecycle. */
import diagnostics from 'node:diagnostics_channel';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { type Sink, startSink } from '../demo/sink.js';
import { CHANNELS, HTTP_CHANNELS, TELEMETRY_CHANNELS, publishFuture, publishQueueStateChange } from '../src/host/channels.js';
import { createConfig } from '../src/config.js';
import { createHttpClient } from '../src/host/http-client.js';
import type { ReporterOptions } from '../src/options.js';
import { type TelemetryReporter, startReporter } from '../src/reporter.js';
import { manualTransport, recordingLogger } from './helpers.js';

const API_KEY = 'sk-forwarding-key';
let sink: Sink | undefined;
let api: Server | undefined;
const cleanups: (() => void)[] = [];
const reporters: TelemetryReporter[] = [];

afterEach(async () => {
  await Promise.all(reporters.splice(0).map((r) => r.stop(50)));
  for (const cleanup of cleanups.splice(0)) cleanup();
  await sink?.close();
  sink = undefined;
  if (api) {
    api.closeAllConnections();
    await new Promise((resolve) => api!.close(resolve));
    api = undefined;
  }
});

function reporterFor(sessionId: string, overrides: Partial<ReporterOptions> = {}) {
  const reporter = startReporter({
    config: createConfig({ apiKey: API_KEY, baseUrl: sink!.url }),
    sessionId,
    enabled: true,
    flushIntervalMs: 0,
    logger: recordingLogger().logger,
    ...overrides,
  }) as TelemetryReporter;
  reporters.push(reporter);
  return reporter;
}

function listen(names: readonly string[]) {
  const messages: { channel: string; payload: Record<string, unknown> }[] = [];
  for (const channel of names) {
    const listener = (payload: unknown) => messages.push({ channel, payload: payload as Record<string, unknown> });
    diagnostics.subscribe(channel, listener);
    cleanups.push(() => diagnostics.unsubscribe(channel, listener));
  }
  return messages;
}

const genericNames = (s: Sink, sessionId: string) =>
  s.batches
    .filter((b) => b.body.session_id === sessionId)
    .flatMap((b) => b.body.events as unknown as { event: string; event_name?: string }[])
    .filter((e) => e.event === 'GENERIC_EVENT')
    .map((e) => e.event_name);

describe('forwarding', () => {
  it('forwards real HTTP requests of its own session only, when two reporters run at once', async () => {
    sink = await startSink();
    api = createServer((_req, res) => res.end('{}'));
    await new Promise<void>((resolve) => api!.listen(0, '127.0.0.1', resolve));
    const apiUrl = `http://127.0.0.1:${(api.address() as AddressInfo).port}`;
    const a = reporterFor('session-a');
    const b = reporterFor('session-b');
    await createHttpClient({ config: createConfig({ apiKey: API_KEY, baseUrl: apiUrl }), sessionId: 'session-a' }).get('v1/a');
    publishQueueStateChange({ sessionId: 'session-b', requestId: 'r1', queueDepth: 2, from: 'queued', to: 'running' });
    await Promise.all([a.stop(), b.stop()]);
    expect(genericNames(sink, 'session-a')).toEqual(['tinker.http.request.start', 'tinker.http.request.stop']);
    expect(genericNames(sink, 'session-b')).toEqual(['tinker.queue.state_change']);
  });

  it('keeps future channels opt-in', async () => {
    sink = await startSink();
    const plain = reporterFor('plain');
    const opted = reporterFor('opted', { events: [CHANNELS.futureTimeout] });
    publishFuture(CHANNELS.futureTimeout, { sessionId: 'plain', requestId: 'r', requestType: 'sample', elapsedMs: 5 });
    publishFuture(CHANNELS.futureTimeout, { sessionId: 'opted', requestId: 'r', requestType: 'sample', elapsedMs: 5 });
    await Promise.all([plain.stop(), opted.stop()]);
    expect(genericNames(sink, 'plain')).toEqual([]);
    expect(genericNames(sink, 'opted')).toEqual(['tinker.future.timeout']);
  });

  it('never publishes its own telemetry requests on the HTTP channels', async () => {
    sink = await startSink();
    const messages = listen(HTTP_CHANNELS);
    const reporter = reporterFor('quiet');
    reporter.log('one');
    await reporter.stop();
    expect(sink.batches.length).toBeGreaterThan(0);
    expect(messages).toEqual([]);
  });

  it('unsubscribes on stop', async () => {
    sink = await startSink();
    const reporter = reporterFor('stopped');
    await reporter.stop();
    publishQueueStateChange({ sessionId: 'stopped', requestId: 'r', queueDepth: 0, from: 'a', to: 'b' });
    expect(reporter.stats().dropped.after_stop).toBe(0);
  });

  it('forwards once when two reporters share a handler id', async () => {
    sink = await startSink();
    const first = reporterFor('shared', { handlerId: 'one-handler' });
    const second = reporterFor('shared', { handlerId: 'one-handler' });
    publishQueueStateChange({ sessionId: 'shared', requestId: 'r', queueDepth: 0, from: 'a', to: 'b' });
    expect(first.stats().pushCounter + second.stats().pushCounter).toBe(3);
  });
});

describe('lifecycle channels', () => {
  it('publishes transitions, sent and failed batches, and drops', async () => {
    const messages = listen(TELEMETRY_CHANNELS);
    const wire = manualTransport((_body, n) => (n === 1 ? { kind: 'retryable', status: 503, reason: 'HTTP 503' } : { kind: 'ok', status: 200 }));
    const reporter = startReporter({
      config: createConfig({ apiKey: API_KEY, baseUrl: 'http://127.0.0.1:9' }),
      sessionId: 'life',
      enabled: true,
      attachEvents: false,
      // A timer that never fires within the test, so that the queue fills before the flush: with no timer
      // at all, a threshold above maxQueueSize is refused.
      flushIntervalMs: 60_000,
      retryBaseDelayMs: 1,
      maxQueueSize: 2,
      transport: wire.transport,
      logger: recordingLogger().logger,
    }) as TelemetryReporter;
    reporter.log('a');
    reporter.log('b');
    await reporter.flush({ sync: true });
    await reporter.stop();
    const of = (channel: string) => messages.filter((m) => m.channel === channel).map((m) => m.payload);
    expect(of(CHANNELS.telemetryEventDropped)).toEqual([{ sessionId: 'life', reason: 'queue_full', count: 1 }]);
    expect(of(CHANNELS.telemetryBatchFailed)).toEqual([
      expect.objectContaining({ sessionId: 'life', size: 2, attempt: 0, kind: 'retryable', status: 503, willRetry: true, delayMs: expect.any(Number) }),
    ]);
    expect(of(CHANNELS.telemetryBatchSent)).toEqual([
      expect.objectContaining({ size: 2, attempt: 1, status: 200 }),
      expect.objectContaining({ size: 1, attempt: 0, status: 200 }),
    ]);
    const states = of(CHANNELS.telemetryState).map((p) => p.to);
    expect(states).toEqual(['idle', 'batching', 'sending', 'retrying', 'sending', 'idle', 'draining.sending', 'ended']);
  });
});

describe('capture with a real reporter', () => {
  it('delivers the exception and SESSION_END before a fatal async failure rejects', async () => {
    const { captureExceptions } = await import('../src/host/capture.js');
    sink = await startSink();
    const reporter = reporterFor('fatal-capture', { attachEvents: false });
    const error = new Error('training diverged');
    const seenAtRejection = await captureExceptions({ reporter, fatal: true }, async () => {
      throw error;
    }).then(
      () => undefined,
      (caught: unknown) => {
        expect(caught).toBe(error);
        return sink!.batches.flatMap((b) => b.body.events.map((e) => e.event));
      },
    );
    expect(seenAtRejection).toEqual(['SESSION_START', 'UNHANDLED_EXCEPTION', 'SESSION_END']);
  });
});
