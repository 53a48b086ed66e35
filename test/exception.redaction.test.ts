/**
 * The API key is redacted from every field `describeException` and
 * `findUserError` write before that field is cut, so a key across a cut is
 * replaced whole instead of leaving its head behind.
 */
import { describe, expect, it } from 'vitest';
import { describeException, findUserError } from '../src/core/exception.js';

const KEY = 'tml-SECRET-0123456789abcdef';
/** Characters kept of a message, a type or a body string. */
const MAX_TEXT = 4096;
/** Characters kept of one traceback entry. */
const MAX_STACK = 8192;

/** `length` filler characters, then the key, then a tail: the key starts `length` characters in. */
const keyAt = (length: number, tail = 'tail') => `${'m'.repeat(length)}${KEY}${tail}`;

describe('describeException redacts the key before it cuts', () => {
  it('replaces a key across the 4096-character cut of a message whole, and cuts after it', () => {
    const fields = describeException(new Error(keyAt(MAX_TEXT - 6)), KEY);
    expect(fields.error_message).toBe(`${'m'.repeat(MAX_TEXT - 6)}[redacted]…`);
  });

  it('replaces every key in a message that needs no cut', () => {
    expect(describeException(new Error(`a ${KEY} b ${KEY}`), KEY).error_message).toBe('a [redacted] b [redacted]');
  });

  it('redacts the key from a thrown string and from the JSON of a thrown object', () => {
    expect(describeException(`boom ${KEY}`, KEY).error_message).toBe('boom [redacted]');
    expect(describeException({ token: KEY, [KEY]: 1 }, KEY).error_message).toBe('{"token":"[redacted]","[redacted]":1}');
  });

  it('finds a key that JSON would escape in a thrown object, by redacting before it is written as JSON', () => {
    const quoted = 'tml-"quoted"\\key-0123456789';
    expect(describeException({ token: quoted }, quoted).error_message).toBe('{"token":"[redacted]"}');
  });

  it('redacts error_type, read from a name property, before cutting it at 4096 characters', () => {
    const named = (name: string) => Object.assign(Object.create(null) as object, { name });
    expect(describeException(named(`Key${KEY}Error`), KEY).error_type).toBe('Key[redacted]Error');
    expect(describeException(named(keyAt(MAX_TEXT - 3)), KEY).error_type).toBe(`${'m'.repeat(MAX_TEXT - 3)}[redacted]…`);
    expect(describeException(named('n'.repeat(MAX_TEXT + 1)), KEY).error_type).toBe(`${'n'.repeat(MAX_TEXT)}…`);
  });

  it('replaces a key across the 8192-character cut of a stack whole', () => {
    const error = Object.assign(new Error('x'), { stack: keyAt(MAX_STACK - 1) });
    expect(describeException(error, KEY).traceback).toBe(`${'m'.repeat(MAX_STACK - 1)}[redacted]…`);
  });

  it('keeps a stack of exactly 8192 characters whole and cuts a longer one with …', () => {
    const stack = 's'.repeat(MAX_STACK);
    expect(describeException({ stack }, KEY).traceback).toBe(stack);
    expect(describeException({ stack: `${stack}t` }, KEY).traceback).toBe(`${stack}…`);
  });

  it('redacts the key from each Caused by line, a stack or a type and message, before its cut', () => {
    const cause = { stack: keyAt(MAX_STACK - 20), cause: { name: `N${KEY}`, message: `m ${KEY}` } };
    const lines = describeException({ stack: `Top ${KEY}`, cause }, KEY).traceback?.split('\n');
    expect(lines).toEqual(['Top [redacted]', `Caused by: ${'m'.repeat(MAX_STACK - 20)}[redacted]…`, 'Caused by: Object: m [redacted]']);
  });

  it('redacts nothing without a key', () => {
    expect(describeException(new Error(`a ${KEY}`), '').error_message).toBe(`a ${KEY}`);
  });
});

describe('findUserError redacts the key before it cuts', () => {
  const userError = (message: string, extra: object = {}) => Object.assign(new Error(message), { status: 401 }, extra);

  it('replaces a key across the 4096-character cut of the message whole', () => {
    expect(findUserError(userError(keyAt(MAX_TEXT - 1)), KEY)?.message).toBe(`${'m'.repeat(MAX_TEXT - 1)}[redacted]…`);
  });

  it('replaces a key across the 4096-character cut of a string body whole', () => {
    expect(findUserError(userError('denied', { body: keyAt(MAX_TEXT - 12) }), KEY)?.body).toBe(`${'m'.repeat(MAX_TEXT - 12)}[redacted]…`);
  });

  it('cuts a string body longer than a snapshot keeps at 4096 of its own characters, a key at its head counted at its length', () => {
    // Over the 32 768 characters a snapshot string keeps: cutting a snapshot of it would count the 10 of [redacted] instead.
    const body = `${KEY}${'x'.repeat(40_000)}`;
    expect(findUserError(userError('denied', { body }), KEY)?.body).toBe(`[redacted]${'x'.repeat(MAX_TEXT - KEY.length)}…`);
  });

  it('replaces every key in a string body that needs no cut', () => {
    expect(findUserError(userError('denied', { body: `${KEY} ${KEY}` }), KEY)?.body).toBe('[redacted] [redacted]');
  });

  it('redacts the key from the strings and keys of an object body', () => {
    const body = { detail: `invalid key ${KEY}`, [KEY]: [KEY, 1], nested: { echo: KEY } };
    expect(findUserError(userError('denied', { body }), KEY)?.body).toEqual({
      detail: 'invalid key [redacted]',
      '[redacted]': ['[redacted]', 1],
      nested: { echo: '[redacted]' },
    });
  });

  it('redacts error_type, read from a name property', () => {
    const named = Object.assign(Object.create(null) as object, { name: `E${KEY}`, message: 'm', status: 400 });
    expect(findUserError(named, KEY)?.error_type).toBe('E[redacted]');
  });
});
