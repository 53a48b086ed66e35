import { describe, expect, it } from 'vitest';
import { describeException, findUserError } from '../src/core/exception.js';

/** Characters of a message or body string that are kept. */
const MAX_TEXT = 4096;
/** Links of a cause chain that are followed. */
const MAX_CAUSES = 16;

/** `tip` at the end of a chain of `hops` plain objects linked by `cause`. */
function behind(hops: number, tip: object): object {
  let link = tip;
  for (let i = 0; i < hops; i++) link = { cause: link };
  return link;
}

describe('describeException error_type', () => {
  it('falls back to a string `name` property when the value has no constructor', () => {
    const named = Object.assign(Object.create(null) as object, { name: 'Custom' });
    expect(describeException(named, '').error_type).toBe('Custom');
  });

  it.each([
    ['an empty name', ''],
    ['a non-string name', 42],
    ['no name', undefined],
  ])('writes "Object" for a value without a constructor and %s', (_case, name) => {
    const value = Object.assign(Object.create(null) as object, name === undefined ? {} : { name });
    expect(describeException(value, '').error_type).toBe('Object');
  });

  it('ignores a constructor whose name is empty or not a string', () => {
    const anonymous = (() => class {})();
    expect(anonymous.name).toBe('');
    const oddlyNamed = Object.defineProperty(class {}, 'name', { value: ['Odd'] });
    expect(describeException(new anonymous(), '').error_type).toBe('Object');
    expect(describeException(new oddlyNamed(), '').error_type).toBe('Object');
    expect(describeException(Object.assign(new anonymous(), { name: 'Named' }), '').error_type).toBe('Named');
  });
});

describe('describeException error_message', () => {
  it('writes "" for an Error whose message is missing or throws when read', () => {
    const missing = Object.defineProperty(new Error('x'), 'message', { value: undefined });
    const throwing = Object.defineProperty(new Error('x'), 'message', {
      get() {
        throw new Error('no');
      },
    });
    expect(describeException(missing, '').error_message).toBe('');
    expect(describeException(throwing, '').error_message).toBe('');
  });

  it('writes the string form of an Error message that is not a string', () => {
    const numeric = Object.defineProperty(new Error('x'), 'message', { value: 42 });
    expect(describeException(numeric, '').error_message).toBe('42');
  });

  it('writes "[unreadable]" when the message cannot be turned into a string', () => {
    const unprintable = Object.defineProperty(new Error('x'), 'message', { value: Object.create(null) });
    expect(describeException(unprintable, '').error_message).toBe('[unreadable]');
  });

  it('writes a thrown function as its source text', () => {
    const thrown = Object.assign(
      function thrower() {
        return 1;
      },
      { message: 'not used' },
    );
    const fields = describeException(thrown, '');
    expect(fields.error_type).toBe('function');
    expect(fields.error_message).toBe(String(thrown));
  });

  it('keeps a message of exactly 4096 characters and cuts a longer one with …', () => {
    const exact = 'm'.repeat(MAX_TEXT);
    expect(describeException(new Error(exact), '').error_message).toBe(exact);
    expect(describeException(new Error(`${exact}x`), '').error_message).toBe(`${exact}…`);
    expect(describeException(`${exact}xy`, '').error_message).toBe(`${exact}…`);
  });
});

describe('describeException traceback', () => {
  it('joins the stack and each cause, one per line', () => {
    const value = { stack: 'Top: one\n    at a', cause: { stack: 'Middle: two', cause: { message: 'three' } } };
    expect(describeException(value, '').traceback).toBe('Top: one\n    at a\nCaused by: Middle: two\nCaused by: Object: three');
  });

  it('leaves traceback out when the stack is empty or not a string', () => {
    expect(describeException(Object.assign(new Error('x'), { stack: '' }), '')).not.toHaveProperty('traceback');
    expect(describeException({ stack: 42 }, '')).not.toHaveProperty('traceback');
  });

  it('describes a cause by type and message when its stack is empty', () => {
    const value = { stack: 'Top', cause: Object.assign(new RangeError('low'), { stack: '' }) };
    expect(describeException(value, '').traceback).toBe('Top\nCaused by: RangeError: low');
  });

  it('marks an error that is its own cause as [Circular] right away', () => {
    const self = new Error('self');
    self.stack = 'Error: self';
    (self as { cause?: unknown }).cause = self;
    expect(describeException(self, '').traceback).toBe('Error: self\nCaused by: [Circular]');
  });

  it('follows at most 16 causes', () => {
    const chain = (causes: number) => {
      let link: Record<string, unknown> = { stack: `S${causes}` };
      for (let i = causes - 1; i >= 0; i--) link = { stack: `S${i}`, cause: link };
      return link;
    };
    const expected = ['S0', ...Array.from({ length: MAX_CAUSES }, (_, i) => `Caused by: S${i + 1}`)].join('\n');
    expect(describeException(chain(MAX_CAUSES), '').traceback).toBe(expected);
    expect(describeException(chain(MAX_CAUSES + 1), '').traceback).toBe(expected);
  });
  it('stops once the entries fill 65 536 characters, the last one cut with …, and ends with the limit marker', () => {
    const stack = (i: number) => String(i % 10).repeat(8192);
    let link: Record<string, unknown> = { stack: stack(MAX_CAUSES) };
    for (let i = MAX_CAUSES - 1; i >= 0; i--) link = { stack: stack(i), cause: link };
    const traceback = describeException(link, '').traceback as string;
    // 8192 for the stack, then 8203 + 1 per cause: the eighth entry gets the 8107 characters left after its label and …
    const lines = traceback.split('\n');
    expect(lines.map((line) => line.length)).toEqual([8192, 8203, 8203, 8203, 8203, 8203, 8203, 8119, 26]);
    expect(lines[7]).toBe(`Caused by: ${'7'.repeat(8107)}…`);
    expect(lines[8]).toBe('…[traceback limit reached]');
    expect(traceback.length - lines[8]!.length - 1).toBe(65_536);
  });
});

describe('describeException traceback, the entry at the 65 536-character limit', () => {
  const MAX_TRACEBACK = 65_536;
  const LIMIT_MARKER = '…[traceback limit reached]';
  /**
   * A stack of 8000 characters and 7 inner errors of 8000 (each 8007 with its newline and `  [n] `) fill 64 049
   * characters; `last`, the stack of the eighth inner error, then has 1486 left for its entry, 1480 after `  [8] `.
   */
  const ROOM = 1480;
  const lastInner = (last: string) => ({
    stack: 'a'.repeat(8000),
    errors: [...Array.from({ length: 7 }, () => ({ stack: 'f'.repeat(8000) })), { stack: last }],
  });
  const traceback = (value: unknown) => describeException(value, '').traceback as string;

  it('refuses an entry when only its label would fit, and ends with the limit marker', () => {
    // 1428, then 8 causes of 8012 (newline, `Caused by: `, 8000): 65 524, which leaves 11 characters, the label's length.
    let link: Record<string, unknown> = { stack: 'z' };
    for (let i = 0; i < 8; i++) link = { stack: 'f'.repeat(8000), cause: link };
    const lines = traceback({ stack: 'a'.repeat(1428), cause: link }).split('\n');
    expect(lines).toHaveLength(10);
    expect(lines[8]).toBe(`Caused by: ${'f'.repeat(8000)}`);
    expect(lines[9]).toBe(LIMIT_MARKER);
  });

  it('keeps a last text one character shorter than the room whole, and cuts one that fills it, keeping a character for …', () => {
    const shorter = traceback(lastInner('y'.repeat(ROOM - 1)));
    expect(shorter.endsWith(`\n  [8] ${'y'.repeat(ROOM - 1)}`)).toBe(true);
    expect(shorter).toHaveLength(MAX_TRACEBACK - 1);
    const filling = traceback(lastInner('y'.repeat(ROOM)));
    expect(filling.endsWith(`\n  [8] ${'y'.repeat(ROOM - 1)}…`)).toBe(true);
    expect(filling).toHaveLength(MAX_TRACEBACK);
  });

  it('cuts a last entry that its indented lines push past the limit to end exactly at it, with …', () => {
    // Cut to ROOM - 1 characters and …, the text then gains 2 spaces at each of the 739 newlines kept.
    const text = traceback(lastInner('y\n'.repeat(1000)));
    const indented = `  [8] ${'y\n'.repeat(1000).replaceAll('\n', '\n  ')}`;
    expect(text).toHaveLength(MAX_TRACEBACK);
    expect(text.endsWith(`\n${indented.slice(0, 6 + ROOM - 1)}…`)).toBe(true);
  });

  it('keeps whole a last entry that its indented lines make exactly as long as the room left', () => {
    // 1478 characters, not cut, and 2 spaces after the newline: 6 + 1478 + 2 = 1486.
    const stack = `${'y'.repeat(739)}\n${'y'.repeat(738)}`;
    const text = traceback(lastInner(stack));
    expect(text).toHaveLength(MAX_TRACEBACK);
    expect(text.endsWith(`\n  [8] ${'y'.repeat(739)}\n  ${'y'.repeat(738)}`)).toBe(true);
  });
});

describe('findUserError chain', () => {
  it('finds a status 16 causes deep but not 17', () => {
    const tip = () => ({ status: 404, message: 'deep' });
    expect(findUserError(behind(MAX_CAUSES, tip()), '')).toStrictEqual({ error_type: 'Object', message: 'deep', status_code: 404 });
    expect(findUserError(behind(MAX_CAUSES + 1, tip()), '')).toBeUndefined();
  });

  it('leaves body out when there is none', () => {
    expect(findUserError(Object.assign(new Error('no body'), { status: 400 }), '')).toStrictEqual({
      error_type: 'Error',
      message: 'no body',
      status_code: 400,
    });
  });

  it('reads a status carried by a thrown function', () => {
    const thrown = Object.assign(() => undefined, { status: 403 });
    expect(findUserError(thrown, '')).toMatchObject({ error_type: 'function', status_code: 403 });
  });
});

describe('findUserError status', () => {
  it('reads response.status', () => {
    expect(findUserError(Object.assign(new Error('r'), { response: { status: 409 } }), '')?.status_code).toBe(409);
  });

  it.each([
    ['a fractional number', 404.5],
    ['a word', 'abc'],
    ['four digits', '4040'],
    ['digits after a prefix', '1404'],
    ['digits with a suffix', '404x'],
    ['a padded string', ' 404'],
    ['an array that prints as digits', [403]],
  ])('skips %s as `status` and reads the next candidate', (_case, status) => {
    expect(findUserError(Object.assign(new Error('s'), { status, statusCode: 404 }), '')?.status_code).toBe(404);
  });
});

describe('findUserError body', () => {
  const withBody = (body: unknown) => Object.assign(new Error('b'), { status: 422, body });

  it('keeps a body string of exactly 4096 characters and cuts a longer one with …', () => {
    const exact = 'b'.repeat(MAX_TEXT);
    expect(findUserError(withBody(exact), '')?.body).toBe(exact);
    expect(findUserError(withBody(`${exact}c`), '')?.body).toBe(`${exact}…`);
  });

  it('reads the body from response.body', () => {
    expect(findUserError(Object.assign(new Error('b'), { status: 400, response: { body: { field: 'name' } } }), '')?.body).toEqual({ field: 'name' });
  });

  it('never cuts a body that is not a string, even one with a large `length` field', () => {
    expect(findUserError(withBody({ length: MAX_TEXT + 100 }), '')?.body).toEqual({ length: MAX_TEXT + 100 });
  });
});
