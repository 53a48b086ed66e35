/**
 * The one message template of every validation error: how a value is shown,
 * how its type is named, and which known option an unknown one is close to.
 */
import { describe, expect, it } from 'vitest';
import { ERROR_CODES, integerInRange, invalidType, outOfRange, renderValue, unknownOption } from '../src/core/validate.js';

describe('renderValue', () => {
  it('quotes a string as JSON and shows it in full up to 60 characters', () => {
    expect(renderValue('a"b')).toBe('`"a\\"b"`');
    expect(renderValue('x'.repeat(60))).toBe(`\`"${'x'.repeat(60)}"\``);
  });

  it('cuts a string longer than 60 characters to its first 60 and an ellipsis', () => {
    expect(renderValue(`${'y'.repeat(60)}z`)).toBe(`\`"${'y'.repeat(60)}…"\``);
    expect(renderValue(`${'y'.repeat(60)}${'z'.repeat(500)}`)).toBe(`\`"${'y'.repeat(60)}…"\``);
  });

  it('shows functions, arrays and objects by their kind only, never their contents', () => {
    expect(renderValue(() => 'secret')).toBe('`[function]`');
    expect(renderValue(['secret'])).toBe('`[array]`');
    expect(renderValue({ key: 'secret' })).toBe('`[object]`');
    expect(renderValue(new Map())).toBe('`[object]`');
  });

  it('shows symbols, null, undefined, numbers and bigints as their text', () => {
    expect(renderValue(Symbol('tag'))).toBe('`Symbol(tag)`');
    expect(renderValue(null)).toBe('`null`');
    expect(renderValue(undefined)).toBe('`undefined`');
    expect(renderValue(-1.5)).toBe('`-1.5`');
    expect(renderValue(Number.NaN)).toBe('`NaN`');
    expect(renderValue(10n)).toBe('`10`');
    expect(renderValue(false)).toBe('`false`');
  });

  it('hides a secret whatever it is', () => {
    expect(renderValue('sk-live', true)).toBe('`[redacted]`');
    expect(renderValue(42, true)).toBe('`[redacted]`');
  });
});

describe('invalidType and outOfRange', () => {
  it.each([
    [null, 'got `null` (null)'],
    [[1, 2], 'got `[array]` (array)'],
    [{}, 'got `[object]` (object)'],
    [() => undefined, 'got `[function]` (function)'],
    [Symbol('s'), 'got `Symbol(s)` (symbol)'],
    [3n, 'got `3` (bigint)'],
    [undefined, 'got `undefined` (undefined)'],
  ])('names the type of %s in the message', (value, tail) => {
    expect(invalidType('opt', 'a thing', value).message).toBe(`Expected \`opt\` to be a thing, ${tail}`);
  });

  it('gives a TypeError and a RangeError with their stable codes', () => {
    const type = invalidType('opt', 'a boolean', 'yes');
    expect(type).toBeInstanceOf(TypeError);
    expect(type.message).toBe('Expected `opt` to be a boolean, got `"yes"` (string)');
    expect(type).toMatchObject({ code: ERROR_CODES.invalidOption });
    const range = outOfRange('opt', 'an integer ≥ 1', 0);
    expect(range).toBeInstanceOf(RangeError);
    expect(range.message).toBe('Expected `opt` to be an integer ≥ 1, got `0` (number)');
    expect(range).toMatchObject({ code: ERROR_CODES.outOfRange });
  });

  it('hides a secret value but still names its type', () => {
    expect(invalidType('apiKey', 'a string', 42, true).message).toBe('Expected `apiKey` to be a string, got `[redacted]` (number)');
    expect(outOfRange('apiKey', 'a key', 'sk-live', true).message).toBe('Expected `apiKey` to be a key, got `[redacted]` (string)');
  });
});

describe('integerInRange', () => {
  const rangeError = (message: string) => expect.objectContaining({ name: 'RangeError', message });

  it('bounds a number by the longest Node.js timer unless told otherwise', () => {
    expect(integerInRange('n', 0, 0)).toBe(0);
    expect(integerInRange('n', 2 ** 31 - 1, 0)).toBe(2 ** 31 - 1);
    expect(() => integerInRange('n', 2 ** 31, 0)).toThrow(
      rangeError('Expected `n` to be an integer ≥ 0 (at most 2^31−1, the longest Node.js timer), got `2147483648` (number)'),
    );
  });

  it('states both ends of an explicit range, and accepts both ends', () => {
    expect(integerInRange('n', 1, 1, 10)).toBe(1);
    expect(integerInRange('n', 10, 1, 10)).toBe(10);
    expect(() => integerInRange('n', 11, 1, 10)).toThrow(rangeError('Expected `n` to be an integer from 1 to 10, got `11` (number)'));
    expect(() => integerInRange('n', 0, 1, 10)).toThrow(rangeError('Expected `n` to be an integer from 1 to 10, got `0` (number)'));
    expect(() => integerInRange('n', 2.5, 1, 10)).toThrow(rangeError('Expected `n` to be an integer from 1 to 10, got `2.5` (number)'));
  });

  it('refuses a non-number with a TypeError stating the lower bound', () => {
    const thrown = (() => {
      try {
        integerInRange('n', '5', 1, 10);
      } catch (error) {
        return error;
      }
      return undefined;
    })();
    expect(thrown).toBeInstanceOf(TypeError);
    expect((thrown as Error).message).toBe('Expected `n` to be an integer ≥ 1, got `"5"` (string)');
  });
});

describe('unknownOption', () => {
  const suggestionFor = (name: string, known: readonly string[]): string | undefined =>
    /Did you mean `([^`]*)`\?/.exec(unknownOption('f', name, known).message)?.[1];

  it('states the name, the place and every known option, with a stable code', () => {
    const error = unknownOption('startReporter', 'zzzz', ['alpha', 'beta', 'gamma']);
    expect(error).toBeInstanceOf(TypeError);
    expect(error.message).toBe('Unknown option `zzzz` for startReporter. Known options: alpha, beta, gamma');
    expect(error).toMatchObject({ code: ERROR_CODES.unknownOption });
  });

  it('adds a suggestion between the place and the known options', () => {
    expect(unknownOption('createConfig', 'betta', ['alpha', 'beta']).message).toBe(
      'Unknown option `betta` for createConfig. Did you mean `beta`? Known options: alpha, beta',
    );
  });

  it('suggests an option that differs only in case, even after a close one', () => {
    expect(suggestionFor('APIKEY', ['apiKez', 'apiKey'])).toBe('apiKey');
    expect(suggestionFor('apikey', ['apiKey'])).toBe('apiKey');
  });

  it('suggests the first of equally close options', () => {
    expect(suggestionFor('alphc', ['alpha', 'alphb'])).toBe('alpha');
    expect(suggestionFor('alphc', ['alphb', 'alpha'])).toBe('alphb');
  });

  it('prefers the closer option wherever it is listed', () => {
    expect(suggestionFor('maxRetrie', ['maxRetriesX', 'maxRetries'])).toBe('maxRetries');
    expect(suggestionFor('maxRetrie', ['maxRetries', 'maxRetriesX'])).toBe('maxRetries');
  });

  it.each([
    ['one substitution', 'flushThreshold', 'flushThreshald'],
    ['one insertion', 'flushThreshold', 'flushThresshold'],
    ['one deletion', 'flushThreshold', 'flushThrshold'],
    ['two deletions at the end', 'maxRetries', 'maxRetri'],
    ['two insertions at the start', 'events', 'myevents'],
    ['a transposition', 'clock', 'colck'],
    ['two substitutions', 'inspect', 'inspoxt'],
  ])('suggests an option two edits away or less: %s', (_what, option, typo) => {
    expect(suggestionFor(typo, ['config', option])).toBe(option);
  });

  it.each([
    ['three deletions at the end', 'abcdef', 'abc'],
    ['three insertions at the end', 'abc', 'abcdef'],
    ['three insertions at the start', 'abc', 'xyzabc'],
    ['three deletions at the start', 'xyzabc', 'abc'],
    ['three substitutions', 'abcdef', 'abcxyz'],
    ['three substitutions at the start', 'xyzdef', 'abcdef'],
    ['nothing in common', 'ab', 'xy z'],
  ])('suggests nothing three edits away or more: %s', (_what, option, typo) => {
    expect(unknownOption('f', typo, [option]).message).toBe(`Unknown option \`${typo}\` for f. Known options: ${option}`);
  });
});
