/**
 * The send path's CPU work on a batch of 100 events, two builds of the
 * library in one process, alternating rounds (A, B, A, B, …) so that both
 * see the same machine. Three measures, each the median µs per batch over a
 * round, then the median and spread (min–max) of the rounds:
 *
 * - `encode`: `encodeEvent` of 100 fresh events (ids, ISO timestamps, the
 *   snapshot's JSON, the key's redaction scan, the size check), their
 *   timestamps in 7 distinct milliseconds, as a batch logged in a burst has;
 * - `body`: `serializeBatch` of 100 encoded events, then
 *   `Buffer.byteLength` of the body, as the transport does for its
 *   content-length (which makes V8 flatten a body built by appending);
 * - `answer → next send`: an `Outbox` with 200 queued events and the first
 *   batch in flight; from its answer (`deliver()`, then `send()`) to the
 *   moment the transport is handed the next body. Each build gets a `defer`
 *   that runs its task before the answer, as `setImmediate` does while a
 *   request is on the wire; a build without encoding ahead ignores it.
 *
 * Usage: node bench/encode-ab.mjs <dist before> <dist after> [--quick],
 * each a `dist` directory built by `npm run build` (for the one before,
 * build an earlier commit in a worktree of its own). `--quick` is a smoke
 * run: 3 rounds of 20 batches.
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const [before, after] = args.filter((a) => !a.startsWith('--'));
if (before === undefined || after === undefined) {
  console.error('usage: node bench/encode-ab.mjs <dist before> <dist after> [--quick]');
  process.exit(2);
}
const ROUNDS = quick ? 3 : 21;
const BATCHES = quick ? 20 : 400;
const EVENTS = 100;
const API_KEY = 'sk-bench-0123456789abcdef';

const load = async (dist) => {
  const at = (path) => import(pathToFileURL(resolve(dist, path)).href);
  return { ...(await at('src/core/wire.js')), ...(await at('src/core/outbox.js')) };
};
const builds = [
  ['before', await load(before)],
  ['after', await load(after)],
];

const BASE_MS = 1_765_000_000_000;
/** 100 fresh events of `lib`, as `log()` queues them: a name, a small snapshot, 16 to a millisecond. */
function freshEvents(lib, from = 0, n = EVENTS) {
  return Array.from(
    { length: n },
    (_, i) =>
      new lib.QueuedEvent(
        'GENERIC_EVENT',
        from + i,
        'INFO',
        BASE_MS + ((from + i) >> 4),
        'train.step',
        { step: from + i, loss: 0.125, lr: 3e-4 },
        undefined,
        undefined,
        300,
      ),
  );
}
const metaOf = (lib) => ({ sessionId: 'bench-session', maxEventBytes: 65_536, secret: lib.secretOf(API_KEY) });

let sink = 0;
const now = () => process.hrtime.bigint();
const us = (from, to) => Number(to - from) / 1000;
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];

/** µs to encode one batch of fresh events. */
function encodeOnce(lib, meta) {
  const events = freshEvents(lib);
  const started = now();
  for (const event of events) sink += lib.encodeEvent(event, meta).length;
  return us(started, now());
}

/** µs to build the body of one batch of encoded events, and count its bytes. */
function bodyOnce(lib, meta) {
  const events = freshEvents(lib);
  for (const event of events) lib.encodeEvent(event, meta);
  const started = now();
  sink += Buffer.byteLength(lib.serializeBatch(meta, events));
  return us(started, now());
}

/** µs from the answer to the first batch to the transport being handed the second. */
async function answerToNextSendOnce(lib) {
  let handedAt = 0n;
  const tasks = [];
  const outbox = new lib.Outbox({
    sessionId: 'bench-session',
    maxQueueSize: 1000,
    maxQueueBytes: 64 * 1024 * 1024,
    maxBatchSize: EVENTS,
    maxEventBytes: 65_536,
    maxBatchBytes: 1_048_576,
    apiKey: API_KEY,
    retryBaseDelayMs: 100,
    transport: {
      send: async ({ body }) => {
        handedAt = now();
        sink += body.length;
        return { kind: 'ok', status: 200 };
      },
    },
    clock: { now: () => 0, setTimeout: () => undefined, clearTimeout: () => undefined },
    random: () => 0,
    defer: (task) => {
      tasks.push(task);
      return () => undefined;
    },
    hooks: { onSettled() {}, onDropped() {}, onSendFinished() {}, onInternalError() {} },
  });
  for (const event of freshEvents(lib, 0, 2 * EVENTS)) outbox.accept(event);
  const signal = new AbortController().signal;
  const first = outbox.send(0, signal);
  // While the first request is "on the wire".
  for (const task of tasks.splice(0)) task();
  await first;
  const started = now();
  outbox.deliver();
  const second = outbox.send(0, signal);
  const took = us(started, handedAt);
  await second;
  return took;
}

const measures = {
  'encode 100 events': (lib) => encodeOnce(lib, metaOf(lib)),
  'body of 100 encoded events, with its byte count': (lib) => bodyOnce(lib, metaOf(lib)),
  'answer → next send, 100 events': (lib) => answerToNextSendOnce(lib),
};

async function round(fn, lib) {
  const samples = [];
  for (let i = 0; i < BATCHES; i++) samples.push(await fn(lib));
  return median(samples);
}

const cell = (xs) => `${median(xs).toFixed(1)} (${Math.min(...xs).toFixed(1)}–${Math.max(...xs).toFixed(1)})`;
const lines = ['| measure | before, µs (min–max) | after, µs (min–max) | ratio of medians |', '|---|---|---|---|'];
for (const [name, fn] of Object.entries(measures)) {
  const samples = builds.map(() => []);
  for (const [, lib] of builds) await round(fn, lib);
  for (let r = 0; r < ROUNDS; r++) for (const [b, [, lib]] of builds.entries()) samples[b].push(await round(fn, lib));
  const [a, b] = samples;
  lines.push(`| ${name} | ${cell(a)} | ${cell(b)} | ${(median(b) / median(a)).toFixed(2)} |`);
}
console.log(lines.join('\n'));
console.log(
  `\n${ROUNDS} alternating rounds of ${BATCHES} batches of ${EVENTS} events per measure. Node.js ${process.version}. (checksum ${sink > 0 ? 'ok' : 'empty'})`,
);
