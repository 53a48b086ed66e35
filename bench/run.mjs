/**
 * `npm run bench`: every client in its own child process against the same
 * loopback sink, A, B, C, D, A, B, … over several rounds; medians, spreads
 * and ratios to tinker-telemetry (with its default transport), as markdown
 * tables, and in section 2 the CPU each client spends per delivered event.
 *
 * `--quick` shrinks every size (for a smoke run); the published numbers come
 * from a full run. `--throughput` runs sections 1 and 2 only. Section 7 runs `hostile.mjs` in a child of its own.
 */
import { execFileSync, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { clients, countEvents, variants } from './clients.mjs';

const quick = process.argv.includes('--quick');
/** `--throughput`: sections 1 and 2 only (the paced runs every client makes), for a comparison that fits in a few minutes. */
const throughputOnly = process.argv.includes('--throughput');
const here = fileURLToPath(new URL('.', import.meta.url));
const names = Object.keys(clients);
const ours = names[0];
const size = (full, small) => (quick ? small : full);
const FLUSH_INTERVAL_MS = 1000;
/** Events produced but not yet counted at the sink beyond which the steady runs wait (every queue here holds 10,000). */
const PACE_EVENTS = 5000;

// ---- the sink -------------------------------------------------------------
const sink = { events: 0, requests: 0, lastAt: 0 };
/** Paced children waiting for the sink's count to reach `until` (see child.mjs `sinkCount`). */
const countWaiters = new Set();
const answerWaiters = () => {
  for (const waiter of countWaiters) {
    if (sink.events < waiter.until) continue;
    countWaiters.delete(waiter);
    waiter.answer();
  }
};
const server = createServer((req, res) => {
  if (req.method === 'GET' && req.url === '/count') return void res.end(JSON.stringify({ events: sink.events }));
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    try {
      sink.events += countEvents(req.url, JSON.parse(Buffer.concat(chunks).toString('utf8')));
    } catch {
      // Not counted; the answer is still a success so no client retries.
    }
    sink.requests++;
    sink.lastAt = performance.timeOrigin + performance.now();
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"accepted"}');
    answerWaiters();
  });
});
const hang = createServer(() => undefined);
const listen = (s) => new Promise((resolve) => s.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${s.address().port}`)));
const sinkUrl = await listen(server);
const hangUrl = await listen(hang);
const deadUrl = await (async () => {
  const probe = createServer();
  const url = await listen(probe);
  await new Promise((resolve) => probe.close(resolve));
  return url;
})();

/** Runs one child; its stderr is kept only when it fails (peers log every refused connection). */
function runChild(job, { timeoutMs = 600_000 } = {}) {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(process.execPath, [`${here}child.mjs`, JSON.stringify({ flushIntervalMs: FLUSH_INTERVAL_MS, ...job })], {
      // A paced run asks the sink's count over IPC (child.mjs `sinkCount`); the others have no channel, so nothing keeps them alive.
      stdio: ['ignore', 'pipe', 'pipe', ...(job.pace ? ['ipc'] : [])],
    });
    child.on('message', ({ until }) => {
      const waiter = { child, until, answer: () => child.connected && child.send({ events: sink.events }) };
      countWaiters.add(waiter);
      answerWaiters();
    });
    let text = '';
    let errors = '';
    child.stdout.on('data', (d) => (text += d));
    child.stderr.on('data', (d) => (errors = (errors + d).slice(-4000)));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      for (const waiter of countWaiters) if (waiter.child === child) countWaiters.delete(waiter);
      const line = text.trim().split('\n').at(-1);
      if (!line) return reject(new Error(`${job.client} ${job.measurement}: no result (code ${code}, ${signal ?? 'no signal'})\n${errors}`));
      resolve({ ...JSON.parse(line), exitMs: performance.now() - started, exitCode: code, killed: signal === 'SIGKILL' });
    });
  });
}

// ---- statistics -------------------------------------------------------------
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const fmt = (x, digits = 0) =>
  x === undefined || Number.isNaN(x) ? '–' : x.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
const spread = (xs, digits) => `${fmt(Math.min(...xs), digits)}–${fmt(Math.max(...xs), digits)}`;

const report = [];
const section = (title, lines) => {
  const text = [`### ${title}`, '', ...lines, ''].join('\n');
  report.push(text);
  process.stdout.write(`${text}\n`);
};

async function rounds(count, job, among = names) {
  const results = Object.fromEntries(among.map((n) => [n, []]));
  for (let round = 0; round < count; round++) {
    for (const client of among) {
      const before = { ...sink };
      const result = await runChild({ ...job, client });
      result.delivered = sink.events - before.events;
      result.lastAt = sink.lastAt;
      results[client].push(result);
    }
  }
  return results;
}

/** `columns`: more columns after the ratio, each a median and spread of its own metric (`{ title, metric, digits }`). */
function table(results, metric, unit, { digits = 0, higherIsBetter = false, columns = [] } = {}) {
  const ourMedian = median(results[ours].map(metric));
  const extra = (title) => columns.map((c) => ` ${title(c)} |`).join('');
  const lines = [
    `| client | median ${unit} | spread (min–max) | ratio to ours |${extra((c) => c.title)} dropped or lost |`,
    `|---|---|---|---|${columns.map(() => '---|').join('')}---|`,
  ];
  for (const client of Object.keys(results)) {
    const values = results[client].map(metric);
    const m = median(values);
    const ratio = higherIsBetter ? ourMedian / m : m / ourMedian;
    const lost = results[client].map((r) => (r.dropped ?? 0) + Math.max(0, (r.expected ?? 0) - (r.delivered ?? 0)));
    const more = extra((c) => {
      const xs = results[client].map(c.metric).filter((x) => x !== undefined);
      return xs.length === 0 ? '–' : `${fmt(median(xs), c.digits)} (${spread(xs, c.digits)})`;
    });
    lines.push(
      `| ${client} | ${fmt(m, digits)} | ${spread(values, digits)} | ${client === ours ? '1.00' : `${fmt(ratio, 2)}× ${higherIsBetter ? 'ours faster' : 'theirs slower'}`} |${more} ${fmt(median(lost))} |`,
    );
  }
  return lines;
}

/** The CPU column of the steady runs: the child's user+system µs over the events the sink counted (see child.mjs). */
const cpuColumn = { title: 'CPU µs/event, median (min–max)', metric: (r) => r.cpuUsPerEvent, digits: 2 };
/** What the CPU column includes besides the client: the pacing's waits for the sink, per client. */
function cpuNote(results, calls) {
  const perThousand = (n) => fmt((median(results[n].map((r) => r.sinkQueries ?? NaN)) / calls) * 1000, 1);
  const queries = Object.keys(results)
    .map((n) => `${n} ${perThousand(n)}`)
    .join(', ');
  return `CPU µs/event is the client's whole process, user+system, from the first measured call to the end of shutdown, over the events the sink counted in that window. It includes the bench's pacing: every 1,000 calls, when more than ${fmt(PACE_EVENTS)} events may be uncounted, one IPC message to the parent, which runs the sink, and its answer once the sink has counted enough (median such waits per 1,000 events: ${queries}).`;
}

const commit = (() => {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
  } catch {
    return 'unknown';
  }
})();
const started = performance.now();
report.push(
  [
    `Run on ${new Date().toISOString().slice(0, 10)} at commit \`${commit}\`, ${os.cpus().length} cores (${os.cpus()[0]?.model ?? 'unknown CPU'}), ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node.js ${process.version}.`,
    `Command: \`npm run bench${quick ? ' -- --quick' : ''}\`. Flush interval ${FLUSH_INTERVAL_MS} ms for every client.`,
    '',
  ].join('\n'),
);

// ---- 1 and 2. hot path and throughput, from the same paced runs ------------------
const calls = size(1_000_000, 50_000);
const warmup = size(100_000, 10_000);
const steady = await rounds(size(3, 2), { measurement: 'steady', url: sinkUrl, calls, warmup, chunk: 100, pace: PACE_EVENTS });
for (const client of names) for (const r of steady[client]) r.expected = calls + warmup;
section(`1. Hot path: ns per call over ${fmt(calls)} calls (after ${fmt(warmup)} warm-up calls), sink accepting, production paced so nothing is dropped`, [
  ...table(steady, (r) => r.nsPerCall, 'ns/call', { digits: 0 }),
  '',
  'Settings:',
  ...names.map((n) => `- ${n}: \`${JSON.stringify(steady[n][0].settings)}\``),
]);
section(
  `2. Throughput: events per second delivered end to end, counted at the sink, ${fmt(calls)} events from the first call to the last event acknowledged (same runs)`,
  [
    ...table(steady, (r) => calls / ((r.lastAt - r.startedAtMs) / 1000), 'events/s', { higherIsBetter: true, columns: [cpuColumn] }),
    '',
    cpuNote(steady, calls),
  ],
);

if (throughputOnly) {
  report.push(`Sections 1 and 2 only (\`--throughput\`). Total bench time: ${fmt((performance.now() - started) / 1000)} s.`);
  writeFileSync(`${here}results.md`, report.join('\n'));
  server.closeAllConnections();
  hang.closeAllConnections();
  server.close();
  hang.close();
  process.exit(0);
}

// ---- 3. memory --------------------------------------------------------------
const memCalls = size(10_000_000, 200_000);
/** Wall-time limit per client and sink, so one slow client cannot take the whole run past 10 minutes. */
const MEMORY_LIMIT_MS = size(40_000, 10_000);
for (const [label, url] of [
  ['dead sink (connection refused)', deadUrl],
  ['hanging sink', hangUrl],
]) {
  const mem = await rounds(1, { measurement: 'memory', url, calls: memCalls, chunk: 1000, maxMs: MEMORY_LIMIT_MS });
  section(`3. Memory after ${fmt(memCalls)} calls, ${label}`, [
    '| client | calls made | peak RSS MiB | peak heap MiB | heap at 1M calls MiB | heap at the end MiB |',
    '|---|---|---|---|---|---|',
    ...names.map((n) => {
      const r = mem[n][0];
      const made =
        r.callsDone < memCalls
          ? `${fmt(r.callsDone)} (stopped at ${r.peakRssMb >= 4096 ? '4 GiB RSS' : `the ${MEMORY_LIMIT_MS / 1000} s limit`})`
          : fmt(r.callsDone);
      return `| ${n} | ${made} | ${fmt(r.peakRssMb, 1)} | ${fmt(r.peakHeapMb, 1)} | ${fmt((r.at1M?.heapUsed ?? NaN) / 2 ** 20, 1)} | ${fmt((r.atEnd?.heapUsed ?? NaN) / 2 ** 20, 1)} |`;
    }),
  ]);
}

// ---- 4. shutdown --------------------------------------------------------------
const sd = await rounds(size(3, 2), { measurement: 'shutdown', url: sinkUrl, calls: 10_000, flushIntervalMs: 60_000 });
for (const client of names) for (const r of sd[client]) r.expected = 10_000;
section('4. Shutdown: time for stop()/shutdown() to drain 10,000 queued events', [...table(sd, (r) => r.shutdownMs, 'ms', { digits: 1 })]);

// ---- 5. idle --------------------------------------------------------------
const idleMs = size(60_000, 3000);
const idle = await Promise.all(names.map((client) => runChild({ client, measurement: 'idle', url: sinkUrl, idleMs })));
const exits = [];
for (const client of names) exits.push(await runChild({ client, measurement: 'exit', url: sinkUrl }, { timeoutMs: 20_000 }));
section(`5. Idle: CPU used over ${fmt(idleMs / 1000)} s idle after one event, and whether a script that logs once and returns exits by itself`, [
  '| client | CPU ms while idle | script exits by itself | exit after |',
  '|---|---|---|---|',
  ...names.map((n, i) => {
    const e = exits[i];
    return `| ${n} | ${fmt(idle[i].cpuMs, 1)} | ${e.killed ? 'no (killed after 20 s)' : 'yes'} | ${fmt(e.exitMs)} ms |`;
  }),
]);

// ---- 6. the cost of the durable spool --------------------------------------
const spoolNames = [ours, ...Object.keys(variants)];
const spooled = await rounds(size(3, 2), { measurement: 'steady', url: sinkUrl, calls, warmup, chunk: 100, pace: PACE_EVENTS }, spoolNames);
for (const client of spoolNames) for (const r of spooled[client]) r.expected = calls + warmup;
section(`6. The cost of spoolDir (every accepted event journaled, every batch written before it is sent), ${fmt(calls)} calls as in 1 and 2, ours only`, [
  ...table(spooled, (r) => r.nsPerCall, 'ns/call', { digits: 0 }),
  '',
  ...table(spooled, (r) => calls / ((r.lastAt - r.startedAtMs) / 1000), 'events/s', { higherIsBetter: true, columns: [cpuColumn] }),
  '',
  'ns/call is the time inside `log()`; the journal writes in a microtask after it, so its cost shows in events/s.',
]);

// ---- 7. hostile inputs --------------------------------------------------------
// In a process of its own: the shapes take hundreds of MiB, and a full GC runs before each timed call.
const hostile = execFileSync(process.execPath, ['--expose-gc', `${here}hostile.mjs`, ...(quick ? ['--quick'] : [])], { encoding: 'utf8', maxBuffer: 1 << 20 });
section('7. Hostile inputs: one `log()` of data whose snapshot used to grow with it, ours only', [hostile.trim()]);

// ---- 8. memory bounded by bytes ---------------------------------------------
const bigEvents = size(10_000, 1000);
const bigRun = (make, logging) =>
  JSON.parse(
    execFileSync(process.execPath, [`${here}big-events.mjs`, String(bigEvents), '1', make, logging], { encoding: 'utf8', maxBuffer: 1 << 20 })
      .trim()
      .split('\n')
      .at(-1),
  );
const bigRows = [];
for (const make of ['repeat', 'buffer']) {
  const on = [];
  const off = [];
  for (let round = 0; round < size(3, 1); round++) {
    on.push(bigRun(make, 'on'));
    off.push(bigRun(make, 'off'));
  }
  const peaks = on.map((r) => r.peakRssMiB);
  const hostPeaks = off.map((r) => r.peakRssMiB);
  bigRows.push(
    `| \`${make}\` | ${fmt(median(peaks))} | ${spread(peaks)} | ${fmt(median(hostPeaks))} | ${fmt(median(on.map((r) => r.heapAtEndMiB)))} | ${fmt(median(on.map((r) => r.accepted)))} | ${fmt(median(on.map((r) => r.dropped.queue_bytes ?? 0)))} |`,
  );
}
section(`8. Memory bounded by bytes: ${fmt(bigEvents)} events, each carrying a fresh 1 MiB string, dead sink, ours only`, [
  '| strings made by | peak RSS MiB (median) | spread | the host alone, strings made but not logged | heap at the end MiB | accepted | refused as queue_bytes |',
  '|---|---|---|---|---|---|---|',
  ...bigRows,
  '',
  'Target: a peak RSS of at most 200 MiB. Each string is cut to 32,768 characters by the snapshot and copied flat, so a queued event never keeps its 1 MiB parent alive, and `maxQueueBytes` (64 MiB) refuses what would not fit. `repeat` strings are built lazily by V8, so the host itself holds little; `buffer` strings are flat copies, whose garbage alone (the third column) takes the host to about 200 MiB before any telemetry.',
]);

report.push(`Total bench time: ${fmt((performance.now() - started) / 1000)} s.`);
writeFileSync(`${here}results.md`, report.join('\n'));
server.closeAllConnections();
hang.closeAllConnections();
server.close();
hang.close();
