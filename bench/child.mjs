/**
 * One client, one measurement, in a process of its own. Prints one JSON line.
 * Production yields to the event loop every `chunk` calls so that every
 * client can send while it is being fed (a tight loop would only measure
 * how fast a queue fills and drops).
 */
import { performance } from 'node:perf_hooks';
import { clients, variants } from './clients.mjs';

const job = JSON.parse(process.argv[2]);
const turn = () => new Promise((resolve) => setImmediate(resolve));
const client = await (clients[job.client] ?? variants[job.client])(job.url, job.flushIntervalMs);

/**
 * The sink's count, asked of the parent (which runs the sink) over the IPC
 * channel: `until` makes the parent answer only once the sink has counted
 * that many events. Pacing used to poll the sink over HTTP every
 * millisecond, and each query cost the client's process about 0.3 ms of
 * CPU, charged to whichever client was paced most; a wait now costs one
 * message each way, whatever it lasts.
 */
let sinkQueries = 0;
const replies = [];
process.on('message', (message) => replies.shift()?.(message.events));
const sinkCount = (until = 0) =>
  new Promise((resolve) => {
    sinkQueries++;
    replies.push(resolve);
    process.send({ until });
  });

/**
 * Calls the client `calls` times, `chunk` at a time, yielding between chunks.
 * With `pace`, it also waits, every 1,000 calls, while more than `pace`
 * events are produced but not yet counted at the sink, so no client is
 * measured while dropping (every queue here holds 10,000). Only the time
 * inside the calls counts.
 */
let produced = 0;
let sinkBase;
/** The sink's count when last asked: a floor, so a wait is asked for only when the backlog may be over `pace`. */
let counted = 0;
async function produce(calls, chunk, { onChunk, pace } = {}) {
  let busyNs = 0n;
  if (pace && sinkBase === undefined) counted = sinkBase = await sinkCount();
  for (let i = 0; i < calls;) {
    const end = Math.min(calls, i + chunk);
    const started = process.hrtime.bigint();
    for (; i < end; i++) client.call(i);
    busyNs += process.hrtime.bigint() - started;
    produced += chunk;
    if (onChunk?.(i) === false) return { busyNs: Number(busyNs), done: i };
    await turn();
    if (pace && i % 1000 === 0 && produced - (counted - sinkBase) > pace) counted = await sinkCount(sinkBase + produced - pace);
  }
  return { busyNs: Number(busyNs), done: calls };
}

const out = { client: job.client, measurement: job.measurement, settings: client.settings };

switch (job.measurement) {
  case 'steady': {
    // Hot path and throughput from one paced run: ns inside each call, and
    // events per second from the first call to the last event counted.
    await produce(job.warmup, job.chunk, { pace: job.pace });
    // CPU per delivered event: the whole process (calls, serialization, requests, the client's timers), from the
    // first measured call to the end of shutdown, over the events the sink counted in that window.
    const countedBefore = await sinkCount();
    const queriesBefore = sinkQueries;
    const cpuBefore = process.cpuUsage();
    out.startedAtMs = performance.timeOrigin + performance.now();
    const { busyNs } = await produce(job.calls, job.chunk, { pace: job.pace });
    out.nsPerCall = busyNs / job.calls;
    await client.shutdown(120_000);
    const cpu = process.cpuUsage(cpuBefore);
    // Counted after the CPU reading, so that this last query is not charged to the client.
    const delivered = (await sinkCount()) - countedBefore;
    out.cpuUsPerEvent = delivered > 0 ? (cpu.user + cpu.system) / delivered : undefined;
    out.sinkQueries = sinkQueries - queriesBefore;
    out.dropped = client.dropped();
    out.stats = client.stats?.();
    break;
  }
  case 'memory': {
    let peakRss = 0;
    let peakHeap = 0;
    const samples = {};
    const deadline = performance.now() + job.maxMs;
    const { done } = await produce(job.calls, job.chunk, {
      onChunk: (i) => {
        if (i % 100_000 !== 0) return true;
        const { rss, heapUsed } = process.memoryUsage();
        peakRss = Math.max(peakRss, rss);
        peakHeap = Math.max(peakHeap, heapUsed);
        if (i === 1_000_000 || i === job.calls) samples[i] = { rss, heapUsed };
        // A client with an unbounded queue would take the machine down: stop it
        // at 4 GiB. A client that slows down as its backlog grows would hold the
        // run for many minutes: stop it at the time limit.
        return rss < 4 * 2 ** 30 && performance.now() < deadline;
      },
    });
    out.callsDone = done;
    out.peakRssMb = peakRss / 2 ** 20;
    out.peakHeapMb = peakHeap / 2 ** 20;
    out.at1M = samples[1_000_000];
    out.atEnd = samples[job.calls];
    out.dropped = client.dropped();
    // Bounded, so a dead or hung sink cannot hold the run; the process exits below either way.
    await Promise.race([client.shutdown(1000), new Promise((resolve) => setTimeout(resolve, 3000).unref())]);
    break;
  }
  case 'shutdown': {
    // Fill the queue with 10,000 events without yielding, so they are all
    // still queued when shutdown starts.
    for (let i = 0; i < job.calls; i++) client.call(i);
    const started = performance.now();
    await client.shutdown(120_000);
    out.shutdownMs = performance.now() - started;
    out.dropped = client.dropped();
    break;
  }
  case 'idle': {
    client.call(0);
    // Two flush intervals: the one event has been sent before measuring starts.
    await new Promise((resolve) => setTimeout(resolve, 2 * job.flushIntervalMs));
    const before = process.cpuUsage();
    const startedAt = performance.now();
    await new Promise((resolve) => setTimeout(resolve, job.idleMs));
    const used = process.cpuUsage(before);
    out.cpuMs = (used.user + used.system) / 1000;
    out.wallMs = performance.now() - startedAt;
    await Promise.race([client.shutdown(2000), new Promise((resolve) => setTimeout(resolve, 3000).unref())]);
    break;
  }
  case 'exit': {
    // Logs once and returns: the parent times how long the process takes to exit on its own.
    client.call(0);
    process.stdout.write(`${JSON.stringify(out)}\n`);
    break;
  }
}

if (job.measurement !== 'exit') {
  process.stdout.write(`${JSON.stringify(out)}\n`);
  process.exit(0);
}
