/**
 * How many cases a property test runs. Under the mutation gate every
 * surviving mutant reruns every test that covers it, and the property suites
 * over the snapshot, redaction and hostile input cover most of src/core: there
 * they run at most 50 cases, which reach the same code; `npm test` runs the
 * full count. Stryker's test runner marks its processes with
 * `STRYKER_MUTATOR_WORKER`.
 */
export function fcRuns(full: number): number {
  return process.env.STRYKER_MUTATOR_WORKER === undefined ? full : Math.min(full, 50);
}
