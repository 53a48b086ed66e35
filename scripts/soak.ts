/**
 * `npm run soak`: the chaos soak at full size (10 producers, 100,000 calls)
 * against a loopback sink that fails, throttles, resets, hangs and stalls;
 * see `model-tests/soak.ts` for what it checks and why. Prints the seed
 * first, a line of progress per tenth of the calls, then the figures as a
 * table and every violation. Exits 0 when the run is clean, 1 on any
 * violation, 2 on a bad setting.
 *
 * Settings, from the environment: `SOAK_SEED` (replays a run's answers and
 * data; default: from the clock), `SOAK_EVENTS` (default 100000),
 * `SOAK_PRODUCERS` (default 10). `npm run soak` passes `--expose-gc`, so
 * the heap is also compared right after full collections.
 */
import { ANSWER_KINDS, MEMORY_TOLERANCE, type SoakFigures, runSoak } from '../model-tests/soak.js';

function fromEnv(name: string, fallback: number, max = Number.MAX_SAFE_INTEGER): number {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const value = Number(raw);
  if (!/^\d+$/.test(raw.trim()) || !Number.isSafeInteger(value) || value > max) {
    console.error(`soak: Expected \`${name}\` to be a whole number in 0..${max}, got \`${raw}\``);
    process.exit(2);
  }
  return value;
}

const seed = fromEnv('SOAK_SEED', Date.now() % 2 ** 31, 2 ** 32 - 1);
const events = fromEnv('SOAK_EVENTS', 100_000);
const producers = fromEnv('SOAK_PRODUCERS', 10);
console.log(`soak: ${events} calls by ${producers} producers, seed ${seed} (SOAK_SEED=${seed} npm run soak replays its answers and data)`);

let result: Awaited<ReturnType<typeof runSoak>>;
try {
  result = await runSoak({ events, producers, seed, onProgress: (line) => console.log(`  ${line}`) });
} catch (error) {
  // Only a bad setting throws; what the reporter does ends up in the violations.
  console.error(`soak: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(2);
}

const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;
const f: SoakFigures = result.figures;
const rows: [string, string][] = [
  ['seed', String(f.seed)],
  ['duration', `${(f.durationMs / 1000).toFixed(1)} s (stop: ${f.stopMs} ms, drained: ${String(f.drained)}, ended on ${f.endedBy ?? '—'})`],
  ['calls', String(f.calls)],
  ['accepted (pushCounter)', String(f.accepted)],
  ['refused', `queue_full ${f.refused.queue_full}, invalid ${f.refused.invalid}, after_stop ${f.refused.after_stop}`],
  ['delivered (deliveredCounter)', String(f.delivered)],
  ['distinct ids 2xx-answered by the sink', String(f.sinkDistinctDelivered)],
  ['dropped after acceptance', `retries_exhausted ${f.dropped.retries_exhausted}, rejected ${f.dropped.rejected}, shutdown ${f.dropped.shutdown}`],
  ['retries / splits / batches given up', `${f.retries} / ${f.splits} / ${f.finalFailures}`],
  ['requests', `${f.requestsTotal} (${ANSWER_KINDS.map((k) => `${k} ${f.requests[k]}`).join(', ')})`],
  ['2xx unseen by the client (resent) / late slow answers', `${f.ghost2xx} (${f.ghostsResent}) / ${f.lateAnswers}`],
  ['event-loop stalls', String(f.stalls)],
  ['peak RSS, first → second half', `${mib(f.peakRssFirstHalf)} → ${mib(f.peakRssSecondHalf)}`],
  [`peak heap${f.gcExposed ? ' after gc' : ''}, first → second half`, `${mib(f.peakHeapFirstHalf)} → ${mib(f.peakHeapSecondHalf)}`],
  ['memory tolerance', `second ≤ max(${MEMORY_TOLERANCE.ratio} × first, first + ${mib(MEMORY_TOLERANCE.extraBytes)})`],
];
const width = Math.max(...rows.map(([name]) => name.length));
console.log('');
for (const [name, value] of rows) console.log(`${name.padEnd(width)}  ${value}`);
console.log('');

if (result.violations.length === 0) {
  console.log('soak: no violation');
} else {
  console.log(`soak: ${result.violations.length} violation(s)`);
  for (const line of result.violations) console.log(`  ✗ ${line}`);
  process.exitCode = 1;
}

// Everything was closed; if something still holds the process, say so rather than hang.
setTimeout(() => {
  console.error('soak: something still holds the event loop 5 s after the run; exiting');
  process.exit(1);
}, 5_000).unref();
