/**
 * Delivered events per second as a function of the batch size (10, 100,
 * 1000) and of the sink's latency (0, 1, 10 ms added before each answer):
 * what to tune, and where one request in flight is the bound.
 *
 * The sink runs in this process; each measurement's reporter runs in a
 * child process of its own (this file with `--child`), so the sink's work
 * never shares a thread with the client's. The child logs `EVENTS` events
 * as fast as the queue takes them (a chunk per macrotask, never more than
 * the room left, so none is refused), then stops; delivered/s is the events
 * delivered over the time from the first `log()` to the end of `stop()`,
 * after a warm-up of a tenth as many events delivered off the clock. The
 * sink checks that every event arrived, warm-up and session events
 * included. Each cell is the median of `ROUNDS` runs, with min–max.
 *
 * Usage: npm run build && node bench/batch-latency.mjs [--quick]
 */
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import { fileURLToPath } from 'node:url';

const QUICK = process.argv.includes('--quick');
/** Events per run: 2,000 batches' worth, at most 100,000, so the slowest cell (batch 10, 10 ms) stays near 20 s a run. */
const eventsFor = (batch) => (QUICK ? 5_000 : Math.min(100_000, batch * 2_000));
const ROUNDS = QUICK ? 1 : 3;
const BATCH_SIZES = [10, 100, 1000];
const LATENCIES_MS = [0, 1, 10];
const MAX_QUEUE = 10_000;

if (process.argv.includes('--child')) await child();
else await parent();

async function child() {
  const [url, batch] = [process.env.BENCH_URL, Number(process.env.BENCH_BATCH)];
  const EVENTS = eventsFor(batch);
  const { createConfig, startReporter } = await import('../dist/src/index.js');
  const silent = { warn() {}, info() {}, error() {}, debug() {} };
  const reporter = startReporter({
    config: createConfig({ apiKey: 'bench-key', baseUrl: url }),
    sessionId: 'batch-latency',
    enabled: true,
    attachEvents: false,
    logger: silent,
    maxBatchSize: batch,
    flushThreshold: batch,
    maxQueueSize: MAX_QUEUE,
    // Batches of 1000 small events are about 100 KB: within the default byte caps.
    flushIntervalMs: 1000,
    handleSignals: [],
    drainOnExit: false,
    captureUncaught: false,
  });
  const produce = async (count) => {
    let sent = 0;
    while (sent < count) {
      // One place is kept for SESSION_END, which would otherwise displace the newest event (counted queue_full).
      const room = MAX_QUEUE - 1 - reporter.stats().queueSize;
      const chunk = Math.min(room, count - sent, 1000);
      for (let i = 0; i < chunk; i++) reporter.log('bench.event', { i: sent + i });
      sent += chunk;
      await new Promise((resolve) => setImmediate(resolve));
    }
  };
  // A warm-up of a tenth of the run, delivered before the clock starts, so the JIT's first minutes are not measured.
  await produce(Math.ceil(EVENTS / 10));
  await reporter.flush({ sync: true });
  const deliveredBefore = reporter.stats().deliveredCounter;
  const started = performance.now();
  await produce(EVENTS);
  await reporter.stop(120_000);
  const seconds = (performance.now() - started) / 1000;
  const { dropped, deliveredCounter } = reporter.stats();
  const lost = Object.values(dropped).reduce((sum, n) => sum + n, 0);
  // SESSION_END is delivered with the last batch; the rate is of the logged events.
  process.stdout.write(JSON.stringify({ rate: (deliveredCounter - deliveredBefore - 1) / seconds, lost, dropped }));
}

async function parent() {
  let counted = 0;
  let latencyMs = 0;
  const server = createServer((req, res) => {
    const parts = [];
    req.on('data', (part) => parts.push(part));
    req.on('end', () => {
      // Counting the events by their ids is cheaper than parsing the batch, and exact for this client's JSON.
      counted += Buffer.concat(parts).toString('utf8').split('"event_id"').length - 1;
      const answer = () => {
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"accepted"}');
      };
      if (latencyMs === 0) answer();
      else setTimeout(answer, latencyMs);
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${server.address().port}`;

  const run = (batch) =>
    new Promise((resolve, reject) => {
      const proc = spawn(process.execPath, [fileURLToPath(import.meta.url), '--child'], {
        env: { ...process.env, BENCH_URL: url, BENCH_BATCH: String(batch) },
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      let out = '';
      proc.stdout.on('data', (part) => (out += part));
      proc.on('error', reject);
      proc.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`child exited with ${code}`))));
    });

  const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
  const rows = [];
  for (const latency of LATENCIES_MS) {
    latencyMs = latency;
    const cells = [];
    for (const batch of BATCH_SIZES) {
      const rates = [];
      const EVENTS = eventsFor(batch);
      for (let round = 0; round < ROUNDS; round++) {
        counted = 0;
        const { rate, lost, dropped } = await run(batch);
        // The warm-up, SESSION_START and SESSION_END reach the sink too.
        const expected = EVENTS + Math.ceil(EVENTS / 10) + 2;
        if (lost !== 0 || counted !== expected)
          throw new Error(`batch ${batch}, latency ${latency} ms: the sink counted ${counted} of ${expected}, ${lost} dropped ${JSON.stringify(dropped)}`);
        rates.push(rate);
      }
      const fmt = (n) => Math.round(n).toLocaleString('en-US');
      cells.push(`${fmt(median(rates))} (${fmt(Math.min(...rates))}–${fmt(Math.max(...rates))})`);
    }
    rows.push(`| ${latency} ms | ${cells.join(' | ')} |`);
  }
  server.close();
  console.log(
    `Delivered events/s, median of ${ROUNDS} run(s) (min–max), each of ${BATCH_SIZES.map((b) => `${eventsFor(b).toLocaleString('en-US')} events at batch ${b}`).join(', ')}; one request in flight:\n`,
  );
  console.log(`| sink latency | ${BATCH_SIZES.map((b) => `batch ${b}`).join(' | ')} |`);
  console.log(`|---|${BATCH_SIZES.map(() => '---').join('|')}|`);
  for (const row of rows) console.log(row);
}
