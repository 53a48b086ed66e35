/** The `@captured` decorator, compiled by TypeScript (see vitest.config.ts). */
import { describe, expect, it } from 'vitest';
import { type CaptureReporter, captured } from '../src/capture.js';
import { fakeReporter } from './capture-helpers.js';

describe('@captured', () => {
  it('captures sync and async methods through this.telemetryReporter, keeping this and arguments', async () => {
    const { reporter, calls } = fakeReporter();
    class Trainer {
      telemetryReporter = reporter;
      #secret = 7;
      @captured()
      step(n: number): number {
        if (n < 0) throw new RangeError('negative');
        return n + this.#secret;
      }
      @captured({ severity: 'warning' })
      async save(name: string): Promise<string> {
        if (name === '') throw new Error('no name');
        return `saved ${name}`;
      }
    }
    const trainer = new Trainer();
    expect(trainer.step(1)).toBe(8);
    expect(() => trainer.step(-1)).toThrow(RangeError);
    expect(await trainer.save('a')).toBe('saved a');
    await expect(trainer.save('')).rejects.toThrow('no name');
    expect(calls.map((c) => [c.kind, (c.error as Error).message, c.severity])).toEqual([
      ['exception', 'negative', 'error'],
      ['exception', 'no name', 'warning'],
    ]);
  });

  it('finds the reporter through a getter given in the options, and uses the fatal path', async () => {
    const { reporter, calls, finishDrain } = fakeReporter();
    class Client {
      constructor(readonly r: CaptureReporter) {}
      @captured({ reporter: (self) => (self as Client).r, fatal: true })
      async call(): Promise<void> {
        throw new Error('fatal call');
      }
    }
    const pending = new Client(reporter).call();
    await new Promise((resolve) => setImmediate(resolve));
    finishDrain();
    await expect(pending).rejects.toThrow('fatal call');
    expect(calls).toMatchObject([{ kind: 'fatal' }]);
  });
});
