import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { int32Chars, numberChars } from '../src/core/json-length.js';
import { fcRuns } from './fc-runs.js';

const seed = Number(process.env.FC_SEED ?? Date.now() % 2 ** 31);
console.log(`json-length FC_SEED=${seed}`);

describe('numberChars', () => {
  it.each([
    [0, 1],
    [-0, 1],
    [7, 1],
    [-7, 2],
    [10, 2],
    [99, 2],
    [100, 3],
    [2_147_483_647, 10],
    [-2_147_483_648, 11],
    [2 ** 31, 10],
    [Number.MAX_SAFE_INTEGER, 16],
    [-Number.MAX_SAFE_INTEGER, 17],
    [2 ** 53 + 2, 16],
    [1e21, 5],
    [1.5e300, 8],
    [0.25, 4],
    [-0.5, 4],
    [3e-4, 6],
    [1.1, 3],
    [123_456.5, 8],
    [1e-6, 8],
    [0.000123, 8],
    [5e-324, 6],
    [1e-7, 4],
    [0.1, 3],
    [0.09, 4],
    [0.01, 4],
    [0.00001, 7],
    [0.0000099, 9],
    [9.5, 3],
    [10.5, 4],
    [99.5, 4],
    [100.25, 6],
    [-99_999_999_999_999.5, 17],
  ])('counts %d exactly as its JSON', (value, chars) => {
    expect(numberChars(value)).toBe(chars);
    expect(JSON.stringify(value).length).toBe(chars);
  });

  it('counts a number of up to 15 significant digits exactly', () => {
    const upTo15 = fc
      .tuple(fc.integer({ min: -(10 ** 15) + 1, max: 10 ** 15 - 1 }), fc.integer({ min: 0, max: 20 }))
      .map(([digits, point]) => digits / 10 ** point);
    fc.assert(
      fc.property(
        upTo15.filter((value) => Math.abs(value) >= 1e-6),
        (value) => {
          expect(numberChars(value)).toBe(JSON.stringify(value).length);
        },
      ),
      { seed, numRuns: fcRuns(2000) },
    );
  });

  it('counts any other number at most 1 over its JSON, and never under', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.double({ noNaN: true, noDefaultInfinity: true }),
          fc.double({ min: -1e6, max: 1e6, noNaN: true }),
          fc.integer().map((n) => n / 7),
        ),
        (value) => {
          const over = numberChars(value) - JSON.stringify(value).length;
          expect(over).toBeGreaterThanOrEqual(0);
          expect(over).toBeLessThanOrEqual(1);
        },
      ),
      { seed, numRuns: fcRuns(2000) },
    );
    // 17 significant digits are counted exactly, 16 one over.
    expect(numberChars(0.1 + 0.2)).toBe('0.30000000000000004'.length);
    expect(numberChars(0.1 + 0.7)).toBe('0.7999999999999999'.length + 1);
  });

  it('counts the zeros after the point of a number under 0.1 with 16 or 17 significant digits, never under', () => {
    // 17 significant digits after five zeros, counted exactly; 16 after one or three, one over.
    expect(numberChars(1e-5 / 3)).toBe('0.0000033333333333333337'.length);
    expect(numberChars(-1e-5 / 3)).toBe('-0.0000033333333333333337'.length);
    expect(numberChars(1 / 30)).toBe('0.03333333333333333'.length + 1);
    expect(numberChars(0.001 / 3)).toBe('0.0003333333333333333'.length + 1);
  });
});

describe('int32Chars', () => {
  it('counts every power of ten and the integer just under it, of both signs, and the 32-bit extremes', () => {
    for (let exponent = 0; exponent <= 9; exponent++) {
      for (const value of [10 ** exponent, 10 ** exponent - 1, -(10 ** exponent), 1 - 10 ** exponent]) {
        expect([value, int32Chars(value)]).toEqual([value, String(value).length]);
      }
    }
    expect(int32Chars(2_147_483_647)).toBe(10);
    expect(int32Chars(-2_147_483_648)).toBe(11);
  });
});
