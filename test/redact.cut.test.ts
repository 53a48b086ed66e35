import { describe, expect, it } from 'vitest';
import { flat, redactCut } from '../src/core/redact.js';

const KEY = 'tml-0123456789abcdefghijklmnop';

describe('redactCut', () => {
  it('keeps a text within the limit whole, with the key redacted', () => {
    expect(redactCut(`a${KEY}b`, 100, KEY)).toEqual({ kept: 'a[redacted]b', omitted: 0 });
  });

  it('cuts at the limit and counts what it left out', () => {
    expect(redactCut('abcdefghij', 4, KEY)).toEqual({ kept: 'abcd', omitted: 6 });
  });

  it('redacts a key that straddles the cut instead of keeping its head', () => {
    const text = `${'x'.repeat(10)}${KEY}${'y'.repeat(10)}`;
    const { kept, omitted } = redactCut(text, 20, KEY);
    expect(kept).toBe(`${'x'.repeat(10)}[redacted]`);
    expect(omitted).toBe(10);
    expect(kept).not.toContain(KEY.slice(0, 8));
  });

  it('redacts a key that starts exactly at the cut by leaving it out', () => {
    const { kept, omitted } = redactCut(`abcd${KEY}`, 4, KEY);
    expect(kept).toBe('abcd');
    expect(omitted).toBe(KEY.length);
  });

  it('follows a self-overlapping secret past each new cut', () => {
    // "abab" straddles the cut at 3, and once the cut moves to 5 the occurrence at 3 straddles it too.
    expect(redactCut('xabababx', 3, 'abab')).toEqual({ kept: 'x[redacted]ab', omitted: 1 });
  });

  it('changes nothing with an empty secret', () => {
    expect(redactCut('abcdef', 3, '')).toEqual({ kept: 'abc', omitted: 3 });
  });
});

describe('flat', () => {
  it('returns an equal string', () => {
    const parent = 'p'.repeat(1000) + 'q'.repeat(1000);
    expect(flat(parent.slice(500, 1500))).toBe(parent.slice(500, 1500));
    expect(flat('short')).toBe('short');
  });
});

describe('redactCut on a long text', () => {
  it('redacts a key that straddles the cut of a text thousands of times longer than the cut', () => {
    const text = `${'x'.repeat(10)}${KEY}${'y'.repeat(100_000)}`;
    expect(redactCut(text, 20, KEY)).toEqual({ kept: `${'x'.repeat(10)}[redacted]`, omitted: 100_000 });
  });

  it('keeps the cut where it is when the key only appears far past it', () => {
    const text = `${'x'.repeat(50)}${'y'.repeat(1000)}${KEY}`;
    expect(redactCut(text, 50, KEY)).toEqual({ kept: 'x'.repeat(50), omitted: 1000 + KEY.length });
  });

  it('finds a key that starts exactly secret.length − 1 before the cut, and not one that ends at it', () => {
    const straddles = `${'x'.repeat(100 - KEY.length + 1)}${KEY}tail`;
    expect(redactCut(straddles, 100, KEY).kept).toBe(`${'x'.repeat(100 - KEY.length + 1)}[redacted]`);
    const endsAtCut = `${'x'.repeat(100 - KEY.length)}${KEY}tail`;
    expect(redactCut(endsAtCut, 100, KEY)).toEqual({ kept: `${'x'.repeat(100 - KEY.length)}[redacted]`, omitted: 4 });
  });
});
