import type { CaptureReporter } from '../src/host/capture.js';

/** A reporter that records what it is given; the fatal drain finishes when the test says so. */
export function fakeReporter() {
  const calls: { kind: 'exception' | 'fatal'; error: unknown; severity: string | undefined }[] = [];
  let finishDrain: (drained: boolean) => void = () => undefined;
  const reporter: CaptureReporter = {
    logException(error, severity) {
      calls.push({ kind: 'exception', error, severity });
      return true;
    },
    logFatalException(error, severity) {
      calls.push({ kind: 'fatal', error, severity });
      return new Promise<boolean>((resolve) => (finishDrain = resolve));
    },
  };
  return { reporter, calls, finishDrain: (drained = true) => finishDrain(drained) };
}
