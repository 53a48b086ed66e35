/** The inner errors of an AggregateError (or any value with an `errors` array) in the traceback: numbered, indented, bounded and safe from cycles. */
import { describe, expect, it } from 'vitest';
import { describeException } from '../src/core/exception.js';

/** Inner errors written per error. */
const MAX_INNER_ERRORS = 8;
/** Entries of one traceback. */
const MAX_ENTRIES = 64;

/** An object with exactly this stack and these extra fields, so tracebacks are exact. */
const withStack = (stack: string, extra: object = {}) => ({ stack, ...extra });
const traceback = (value: unknown, secret = '') => describeException(value, secret).traceback;

describe('describeException traceback with inner errors', () => {
  it('writes each inner error after the stack, numbered from 1, every line indented two spaces', () => {
    const aggregate = new AggregateError(
      [Object.assign(new TypeError('a'), { stack: 'TypeError: a\n    at one' }), Object.assign(new RangeError('b'), { stack: '' }), 'text'],
      'all failed',
    );
    aggregate.stack = 'AggregateError: all failed\n    at main';
    expect(traceback(aggregate)).toBe(
      ['AggregateError: all failed', '    at main', '  [1] TypeError: a', '      at one', '  [2] RangeError: b', '  [3] string: text'].join('\n'),
    );
  });

  it('reads the inner errors of any value with an errors array, and ignores an errors property that is not an array', () => {
    expect(traceback({ stack: 'Top', errors: [{ message: 'first' }] })).toBe('Top\n  [1] Object: first');
    expect(traceback({ stack: 'Top', errors: 'not a list' })).toBe('Top');
    expect(traceback({ stack: 'Top', errors: { 0: 'x', length: 1 } })).toBe('Top');
  });

  it('reads no inner errors of a primitive, even one whose prototype has an errors array', () => {
    Object.defineProperty(String.prototype, 'errors', { value: [withStack('Inherited')], configurable: true });
    try {
      expect(traceback('thrown')).toBeUndefined();
      expect(traceback(withStack('Top', { cause: 'reason' }))).toBe('Top\nCaused by: string: reason');
    } finally {
      delete (String.prototype as { errors?: unknown }).errors;
    }
  });

  it('writes 8 inner errors, then how many more there were', () => {
    const items = (n: number) => Array.from({ length: n }, (_, i) => withStack(`E${i + 1}`));
    const listed = Array.from({ length: MAX_INNER_ERRORS }, (_, i) => `  [${i + 1}] E${i + 1}`);
    expect(traceback(withStack('Top', { errors: items(MAX_INNER_ERRORS) }))).toBe(['Top', ...listed].join('\n'));
    expect(traceback(withStack('Top', { errors: items(MAX_INNER_ERRORS + 1) }))).toBe(['Top', ...listed, '  …1 more errors'].join('\n'));
    expect(traceback(withStack('Top', { errors: items(30) }))).toBe(['Top', ...listed, '  …22 more errors'].join('\n'));
  });

  it('writes an inner error’s own inner errors two spaces deeper, and its causes at its own depth', () => {
    const inner = withStack('Inner', { errors: [withStack('Deep\n    at d')], cause: withStack('Why') });
    expect(traceback(withStack('Top', { errors: [inner, withStack('Next')] }))).toBe(
      ['Top', '  [1] Inner', '    [1] Deep', '        at d', '  Caused by: Why', '  [2] Next'].join('\n'),
    );
  });

  it('writes the inner errors of each link of the cause chain after that link', () => {
    const cause = withStack('Cause', { errors: [withStack('C1')] });
    expect(traceback(withStack('Top', { errors: [withStack('T1')], cause }))).toBe('Top\n  [1] T1\nCaused by: Cause\n  [1] C1');
  });

  it('writes the inner errors of a thrown value without a stack, under no entry of its own', () => {
    expect(traceback({ errors: [withStack('Only')] })).toBe('  [1] Only');
  });

  it('marks an AggregateError that lists itself, or an error it is reached from, as [Circular]', () => {
    const self = new AggregateError([], 'self');
    self.stack = 'Self';
    self.errors.push(self, withStack('Other'));
    expect(traceback(self)).toBe('Self\n  [1] [Circular]\n  [2] Other');

    const top: Record<string, unknown> = { stack: 'Top' };
    top.cause = withStack('Middle', { errors: [top, withStack('Ok', { cause: top })] });
    expect(traceback(top)).toBe('Top\nCaused by: Middle\n  [1] [Circular]\n  [2] Ok\n  Caused by: [Circular]');
  });

  it('writes an error shared by two inner errors in both places, as it is no cycle', () => {
    const shared = withStack('Shared');
    expect(traceback(withStack('Top', { errors: [withStack('A', { cause: shared }), withStack('B', { cause: shared })] }))).toBe(
      'Top\n  [1] A\n  Caused by: Shared\n  [2] B\n  Caused by: Shared',
    );
  });

  it('writes at most 64 entries, then the limit marker', () => {
    // 8 inner errors of 8 inner errors each: 1 + 8 × 9 = 73 entries; the 65th, the eighth inner error, is left out.
    const nested = withStack('Top', {
      errors: Array.from({ length: 8 }, (_, i) => withStack(`L${i + 1}`, { errors: Array.from({ length: 8 }, (_, j) => withStack(`L${i + 1}.${j + 1}`)) })),
    });
    const lines = (traceback(nested) as string).split('\n');
    expect(lines).toHaveLength(MAX_ENTRIES + 1);
    expect(lines[MAX_ENTRIES - 1]).toBe('    [8] L7.8');
    expect(lines[MAX_ENTRIES]).toBe('…[traceback limit reached]');
    expect(lines).not.toContain('  [8] L8');
  });

  it('never throws on a throwing errors getter, a revoked Proxy or items that throw when read', () => {
    const throwing = Object.defineProperty(withStack('Top'), 'errors', {
      get() {
        throw new Error('no');
      },
    });
    const { proxy, revoke } = Proxy.revocable([], {});
    revoke();
    const items = new Proxy([withStack('A'), withStack('B')], {
      get(target, key) {
        if (key === '1') throw new Error('no');
        return Reflect.get(target, key);
      },
    });
    expect(traceback(throwing)).toBe('Top');
    expect(traceback(withStack('Top', { errors: proxy }))).toBe('Top');
    // An item that cannot be read is described as what reading gave: undefined.
    expect(traceback(withStack('Top', { errors: items }))).toBe('Top\n  [1] A\n  [2] undefined: undefined');
  });

  it('redacts the key from each inner error before its cut', () => {
    const key = 'tml-SECRET-0123456789abcdef';
    const long = `${'m'.repeat(8192 - 5)}${key}`;
    expect(
      traceback(withStack('Top', { errors: [withStack(`Inner ${key}`), new Error(`own stack ${key}`), withStack(long)] }), key)
        ?.split('\n')
        .filter((line) => !line.startsWith('      at ')),
    ).toEqual(['Top', '  [1] Inner [redacted]', '  [2] Error: own stack [redacted]', `  [3] ${'m'.repeat(8192 - 5)}[redacted]`]);
  });

  it('writes the rejections of Promise.any', async () => {
    const rejected = await Promise.any([Promise.reject(new TypeError('first')), Promise.reject(new RangeError('second'))]).catch((error: unknown) => error);
    const text = traceback(rejected) as string;
    expect(text.startsWith('AggregateError: All promises were rejected')).toBe(true);
    expect(text).toMatch(/\n {2}\[1\] TypeError: first\n {6}at /);
    expect(text).toMatch(/\n {2}\[2\] RangeError: second\n {6}at /);
  });
});
