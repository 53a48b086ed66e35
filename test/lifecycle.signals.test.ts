/** What the reporter says about itself: its channel messages and its warnings, one signal at a time. */
import diagnostics from 'node:diagnostics_channel';
import { afterEach, describe, expect, it } from 'vitest';
import { CHANNELS, TELEMETRY_CHANNELS, publishHttpRequestStart, publishQueueStateChange } from '../src/host/channels.js';
import { LifecycleSignals, stateName } from '../src/host/lifecycle.js';
import { SafeLogger } from '../src/host/logger.js';
import type { ResolvedOptions } from '../src/options.js';
import type { LastSend } from '../src/core/outbox.js';
import { recordingLogger } from './helpers.js';

const SESSION = 'life-session';
const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

function setup() {
  const { logger, records } = recordingLogger();
  const safe = new SafeLogger(logger, { component: 'tinker-telemetry', sessionId: SESSION });
  const signals = new LifecycleSignals(SESSION, safe);
  cleanups.push(() => signals.detachForwarding());
  // Records without the child bindings, so each assertion shows the fields the signal itself gives.
  const logged = () =>
    records.map(({ level, obj, msg }) => {
      const { component: _component, sessionId: _sessionId, ...fields } = obj as Record<string, unknown>;
      return { level, fields, msg };
    });
  return { signals, safe, logged };
}

function listen(names: readonly string[] = TELEMETRY_CHANNELS) {
  const messages: { channel: string; payload: unknown }[] = [];
  for (const channel of names) {
    const listener = (payload: unknown) => messages.push({ channel, payload });
    diagnostics.subscribe(channel, listener);
    cleanups.push(() => diagnostics.unsubscribe(channel, listener));
  }
  return messages;
}

const failedPayloads = (messages: { channel: string; payload: unknown }[]) =>
  messages.filter((m) => m.channel === CHANNELS.telemetryBatchFailed).map((m) => m.payload);

const retryable503: LastSend = { size: 4, attempt: 2, durationMs: 7, result: { kind: 'retryable', status: 503, reason: 'HTTP 503' } };
const networkError: LastSend = { size: 3, attempt: 1, durationMs: 5, result: { kind: 'retryable', reason: 'ECONNRESET socket hang up' } };
const rejected400: LastSend = { size: 2, attempt: 0, durationMs: 4, result: { kind: 'rejected', status: 400 } };
const tooLarge413: LastSend = { size: 8, attempt: 0, durationMs: 9, result: { kind: 'too_large', status: 413 } };
const ok200: LastSend = { size: 5, attempt: 0, durationMs: 2, result: { kind: 'ok', status: 200 } };
const context = (last: LastSend | undefined, pushCounter = 1) => ({ pushCounter, maxQueueSize: 10, maxQueueBytes: 4096, last });

describe('stateName', () => {
  it('names a flat state by itself and a nested one with dots', () => {
    expect(stateName('idle')).toBe('idle');
    expect(stateName({ draining: 'sending' })).toBe('draining.sending');
    expect(stateName({ a: { b: 'c' } })).toBe('a.b.c');
  });

  it('names an empty state value as the empty string', () => {
    expect(stateName({})).toBe('');
  });
});

describe('LifecycleSignals.transition', () => {
  it('publishes the first state with an empty `from`, then each change from the previous state', () => {
    const messages = listen([CHANNELS.telemetryState]);
    const { signals } = setup();
    signals.transition('idle', 'xstate.init');
    signals.transition({ draining: 'sending' }, 'STOP');
    expect(messages.map((m) => m.payload)).toEqual([
      { sessionId: SESSION, from: '', to: 'idle', event: 'xstate.init' },
      { sessionId: SESSION, from: 'idle', to: 'draining.sending', event: 'STOP' },
    ]);
  });

  it('publishes nothing for a step that stays in the same state', () => {
    const messages = listen([CHANNELS.telemetryState]);
    const { signals } = setup();
    signals.transition('batching', 'LOG');
    signals.transition('batching', 'LOG');
    signals.transition('sending', 'THRESHOLD');
    expect(messages.map((m) => (m.payload as { to: string }).to)).toEqual(['batching', 'sending']);
  });
});

describe('LifecycleSignals.dropped', () => {
  it('publishes every drop with its reason and count', () => {
    const messages = listen([CHANNELS.telemetryEventDropped]);
    const { signals } = setup();
    signals.dropped('invalid', 1, context(undefined));
    signals.dropped('shutdown', 6, context(undefined));
    expect(messages.map((m) => m.payload)).toEqual([
      { sessionId: SESSION, reason: 'invalid', count: 1 },
      { sessionId: SESSION, reason: 'shutdown', count: 6 },
    ]);
  });

  it('warns once per queue-full episode, the first one included, naming the queue size', () => {
    const { signals, logged } = setup();
    signals.dropped('queue_full', 1, context(undefined, 1));
    signals.dropped('queue_full', 1, context(undefined, 1));
    signals.dropped('queue_full', 1, context(undefined, 3));
    const warning = { level: 'warn', fields: { reason: 'queue_full', count: 1 }, msg: 'Telemetry queue full (10), dropping event' };
    expect(logged()).toEqual([warning, warning]);
  });

  it('warns about a rejected batch with its status, and publishes it as a failure not retried', () => {
    const messages = listen();
    const { signals, logged } = setup();
    signals.dropped('rejected', 2, context(rejected400));
    expect(logged()).toEqual([
      { level: 'warn', fields: { reason: 'rejected', count: 2, status: 400 }, msg: 'Telemetry batch of 2 events rejected with HTTP 400; dropped, not retried' },
    ]);
    expect(failedPayloads(messages)).toStrictEqual([
      { sessionId: SESSION, size: 2, attempt: 0, durationMs: 4, kind: 'rejected', status: 400, willRetry: false },
    ]);
  });

  it('says HTTP error for a rejected batch without a failed send to name', () => {
    const messages = listen();
    const { signals, logged } = setup();
    signals.dropped('rejected', 1, context(undefined));
    signals.dropped('rejected', 1, context(ok200));
    const warning = {
      level: 'warn',
      fields: { reason: 'rejected', count: 1, status: undefined },
      msg: 'Telemetry batch of 1 events rejected with HTTP error; dropped, not retried',
    };
    expect(logged()).toStrictEqual([warning, warning]);
    expect(failedPayloads(messages)).toEqual([]);
  });

  it('warns about exhausted retries with the attempts made and the last error, and publishes a failure not retried', () => {
    const messages = listen();
    const { signals, logged } = setup();
    signals.dropped('retries_exhausted', 4, context(retryable503));
    expect(logged()).toEqual([
      {
        level: 'warn',
        fields: { reason: 'retries_exhausted', count: 4, attempts: 3, lastError: 'HTTP 503' },
        msg: 'Telemetry batch of 4 events dropped: retries exhausted after 3 attempts (HTTP 503)',
      },
    ]);
    expect(failedPayloads(messages)).toStrictEqual([
      { sessionId: SESSION, size: 4, attempt: 2, durationMs: 7, kind: 'retryable', status: 503, reason: 'HTTP 503', willRetry: false },
    ]);
  });

  it('names a failure without a retryable reason by its HTTP status, and an unknown one as unknown', () => {
    const { signals, logged } = setup();
    signals.dropped('retries_exhausted', 8, context(tooLarge413));
    signals.dropped('retries_exhausted', 1, context(undefined));
    expect(logged()).toEqual([
      {
        level: 'warn',
        fields: { reason: 'retries_exhausted', count: 8, attempts: 1, lastError: 'HTTP 413' },
        msg: 'Telemetry batch of 8 events dropped: retries exhausted after 1 attempts (HTTP 413)',
      },
      {
        level: 'warn',
        fields: { reason: 'retries_exhausted', count: 1, attempts: 1, lastError: 'unknown' },
        msg: 'Telemetry batch of 1 events dropped: retries exhausted after 1 attempts (unknown)',
      },
    ]);
  });

  it('warns how many events the stop deadline left undelivered, each time', () => {
    const { signals, logged } = setup();
    signals.dropped('shutdown', 6, context(undefined));
    signals.dropped('shutdown', 2, context(undefined));
    expect(logged()).toEqual([
      { level: 'warn', fields: { reason: 'shutdown', count: 6 }, msg: 'Telemetry stop deadline passed; 6 events were not delivered' },
      { level: 'warn', fields: { reason: 'shutdown', count: 2 }, msg: 'Telemetry stop deadline passed; 2 events were not delivered' },
    ]);
  });

  it('warns once about events refused after the end, until its once-key is rearmed', () => {
    const { signals, safe, logged } = setup();
    signals.dropped('after_stop', 1, context(undefined));
    signals.dropped('after_stop', 1, context(undefined));
    const warning = { level: 'warn', fields: { reason: 'after_stop', count: 1 }, msg: 'Telemetry event refused: the session has ended' };
    expect(logged()).toEqual([warning]);
    safe.rearm('after_stop');
    signals.dropped('after_stop', 1, context(undefined));
    expect(logged()).toEqual([warning, warning]);
  });

  it('leaves the warnings about invalid events and spool evictions to their owners', () => {
    const messages = listen();
    const { signals, logged } = setup();
    signals.dropped('invalid', 1, context(retryable503));
    signals.dropped('spool_overflow', 3, context(retryable503));
    expect(logged()).toEqual([]);
    expect(failedPayloads(messages)).toEqual([]);
  });
});

describe('LifecycleSignals sends', () => {
  it('publishes a successful send on batch:sent and a failed one not at all', () => {
    const messages = listen();
    const { signals } = setup();
    signals.sendFinished(ok200);
    signals.sendFinished(retryable503);
    expect(messages).toEqual([{ channel: CHANNELS.telemetryBatchSent, payload: { sessionId: SESSION, size: 5, attempt: 0, durationMs: 2, status: 200 } }]);
  });

  it('logs each scheduled retry at debug and publishes it as a failure to be retried after the delay', () => {
    const messages = listen();
    const { signals, logged } = setup();
    signals.retryScheduled(networkError, 250);
    expect(logged()).toEqual([
      { level: 'debug', fields: { attempt: 1, delayMs: 250, reason: 'ECONNRESET socket hang up' }, msg: 'Telemetry batch failed; retrying' },
    ]);
    // A network error has no status: the key is absent, not undefined.
    expect(failedPayloads(messages)).toStrictEqual([
      { sessionId: SESSION, size: 3, attempt: 1, durationMs: 5, kind: 'retryable', reason: 'ECONNRESET socket hang up', willRetry: true, delayMs: 250 },
    ]);
  });

  it('logs a retry without a known send as attempt undefined and reason unknown, publishing nothing', () => {
    const messages = listen();
    const { signals, logged } = setup();
    signals.retryScheduled(undefined, 100);
    expect(logged()).toStrictEqual([
      { level: 'debug', fields: { attempt: undefined, delayMs: 100, reason: 'unknown' }, msg: 'Telemetry batch failed; retrying' },
    ]);
    expect(messages).toEqual([]);
  });

  it('publishes a split batch as a failure to be retried, without a delay or a reason', () => {
    const messages = listen();
    const { signals } = setup();
    signals.split(tooLarge413);
    expect(failedPayloads(messages)).toStrictEqual([
      { sessionId: SESSION, size: 8, attempt: 0, durationMs: 9, kind: 'too_large', status: 413, willRetry: true },
    ]);
  });

  it('publishes no failure for a send that is unknown or succeeded', () => {
    const messages = listen();
    const { signals } = setup();
    signals.split(undefined);
    signals.split(ok200);
    signals.retryScheduled(ok200, 10);
    expect(failedPayloads(messages)).toEqual([]);
  });
});

describe('LifecycleSignals forwarding', () => {
  const options = (overrides: Partial<ResolvedOptions>) => ({ attachEvents: true, handlerId: `h-${Math.random()}`, ...overrides }) as ResolvedOptions;
  const queueChange = () => publishQueueStateChange({ sessionId: SESSION, requestId: 'r', queueDepth: 1, from: 'queued', to: 'running' });

  it('forwards the default channels of its session into log until detached', () => {
    const { signals } = setup();
    const forwarded: [string, unknown, string][] = [];
    signals.attachForwarding(options({}), (name, data, severity) => forwarded.push([name, data, severity]) > 0);
    queueChange();
    signals.detachForwarding();
    queueChange();
    expect(forwarded).toEqual([
      ['tinker.queue.state_change', { measurements: { queueDepth: 1 }, metadata: { requestId: 'r', from: 'queued', to: 'running' } }, 'info'],
    ]);
  });

  it('forwards only the channels listed in events', () => {
    const { signals } = setup();
    const forwarded: string[] = [];
    signals.attachForwarding(options({ events: [CHANNELS.httpRequestStart] }), (name) => forwarded.push(name) > 0);
    queueChange();
    publishHttpRequestStart({ sessionId: SESSION, method: 'GET', path: '/', systemTime: 1 });
    expect(forwarded).toEqual(['tinker.http.request.start']);
  });

  it('forwards nothing when attachEvents is false', () => {
    const { signals } = setup();
    const forwarded: string[] = [];
    signals.attachForwarding(options({ attachEvents: false }), (name) => forwarded.push(name) > 0);
    queueChange();
    expect(forwarded).toEqual([]);
  });

  it('warns, and forwards once, when its handler id is already attached', () => {
    const first = setup();
    const second = setup();
    const forwarded: string[] = [];
    const shared = options({ handlerId: 'taken-handler' });
    first.signals.attachForwarding(shared, (name) => forwarded.push(`first ${name}`) > 0);
    second.signals.attachForwarding(shared, (name) => forwarded.push(`second ${name}`) > 0);
    expect(second.logged()).toEqual([
      { level: 'warn', fields: { handlerId: 'taken-handler' }, msg: 'Telemetry handler id is already attached; not forwarding twice' },
    ]);
    // The refused one holds no detach of its own: detaching it leaves the first forwarding.
    second.signals.detachForwarding();
    queueChange();
    expect(forwarded).toEqual(['first tinker.queue.state_change']);
    expect(first.logged()).toEqual([]);
  });
});
