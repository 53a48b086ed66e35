/** What `captureExceptions` hands back: values as they are, thenables as promises. */
import { describe, expect, it } from 'vitest';
import { type CaptureReporter, captureExceptions, instrumentClient } from '../src/host/capture.js';
import { fakeReporter } from './capture-helpers.js';

describe('captureExceptions return values', () => {
  it('returns a plain object itself, not a promise of it', () => {
    const { reporter } = fakeReporter();
    const value = { answer: 42 };
    expect(captureExceptions({ reporter }, () => value)).toBe(value);
    const notThenable = { then: 'not a function' };
    expect(captureExceptions({ reporter }, () => notThenable)).toBe(notThenable);
  });

  it('returns undefined and null as they are', () => {
    const { reporter, calls } = fakeReporter();
    expect(captureExceptions({ reporter }, () => undefined)).toBeUndefined();
    expect(captureExceptions({ reporter }, () => null)).toBeNull();
    expect(calls).toEqual([]);
  });

  it('returns a plain function itself', () => {
    const { reporter } = fakeReporter();
    const fn = () => 1;
    expect(captureExceptions({ reporter }, () => fn)).toBe(fn);
  });

  it('treats a callable thenable as a promise and reports its rejection', async () => {
    const { reporter, calls } = fakeReporter();
    const reason = new Error('callable thenable failed');
    const thenable = Object.assign(() => undefined, {
      then(_resolve: (value: unknown) => void, reject: (reason: unknown) => void) {
        reject(reason);
      },
    });
    const result = captureExceptions({ reporter }, () => thenable);
    expect(result).toBeInstanceOf(Promise);
    await expect(result).rejects.toBe(reason);
    expect(calls).toEqual([{ kind: 'exception', error: reason, severity: 'error' }]);
  });

  it('with fatal, rejects with the original reason when the fatal drain itself rejects', async () => {
    const calls: unknown[] = [];
    const reporter: CaptureReporter = {
      logException: () => true,
      logFatalException(error) {
        calls.push(error);
        return Promise.reject(new Error('drain broke'));
      },
    };
    const reason = new Error('the real one');
    await expect(captureExceptions({ reporter, fatal: true }, () => Promise.reject(reason))).rejects.toBe(reason);
    expect(calls).toEqual([reason]);
  });
});

describe('instrumentClient pass-through', () => {
  class Client {
    *[Symbol.iterator](): Generator<number> {
      yield 1;
      throw new Error('iteration failed');
    }
    call(): string {
      return 'called';
    }
  }

  it('passes symbol-keyed methods through unwrapped', () => {
    const { reporter, calls } = fakeReporter();
    const raw = new Client();
    const view = instrumentClient(raw, { reporter });
    expect(view[Symbol.iterator]).toBe(raw[Symbol.iterator]);
    expect(() => [...view]).toThrow('iteration failed');
    expect(calls).toEqual([]);
  });

  it('passes constructor through, so the view still names its class', () => {
    const { reporter } = fakeReporter();
    const view = instrumentClient(new Client(), { reporter });
    expect(view.constructor).toBe(Client);
    expect(view.call()).toBe('called');
  });
});
