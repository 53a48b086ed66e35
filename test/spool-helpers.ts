/** What the spool tests share: stored bodies, idempotency keys, and a spool on a test directory that owns pid 4242. */
import { SafeLogger } from '../src/host/logger.js';
import type { Log } from '../src/core/ports.js';
import type { SpoolOptions } from '../src/io/spool.js';
import type { recordingLogger } from './helpers.js';

export const KEY_A = '11111111-1111-4111-8111-111111111111';
export const KEY_B = '22222222-2222-4222-8222-222222222222';
export const KEY_C = '33333333-3333-4333-8333-333333333333';
export const KEY_D = '44444444-4444-4444-8444-444444444444';

/** A valid body of `n` events under `session`, indices from `firstIndex`, ids `id-<session>-<index>`. */
export function storedBody(n: number, session = 's-1', firstIndex = 0): string {
  const events = Array.from({ length: n }, (_, i) => ({
    event: 'GENERIC_EVENT',
    event_id: `id-${session}-${firstIndex + i}`,
    event_session_index: firstIndex + i,
    severity: 'INFO',
    timestamp: '2026-01-02T03:04:05.678Z',
    event_name: 'e',
    event_data: {},
  }));
  return JSON.stringify({ session_id: session, platform: 'unix/linux', sdk_version: '0.1.0', process_uuid: 'p', events });
}

/** Options of a spool in `dir` for pid 4242 (the only live pid), 1 MiB, logging to `log`, recording evictions in `evicted`. */
export function testSpoolOptions(dir: string, log: ReturnType<typeof recordingLogger>, now: () => number, evicted: number[]): SpoolOptions {
  return {
    dir,
    maxSpoolBytes: 1 << 20,
    logger: new SafeLogger(log.logger, {}),
    now,
    onEvicted: (events) => evicted.push(events),
    pid: 4242,
    isAlive: (pid) => pid === 4242,
  };
}

/** A `Log` over `log` that also records the key of each `warnOnce` call, said or not. */
export function keyRecordingLog(log: ReturnType<typeof recordingLogger>): { logger: Log; keys: string[] } {
  const safe = new SafeLogger(log.logger, {});
  const keys: string[] = [];
  const logger: Log = {
    warn: (obj, msg) => safe.warn(obj, msg),
    info: (obj, msg) => safe.info(obj, msg),
    error: (obj, msg) => safe.error(obj, msg),
    debug: (obj, msg) => safe.debug(obj, msg),
    warnOnce: (key, obj, msg) => {
      keys.push(key);
      safe.warnOnce(key, obj, msg);
    },
    rearm: (key) => safe.rearm(key),
  };
  return { logger, keys };
}
