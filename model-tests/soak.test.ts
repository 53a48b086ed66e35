/**
 * The chaos soak at CI size (`npm run soak` runs it at full size): 10
 * producers, 2,000 calls, a queue of 400 and batches of 25, so that the
 * queue bound is hit, there are enough requests for the sink to use every
 * kind of answer, the event loop stalls at least once, and the run takes a
 * few seconds. Then the same run's
 * observations get one planted fault at a time, to prove that each check
 * can fail.
 *
 * The seed is `SOAK_SEED`, else `FC_SEED` (pinned by CI), else the clock; it
 * is printed. Skipped under Stryker: the run does real I/O with real
 * timeouts for seconds, which every mutant of `src/` would pay.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { ANSWER_KINDS, type SoakObservations, type SoakResult, checkSoak, runSoak } from './soak.js';

const MUTATION_RUN = process.env.STRYKER_MUTATOR_WORKER !== undefined;
const seed = Number(process.env.SOAK_SEED ?? process.env.FC_SEED ?? Date.now() % 2 ** 31);
console.log(`soak seed: ${seed} (set SOAK_SEED to replay)`);

const CI_SIZE = { events: 2_000, producers: 10, maxQueueSize: 400, maxBatchSize: 25, flushThreshold: 25, stopTimeoutMs: 5_000, stallEveryChunks: 10 } as const;

describe.skipIf(MUTATION_RUN)('chaos soak (CI size)', () => {
  let result: SoakResult;
  beforeAll(async () => {
    result = await runSoak({ ...CI_SIZE, seed });
  }, 20_000);

  it('keeps every guarantee with 10 producers and a sink that fails, throttles, resets, hangs and stalls', () => {
    expect(result.violations, `seed ${seed}; figures ${JSON.stringify(result.figures)}`).toEqual([]);
  });

  it('puts the reporter through every kind of answer, the queue bound, retries, stalls and late calls', () => {
    const { figures } = result;
    expect(figures.requestsTotal, 'enough requests for the sink to use each answer once').toBeGreaterThanOrEqual(ANSWER_KINDS.length);
    for (const kind of ANSWER_KINDS) expect(figures.requests[kind], `requests answered ${kind}`).toBeGreaterThan(0);
    expect(figures.refused.queue_full, 'log() refused past maxQueueSize').toBeGreaterThan(0);
    expect(figures.retries, 'retries scheduled').toBeGreaterThan(0);
    expect(figures.refused.after_stop, 'calls after stop() refused').toBeGreaterThanOrEqual(5);
    expect(figures.stalls, 'event-loop stalls').toBeGreaterThan(0);
    expect(figures.delivered).toBeGreaterThan(0);
  });

  const plants: [string, RegExp, (o: SoakObservations) => void][] = [
    ['an event counted delivered that has no outcome', /^accounting: pushCounter/, (o) => void o.after.deliveredCounter--],
    ['an event left in the queue', /queueSize 1 and inFlight 0/, (o) => void o.after.queueSize++],
    ['a refusal not counted', /^refused calls/, (o) => void o.refusedCalls++],
    ['a late call accepted', /^after stop\(\): .* 1 accepted/, (o) => void o.acceptedAfterStop++],
    [
      'a delivered batch sent again under a new key',
      /^event_id .* was 2xx-answered \d+ times/,
      (o) => {
        const delivered = o.sink.requests.find((r) => r.answered2xx && r.batch !== undefined)!;
        o.sink.requests.push({ ...delivered, seq: o.sink.requests.length, key: 'planted-key' });
      },
    ],
    [
      'a batch sent more often than 1 + maxRetries',
      /was sent 5 times, more than 1 \+ maxRetries/,
      (o) => {
        const first = o.sink.requests[0]!;
        for (let i = 0; i < 5; i++) o.sink.requests.push({ ...first, seq: o.sink.requests.length, key: 'planted-retried', answered2xx: false });
      },
    ],
    [
      'a second SESSION_END',
      /^SESSION_END: 2 different ids/,
      (o) => {
        const batch = { hash: 'planted', ids: ['00000000-0000-4000-8000-000000000000'], indices: [o.after.pushCounter - 1], types: ['SESSION_END'] };
        o.sink.requests.push({ seq: o.sink.requests.length, key: 'planted-end', batch, answer: 'ok', answered2xx: false, late: false });
      },
    ],
    [
      'a SESSION_END missing although the last batch was delivered',
      /^the machine ended on ACK \(last batch delivered\) but SESSION_END is in 0/,
      (o) => {
        o.endedBy = 'ACK';
        for (const { batch } of o.sink.requests) if (batch !== undefined) batch.types = batch.types.map((t) => (t === 'SESSION_END' ? 'GENERIC_EVENT' : t));
      },
    ],
    [
      'a 2xx the client saw but the sink never wrote',
      /^the client saw \d+ 2xx answers but the sink wrote only/,
      (o) => {
        // One more than the 2xx answers the client never saw (a request answered while the stop deadline aborted it),
        // so that the planted one is not cancelled out by such a ghost on a loaded machine.
        const ghosts = o.sink.requests.filter((r) => r.answered2xx).length - o.batchesSent.length;
        for (let i = 0; i <= ghosts; i++) o.batchesSent.push({ size: 1, attempt: 0 });
      },
    ],
    ['a stop() that overran its deadline', /^stop\(5000\) took \d+ ms, more than its deadline/, (o) => void (o.stop.elapsedMs = 5_000 + 1_000)],
    ['a stop() result that contradicts the drops', /^stop\(\) resolved/, (o) => void (o.stop.drained = !o.stop.drained)],
    ['a stop() that never resolved', /^hang: stop/, (o) => void o.hangs.push('stop(5000) had not resolved 10000 ms after it was called')],
    ['an unhandled rejection', /^unhandled rejection: Error: planted/, (o) => void o.errors.unhandledRejections.push('Error: planted')],
    ['a reporter method that threw', /^a reporter method threw into its caller/, (o) => void o.errors.thrownIntoCaller.push('producer 3: TypeError: planted')],
    ['an internal error logged', /^reporter logged an internal error/, (o) => void o.errors.loggerErrors.push('Telemetry log() failed internally')],
    [
      'RSS that keeps growing',
      /^peak RSS grew/,
      (o) => {
        const { startMs, endMs } = o.memory;
        const peak = Math.max(...o.memory.samples.map((s) => s.rss));
        o.memory.samples.push({ atMs: startMs + 0.9 * (endMs - startMs), rss: peak * 3, heapUsed: 0, afterGc: false });
      },
    ],
  ];

  it.each(plants)('notices %s', (_name, expected, plant) => {
    const observations = structuredClone(result.observations);
    plant(observations);
    const violations = checkSoak(observations);
    expect(
      violations.some((line) => expected.test(line)),
      `violations: ${JSON.stringify(violations)}`,
    ).toBe(true);
  });
});
