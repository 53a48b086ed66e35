/** The reporter's own logger: bindings, levels, once-only warnings, a default on stderr, and never a throw. */
import fs from 'node:fs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { SafeLogger } from '../src/host/logger.js';
import type { LoggerLike } from '../src/core/ports.js';

const BINDINGS = { component: 'tinker-telemetry', sessionId: 's-1' };

afterEach(() => {
  vi.restoreAllMocks();
});

type Call = [level: string, obj: object, msg: string | undefined];

/** A logger without `child`, recording each call as given. */
function flatLogger() {
  const calls: Call[] = [];
  const at = (level: string) => (obj: object, msg?: string) => calls.push([level, obj, msg]);
  const logger: LoggerLike = { warn: at('warn'), info: at('info'), error: at('error'), debug: at('debug') };
  return { logger, calls };
}

/** A logger whose `child` records its bindings apart, so merging by hand would show. */
function childLogger() {
  const { logger: inner, calls } = flatLogger();
  const children: Record<string, unknown>[] = [];
  const logger: LoggerLike = {
    ...flatLogger().logger,
    child(bindings) {
      children.push(bindings);
      return inner;
    },
  };
  return { logger, calls, children };
}

describe('SafeLogger', () => {
  it('binds through child() once and hands each record to the child untouched', () => {
    const { logger, calls, children } = childLogger();
    const safe = new SafeLogger(logger, BINDINGS);
    const record = { reason: 'queue_full' };
    safe.warn(record, 'w');
    expect(children).toEqual([BINDINGS]);
    expect(calls).toEqual([['warn', { reason: 'queue_full' }, 'w']]);
    expect(calls[0]![1]).toBe(record);
  });

  it('merges the bindings into each record itself when the logger has no child()', () => {
    const { logger, calls } = flatLogger();
    const safe = new SafeLogger(logger, BINDINGS);
    safe.warn({ count: 2 }, 'w');
    expect(calls).toEqual([['warn', { ...BINDINGS, count: 2 }, 'w']]);
  });

  it('falls back to merging the bindings when child() throws', () => {
    const { logger: flat, calls } = flatLogger();
    const logger: LoggerLike = {
      ...flat,
      child() {
        throw new Error('no children here');
      },
    };
    const safe = new SafeLogger(logger, BINDINGS);
    safe.info({ n: 1 }, 'i');
    expect(calls).toEqual([['info', { ...BINDINGS, n: 1 }, 'i']]);
  });

  it('writes each method at its own level', () => {
    const { logger, calls } = flatLogger();
    const safe = new SafeLogger(logger, {});
    safe.warn({}, 'w');
    safe.info({}, 'i');
    safe.error({}, 'e');
    safe.debug({}, 'd');
    expect(calls.map(([level, , msg]) => [level, msg])).toEqual([
      ['warn', 'w'],
      ['info', 'i'],
      ['error', 'e'],
      ['debug', 'd'],
    ]);
  });

  it('warns once per key, and again after the key is rearmed', () => {
    const { logger, calls } = flatLogger();
    const safe = new SafeLogger(logger, {});
    safe.warnOnce('a', {}, 'first a');
    safe.warnOnce('a', {}, 'second a');
    safe.warnOnce('b', {}, 'first b');
    safe.rearm('a');
    safe.warnOnce('a', {}, 'third a');
    safe.warnOnce('b', {}, 'second b');
    expect(calls.map(([, , msg]) => msg)).toEqual(['first a', 'first b', 'third a']);
  });

  it('swallows a throwing logger', () => {
    const boom = () => {
      throw new Error('logger down');
    };
    const safe = new SafeLogger({ warn: boom, info: boom, error: boom, debug: boom }, BINDINGS);
    expect(() => {
      safe.warn({}, 'w');
      safe.error({}, 'e');
    }).not.toThrow();
  });

  it('defaults to pino at warn, written synchronously to stderr', () => {
    const writes: { fd: number; text: string }[] = [];
    vi.spyOn(fs, 'writeSync').mockImplementation((fd: number, data: string | NodeJS.ArrayBufferView) => {
      const text = typeof data === 'string' ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('utf8');
      writes.push({ fd, text });
      return Buffer.byteLength(text);
    });
    const safe = new SafeLogger(undefined, BINDINGS);
    safe.info({}, 'routine news');
    safe.debug({}, 'retry detail');
    safe.warn({ count: 3 }, 'something was lost');
    expect(writes).toHaveLength(1);
    expect(writes[0]!.fd).toBe(2);
    expect(JSON.parse(writes[0]!.text)).toMatchObject({ level: 40, msg: 'something was lost', count: 3, ...BINDINGS });
  });
});
