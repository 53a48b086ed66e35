/**
 * `log()` on the bench's ordinary event (`log('bench.event', { i })`), two
 * builds of the library in one process, alternating rounds (A, B, B, A, …)
 * so that both see the same machine at the same moments: the cost of a
 * change to the hot path, with the noise of a shared machine falling on both
 * sides alike. Each round logs `CALLS` events into one build's reporter and
 * measures the process's CPU time (user + system) for those calls alone;
 * the reporter then drains through a transport that accepts at once, off the
 * clock, so the queue is empty at the start of every round. Prints the
 * median and the quartiles of ns per call for each build, and the ratio of
 * the medians.
 *
 * Usage: node bench/log-ab.mjs <dist before> <dist after>, each a `dist`
 * directory built by `npm run build` (for the one before, build an earlier
 * commit in a worktree of its own).
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const [before, after] = process.argv.slice(2);
if (before === undefined || after === undefined) {
  console.error('usage: node bench/log-ab.mjs <dist before> <dist after>');
  process.exit(2);
}

const CALLS = 5_000;
const ROUNDS = 300;
const WARMUP_ROUNDS = 20;

async function reporterOf(dist) {
  const { startReporter, createConfig } = await import(pathToFileURL(resolve(dist, 'src/index.js')).href);
  return startReporter({
    config: createConfig({ apiKey: 'tml-bench-0123456789abcdefghijklmnop', baseUrl: 'http://127.0.0.1:9' }),
    sessionId: 'log-ab',
    transport: { send: async () => ({ kind: 'ok', status: 200 }) },
    maxQueueSize: CALLS * 2,
    // Nothing is sent while a round runs: the timer and the threshold are out of reach.
    flushIntervalMs: 3_600_000,
    flushThreshold: CALLS * 2,
    handleSignals: [],
    drainOnExit: false,
    captureUncaught: false,
  });
}

const builds = [
  { name: 'before', reporter: await reporterOf(before), nsPerCall: [] },
  { name: 'after', reporter: await reporterOf(after), nsPerCall: [] },
];

for (let round = 0; round < ROUNDS; round++) {
  for (const build of round % 2 === 0 ? builds : [...builds].reverse()) {
    const start = process.cpuUsage();
    for (let i = 0; i < CALLS; i++) build.reporter.log('bench.event', { i });
    const used = process.cpuUsage(start);
    if (round >= WARMUP_ROUNDS) build.nsPerCall.push(((used.user + used.system) * 1000) / CALLS);
    await build.reporter.flush({ sync: true });
  }
}

const quantile = (sorted, q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
const medians = builds.map(({ name, nsPerCall }) => {
  const sorted = [...nsPerCall].sort((a, b) => a - b);
  const median = quantile(sorted, 0.5);
  console.log(
    `${name.padEnd(6)} median ${median.toFixed(1)} ns/call (quartiles ${quantile(sorted, 0.25).toFixed(1)}–${quantile(sorted, 0.75).toFixed(1)}, ${sorted.length} rounds)`,
  );
  return median;
});
console.log(`ratio after/before: ${(medians[1] / medians[0]).toFixed(3)}`);
for (const { reporter } of builds) await reporter.stop(1_000);
