/**
 * What `true` means: `stop()` and `waitUntilDrained()` resolve true when
 * drained (every event has an outcome, a counted drop included), not when
 * delivered; only `flush({ sync: true })` says delivered; and the counters of
 * `stats()` tell the two apart, as docs/reporter.md shows.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { SendResult } from '../src/core/ports.js';
import { startTestReporter } from './helpers.js';

const ok: SendResult = { kind: 'ok', status: 200 };
const rejected: SendResult = { kind: 'rejected', status: 400 };

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('true from the waiting methods', () => {
  it('from stop() and waitUntilDrained() means drained: true though the server rejected every event', async () => {
    const { reporter } = startTestReporter({}, () => rejected);
    reporter.log('a');
    expect(await reporter.waitUntilDrained()).toBe(true);
    reporter.log('b');
    expect(await reporter.stop()).toBe(true);
    expect(reporter.stats()).toMatchObject({ pushCounter: 4, flushCounter: 4, deliveredCounter: 0, dropped: { rejected: 4 } });
  });

  it('from flush({ sync: true }) means delivered: false when an event before the call was rejected, true when all were delivered', async () => {
    const { reporter } = startTestReporter({}, (_body, n) => (n === 1 ? rejected : ok));
    reporter.log('a');
    expect(await reporter.flush({ sync: true })).toBe(false);
    reporter.log('b');
    expect(await reporter.flush({ sync: true })).toBe(true);
    expect(await reporter.stop()).toBe(true);
  });

  it('leaves delivery to the counters: deliveredCounter equals pushCounter only when nothing was dropped', async () => {
    const { reporter, wire } = startTestReporter({}, (_body, n) => (n === 1 ? rejected : undefined));
    reporter.log('a');
    await reporter.waitUntilDrained();
    reporter.log('b');
    wire.answerAll(ok);
    expect(await reporter.stop()).toBe(true);
    const { pushCounter, deliveredCounter, dropped } = reporter.stats();
    expect({ pushCounter, deliveredCounter, rejected: dropped.rejected }).toEqual({ pushCounter: 4, deliveredCounter: 2, rejected: 2 });

    const clean = startTestReporter({}, () => ok).reporter;
    clean.log('a');
    expect(await clean.stop()).toBe(true);
    expect(clean.stats().deliveredCounter).toBe(clean.stats().pushCounter);
  });
});
