import { describe, expect, it } from 'vitest';
import type { Clock } from '../src/clock.js';
import { KeepAliveTimers } from '../src/internal/timers.js';

function fakeHandles() {
  const handles: { refd: boolean; fn: () => void; cleared: boolean }[] = [];
  const clock: Clock = {
    now: () => 0,
    setTimeout: (fn) => {
      const handle = {
        refd: true,
        fn,
        cleared: false,
        ref() {
          handle.refd = true;
          return handle;
        },
        unref() {
          handle.refd = false;
          return handle;
        },
      };
      handles.push(handle);
      return handle;
    },
    clearTimeout: (h) => {
      (h as { cleared: boolean }).cleared = true;
    },
  };
  return { clock, handles };
}

describe('KeepAliveTimers', () => {
  it("unrefs timers so an idle reporter never keeps the process alive", () => {
    const { clock, handles } = fakeHandles();
    const timers = new KeepAliveTimers(clock);
    timers.setTimeout(() => undefined, 10);
    expect(handles[0]!.refd).toBe(false);
  });

  it('refs every live timer while held, and unrefs them after the last release', () => {
    const { clock, handles } = fakeHandles();
    const timers = new KeepAliveTimers(clock);
    timers.setTimeout(() => undefined, 10);
    const releaseA = timers.hold();
    const releaseB = timers.hold();
    timers.setTimeout(() => undefined, 10);
    expect(handles.map((h) => h.refd)).toEqual([true, true]);
    releaseA();
    releaseA();
    expect(handles.map((h) => h.refd)).toEqual([true, true]);
    releaseB();
    expect(handles.map((h) => h.refd)).toEqual([false, false]);
  });

  it('forgets timers that fired or were cleared', () => {
    const { clock, handles } = fakeHandles();
    const timers = new KeepAliveTimers(clock);
    let fired = 0;
    timers.setTimeout(() => fired++, 1);
    const second = timers.setTimeout(() => undefined, 1);
    expect(timers.pending).toBe(2);
    handles[0]!.fn();
    timers.clearTimeout(second);
    expect(fired).toBe(1);
    expect(timers.pending).toBe(0);
    expect(handles[1]!.cleared).toBe(true);
  });
});
