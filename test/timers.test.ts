import { describe, expect, it, vi } from 'vitest';
import type { Clock } from '../src/core/clock.js';
import { KeepAliveTimers } from '../src/core/timers.js';

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
  it('unrefs timers so an idle reporter never keeps the process alive', () => {
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

describe('KeepAliveTimers holds and cancellation', () => {
  it('refs a live timer as soon as the first hold is taken', () => {
    const { clock, handles } = fakeHandles();
    const timers = new KeepAliveTimers(clock);
    timers.setTimeout(() => undefined, 10);
    const release = timers.hold();
    expect(handles[0]!.refd).toBe(true);
    release();
    expect(handles[0]!.refd).toBe(false);
  });

  it("leaves a timer set while held ref'd", () => {
    const { clock, handles } = fakeHandles();
    const timers = new KeepAliveTimers(clock);
    const release = timers.hold();
    timers.setTimeout(() => undefined, 10);
    expect(handles[0]!.refd).toBe(true);
    release();
    expect(handles[0]!.refd).toBe(false);
  });

  it('clearAll cancels every pending timer through the clock', () => {
    const { clock, handles } = fakeHandles();
    const timers = new KeepAliveTimers(clock);
    timers.setTimeout(() => undefined, 10);
    timers.setTimeout(() => undefined, 20);
    timers.clearAll();
    expect(handles.map((h) => h.cleared)).toEqual([true, true]);
    expect(timers.pending).toBe(0);
  });
});

describe("KeepAliveTimers with clocks whose handles cannot be ref'd", () => {
  function clockReturning(make: () => unknown) {
    const made: unknown[] = [];
    const clock: Clock = {
      now: () => 0,
      setTimeout: () => {
        const handle = make();
        made.push(handle);
        return handle;
      },
      clearTimeout: () => undefined,
    };
    return { clock, made };
  }

  it.each([
    ['numbers', () => 7],
    ['undefined', () => undefined],
    ['null', () => null],
  ])('schedules, holds and releases timers whose handles are %s', (_name, make) => {
    const { clock, made } = clockReturning(make);
    const timers = new KeepAliveTimers(clock);
    const handle = timers.setTimeout(() => undefined, 10);
    expect(handle).toBe(made[0]);
    const release = timers.hold();
    timers.setTimeout(() => undefined, 10);
    release();
    timers.clearAll();
    expect(timers.pending).toBe(0);
  });

  it('never calls unref or ref on a handle that has only one of the two', () => {
    const onlyUnref = { unref: vi.fn() };
    const onlyRef = { ref: vi.fn() };
    const handles = [onlyUnref, onlyRef];
    let next = 0;
    const { clock } = clockReturning(() => handles[next++]);
    const timers = new KeepAliveTimers(clock);
    timers.setTimeout(() => undefined, 10);
    timers.setTimeout(() => undefined, 10);
    const release = timers.hold();
    release();
    expect(onlyUnref.unref).not.toHaveBeenCalled();
    expect(onlyRef.ref).not.toHaveBeenCalled();
  });
});
