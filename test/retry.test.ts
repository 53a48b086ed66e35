import { describe, expect, it } from 'vitest';
import { MAX_RETRY_AFTER_MS, backoffDelayMs, classifyStatus, parseRetryAfter, retryDelayMs } from '../src/core/retry.js';

describe('retry policy', () => {
  it.each([
    [1, 1000, 1100],
    [2, 2000, 2200],
    [3, 4000, 4400],
    [4, 8000, 8800],
  ])('backs off retry %i between %i and %i ms for a 1 s base', (retry, low, high) => {
    expect(backoffDelayMs(retry, 1000, () => 0)).toBe(low);
    const top = backoffDelayMs(retry, 1000, () => 0.999_999);
    expect(top).toBeLessThanOrEqual(high);
    expect(top).toBeGreaterThan(high - 2);
  });

  it('keeps the jitter in bounds even for a random source out of [0, 1)', () => {
    expect(backoffDelayMs(1, 1000, () => 5)).toBeLessThanOrEqual(1100);
    expect(backoffDelayMs(1, 1000, () => -5)).toBe(1000);
  });

  it('reads Retry-After seconds, decimals, and HTTP dates relative to now', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(parseRetryAfter('2', now)).toBe(2000);
    expect(parseRetryAfter(' 1.5 ', now)).toBe(1500);
    expect(parseRetryAfter('Thu, 01 Jan 2026 00:00:30 GMT', now)).toBe(30_000);
    expect(parseRetryAfter('Wed, 31 Dec 2025 23:00:00 GMT', now)).toBe(0);
  });

  it('caps Retry-After at 60 s', () => {
    expect(parseRetryAfter('3600', 0)).toBe(MAX_RETRY_AFTER_MS);
    expect(parseRetryAfter('Fri, 01 Jan 2100 00:00:00 GMT', 0)).toBe(MAX_RETRY_AFTER_MS);
  });

  it.each([undefined, '', '   ', '-1', 'soon', '12abc', '1e3', 'NaN'])('rejects the Retry-After value %j', (value) => {
    expect(parseRetryAfter(value, 0)).toBeUndefined();
  });

  it('waits for Retry-After only when it is longer than the backoff', () => {
    expect(retryDelayMs(1, 100, 3000, () => 0)).toBe(3000);
    expect(retryDelayMs(3, 1000, 500, () => 0)).toBe(4000);
    expect(retryDelayMs(1, 100, undefined, () => 0)).toBe(100);
  });

  it('keeps the backoff when Retry-After is only as long', () => {
    // Equal waits are the same number but for the sign of a zero: a −0 Retry-After against a 0 backoff shows which one is kept.
    expect(retryDelayMs(1, 0, -0, () => 0)).toBe(0);
  });

  it.each([
    [200, 'ok'],
    [204, 'ok'],
    [301, 'rejected'],
    [400, 'rejected'],
    [401, 'rejected'],
    [404, 'rejected'],
    [408, 'retryable'],
    [413, 'too_large'],
    [422, 'rejected'],
    [429, 'retryable'],
    [500, 'retryable'],
    [503, 'retryable'],
  ])('classifies HTTP %i as %s', (status, kind) => {
    expect(classifyStatus(status)).toBe(kind);
  });
});

describe('Retry-After edge cases', () => {
  it('reads every decimal digit of a delay in seconds', () => {
    expect(parseRetryAfter('1.25', 0)).toBe(1250);
    expect(parseRetryAfter('0.001', 0)).toBe(1);
  });

  it('accepts only HTTP dates, not ISO-8601 timestamps', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(parseRetryAfter('2026-01-01T00:00:30Z', now)).toBeUndefined();
    expect(parseRetryAfter('2026-01-01', now)).toBeUndefined();
    expect(parseRetryAfter('Thu, 01 Jan 2026 00:00:30 GMT', now)).toBe(30_000);
  });
});

describe('status classification boundaries', () => {
  it.each([
    [100, 'rejected'],
    [199, 'rejected'],
    [299, 'ok'],
    [300, 'rejected'],
    [599, 'retryable'],
    [600, 'rejected'],
  ])('classifies HTTP %i as %s', (status, kind) => {
    expect(classifyStatus(status)).toBe(kind);
  });
});
