/** Queue states: the wire mapping, de-duplication of (state, reason) pairs, and the paused warning's rate limit. */
import { describe, expect, it } from 'vitest';
import { SafeLogger } from '../src/host/logger.js';
import { PausedWarnings, QueueStateTracker, toQueueReason, toQueueState } from '../src/tinker/queue-state.js';
import { recordingLogger } from './helpers.js';

describe('toQueueState', () => {
  it('maps the three wire values exactly and everything else to unknown', () => {
    expect(['active', 'paused_rate_limit', 'paused_capacity'].map(toQueueState)).toEqual(['active', 'paused_rate_limit', 'paused_capacity']);
    for (const value of ['ACTIVE', ' active', 'paused', '', null, undefined, 3]) expect(toQueueState(value)).toBe('unknown');
  });
  it('keeps a reason only when it is a non-empty string', () => {
    expect(toQueueReason('busy')).toBe('busy');
    for (const value of ['', null, undefined, 1]) expect(toQueueReason(value)).toBeUndefined();
  });
});

describe('QueueStateTracker', () => {
  it('reports the first state without from, then only changes of the (state, reason) pair', () => {
    const tracker = new QueueStateTracker();
    expect(tracker.observe('active', undefined)).toEqual({ to: 'active' });
    expect(tracker.observe('active', undefined)).toBeUndefined();
    expect(tracker.observe('paused_capacity', 'full')).toEqual({ from: 'active', to: 'paused_capacity', reason: 'full' });
    expect(tracker.observe('paused_capacity', 'full')).toBeUndefined();
    expect(tracker.observe('paused_capacity', 'fuller')).toEqual({ from: 'paused_capacity', to: 'paused_capacity', reason: 'fuller' });
    expect(tracker.observe('paused_capacity', undefined)).toEqual({ from: 'paused_capacity', to: 'paused_capacity' });
    expect(tracker.observe('active', undefined)).toEqual({ from: 'paused_capacity', to: 'active' });
  });
});

describe('PausedWarnings', () => {
  const setup = () => {
    const logged = recordingLogger();
    return { warnings: new PausedWarnings(new SafeLogger(logged.logger, {})), logged };
  };

  it('warns about a paused state at most once a minute per request type, and never about active or unknown', () => {
    const { warnings, logged } = setup();
    warnings.observe('Sample', 'r1', 'active', undefined, 0);
    warnings.observe('Sample', 'r1', 'unknown', undefined, 0);
    warnings.observe('Sample', 'r1', 'paused_capacity', undefined, 0);
    warnings.observe('Sample', 'r2', 'paused_rate_limit', undefined, 59_999);
    warnings.observe('OptimStep', 'r3', 'paused_rate_limit', 'quota', 30_000);
    warnings.observe('Sample', 'r2', 'paused_rate_limit', undefined, 60_000);
    expect(logged.records.map((r) => [r.level, r.msg])).toEqual([
      ['warn', 'Tinker Sample request r1 is paused. Reason: Tinker backend is running short on capacity, please wait.'],
      ['warn', 'Tinker OptimStep request r3 is paused. Reason: quota.'],
      ['warn', 'Tinker Sample request r2 is paused. Reason: concurrent training clients rate limit hit.'],
    ]);
    expect(logged.records[1]?.obj).toMatchObject({ requestType: 'OptimStep', requestId: 'r3', queueState: 'paused_rate_limit', reason: 'quota' });
  });
});
