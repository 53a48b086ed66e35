/** encodeEvent under maxEventBytes at the exact edge, and on events that lack a name. */
import { describe, expect, it } from 'vitest';
import { QueuedEvent, encodeEvent } from '../src/core/wire.js';

const bytes = (text: string) => Buffer.byteLength(text);
const exception = (type: string, message: string, traceback: string) =>
  new QueuedEvent('UNHANDLED_EXCEPTION', 3, 'ERROR', 0, undefined, undefined, { error_type: type, error_message: message, traceback }, undefined);

describe('encodeEvent at maxEventBytes', () => {
  it('sends an exception that fits whole untouched, even with an error_type longer than the 256 bytes a cut would keep', () => {
    const type = 'T'.repeat(600);
    const probe = encodeEvent(exception(type, '', 'trace'), { sessionId: 's' });
    const size = 2000;
    const message = 'm'.repeat(size - bytes(probe));
    const exact = exception(type, message, 'trace');
    const json = encodeEvent(exact, { sessionId: 's', maxEventBytes: size });
    expect(bytes(json)).toBe(size);
    expect(JSON.parse(json)).toMatchObject({ error_type: type, error_message: message, traceback: 'trace' });

    const under = exception(type, message.slice(1), 'trace');
    expect(JSON.parse(encodeEvent(under, { sessionId: 's', maxEventBytes: size }))).toMatchObject({ error_type: type, error_message: message.slice(1) });

    // One byte over, the type is cut to its 256 bytes first.
    const over = exception(type, `${message}m`, 'trace');
    const cut = JSON.parse(encodeEvent(over, { sessionId: 's', maxEventBytes: size })) as { error_type: string };
    expect(bytes(JSON.stringify(cut.error_type))).toBe(258);
    expect(cut.error_type).toMatch(/^T+…\[truncated \d+ chars\]$/);
  });

  it('cuts a GENERIC_EVENT without a name as one named with the empty string', () => {
    const nameless = new QueuedEvent('GENERIC_EVENT', 3, 'INFO', 0, undefined, { blob: 'b'.repeat(5000) }, undefined, undefined);
    const named = new QueuedEvent('GENERIC_EVENT', 3, 'INFO', 0, '', { blob: 'b'.repeat(5000) }, undefined, undefined);
    named.id = nameless.id = '00000000-0000-4000-8000-000000000000';
    const json = encodeEvent(nameless, { sessionId: 's', maxEventBytes: 1024 });
    expect(JSON.parse(json)).toMatchObject({ event_name: '' });
    expect(json).toBe(encodeEvent(named, { sessionId: 's', maxEventBytes: 1024 }));
    expect(nameless.jsonBytes).toBeLessThanOrEqual(1024);
  });
});
