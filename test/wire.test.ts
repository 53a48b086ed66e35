import { afterEach, describe, expect, it, vi } from 'vitest';
import { readFileSync } from 'node:fs';
import {
  QueuedEvent,
  bodyJson,
  envelopeJson,
  formatDuration,
  isoTimestamp,
  parseSeverity,
  platformName,
  processUuid,
  serializeBatch,
  toWireEvent,
} from '../src/core/wire.js';
import { SDK_VERSION } from '../src/core/version.js';

describe('wire format', () => {
  it('formats durations as H:MM:SS with microseconds only when there are any', () => {
    expect(formatDuration(0)).toBe('0:00:00');
    expect(formatDuration(3_725_000)).toBe('1:02:05');
    expect(formatDuration(3_725_000.012)).toBe('1:02:05.000012');
    expect(formatDuration(1.5)).toBe('0:00:00.001500');
    expect(formatDuration(90_000_000)).toBe('25:00:00');
    expect(formatDuration(-5)).toBe('0:00:00');
    expect(formatDuration(Number.NaN)).toBe('0:00:00');
  });

  it('names platforms in the Tinkex form', () => {
    expect(platformName('linux')).toBe('unix/linux');
    expect(platformName('darwin')).toBe('unix/darwin');
    expect(platformName('win32')).toBe('win32/nt');
  });

  it('reads severities in any case and refuses others', () => {
    expect(parseSeverity('warning')).toBe('WARNING');
    expect(parseSeverity('CRITICAL')).toBe('CRITICAL');
    expect(parseSeverity('DeBuG')).toBe('DEBUG');
    expect(parseSeverity('warn')).toBeUndefined();
    expect(parseSeverity('constructor')).toBeUndefined();
    expect(parseSeverity(undefined)).toBeUndefined();
  });

  it('leaves traceback out rather than sending null', () => {
    const event = new QueuedEvent('UNHANDLED_EXCEPTION', 3, 'ERROR', 0, undefined, undefined, { error_type: 'string', error_message: 'x' }, undefined);
    const wire = toWireEvent(event);
    expect(wire).not.toHaveProperty('traceback');
    expect(wire).toMatchObject({ event: 'UNHANDLED_EXCEPTION', error_type: 'string', error_message: 'x', event_session_index: 3 });
  });

  it('keeps an event id once given, so retries resend the same ids', () => {
    const event = new QueuedEvent('SESSION_START', 0, 'INFO', 0, undefined, undefined, undefined, undefined);
    expect(toWireEvent(event).event_id).toBe(toWireEvent(event).event_id);
  });

  it('builds a body with exactly the five allowed top-level fields', () => {
    const body = JSON.parse(serializeBatch({ sessionId: 's' }, [new QueuedEvent('GENERIC_EVENT', 0, 'INFO', 0, 'n', {}, undefined, undefined)]));
    expect(Object.keys(body).sort()).toEqual(['events', 'platform', 'process_uuid', 'sdk_version', 'session_id']);
    expect(body.sdk_version).toBe(SDK_VERSION);
    expect(body.process_uuid).toBe(processUuid());
    expect(body.events[0]).toEqual({
      event: 'GENERIC_EVENT',
      event_id: expect.any(String),
      event_session_index: 0,
      severity: 'INFO',
      timestamp: '1970-01-01T00:00:00.000Z',
      event_name: 'n',
      event_data: {},
    });
  });

  it('sends the package version as sdk_version', () => {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
    expect(SDK_VERSION).toBe(pkg.version);
  });
});

describe('serializeBatch', () => {
  it('writes exactly the JSON of toWireEvent for every event type', () => {
    const events = [
      new QueuedEvent('SESSION_START', 0, 'INFO', 1, undefined, undefined, undefined, undefined),
      new QueuedEvent('GENERIC_EVENT', 1, 'WARNING', 2, 'name "quoted"\n', { a: [1, 'x'], b: { c: null } }, undefined, undefined),
      new QueuedEvent(
        'UNHANDLED_EXCEPTION',
        2,
        'ERROR',
        3,
        undefined,
        undefined,
        { error_type: 'TypeError', error_message: 'bad "x"', traceback: 'TypeError: bad\n    at x' },
        undefined,
      ),
      new QueuedEvent('UNHANDLED_EXCEPTION', 3, 'ERROR', 4, undefined, undefined, { error_type: 'string', error_message: 'plain' }, undefined),
      new QueuedEvent('SESSION_END', 4, 'INFO', 5, undefined, undefined, undefined, 3_725_000.5),
    ];
    const body = JSON.parse(serializeBatch({ sessionId: 'sess "1"' }, events));
    expect(body.session_id).toBe('sess "1"');
    expect(body.events).toEqual(events.map((e) => JSON.parse(JSON.stringify(toWireEvent(e)))));
  });

  it('writes the text bodyJson writes from the envelope and the events’ JSON, for each session when sessions alternate', () => {
    const events = [0, 1, 2].map((i) => new QueuedEvent('GENERIC_EVENT', i, 'INFO', i, `e${i}`, { i }, undefined, undefined));
    for (const sessionId of ['a', 'a', 'b', 'a', 'é"\\']) {
      expect(serializeBatch({ sessionId }, events)).toBe(
        bodyJson(
          envelopeJson(sessionId),
          events.map((e) => e.json as string),
        ),
      );
    }
    expect(serializeBatch({ sessionId: 'a' }, [])).toBe(bodyJson(envelopeJson('a'), []));
    expect(JSON.parse(serializeBatch({ sessionId: 'a' }, []))).toMatchObject({ session_id: 'a', events: [] });
  });
});

describe('events missing their optional fields', () => {
  it("sends an exception event without fields as error_type and error_message 'undefined', in both encoders", () => {
    const event = new QueuedEvent('UNHANDLED_EXCEPTION', 1, 'ERROR', 0, undefined, undefined, undefined, undefined);
    const wire = toWireEvent(event);
    expect(wire).toMatchObject({ event: 'UNHANDLED_EXCEPTION', error_type: 'undefined', error_message: 'undefined' });
    expect(wire).not.toHaveProperty('traceback');
    const body = JSON.parse(serializeBatch({ sessionId: 's' }, [event]));
    expect(body.events[0]).toEqual(JSON.parse(JSON.stringify(wire)));
  });

  it('sends a generic event without a name as an empty event_name, in both encoders', () => {
    const event = new QueuedEvent('GENERIC_EVENT', 2, 'INFO', 0, undefined, undefined, undefined, undefined);
    const wire = toWireEvent(event);
    expect(wire).toMatchObject({ event: 'GENERIC_EVENT', event_name: '', event_data: {} });
    const body = JSON.parse(serializeBatch({ sessionId: 's' }, [event]));
    expect(body.events[0]).toEqual(JSON.parse(JSON.stringify(wire)));
  });
});

describe('parseSeverity and non-ASCII letters', () => {
  it('refuses a severity spelled with a dotless ı, though it upper-cases to an ASCII name', () => {
    expect('ınfo'.toUpperCase()).toBe('INFO');
    expect(parseSeverity('ınfo')).toBeUndefined();
    expect(parseSeverity('crıtıcal')).toBeUndefined();
  });
});

describe('isoTimestamp', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('formats a run of events logged in the same millisecond once, and each change of millisecond again', () => {
    const toISOString = vi.spyOn(Date.prototype, 'toISOString');
    const at = [1_700_000_000_001, 1_700_000_000_001, 1_700_000_000_001, 1_700_000_000_002, 1_700_000_000_002];
    const events = at.map((ms, i) => new QueuedEvent('GENERIC_EVENT', i, 'INFO', ms, 'n', {}, undefined, undefined));
    const body = JSON.parse(serializeBatch({ sessionId: 's' }, events)) as { events: { timestamp: string }[] };
    expect(toISOString).toHaveBeenCalledTimes(2);
    expect(body.events.map((e) => e.timestamp)).toEqual(at.map((ms) => new Date(ms).toISOString()));
  });

  it('writes what toISOString writes when the time goes back to an earlier millisecond', () => {
    expect([5, 6, 5, 5, 0, -0, 1.5, 1].map(isoTimestamp)).toEqual([5, 6, 5, 5, 0, -0, 1.5, 1].map((ms) => new Date(ms).toISOString()));
  });

  it('throws the RangeError toISOString throws for a time it cannot write, and formats the next one right', () => {
    isoTimestamp(7);
    expect(() => isoTimestamp(Number.NaN)).toThrow(RangeError);
    expect(() => isoTimestamp(8.64e15 + 1)).toThrow(RangeError);
    expect(isoTimestamp(7)).toBe(new Date(7).toISOString());
    expect(isoTimestamp(8)).toBe(new Date(8).toISOString());
  });
});
