import { describe, expect, it, vi } from 'vitest';
import { type CaptureReporter, asyncCapture, captureExceptions, instrumentClient } from '../src/host/capture.js';
import { fakeReporter } from './capture-helpers.js';

describe('captureExceptions', () => {
  it('returns what a sync function returns and reports nothing', () => {
    const { reporter, calls } = fakeReporter();
    expect(captureExceptions({ reporter }, () => 41 + 1)).toBe(42);
    expect(calls).toEqual([]);
  });

  it('re-throws the very same error object, stack untouched, after reporting it', () => {
    const { reporter, calls } = fakeReporter();
    const error = new Error('sync failure');
    const stack = error.stack;
    let thrown: unknown;
    try {
      captureExceptions({ reporter }, () => {
        throw error;
      });
    } catch (caught) {
      thrown = caught;
    }
    expect(thrown).toBe(error);
    expect((thrown as Error).stack).toBe(stack);
    expect(calls).toEqual([{ kind: 'exception', error, severity: 'error' }]);
  });

  it('resolves with an async result and rejects with the original reason', async () => {
    const { reporter, calls } = fakeReporter();
    await expect(captureExceptions({ reporter }, async () => 'ok')).resolves.toBe('ok');
    const reason = new TypeError('async failure');
    await expect(captureExceptions({ reporter, severity: 'warning' }, () => Promise.reject(reason))).rejects.toBe(reason);
    expect(calls).toEqual([{ kind: 'exception', error: reason, severity: 'warning' }]);
  });

  it('with fatal, rejects an async failure only after the fatal drain has finished', async () => {
    const { reporter, calls, finishDrain } = fakeReporter();
    const reason = new Error('fatal async');
    const order: string[] = [];
    const pending = captureExceptions({ reporter, fatal: true }, () => Promise.reject(reason)).catch((caught: unknown) => {
      order.push('rejected');
      return caught;
    });
    await new Promise((resolve) => setImmediate(resolve));
    expect(calls).toEqual([{ kind: 'fatal', error: reason, severity: 'critical' }]);
    expect(order).toEqual([]);
    order.push('drained');
    finishDrain();
    expect(await pending).toBe(reason);
    expect(order).toEqual(['drained', 'rejected']);
  });

  it('with fatal, re-throws a sync failure at once and leaves the drain running', () => {
    const { reporter, calls } = fakeReporter();
    const error = new Error('fatal sync');
    expect(() =>
      captureExceptions({ reporter, fatal: true }, () => {
        throw error;
      }),
    ).toThrow(error);
    expect(calls).toEqual([{ kind: 'fatal', error, severity: 'critical' }]);
  });

  it('is a plain call with a null or undefined reporter', async () => {
    expect(captureExceptions({ reporter: null }, () => 1)).toBe(1);
    const error = new Error('x');
    expect(() =>
      captureExceptions({ reporter: undefined }, () => {
        throw error;
      }),
    ).toThrow(error);
    await expect(captureExceptions({ reporter: null, fatal: true }, () => Promise.reject(error))).rejects.toBe(error);
  });

  it.each([
    ['a string', 'just text'],
    ['an object', { code: 3 }],
    ['undefined', undefined],
  ])('passes a thrown %s through unchanged', (_name, value) => {
    const { reporter, calls } = fakeReporter();
    let thrown: unknown = Symbol('nothing');
    try {
      captureExceptions({ reporter }, () => {
        throw value;
      });
    } catch (caught) {
      thrown = caught;
    }
    expect(thrown).toBe(value);
    expect(calls[0]?.error).toBe(value);
  });

  it('keeps the caller error when the reporter itself throws', async () => {
    const broken: CaptureReporter = {
      logException() {
        throw new Error('reporter broke');
      },
      logFatalException() {
        throw new Error('reporter broke');
      },
    };
    const error = new Error('the real one');
    expect(() =>
      captureExceptions({ reporter: broken }, () => {
        throw error;
      }),
    ).toThrow(error);
    await expect(captureExceptions({ reporter: broken, fatal: true }, () => Promise.reject(error))).rejects.toBe(error);
  });
});

describe('asyncCapture', () => {
  it('starts the function on a later turn, not synchronously, and resolves its result', async () => {
    const { reporter } = fakeReporter();
    const fn = vi.fn(() => 'done');
    const pending = asyncCapture({ reporter }, fn);
    await Promise.resolve();
    expect(fn).not.toHaveBeenCalled();
    expect(await pending).toBe('done');
    expect(fn).toHaveBeenCalledOnce();
  });

  it('captures a failure and rejects with it', async () => {
    const { reporter, calls } = fakeReporter();
    const error = new Error('task failed');
    await expect(
      asyncCapture({ reporter }, () => {
        throw error;
      }),
    ).rejects.toBe(error);
    await expect(
      asyncCapture({ reporter }, async () => {
        throw error;
      }),
    ).rejects.toBe(error);
    expect(calls.map((c) => c.error)).toEqual([error, error]);
  });
});

describe('instrumentClient', () => {
  class Base {
    inherited(): string {
      throw new Error('inherited failure');
    }
  }
  class SamplingClient extends Base {
    #calls = 0;
    name = 'sampler';
    sample(prompt: string): string {
      this.#calls++;
      return `${prompt}:${this.#calls}`;
    }
    async fail(): Promise<never> {
      throw new Error('async failure');
    }
    _internal(): string {
      throw new Error('private failure');
    }
  }

  it('keeps this, private fields, arguments and return values', () => {
    const { reporter } = fakeReporter();
    const client = instrumentClient(new SamplingClient(), { reporter });
    expect(client.sample('a')).toBe('a:1');
    expect(client.sample('b')).toBe('b:2');
    expect(client.name).toBe('sampler');
  });

  it('captures inherited and async methods but not underscore methods', async () => {
    const { reporter, calls } = fakeReporter();
    const client = instrumentClient(new SamplingClient(), { reporter });
    expect(() => client.inherited()).toThrow('inherited failure');
    await expect(client.fail()).rejects.toThrow('async failure');
    expect(() => client._internal()).toThrow('private failure');
    expect(calls.map((c) => (c.error as Error).message)).toEqual(['inherited failure', 'async failure']);
  });

  it('gives the same wrapper for the same method every time', () => {
    const client = instrumentClient(new SamplingClient(), { reporter: null });
    expect(client.sample).toBe(client.sample);
  });
});
