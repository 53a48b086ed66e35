import diagnostics from 'node:diagnostics_channel';
import { afterEach, describe, expect, it } from 'vitest';
import {
  CHANNELS,
  FORWARDABLE_CHANNELS,
  TELEMETRY_CHANNELS,
  attachForwarder,
  isObserved,
  publishFuture,
  publishHttpRequestException,
  publishHttpRequestStart,
  publishHttpRequestStop,
  publishQueueStateChange,
  toForwardedEvent,
  type ForwardedEvent,
} from '../src/host/channels.js';

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

function listen(name: string) {
  const messages: unknown[] = [];
  const listener = (message: unknown) => messages.push(message);
  diagnostics.subscribe(name, listener);
  cleanups.push(() => diagnostics.unsubscribe(name, listener));
  return messages;
}

function forward(sessionId: string, channels: readonly string[] = FORWARDABLE_CHANNELS, handlerId = `h-${sessionId}-${Math.random()}`) {
  const events: ForwardedEvent[] = [];
  const detach = attachForwarder({ handlerId, channels, sessionId, onEvent: (e) => events.push(e) });
  if (detach) cleanups.push(detach);
  return { events, detach };
}

describe('channels', () => {
  it('declares every channel under the tinker: namespace', () => {
    for (const name of Object.values(CHANNELS)) expect(name).toMatch(/^tinker:/);
    expect(TELEMETRY_CHANNELS.every((name) => !FORWARDABLE_CHANNELS.includes(name))).toBe(true);
  });

  it('delivers published payloads to subscribers', () => {
    const messages = listen(CHANNELS.httpRequestStart);
    const payload = { sessionId: 's', method: 'GET', path: '/x', systemTime: 1 };
    publishHttpRequestStart(payload);
    expect(messages).toEqual([payload]);
  });

  it('reports whether anyone listens, so publishers can skip building payloads', () => {
    expect(isObserved(CHANNELS.futureTimeout)).toBe(false);
    listen(CHANNELS.futureTimeout);
    expect(isObserved(CHANNELS.futureTimeout)).toBe(true);
  });

  it('maps start, stop, exception, queue and future messages to telemetry', () => {
    expect(toForwardedEvent(CHANNELS.httpRequestStart, { sessionId: 's', method: 'GET', path: '/p', systemTime: 5 })).toEqual({
      eventName: 'tinker.http.request.start',
      data: { measurements: { systemTime: 5 }, metadata: { method: 'GET', path: '/p' } },
      severity: 'info',
    });
    expect(toForwardedEvent(CHANNELS.httpRequestStop, { sessionId: 's', method: 'GET', path: '/p', status: 200, durationMs: 3, retryCount: 0 })).toEqual({
      eventName: 'tinker.http.request.stop',
      data: { measurements: { durationMs: 3 }, metadata: { method: 'GET', path: '/p', status: 200, retryCount: 0 } },
      severity: 'info',
    });
    expect(
      toForwardedEvent(CHANNELS.httpRequestException, { sessionId: 's', method: 'POST', path: '/p', kind: 'timeout', reason: 'ETIMEDOUT', durationMs: 9 }),
    ).toMatchObject({
      eventName: 'tinker.http.request.exception',
      data: { measurements: { durationMs: 9 } },
      severity: 'error',
    });
    expect(toForwardedEvent(CHANNELS.queueStateChange, { sessionId: 's', requestId: 'r', queueDepth: 4, from: 'a', to: 'b' })).toEqual({
      eventName: 'tinker.queue.state_change',
      data: { measurements: { queueDepth: 4 }, metadata: { requestId: 'r', from: 'a', to: 'b' } },
      severity: 'info',
    });
    expect(toForwardedEvent(CHANNELS.futureApiError, { sessionId: 's', requestId: 'r', requestType: 'sample', status: 500, elapsedMs: 12 })).toEqual({
      eventName: 'tinker.future.api_error',
      data: { measurements: { elapsedMs: 12 }, metadata: { requestId: 'r', requestType: 'sample', status: 500 } },
      severity: 'error',
    });
  });

  it('leaves an absent optional field out of the metadata: a first queue state without from, a failed request with its category', () => {
    expect(toForwardedEvent(CHANNELS.queueStateChange, { sessionId: 's', requestId: 'r', queueDepth: 2, to: 'paused_capacity', reason: 'busy' })).toEqual({
      eventName: 'tinker.queue.state_change',
      data: { measurements: { queueDepth: 2 }, metadata: { requestId: 'r', to: 'paused_capacity', reason: 'busy' } },
      severity: 'info',
    });
    expect(
      toForwardedEvent(CHANNELS.futureRequestFailed, { sessionId: 's', requestId: 'r', requestType: 'OptimStep', category: 'user', elapsedMs: 3 }),
    ).toEqual({
      eventName: 'tinker.future.request_failed',
      data: { measurements: { elapsedMs: 3 }, metadata: { requestId: 'r', requestType: 'OptimStep', category: 'user' } },
      severity: 'error',
    });
  });

  it('forwards only its own session when two forwarders listen', () => {
    const a = forward('session-a');
    const b = forward('session-b');
    publishHttpRequestStop({ sessionId: 'session-a', method: 'GET', path: '/a', status: 200, durationMs: 1, retryCount: 0 });
    publishQueueStateChange({ sessionId: 'session-b', requestId: 'r', queueDepth: 1, from: 'queued', to: 'running' });
    publishFuture(CHANNELS.futureTimeout, { sessionId: 'session-c', requestId: 'r', requestType: 't', elapsedMs: 1 });
    expect(a.events.map((e) => e.eventName)).toEqual(['tinker.http.request.stop']);
    expect(b.events.map((e) => e.eventName)).toEqual(['tinker.queue.state_change']);
  });

  it('attaches a handler id once', () => {
    const first = forward('s', FORWARDABLE_CHANNELS, 'same-id');
    const second = attachForwarder({ handlerId: 'same-id', channels: FORWARDABLE_CHANNELS, sessionId: 's', onEvent: () => undefined });
    expect(first.detach).not.toBeNull();
    expect(second).toBeNull();
    publishHttpRequestException({ sessionId: 's', method: 'GET', path: '/', kind: 'network', reason: 'ECONNRESET', durationMs: 1 });
    expect(first.events).toHaveLength(1);
  });

  it('frees the handler id and stops delivery on unsubscribe, and unsubscribing twice is harmless', () => {
    const { events, detach } = forward('s', FORWARDABLE_CHANNELS, 'reusable');
    detach!();
    detach!();
    publishHttpRequestStart({ sessionId: 's', method: 'GET', path: '/', systemTime: 0 });
    expect(events).toEqual([]);
    expect(forward('s', FORWARDABLE_CHANNELS, 'reusable').detach).not.toBeNull();
  });

  it('never lets a throwing onEvent reach the publisher', () => {
    const detach = attachForwarder({
      handlerId: 'thrower',
      channels: FORWARDABLE_CHANNELS,
      sessionId: 's',
      onEvent: () => {
        throw new Error('subscriber failure');
      },
    });
    cleanups.push(detach!);
    expect(() => publishHttpRequestStart({ sessionId: 's', method: 'GET', path: '/', systemTime: 0 })).not.toThrow();
  });

  it('refuses to forward the reporter’s own telemetry channels, listing those it can forward', () => {
    expect(() => attachForwarder({ handlerId: 'loop', channels: [CHANNELS.telemetryState], sessionId: 's', onEvent: () => undefined })).toThrow(
      new RangeError(
        'Cannot forward channel "tinker:telemetry:state": forwardable channels are tinker:http:request:start, tinker:http:request:stop, tinker:http:request:exception, ' +
          'tinker:queue:state_change, tinker:future:timeout, tinker:future:api_error, tinker:future:connection_error, tinker:future:request_failed, tinker:future:validation_error',
      ),
    );
  });

  it('keeps a measurement-named value that is not a number as metadata', () => {
    expect(toForwardedEvent(CHANNELS.httpRequestStop, { sessionId: 's', durationMs: 'slow', systemTime: 3 }).data).toEqual({
      measurements: { systemTime: 3 },
      metadata: { durationMs: 'slow' },
    });
  });

  it('forwards only object messages, not a function that carries the session id', () => {
    const { events } = forward('s', [CHANNELS.queueStateChange]);
    const impostor = Object.assign(() => undefined, { sessionId: 's' });
    diagnostics.channel(CHANNELS.queueStateChange).publish(impostor);
    diagnostics.channel(CHANNELS.queueStateChange).publish(null);
    diagnostics.channel(CHANNELS.queueStateChange).publish('s');
    expect(events).toEqual([]);
    publishQueueStateChange({ sessionId: 's', requestId: 'r', queueDepth: 0, from: 'a', to: 'b' });
    expect(events.map((e) => e.eventName)).toEqual(['tinker.queue.state_change']);
  });

  it('does not free a handler id attached again when an earlier holder unsubscribes twice', () => {
    const first = forward('s', FORWARDABLE_CHANNELS, 'handed-over');
    first.detach!();
    const second = forward('s', FORWARDABLE_CHANNELS, 'handed-over');
    expect(second.detach).not.toBeNull();
    first.detach!();
    expect(attachForwarder({ handlerId: 'handed-over', channels: FORWARDABLE_CHANNELS, sessionId: 's', onEvent: () => undefined })).toBeNull();
    publishHttpRequestStart({ sessionId: 's', method: 'GET', path: '/', systemTime: 0 });
    expect(first.events).toEqual([]);
    expect(second.events.map((e) => e.eventName)).toEqual(['tinker.http.request.start']);
  });
});
