/**
 * `toEventData` of ordinary small objects, two builds of the library in one
 * process, alternating rounds (A, B, A, B, …) so that both see the same
 * machine: the cost of a change to the snapshot, which `log()` takes on the
 * caller's path. Prints the median and spread (min–max) of ns per call for
 * each object, and the ratio of the medians.
 *
 * Usage: node bench/snapshot-ab.mjs <dist before> <dist after>, each a
 * `dist` directory built by `npm run build` (for the one before, build an
 * earlier commit in a worktree of its own).
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const [before, after] = process.argv.slice(2);
if (before === undefined || after === undefined) {
  console.error('usage: node bench/snapshot-ab.mjs <dist before> <dist after>');
  process.exit(2);
}
// Builds from before the layered tree have the snapshot at src/serialize.js, later ones at src/core/serialize.js.
const load = async (dist) => {
  for (const path of ['src/core/serialize.js', 'src/serialize.js']) {
    try {
      return await import(pathToFileURL(resolve(dist, path)).href);
    } catch {
      // Not this build's layout: try the next.
    }
  }
  throw new Error(`no serialize.js in ${dist}`);
};
const builds = [
  ['before', (await load(before)).toEventData],
  ['after', (await load(after)).toEventData],
];

const CALLS = 200_000;
const ROUNDS = 21;
const objects = {
  '`{ i }`, the event of the hot-path bench': (i) => ({ i }),
  'five numbers: `{ step, loss: 0.125, lr: 3e-4, tokens, epoch }`': (i) => ({ step: i, loss: 0.125, lr: 3e-4, tokens: 123_456, epoch: 2 }),
  'a computed loss: `{ step, loss: 2.3456789 + i / 7 }`': (i) => ({ step: i, loss: 2.3456789 + i / 7 }),
  'two strings of 13 chars or more: `{ step, model, run, ok }`': (i) => ({ step: i, model: 'meta-llama/Llama-3.1-8B', run: 'run-2026-11-24-a', ok: true }),
  'nested: `{ a: { b: { c } }, list: [5 numbers], tag }`': (i) => ({ a: { b: { c: i } }, list: [1, 2, 3, 4, i], tag: 'short' }),
};

let sink = 0;
function measure(toEventData, inputs) {
  const started = process.hrtime.bigint();
  for (let i = 0; i < CALLS; i++) sink += toEventData(inputs[i % inputs.length]) === null ? 0 : 1;
  return Number(process.hrtime.bigint() - started) / CALLS;
}
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const cell = (xs) => `${median(xs).toFixed(1)} (${Math.min(...xs).toFixed(1)}–${Math.max(...xs).toFixed(1)})`;

const lines = ['| object | before, ns (min–max) | after, ns (min–max) | ratio of medians |', '|---|---|---|---|'];
for (const [name, make] of Object.entries(objects)) {
  const inputs = Array.from({ length: 1000 }, (_, i) => make(i));
  const samples = builds.map(() => []);
  for (const [, fn] of builds) measure(fn, inputs);
  for (let round = 0; round < ROUNDS; round++) builds.forEach(([, fn], b) => samples[b].push(measure(fn, inputs)));
  lines.push(`| ${name} | ${cell(samples[0])} | ${cell(samples[1])} | ${(median(samples[1]) / median(samples[0])).toFixed(2)} |`);
}
console.log([...lines, '', `${ROUNDS} alternating rounds of ${CALLS.toLocaleString('en-US')} calls per object. Node.js ${process.version}.`].join('\n'));
if (sink < 0) console.log(sink);
