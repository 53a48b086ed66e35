/**
 * How many cases a property test runs. Under the mutation gate every
 * surviving mutant reruns every test that covers it, and the property suites
 * over the snapshot, redaction and hostile input cover most of src/core: there
 * they run at most `underMutation` cases (default 50), which reach the same
 * code; `npm test` runs the full count. A suite whose every case does real
 * I/O (sockets, files) asks for fewer. Stryker's test runner marks its
 * processes with `STRYKER_MUTATOR_WORKER`.
 */
export function fcRuns(full: number, underMutation = 50): number {
  return process.env.STRYKER_MUTATOR_WORKER === undefined ? full : Math.min(full, underMutation);
}
