/** The `@captured` decorator, compiled by TypeScript (see vitest.config.ts). */
import { describe, expect, it } from 'vitest';
import { type CaptureReporter, captured } from '../src/host/capture.js';
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

describe('@captured reporter lookup', () => {
  it('uses a reporter object given in the options, without this.telemetryReporter', () => {
    const { reporter, calls } = fakeReporter();
    class Job {
      @captured({ reporter })
      run(): void {
        throw new Error('job failed');
      }
    }
    expect(() => new Job().run()).toThrow('job failed');
    expect(calls.map((c) => (c.error as Error).message)).toEqual(['job failed']);
  });

  it('runs as a plain call when the options say reporter: null, even if this.telemetryReporter is set', () => {
    const { reporter, calls } = fakeReporter();
    class Job {
      telemetryReporter = reporter;
      @captured({ reporter: null })
      run(): void {
        throw new Error('not reported');
      }
    }
    expect(() => new Job().run()).toThrow('not reported');
    expect(calls).toEqual([]);
  });

  it('runs as a plain call when the reporter getter throws', () => {
    class Job {
      @captured({
        reporter: () => {
          throw new Error('getter broke');
        },
      })
      run(n: number): number {
        if (n < 0) throw new RangeError('negative');
        return n * 2;
      }
    }
    expect(new Job().run(2)).toBe(4);
    expect(() => new Job().run(-1)).toThrow(RangeError);
  });

  it('runs as a plain call when a telemetryReporter accessor throws', () => {
    class Job {
      get telemetryReporter(): CaptureReporter {
        throw new Error('accessor broke');
      }
      @captured()
      run(): string {
        return 'ran';
      }
    }
    expect(new Job().run()).toBe('ran');
  });

  it('runs as a plain call when the method is called without this', () => {
    class Job {
      @captured()
      run(n: number): number {
        if (n < 0) throw new RangeError('negative');
        return n + 1;
      }
    }
    const { run } = new Job();
    expect(run(1)).toBe(2);
    expect(() => run(-1)).toThrow(RangeError);
  });

  it("reports with severity 'error' by default and the given severity otherwise", () => {
    const { reporter, calls } = fakeReporter();
    class Job {
      telemetryReporter = reporter;
      @captured()
      plain(): void {
        throw new Error('a');
      }
      @captured({ severity: 'debug' })
      quiet(): void {
        throw new Error('b');
      }
    }
    const job = new Job();
    expect(() => job.plain()).toThrow('a');
    expect(() => job.quiet()).toThrow('b');
    expect(calls.map((c) => c.severity)).toEqual(['error', 'debug']);
  });
});
