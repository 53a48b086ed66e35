/**
 * The CI regression guard for the hot path: the cost of `reporter.log()`
 * as a ratio to a plain baseline measured in the same process, alternating
 * rounds. The baseline does the least a batching telemetry client can do:
 * push the same small object into an array, and JSON.stringify each batch of
 * 100 (serialization deferred, as ours defers it to the send). The reporter's
 * transport accepts at once, in memory, so its whole path is measured: the
 * call, the machine, the batch's JSON with ids, timestamps, redaction and
 * size accounting.
 * Ratios, not absolute times, because CI machines are shared and noisy.
 *
 * Fails when the median ratio exceeds MAX_RATIO. Usage: node bench/guard.mjs
 * (after `npm run build`).
 */
import { performance } from 'node:perf_hooks';
import { createConfig, startReporter } from '../dist/src/index.js';

/**
 * The limit on the median ratio. Measured here: 4.8–6.5, with the machine
 * loaded by other work (BENCHMARKS.md, "Regression guard"); 12 leaves about
 * 2× for noisy machines, so a change that doubles the cost of the path fails.
 */
const MAX_RATIO = Number(process.env.HOT_PATH_MAX_RATIO ?? 12);
const ROUNDS = 9;
const CALLS = 100_000;
const CHUNK = 100;

const reporter = startReporter({
  config: createConfig({ apiKey: 'guard', baseUrl: 'http://127.0.0.1:9' }),
  sessionId: 'guard',
  enabled: true,
  attachEvents: false,
  logger: { warn() {}, info() {}, error() {}, debug() {} },
  // An in-memory transport that accepts at once: the guard measures log(), not the network.
  transport: { send: () => Promise.resolve({ kind: 'ok', status: 200 }) },
});

let batch = [];
// Read by nothing: kept so that the engine cannot drop the stringify as dead code.
let _bodies = 0;
const baseline = (i) => {
  batch.push({ name: 'bench.event', data: { i }, severity: 'info', timestampMs: Date.now() });
  // Serialization deferred to the batch, as ours defers it to the send.
  if (batch.length === 100) {
    _bodies += JSON.stringify({ events: batch }).length > 0 ? 1 : 0;
    batch = [];
  }
};
const ours = (i) => reporter.log('bench.event', { i });
const turn = () => new Promise((resolve) => setImmediate(resolve));

async function measure(call) {
  let busy = 0;
  for (let i = 0; i < CALLS;) {
    const end = i + CHUNK;
    const started = performance.now();
    for (; i < end; i++) call(i);
    busy += performance.now() - started;
    await turn();
  }
  return (busy * 1e6) / CALLS;
}

await measure(baseline);
await measure(ours);
const results = { baseline: [], ours: [] };
for (let round = 0; round < ROUNDS; round++) {
  results.baseline.push(await measure(baseline));
  results.ours.push(await measure(ours));
}
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const ratio = median(results.ours) / median(results.baseline);
const dropped = reporter.stats().dropped.queue_full;
await reporter.stop();
console.log(
  `hot-path guard: log() ${median(results.ours).toFixed(0)} ns, baseline ${median(results.baseline).toFixed(0)} ns, ratio ${ratio.toFixed(1)} (limit ${MAX_RATIO}), dropped ${dropped}`,
);
if (dropped > 0) {
  console.error('hot-path guard: events were dropped, so the measurement did not exercise the sending path');
  process.exit(1);
}
if (ratio > MAX_RATIO) {
  console.error(`hot-path guard: log() is ${ratio.toFixed(1)}× the baseline, above the limit of ${MAX_RATIO}`);
  process.exit(1);
}
