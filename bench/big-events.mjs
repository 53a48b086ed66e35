/**
 * Memory bounded by bytes: 10,000 events, each carrying a fresh 1 MiB string
 * (its own flat string, so nothing is shared between events), logged against
 * a dead sink (connection refused), so nothing ever leaves the queue but by
 * being refused or dropped. Prints one JSON line: the peak RSS (the kernel's
 * high-water mark, `resourceUsage().maxRSS`), the heap at the end, and how
 * the 10,000 calls ended.
 *
 * Run from the repository root after `npm run build`:
 * `node bench/big-events.mjs [events] [MiB per string]`. `npm run bench`
 * runs it as section 7, in a process of its own.
 */
import { createServer } from 'node:http';
import { performance } from 'node:perf_hooks';

const events = Number(process.argv[2] ?? 10_000);
const mib = Number(process.argv[3] ?? 1);
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
  const text = Buffer.alloc(mib * 2 ** 20, 97 + (done % 26)).toString('latin1');
  if (reporter.log('big.event', { i: done, text })) accepted++;
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
