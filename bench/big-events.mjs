/**
 * Memory bounded by bytes: 10,000 events, each carrying a fresh 1 MiB string,
 * logged against a dead sink (connection refused), so nothing ever leaves the
 * queue but by being refused or dropped. Prints one JSON line: the peak RSS
 * (the kernel's high-water mark, `resourceUsage().maxRSS`), the heap at the
 * end, and how the 10,000 calls ended.
 *
 * How the host makes its strings weighs on the peak as much as the library
 * does, so `make` chooses: `repeat` (`'a'.repeat(n)`, which V8 builds lazily,
 * so the host itself holds little), or `buffer` (`Buffer.alloc(n).toString()`,
 * a flat copy: 2 MiB of the host's own garbage per call). With `log` set to
 * `off` the strings are made and never logged: the host's own peak, to
 * compare with.
 *
 * Run from the repository root after `npm run build`:
 * `node bench/big-events.mjs [events] [MiB per string] [repeat|buffer] [on|off]`.
 * `npm run bench` runs it as section 7, each run in a process of its own.
 */
import { createServer } from 'node:http';
import { performance } from 'node:perf_hooks';

const events = Number(process.argv[2] ?? 10_000);
const mib = Number(process.argv[3] ?? 1);
const make = process.argv[4] ?? 'repeat';
const logging = process.argv[5] !== 'off';
/** A process that holds this much has lost the bound: stop rather than take the machine down. */
const RSS_LIMIT = 4 * 2 ** 30;

const probe = createServer();
await new Promise((resolve) => probe.listen(0, '127.0.0.1', resolve));
const deadUrl = `http://127.0.0.1:${probe.address().port}`;
await new Promise((resolve) => probe.close(resolve));

const { createConfig, startReporter } = await import('../dist/src/index.js');
const silent = { warn() {}, info() {}, error() {}, debug() {} };
const reporter = startReporter({
  config: createConfig({ apiKey: 'bench-key', baseUrl: deadUrl }),
  sessionId: 'bench-big-events',
  enabled: true,
  attachEvents: false,
  drainOnExit: false,
  logger: silent,
  flushIntervalMs: 1000,
});

const started = performance.now();
let done = 0;
let accepted = 0;
let peakSampledRss = 0;
for (; done < events; done++) {
  // A fresh flat string each time, as a request body or a file read would be.
  const text =
    make === 'buffer' ? Buffer.alloc(mib * 2 ** 20, 97 + (done % 26)).toString('latin1') : String.fromCharCode(97 + (done % 26)).repeat(mib * 2 ** 20);
  if (logging && reporter.log('big.event', { i: done, text })) accepted++;
  if (done % 100 === 99) {
    // Lets the reporter try to send (and fail) between chunks, as a live service would.
    await new Promise((resolve) => setImmediate(resolve));
    peakSampledRss = Math.max(peakSampledRss, process.memoryUsage().rss);
    if (peakSampledRss > RSS_LIMIT) break;
  }
}
const elapsedMs = performance.now() - started;
const stats = reporter.stats();
const { heapUsed } = process.memoryUsage();
await Promise.race([reporter.stop(100), new Promise((resolve) => setTimeout(resolve, 2000).unref())]);
const result = {
  events: done,
  mibPerString: mib,
  make,
  logging,
  accepted,
  stoppedAtRssLimit: done < events,
  peakRssMiB: Math.round((process.resourceUsage().maxRSS * 1024) / 2 ** 20),
  heapAtEndMiB: Math.round(heapUsed / 2 ** 20),
  queueBytesAtEnd: stats.queueBytes,
  dropped: Object.fromEntries(Object.entries(stats.dropped).filter(([, n]) => n > 0)),
  elapsedMs: Math.round(elapsedMs),
};
process.stdout.write(`${JSON.stringify(result)}\n`);
process.exit(0);
