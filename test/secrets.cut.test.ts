/**
 * A key that straddles a cut leaves no fragment anywhere: an exception
 * message longer than 4 096 characters with the key across that cut, logged
 * through a reporter, reaches no request body, log record, spool file or
 * `stats()` in part.
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createConfig } from '../src/config.js';
import { startTestReporter } from './helpers.js';

const KEY = 'tml-SECRET-7f3a9c1e5b2d4f6a8c0e';
/** Characters of an exception message kept before its cut. */
const MAX_TEXT = 4096;

/** Every 8-character piece of the key: none may appear anywhere. */
const FRAGMENTS = Array.from({ length: KEY.length - 7 }, (_, i) => KEY.slice(i, i + 8));
const leaked = (text: string) => FRAGMENTS.filter((fragment) => text.includes(fragment));

let dir: string;
beforeEach(() => {
  vi.useFakeTimers({ now: new Date('2026-01-02T03:04:05.678Z') });
  dir = mkdtempSync(join(tmpdir(), 'secrets-cut-'));
});
afterEach(() => {
  vi.useRealTimers();
  rmSync(dir, { recursive: true, force: true });
});

describe('a key across the cut of an exception message', () => {
  it('leaves no fragment in request bodies, log records, spool files or stats, for an exception and a user error', async () => {
    // The key starts 12 characters before the cut, so a cut before redaction would keep `tml-SECRET-7`.
    const message = `${'m'.repeat(MAX_TEXT - 12)}${KEY}${'t'.repeat(100)}`;
    const { reporter, wire, log } = startTestReporter({ config: createConfig({ apiKey: KEY, baseUrl: 'http://127.0.0.1:9' }), spoolDir: dir, maxBatchSize: 2 });
    const spool = () =>
      readdirSync(dir)
        .map((file) => readFileSync(join(dir, file), 'utf8'))
        .join('\n');
    reporter.logException(new Error(message));
    reporter.logException(Object.assign(new Error(message), { status: 401, body: message }));
    await vi.advanceTimersByTimeAsync(0);
    // Mid-session: the journal holds both events, a claimed batch file the one in flight.
    const during = spool();
    const stopped = reporter.stop(50);
    await vi.advanceTimersByTimeAsync(50);
    expect(await stopped).toBe(false);
    const after = spool();
    const bodies = wire.sent.map((body) => JSON.stringify(body)).join('\n');

    expect(leaked(bodies)).toEqual([]);
    expect(leaked(during)).toEqual([]);
    expect(leaked(after)).toEqual([]);
    expect(leaked(log.text())).toEqual([]);
    expect(leaked(JSON.stringify(reporter.stats()))).toEqual([]);
    // The texts searched hold what was cut: the exception in flight and journaled, the user error spooled at the deadline.
    const redacted = `${'m'.repeat(MAX_TEXT - 12)}[redacted]…`;
    expect(bodies).toContain(`"error_message":"${redacted}"`);
    expect(during).toContain(`"error_message":"${redacted}"`);
    expect(after).toContain(`"message":"${redacted}","status_code":401,"body":"${redacted}"`);
    expect(reporter.stats().spooled).toBeGreaterThan(0);
  });
});
