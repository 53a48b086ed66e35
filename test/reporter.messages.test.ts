/**
 * What the reporter tells its logger, word for word: refused events, the end
 * of a fatal session, an unrecognised TINKER_TELEMETRY; and the bindings
 * every record carries.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { ReporterOptions } from '../src/options.js';
import { startReporter } from '../src/reporter.js';
import { eventsOf, manualTransport, recordingLogger, settle, startTestReporter, stopNow, TEST_CONFIG } from './helpers.js';

const config = TEST_CONFIG;
const bindings = { component: 'tinker-telemetry', sessionId: 'session-1' };

function start(overrides: Partial<ReporterOptions> = {}, auto?: Parameters<typeof manualTransport>[0]) {
  const { reporter, wire, log } = startTestReporter({ flushTimeoutMs: 500, ...overrides }, auto);
  const warnings = () => log.records.filter((r) => r.level === 'warn');
  return { reporter, wire, log, warnings };
}

describe('refused events', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('refuses a name that is not a string, counting it invalid and warning with its value and type', async () => {
    const { reporter, warnings } = start();
    expect(reporter.log(7 as unknown as string)).toBe(false);
    expect(reporter.log(null as unknown as string)).toBe(false);
    expect(reporter.stats()).toMatchObject({ pushCounter: 1, queueSize: 1, dropped: { invalid: 2 } });
    expect(warnings()).toEqual([
      { level: 'warn', obj: bindings, msg: 'Telemetry event refused: the event name must be a non-empty string, got `7` (number)' },
      { level: 'warn', obj: bindings, msg: 'Telemetry event refused: the event name must be a non-empty string, got `null` (null)' },
    ]);
    await stopNow(reporter);
  });

  it('refuses an empty name, warning once for it however often it comes', async () => {
    const { reporter, warnings } = start();
    expect(reporter.log('')).toBe(false);
    expect(reporter.log('')).toBe(false);
    expect(reporter.stats().dropped.invalid).toBe(2);
    expect(warnings().map((r) => r.msg)).toEqual(['Telemetry event refused: the event name must be a non-empty string, got ""']);
    await stopNow(reporter);
  });

  it('quotes at most the first 60 characters of a refused severity', async () => {
    const { reporter, warnings } = start();
    const long = `${'s'.repeat(60)}TAIL`;
    expect(reporter.log('e', undefined, long as 'info')).toBe(false);
    expect(warnings().map((r) => r.msg)).toEqual([`Telemetry event refused: severity "${'s'.repeat(60)}" is not one of debug, info, warning, error, critical`]);
    await stopNow(reporter);
  });

  it('warns separately for the same bad value given as a name and as a severity', async () => {
    const { reporter, warnings } = start();
    expect(reporter.log(5 as unknown as string)).toBe(false);
    expect(reporter.log('e', undefined, 5 as unknown as 'info')).toBe(false);
    expect(warnings().map((r) => r.msg)).toEqual([
      'Telemetry event refused: the event name must be a non-empty string, got `5` (number)',
      'Telemetry event refused: severity `5` (number) is not one of debug, info, warning, error, critical',
    ]);
    await stopNow(reporter);
  });

  /** Values that are no string, each made afresh; the hostile ones throw when turned into a string. */
  const notStrings = [
    { label: 'an object without a prototype', make: () => Object.create(null) as unknown, shown: '`[object]` (object)' },
    {
      label: 'an object whose toString throws',
      make: () => ({
        toString(): string {
          throw new Error('toString called');
        },
      }),
      shown: '`[object]` (object)',
    },
    {
      label: 'an object whose Symbol.toPrimitive throws',
      make: () => ({
        [Symbol.toPrimitive](): never {
          throw new Error('toPrimitive called');
        },
      }),
      shown: '`[object]` (object)',
    },
    {
      label: 'a revoked Proxy',
      make: () => {
        const { proxy, revoke } = Proxy.revocable({}, {});
        revoke();
        return proxy as unknown;
      },
      shown: '`[object]` (object)',
    },
    { label: 'an array', make: () => ['info'] as unknown, shown: '`[array]` (array)' },
    { label: 'a function', make: () => (() => 'info') as unknown, shown: '`[function]` (function)' },
    { label: 'a number', make: () => 7 as unknown, shown: '`7` (number)' },
    { label: 'a symbol', make: () => Symbol('s') as unknown, shown: '`Symbol(s)` (symbol)' },
    { label: 'null', make: () => null, shown: '`null` (null)' },
  ];

  it.each(notStrings)(
    'counts $label as invalid in log() as a name and a severity, in logException() and logFatalException() as a severity, warning once per use',
    async ({ make, shown }) => {
      const { reporter, wire, log, warnings } = start({}, () => ({ kind: 'ok', status: 200 }));
      const value = make();
      expect(reporter.log(value as string)).toBe(false);
      expect(reporter.log(value as string)).toBe(false);
      expect(reporter.log('e', undefined, value as 'info')).toBe(false);
      expect(reporter.logException(new Error('boom'), value as 'error')).toBe(false);
      // Refused, the exception is not sent, yet the fatal path still ends the session and drains.
      expect(await reporter.logFatalException(new Error('boom'), value as 'critical')).toBe(true);
      expect(reporter.stats()).toMatchObject({ pushCounter: 2, deliveredCounter: 2, sessionEnded: true, dropped: { invalid: 5 } });
      expect(eventsOf(wire.sent).map((e) => e.event)).toEqual(['SESSION_START', 'SESSION_END']);
      expect(warnings().map((r) => r.msg)).toEqual([
        `Telemetry event refused: the event name must be a non-empty string, got ${shown}`,
        `Telemetry event refused: severity ${shown} is not one of debug, info, warning, error, critical`,
      ]);
      expect(log.records.filter((r) => r.level === 'error')).toEqual([]);
    },
  );

  it('counts every refusal of an unprintable value, though it warns once for each use of it', async () => {
    const { reporter, warnings } = start();
    for (let i = 0; i < 3; i++) {
      expect(reporter.log(Object.create(null) as string)).toBe(false);
      expect(reporter.logException(new Error('boom'), Object.create(null) as 'error')).toBe(false);
    }
    expect(reporter.stats().dropped.invalid).toBe(6);
    expect(warnings()).toHaveLength(2);
    await stopNow(reporter);
  });
});

describe('the end of a session', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('sends SESSION_END at INFO', async () => {
    const { reporter, wire } = start({}, () => ({ kind: 'ok', status: 200 }));
    expect(await reporter.stop()).toBe(true);
    expect(eventsOf(wire.sent).at(-1)).toMatchObject({ event: 'SESSION_END', severity: 'INFO', event_session_index: 1 });
  });

  it('logs the session id at info after a fatal exception, with drained true when it drained in time', async () => {
    const { reporter, log } = start({}, () => ({ kind: 'ok', status: 200 }));
    expect(await reporter.logFatalException(new Error('boom'))).toBe(true);
    expect(log.records.filter((r) => r.level === 'info')).toEqual([
      { level: 'info', obj: { ...bindings, drained: true }, msg: 'Telemetry session session-1 ended after a fatal exception' },
    ]);
  });

  it('logs drained false after a fatal exception when flushTimeoutMs passed first', async () => {
    const { reporter, log } = start({ flushTimeoutMs: 500 });
    const fatal = reporter.logFatalException(new Error('boom'));
    await vi.advanceTimersByTimeAsync(500);
    expect(await fatal).toBe(false);
    expect(log.records.filter((r) => r.level === 'info')).toEqual([
      { level: 'info', obj: { ...bindings, drained: false }, msg: 'Telemetry session session-1 ended after a fatal exception' },
    ]);
    await stopNow(reporter);
  });
});

describe('logFatalException() after the end of a session', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  const lateFatal = {
    level: 'debug',
    obj: { ...bindings, drained: true },
    msg: 'Telemetry logFatalException() after session session-1 had ended: the exception was refused as after_stop',
  };
  const infoOrDebug = (r: { level: string }) => r.level === 'info' || r.level === 'debug';

  it('does not announce an end after stop(): it refuses the exception as after_stop and says so at debug', async () => {
    const { reporter, wire, log } = start({}, () => ({ kind: 'ok', status: 200 }));
    expect(await reporter.stop()).toBe(true);
    expect(await reporter.logFatalException(new Error('late'))).toBe(true);
    expect(reporter.stats().dropped.after_stop).toBe(1);
    expect(eventsOf(wire.sent).map((e) => e.event)).toEqual(['SESSION_START', 'SESSION_END']);
    expect(log.records.filter(infoOrDebug)).toEqual([lateFatal]);
  });

  it('announces the end once when a second fatal exception follows the first, and the second only at debug', async () => {
    const { reporter, log } = start({}, () => ({ kind: 'ok', status: 200 }));
    expect(await reporter.logFatalException(new Error('first'))).toBe(true);
    expect(await reporter.logFatalException(new Error('second'))).toBe(true);
    expect(log.records.filter(infoOrDebug)).toEqual([
      { level: 'info', obj: { ...bindings, drained: true }, msg: 'Telemetry session session-1 ended after a fatal exception' },
      lateFatal,
    ]);
  });

  it('announces the end once for two fatal exceptions at the same time: the one that ended the session', async () => {
    const { reporter, wire, log } = start();
    const first = reporter.logFatalException(new Error('first'));
    const second = reporter.logFatalException(new Error('second'));
    await settle();
    wire.answerAll();
    expect(await Promise.all([first, second])).toEqual([true, true]);
    expect(reporter.stats().dropped.after_stop).toBe(1);
    expect(log.records.filter(infoOrDebug)).toEqual([
      { level: 'info', obj: { ...bindings, drained: true }, msg: 'Telemetry session session-1 ended after a fatal exception' },
      lateFatal,
    ]);
  });
});

describe('startReporter() and TINKER_TELEMETRY', () => {
  const saved = process.env.TINKER_TELEMETRY;
  afterEach(() => {
    if (saved === undefined) delete process.env.TINKER_TELEMETRY;
    else process.env.TINKER_TELEMETRY = saved;
  });

  it('warns through the given logger, with the session bindings, when TINKER_TELEMETRY is not recognised, and returns null', () => {
    process.env.TINKER_TELEMETRY = 'only-on-tuesdays';
    const log = recordingLogger();
    expect(startReporter({ config, sessionId: 'session-1', logger: log.logger })).toBeNull();
    expect(log.records).toEqual([
      {
        level: 'warn',
        obj: bindings,
        msg: 'TINKER_TELEMETRY="only-on-tuesdays" is not recognised, so telemetry is disabled; use 1/true/yes/on or 0/false/no/off',
      },
    ]);
  });
});
