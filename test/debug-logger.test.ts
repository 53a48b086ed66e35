import diagnostics from 'node:diagnostics_channel';
import fs from 'node:fs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { CHANNELS, publish } from '../src/host/channels.js';
import { attachLogger, detachLogger } from '../src/host/debug-logger.js';
import { type LogRecord, recordingLogger } from './helpers.js';

describe('attachLogger', () => {
  it('logs what is published on tinker channels, warnings for failures, until detached', () => {
    const { logger, records } = recordingLogger();
    const id = attachLogger({ logger });
    publish(CHANNELS.telemetryBatchSent, { sessionId: 's', size: 3, attempt: 0, durationMs: 1, status: 200 });
    publish(CHANNELS.telemetryEventDropped, { sessionId: 's', reason: 'queue_full', count: 1 });
    expect(records.map((r) => [r.level, r.msg])).toEqual([
      ['info', CHANNELS.telemetryBatchSent],
      ['warn', CHANNELS.telemetryEventDropped],
    ]);
    expect(records[0]!.obj).toMatchObject({ component: 'tinker-telemetry', channel: CHANNELS.telemetryBatchSent, size: 3 });
    expect(detachLogger(id)).toBe(true);
    publish(CHANNELS.telemetryBatchSent, { sessionId: 's', size: 1, attempt: 0, durationMs: 1, status: 200 });
    expect(records).toHaveLength(2);
  });

  it('returns false for an unknown id', () => {
    expect(detachLogger('no-such-id')).toBe(false);
  });
});

describe('attachLogger records and loggers', () => {
  const ids: string[] = [];
  afterEach(() => {
    for (const id of ids.splice(0)) detachLogger(id);
    vi.restoreAllMocks();
  });

  /** Captures what pino writes synchronously, by file descriptor, instead of writing it. */
  function captureSyncWrites() {
    const writes: { fd: number; record: Record<string, unknown> }[] = [];
    vi.spyOn(fs, 'writeSync').mockImplementation((fd: number, data: string | NodeJS.ArrayBufferView) => {
      const text = typeof data === 'string' ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('utf8');
      for (const line of text.split('\n').filter(Boolean)) writes.push({ fd, record: JSON.parse(line) as Record<string, unknown> });
      return Buffer.byteLength(text);
    });
    return writes;
  }

  it('wraps a message that is not an object as { message }', () => {
    const { logger, records } = recordingLogger();
    ids.push(attachLogger({ logger }));
    diagnostics.channel(CHANNELS.queueStateChange).publish('queue moved');
    diagnostics.channel(CHANNELS.queueStateChange).publish(null);
    expect(records.map((r) => r.obj)).toStrictEqual([
      { component: 'tinker-telemetry', channel: CHANNELS.queueStateChange, message: 'queue moved' },
      { component: 'tinker-telemetry', channel: CHANNELS.queueStateChange, message: null },
    ]);
  });

  it('writes to the given logger itself when it has no child(), or when child() throws', () => {
    const plain: LogRecord[] = [];
    const throwing: LogRecord[] = [];
    const flat = (into: LogRecord[]) => ({
      warn: (obj: object, msg?: string) => into.push({ level: 'warn', obj, msg }),
      info: (obj: object, msg?: string) => into.push({ level: 'info', obj, msg }),
      error: (obj: object, msg?: string) => into.push({ level: 'error', obj, msg }),
      debug: (obj: object, msg?: string) => into.push({ level: 'debug', obj, msg }),
    });
    ids.push(attachLogger({ logger: flat(plain) }));
    ids.push(
      attachLogger({
        logger: {
          ...flat(throwing),
          child() {
            throw new Error('no children here');
          },
        },
      }),
    );
    publish(CHANNELS.telemetryState, { sessionId: 's', from: '', to: 'idle', event: 'xstate.init' });
    const expected = [
      { level: 'info', obj: { channel: CHANNELS.telemetryState, sessionId: 's', from: '', to: 'idle', event: 'xstate.init' }, msg: CHANNELS.telemetryState },
    ];
    expect(plain).toEqual(expected);
    expect(throwing).toEqual(expected);
  });

  it('defaults to pino at info, written synchronously to stderr', () => {
    const writes = captureSyncWrites();
    ids.push(attachLogger());
    publish(CHANNELS.telemetryState, { sessionId: 's', from: '', to: 'idle', event: 'xstate.init' });
    expect(writes).toHaveLength(1);
    expect(writes[0]!.fd).toBe(2);
    expect(writes[0]!.record).toMatchObject({
      level: 30,
      component: 'tinker-telemetry',
      channel: CHANNELS.telemetryState,
      to: 'idle',
      msg: CHANNELS.telemetryState,
    });
  });

  it('honours the level of the default logger', () => {
    const writes = captureSyncWrites();
    ids.push(attachLogger({ level: 'warn' }));
    publish(CHANNELS.telemetryState, { sessionId: 's', from: '', to: 'idle', event: 'xstate.init' });
    publish(CHANNELS.telemetryEventDropped, { sessionId: 's', reason: 'shutdown', count: 2 });
    expect(writes.map((w) => [w.fd, w.record.level, w.record.msg])).toEqual([[2, 40, CHANNELS.telemetryEventDropped]]);
  });
});

describe('attachLogger redaction', () => {
  const KEY = 'tml-SECRET-attach-0123456789';
  const ids: string[] = [];
  afterEach(() => {
    for (const id of ids.splice(0)) detachLogger(id);
    vi.unstubAllEnvs();
  });

  it('replaces the apiKey in every string and object key of each record, at any depth', () => {
    const { logger, records } = recordingLogger();
    ids.push(attachLogger({ logger, apiKey: KEY }));
    publish(CHANNELS.httpRequestException, {
      sessionId: 's',
      method: 'GET',
      path: `/k/${KEY}/v1/x`,
      kind: 'http',
      reason: `HTTP 401 for ${KEY}`,
      durationMs: 3,
    });
    diagnostics.channel(CHANNELS.queueStateChange).publish({ [KEY]: { deep: [`a ${KEY} b`, 7, null, { deeper: KEY }] } });
    diagnostics.channel(CHANNELS.queueStateChange).publish(`bare ${KEY}`);
    expect(records.map((r) => r.obj)).toStrictEqual([
      {
        component: 'tinker-telemetry',
        channel: CHANNELS.httpRequestException,
        sessionId: 's',
        method: 'GET',
        path: '/k/[redacted]/v1/x',
        kind: 'http',
        reason: 'HTTP 401 for [redacted]',
        durationMs: 3,
      },
      { component: 'tinker-telemetry', channel: CHANNELS.queueStateChange, '[redacted]': { deep: ['a [redacted] b', 7, null, { deeper: '[redacted]' }] } },
      { component: 'tinker-telemetry', channel: CHANNELS.queueStateChange, message: 'bare [redacted]' },
    ]);
  });

  it('redacts an Error or class instance in a record through its JSON-safe form, whose own properties are kept', () => {
    const { logger, records } = recordingLogger();
    ids.push(attachLogger({ logger, apiKey: KEY }));
    const error = Object.assign(new Error(`failed with ${KEY}`), { options: { headers: { 'x-api-key': KEY } } });
    diagnostics.channel(CHANNELS.queueStateChange).publish({ error });
    const record = records[0]!.obj as { error: { name: string; message: string; options: unknown } };
    expect(record.error).toMatchObject({ name: 'Error', message: 'failed with [redacted]', options: { headers: { 'x-api-key': '[redacted]' } } });
    expect(JSON.stringify(records)).not.toContain(KEY);
  });

  it('writes a cycle as [Circular] and stops 8 levels down', () => {
    const { logger, records } = recordingLogger();
    ids.push(attachLogger({ logger, apiKey: KEY }));
    const cyclic: Record<string, unknown> = { name: KEY };
    cyclic.self = cyclic;
    let deep: Record<string, unknown> = { bottom: KEY };
    for (let i = 0; i < 9; i++) deep = { down: deep };
    diagnostics.channel(CHANNELS.queueStateChange).publish({ cyclic, deep });
    const record = records[0]!.obj as { cyclic: unknown; deep: unknown };
    expect(record.cyclic).toEqual({ name: '[redacted]', self: '[Circular]' });
    // The record is level 1; the eighth level down from it is written as [Object].
    let level: unknown = record.deep;
    for (let i = 0; i < 6; i++) level = (level as { down: unknown }).down;
    expect(level).toEqual({ down: '[Object]' });
  });

  it('reads the key from TINKER_API_KEY when no apiKey is given, and an explicit empty apiKey redacts nothing', () => {
    vi.stubEnv('TINKER_API_KEY', KEY);
    const fromEnv = recordingLogger();
    const none = recordingLogger();
    ids.push(attachLogger({ logger: fromEnv.logger }));
    ids.push(attachLogger({ logger: none.logger, apiKey: '' }));
    publish(CHANNELS.telemetryEventDropped, { sessionId: KEY, reason: 'shutdown', count: 1 });
    expect(fromEnv.records.map((r) => r.obj)).toStrictEqual([
      { component: 'tinker-telemetry', channel: CHANNELS.telemetryEventDropped, sessionId: '[redacted]', reason: 'shutdown', count: 1 },
    ]);
    expect(none.records.map((r) => r.obj)).toStrictEqual([
      { component: 'tinker-telemetry', channel: CHANNELS.telemetryEventDropped, sessionId: KEY, reason: 'shutdown', count: 1 },
    ]);
  });

  it('hands the logger the objects of a message themselves when there is no key to redact', () => {
    vi.stubEnv('TINKER_API_KEY', undefined);
    const { logger, records } = recordingLogger();
    ids.push(attachLogger({ logger }));
    const error = new Error('kept as it is');
    const nested = { list: [1, 2] };
    diagnostics.channel(CHANNELS.queueStateChange).publish({ error, nested });
    const record = records[0]!.obj as { error: unknown; nested: unknown };
    expect(record.error).toBe(error);
    expect(record.nested).toBe(nested);
  });

  it('keeps the values of plain objects, null-prototype objects and arrays as they are, where their JSON-safe form would not', () => {
    const { logger, records } = recordingLogger();
    ids.push(attachLogger({ logger, apiKey: KEY }));
    const bare = Object.assign(Object.create(null) as Record<string, unknown>, { n: NaN, key: KEY });
    diagnostics.channel(CHANNELS.queueStateChange).publish({ plain: { n: NaN, u: undefined }, bare, list: [NaN, undefined, KEY] });
    expect(records[0]!.obj).toStrictEqual({
      component: 'tinker-telemetry',
      channel: CHANNELS.queueStateChange,
      plain: { n: NaN, u: undefined },
      bare: { n: NaN, key: '[redacted]' },
      list: [NaN, undefined, '[redacted]'],
    });
  });

  it('writes an array 8 levels down as [Array], and keeps a number or null there as it is', () => {
    const { logger, records } = recordingLogger();
    ids.push(attachLogger({ logger, apiKey: KEY }));
    let deep: Record<string, unknown> = { list: [KEY], count: 3, none: null };
    for (let i = 0; i < 7; i++) deep = { down: deep };
    diagnostics.channel(CHANNELS.queueStateChange).publish(deep);
    // The record is level 1; the values of the seventh object down from it are the eighth level.
    let level: unknown = records[0]!.obj;
    for (let i = 0; i < 7; i++) level = (level as { down: unknown }).down;
    expect(level).toStrictEqual({ list: '[Array]', count: 3, none: null });
  });

  it('refuses an apiKey that is not a string, without showing it', () => {
    let thrown: unknown;
    try {
      ids.push(attachLogger({ apiKey: 42 as unknown as string }));
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(TypeError);
    expect(thrown).toMatchObject({ message: 'Expected `apiKey` to be a string, got `[redacted]` (number)', code: 'ERR_TINKER_TELEMETRY_INVALID_OPTION' });
  });
});
