/**
 * The cost of one log() of hostile data: shapes whose snapshot used to grow
 * with the input (a fan-out of shared rows, a DAG of shared leaves, a Map of
 * millions of entries, a 50 MB string, deep nesting, a million numbers or
 * keys). Each shape is built once, outside the timing; then one log() is
 * timed per repetition, after a full GC so that no earlier garbage is
 * collected inside it. Median and spread (min–max) in milliseconds, and
 * the snapshot's JSON size.
 *
 * What the host's own objects cost the engine is timed apart, since no
 * snapshot can avoid it: listing the keys of the million-key object. Last,
 * the heap that slices of large strings keep alive, kept as given and as
 * snapshots.
 *
 * Usage: node --expose-gc bench/hostile.mjs [--quick] (after `npm run build`);
 * `npm run bench` runs it in a child process of its own. Prints markdown.
 */
import { performance } from 'node:perf_hooks';
import { createConfig, startReporter } from '../dist/src/index.js';
import { lastSnapshotChars, toEventData } from '../dist/src/core/serialize.js';

const quick = process.argv.includes('--quick');
const REPETITIONS = quick ? 3 : 9;
const TARGET_MS = 5;
const gc = globalThis.gc ?? (() => undefined);

const reporter = startReporter({
  config: createConfig({ apiKey: 'bench-hostile-key', baseUrl: 'http://127.0.0.1:9' }),
  sessionId: 'hostile',
  enabled: true,
  attachEvents: false,
  drainOnExit: false,
  // No timer flushes during a measurement, and no shape logs the 100 events that would reach the
  // threshold: each timed call is log() alone, never a send. The queue is drained between shapes.
  flushIntervalMs: 3_600_000,
  flushThreshold: 100,
  logger: { warn() {}, info() {}, error() {}, debug() {} },
  transport: { send: () => Promise.resolve({ kind: 'ok', status: 200 }) },
});

/** Each shape: how to build it (not timed). */
const shapes = [
  [
    'fan-out: 1000 rows sharing one row of 1000 strings of 1000 chars',
    () => {
      const row = Array(1000).fill('x'.repeat(1000));
      return { rows: Array(1000).fill(row) };
    },
  ],
  [
    'DAG of 100⁴ shared leaves',
    () => {
      let x = 1;
      for (let i = 0; i < 4; i++) x = Array(100).fill(x);
      return x;
    },
  ],
  [
    'Map of 3,000,000 entries',
    () => {
      const map = new Map();
      for (let i = 0; i < 3_000_000; i++) map.set(i, i);
      return map;
    },
  ],
  ['string of 50,000,000 chars', () => Buffer.alloc(50_000_000, 'z').toString('latin1')],
  [
    'nesting 100,000 deep',
    () => {
      let deep = 'bottom';
      for (let i = 0; i < 100_000; i++) deep = { d: deep };
      return deep;
    },
  ],
  ['array of 1,000,000 numbers', () => Array.from({ length: 1_000_000 }, (_, i) => i * 1.5)],
  [
    'object of 1,000,000 keys',
    () => {
      const wide = {};
      for (let i = 0; i < 1_000_000; i++) wide[`key${i}`] = i;
      return wide;
    },
  ],
];

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const ms = (x) => x.toFixed(2);

/** Times `fn` once per repetition, after a GC, with one untimed call first. */
function time(fn) {
  fn();
  const samples = [];
  for (let i = 0; i < REPETITIONS; i++) {
    gc();
    const started = performance.now();
    fn();
    samples.push(performance.now() - started);
  }
  return samples;
}

// The snapshot code warmed up on ordinary events first, as in a running service.
for (let i = 0; i < 5000; i++) reporter.log('warm-up', { i, ok: true, tag: 'steady' });
await reporter.flush({ sync: true });

const lines = [`| shape | one log(), median ms | spread (min–max) ms | snapshot JSON chars | within ${TARGET_MS} ms |`, '|---|---|---|---|---|'];
const engine = [];
for (const [name, build] of shapes) {
  let input = build();
  let accepted = true;
  const samples = time(() => {
    accepted &&= reporter.log('hostile', input);
  });
  if (!accepted) throw new Error(`log() refused the ${name}: ${JSON.stringify(reporter.stats().dropped)}`);
  toEventData(input);
  const chars = lastSnapshotChars();
  lines.push(
    `| ${name} | ${ms(median(samples))} | ${ms(Math.min(...samples))}–${ms(Math.max(...samples))} | ${chars.toLocaleString('en-US')} | ${median(samples) <= TARGET_MS ? 'yes' : '**no**'} |`,
  );
  if (name.startsWith('string of')) {
    // The reporter is to pass its API key, to be redacted before the cut: redactCut then searches the rest of the string for it.
    const withKey = time(() => toEventData(input, 65_536, 'bench-hostile-key'));
    engine.push(
      `- The string of 50,000,000 chars through \`toEventData(data, 65536, apiKey)\`, as the reporter is to call it, redacting before the cut: median ${ms(median(withKey))} ms (${ms(Math.min(...withKey))}–${ms(Math.max(...withKey))}).`,
    );
  }
  if (name.startsWith('object of')) {
    const keys = time(() => Object.keys(input));
    engine.push(
      `- \`Object.keys\` of the object of 1,000,000 keys alone (the engine listing the host's keys, which any walk of it needs): median ${ms(median(keys))} ms (${ms(Math.min(...keys))}–${ms(Math.max(...keys))}).`,
    );
  }
  input = undefined;
  await reporter.flush({ sync: true });
  gc();
}

/**
 * Heap kept alive by 200 events, each holding a 100-char slice of a 4 MiB
 * string of its own (a preview of a response body): as the slices themselves
 * (what a snapshot that kept strings as given would hold), and as snapshots.
 */
function retainedMiB(keep) {
  gc();
  const before = process.memoryUsage().heapUsed;
  const kept = [];
  for (let i = 0; i < 200; i++) kept.push(keep(`${i}`.padEnd(4 * 2 ** 20, 'p').slice(0, 100)));
  gc();
  const grown = process.memoryUsage().heapUsed - before;
  if (kept.length !== 200) throw new Error('lost an event');
  return (grown / 2 ** 20).toFixed(1);
}
const memory = [
  `- Heap kept alive by 200 events each holding a 100-char slice of its own 4 MiB string: ${retainedMiB((slice) => ({ preview: slice }))} MiB with the slices kept as given, ${retainedMiB((slice) => toEventData({ preview: slice }))} MiB as snapshots (each string of 13 chars or more copied flat).`,
];

console.log(
  [
    ...lines,
    '',
    ...engine,
    ...memory,
    '',
    `${REPETITIONS} timed calls per shape, each after a full GC; the input is built once, untimed. Node.js ${process.version}.`,
  ].join('\n'),
);
await reporter.stop(10);
process.exit(0);
