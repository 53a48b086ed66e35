/**
 * The JWTs the fake issues at `auth/token`: JWT-shaped (three base64url parts,
 * starting `eyJ`), with `iat` and `exp` claims in epoch seconds and a random
 * signature nobody checks. The fake accepts each one it issued as `X-API-Key`
 * until its `exp`.
 */
import { randomBytes } from 'node:crypto';

const base64url = (value: object | Buffer): string => (Buffer.isBuffer(value) ? value : Buffer.from(JSON.stringify(value))).toString('base64url');

/** The JWTs one fake issued. */
export class JwtIssuer {
  private readonly expiries = new Map<string, { index: number; expMs: number }>();

  /** How many JWTs were issued. */
  get issued(): number {
    return this.expiries.size;
  }

  /** A new JWT valid from `nowMs` for `ttlMs` milliseconds (`exp` is rounded down to whole seconds). */
  issue(nowMs: number, ttlMs: number): { jwt: string; expSec: number } {
    const index = this.expiries.size;
    const iat = Math.floor(nowMs / 1000);
    const expSec = Math.floor((nowMs + ttlMs) / 1000);
    const jwt = [
      base64url({ alg: 'HS256', typ: 'JWT' }),
      base64url({ sub: 'fake-tinker', iat, exp: expSec, jti: `fake-jwt-${index}` }),
      base64url(randomBytes(32)),
    ].join('.');
    this.expiries.set(jwt, { index, expMs: expSec * 1000 });
    return { jwt, expSec };
  }

  /** Whether `token` is a JWT this issuer made, and whether it is expired at `nowMs`; undefined when it is not one. */
  check(token: string, nowMs: number): { index: number; expired: boolean } | undefined {
    const entry = this.expiries.get(token);
    return entry === undefined ? undefined : { index: entry.index, expired: nowMs >= entry.expMs };
  }
}
