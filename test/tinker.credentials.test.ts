/** The credential in use and the redaction of every secret; reading a JWT's expiry. */
import { describe, expect, it } from 'vitest';
import { Credentials } from '../src/tinker/credentials.js';
import { jwtExpiresAtMs } from '../src/tinker/jwt.js';
import { KEY, makeJwt } from './tinker-helpers.js';

describe('Credentials', () => {
  it('sends the key until a JWT is used, then the JWT', () => {
    const credentials = new Credentials(KEY);
    expect(credentials.current).toBe(KEY);
    expect(credentials.jwt).toBeUndefined();
    credentials.useJwt('jwt-1');
    expect(credentials.current).toBe('jwt-1');
    expect(credentials.apiKey).toBe(KEY);
  });

  it('redacts the key, the current JWT and the JWTs before it', () => {
    const credentials = new Credentials(KEY);
    credentials.useJwt('jwt-one-AAAA');
    credentials.useJwt('jwt-two-BBBB');
    expect(credentials.redact(`${KEY} jwt-one-AAAA jwt-two-BBBB`)).toBe('[redacted] [redacted] [redacted]');
  });

  it('forgets only JWTs older than the last four', () => {
    const credentials = new Credentials(KEY);
    for (const n of [1, 2, 3, 4, 5]) credentials.useJwt(`jwt-number-${n}`);
    expect(credentials.redact('jwt-number-1 jwt-number-2 jwt-number-5')).toBe('jwt-number-1 [redacted] [redacted]');
  });

  it('redacts every secret before a cut, so none is left in part', () => {
    const credentials = new Credentials(KEY);
    credentials.useJwt('JWT-0123456789-SECRET');
    const text = `${'x'.repeat(15)}JWT-0123456789-SECRET and ${KEY}`;
    for (const limit of [10, 20, 30, 40, 50]) {
      const cut = credentials.redactCut(text, limit);
      expect(cut).not.toMatch(/JWT-0|0123456789|SECRET/);
    }
    expect(credentials.redactCut('short', 10)).toBe('short');
    expect(credentials.redactCut('0123456789abc', 10)).toBe('0123456789…');
  });

  it('remembers four distinct JWTs when the newest is issued again', () => {
    const credentials = new Credentials(KEY);
    for (const n of [1, 2, 3, 4, 4]) credentials.useJwt(`jwt-number-${n}`);
    expect(credentials.redact('jwt-number-1 jwt-number-4')).toBe('[redacted] [redacted]');
  });

  it('redactCut keeps a key straddling the cut whole as [redacted] rather than cutting the marker', () => {
    const credentials = new Credentials(KEY);
    credentials.useJwt('jwt-number-1');
    expect(credentials.redactCut(`ab${KEY}cd`, 5)).toBe('ab[redacted]…');
  });
});

describe('jwtExpiresAtMs', () => {
  it('reads exp (seconds) from the payload as epoch ms', () => {
    expect(jwtExpiresAtMs(makeJwt(1_800_000_000))).toBe(1_800_000_000_000);
  });
  it('is undefined for a token without a readable numeric exp', () => {
    const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
    for (const token of ['', 'abc', 'a..c', `h.${part({ exp: '1' })}.s`, `h.${part({})}.s`, `h.${part(null)}.s`, 'h.%%%.s', `h.${part(7)}.s`]) {
      expect(jwtExpiresAtMs(token)).toBeUndefined();
    }
  });
});
