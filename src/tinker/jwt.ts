/**
 * The JWT the server issues for the key when `pjwt_auth_enabled`: read its
 * expiry, and keep it fresh. As in the Python SDK, a background refresh
 * runs 300 s before `exp`, a request finding 60 s or less left refreshes it
 * first, and a failed refresh keeps the old token and tries again 60 s
 * later. The JWT's signature is not verified: it came from the server.
 */
import type { Clock } from '../core/clock.js';
import type { Log } from '../core/ports.js';
import type { Credentials } from './credentials.js';
import { unrefTimeout } from './wait.js';

/** The background refresh runs this long before `exp`: 300 s. */
export const REFRESH_BEFORE_EXPIRY_MS = 300_000;
/** A request refreshes the JWT first when this long or less is left: 60 s. */
export const REFRESH_ON_DEMAND_MS = 60_000;
/** A failed refresh (or a JWT without a readable `exp`) is tried again after this long: 60 s. */
export const REFRESH_RETRY_MS = 60_000;
/**
 * Refreshes are at least this far apart: 10 s. The Python SDK has no floor,
 * so a JWT that lives less than 300 s, or a clock running ahead of the
 * server's, would have it ask for a new token in a tight loop.
 */
export const MIN_REFRESH_INTERVAL_MS = 10_000;
/**
 * The longest timer the refresh arms: 2³¹ − 1 ms (about 24.8 days). Node
 * turns a longer delay into 1 ms, so a JWT living a month would be refreshed
 * in a tight loop; a longer wait is a chain of timers of at most this long.
 */
export const MAX_TIMER_DELAY_MS = 2 ** 31 - 1;
/**
 * An `exp` further ahead than this is not believed, and the JWT is treated as
 * one without a readable `exp` (refreshed every 60 s): 365 days.
 */
export const MAX_JWT_LIFETIME_MS = 365 * 86_400_000;

/** The `exp` claim of a JWT in epoch ms, or undefined when the payload or the claim cannot be read. */
export function jwtExpiresAtMs(jwt: string): number | undefined {
  const payload = jwt.split('.')[1];
  let exp: unknown;
  try {
    // Each unreadable payload throws here: none (Buffer.from refuses undefined), an empty or
    // non-JSON one (JSON.parse), JSON null (the property read). A number, string or array has no `exp`.
    exp = (JSON.parse(Buffer.from(payload as string, 'base64url').toString('utf8')) as { exp?: unknown }).exp;
  } catch {
    // No readable `exp`.
  }
  // Number.isFinite is false for every non-number, and for the Infinity of an overflowing `1e400`.
  return Number.isFinite(exp) ? (exp as number) * 1000 : undefined;
}

/**
 * Keeps `credentials` holding a fresh JWT; `exchange` fetches a new one
 * (rejecting on failure) and gives up when its signal aborts, which `close()` does.
 */
export class JwtRefresher {
  readonly #credentials: Credentials;
  readonly #exchange: (signal: AbortSignal) => Promise<string>;
  /** Aborted by `close()`, so a refresh in flight does not outlive it. */
  readonly #closing = new AbortController();
  readonly #clock: Clock;
  readonly #log: Log;
  #timer: unknown;
  #refreshing: Promise<void> | undefined;
  /** No on-demand refresh before this clock time: 10 s after a refresh, 60 s after a failed one, so requests do not each ask again. */
  #quietUntilMs = -Infinity;
  #closed = false;

  constructor(options: { credentials: Credentials; exchange: (signal: AbortSignal) => Promise<string>; clock: Clock; log: Log }) {
    this.#credentials = options.credentials;
    this.#exchange = options.exchange;
    this.#clock = options.clock;
    this.#log = options.log;
  }

  /** Starts using `jwt` and schedules its refresh. */
  adopt(jwt: string): void {
    this.#credentials.useJwt(jwt);
    const expiresAtMs = this.#expiresAtMs(jwt);
    if (expiresAtMs === undefined) this.#log.debug({}, 'Tinker JWT has no readable expiry within a year; refreshing it every 60 s');
    this.#schedule(
      expiresAtMs === undefined ? REFRESH_RETRY_MS : Math.max(MIN_REFRESH_INTERVAL_MS, expiresAtMs - REFRESH_BEFORE_EXPIRY_MS - this.#clock.now()),
    );
  }

  /** Refreshes the JWT first when 60 s or less are left (and no failure is recent); resolves either way. */
  async fresh(): Promise<void> {
    const jwt = this.#credentials.jwt;
    if (jwt === undefined || this.#closed) return;
    const expiresAtMs = this.#expiresAtMs(jwt);
    const now = this.#clock.now();
    if (expiresAtMs === undefined || expiresAtMs - now > REFRESH_ON_DEMAND_MS || now < this.#quietUntilMs) return;
    await this.#refresh();
  }

  /** Stops the refresh timer and aborts a refresh in flight; idempotent. */
  close(): void {
    this.#closed = true;
    this.#closing.abort();
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /** One refresh at a time: the background timer and on-demand callers share it. */
  #refresh(): Promise<void> {
    this.#refreshing ??= this.#exchange(this.#closing.signal)
      .then(
        (jwt) => {
          this.#quietUntilMs = this.#clock.now() + MIN_REFRESH_INTERVAL_MS;
          if (!this.#closed) this.adopt(jwt);
        },
        (error: unknown) => {
          // Aborted by close(): nothing failed, and nothing is left to schedule.
          if (this.#closed) return;
          this.#quietUntilMs = this.#clock.now() + REFRESH_RETRY_MS;
          // Only the message, redacted once more: the error object itself is never logged.
          const reason = this.#credentials.redactCut(error instanceof Error ? error.message : 'unknown failure', 300);
          this.#log.warn({ reason }, 'Tinker JWT refresh failed; keeping the current token and trying again in 60 s');
          this.#schedule(REFRESH_RETRY_MS);
        },
      )
      .finally(() => {
        this.#refreshing = undefined;
      });
    return this.#refreshing;
  }

  /** `exp` in epoch ms, or undefined when it cannot be read or lies more than `MAX_JWT_LIFETIME_MS` ahead. */
  #expiresAtMs(jwt: string): number | undefined {
    const expiresAtMs = jwtExpiresAtMs(jwt);
    return expiresAtMs !== undefined && expiresAtMs - this.#clock.now() <= MAX_JWT_LIFETIME_MS ? expiresAtMs : undefined;
  }

  /** Refreshes `delayMs` from now, through as many timers of at most `MAX_TIMER_DELAY_MS` as that takes. */
  #schedule(delayMs: number): void {
    this.#arm(this.#clock.now() + delayMs);
  }

  #arm(refreshAtMs: number): void {
    if (this.#closed) return;
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    const delayMs = Math.max(0, refreshAtMs - this.#clock.now());
    const capped = delayMs > MAX_TIMER_DELAY_MS;
    this.#timer = unrefTimeout(
      this.#clock,
      () => {
        this.#timer = undefined;
        // A capped timer only brings the refresh nearer: arm the rest of the wait.
        if (capped) this.#arm(refreshAtMs);
        else void this.#refresh();
      },
      capped ? MAX_TIMER_DELAY_MS : delayMs,
    );
  }
}
