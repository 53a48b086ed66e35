import { describe, expect, it } from 'vitest';
import { CHANNELS, publish } from '../src/channels.js';
import { attachLogger, detachLogger } from '../src/debug-logger.js';
import { recordingLogger } from './helpers.js';

describe('attachLogger', () => {
  it('logs what is published on tinker channels, warnings for failures, until detached', () => {
    const { logger, records } = recordingLogger();
    const id = attachLogger({ logger });
    publish(CHANNELS.telemetryBatchSent, { sessionId: 's', size: 3, attempt: 0, durationMs: 1, status: 200 });
    publish(CHANNELS.telemetryEventDropped, { sessionId: 's', reason: 'queue_full', count: 1 });
    expect(records.map((r) => [r.level, r.msg])).toEqual([
      ['info', CHANNELS.telemetryBatchSent],
      ['warn', CHANNELS.telemetryEventDropped],
    ]);
    expect(records[0]!.obj).toMatchObject({ component: 'tinker-telemetry', channel: CHANNELS.telemetryBatchSent, size: 3 });
    expect(detachLogger(id)).toBe(true);
    publish(CHANNELS.telemetryBatchSent, { sessionId: 's', size: 1, attempt: 0, durationMs: 1, status: 200 });
    expect(records).toHaveLength(2);
  });

  it('returns false for an unknown id', () => {
    expect(detachLogger('no-such-id')).toBe(false);
  });
});
