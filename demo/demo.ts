/**
 * `npm run demo`: a reporter sending to an embedded loopback sink that stands
 * in for the Tinker backend, through bursts, exceptions, a stretch of 503 and
 * 429 answers, and a graceful stop. It prints each machine transition, each
 * batch and each drop, then a summary whose books must balance.
 */
import { subscribe } from 'node:diagnostics_channel';
import { parseArgs } from 'node:util';
import { createConfig, startReporter } from '../src/index.js';
import { startSink } from './sink.js';

const HELP = `Usage: npm run demo -- [options]

  --events N        events to log in the bursts (default 300)
  --fault-rate R    share of requests the sink fails with 503/429 during the fault stretch, 0..1 (default 0.6)
  --base-url URL    send to a real backend instead of the embedded sink (needs TINKER_API_KEY)
  --quiet           print only the summary
  -h, --help        show this help
`;

const { values } = parseArgs({
  options: {
    events: { type: 'string', default: '300' },
    'fault-rate': { type: 'string', default: '0.6' },
    'base-url': { type: 'string' },
    quiet: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
});

if (values.help) {
  process.stdout.write(HELP);
  process.exit(0);
}

const eventCount = Number(values.events);
const faultRate = Number(values['fault-rate']);
if (!Number.isSafeInteger(eventCount) || eventCount < 0) throw new RangeError(`--events must be a whole number ≥ 0, got ${values.events}`);
if (!(faultRate >= 0 && faultRate <= 1)) throw new RangeError(`--fault-rate must be between 0 and 1, got ${values['fault-rate']}`);

const say = (line: string) => {
  if (!values.quiet) process.stdout.write(`${line}\n`);
};
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

let faulty = false;
let faultCounter = 0;
const sink = values['base-url']
  ? undefined
  : await startSink(() => {
      if (!faulty || Math.random() >= faultRate) return { status: 200 };
      return faultCounter++ % 2 === 0 ? { status: 503 } : { status: 429, headers: { 'retry-after': '1' } };
    });

const config = sink
  ? createConfig({ apiKey: 'demo-key', baseUrl: sink.url })
  : createConfig({ baseUrl: values['base-url'] });
say(`sink: ${sink ? sink.url : config.baseUrl} (${sink ? 'embedded loopback' : 'real backend'})`);

subscribe('tinker:telemetry:state', (message) => {
  const { from, to, event } = message as { from: string; to: string; event: string };
  say(`  state  ${from.padEnd(17)} → ${to.padEnd(17)} on ${event}`);
});
subscribe('tinker:telemetry:batch:sent', (message) => {
  const m = message as { size: number; attempt: number; durationMs: number; status: number };
  say(`  batch  ${String(m.size).padStart(3)} events  attempt ${m.attempt}  ${m.durationMs.toFixed(1)} ms  → ${m.status}`);
});
subscribe('tinker:telemetry:batch:failed', (message) => {
  const m = message as { size: number; attempt: number; kind: string; status?: number; reason?: string; willRetry: boolean; delayMs?: number };
  const what = m.status ?? m.reason ?? m.kind;
  say(`  batch  ${String(m.size).padStart(3)} events  attempt ${m.attempt}  failed (${what})${m.willRetry ? `, retry in ${m.delayMs ?? 0} ms` : ', given up'}`);
});
subscribe('tinker:telemetry:event:dropped', (message) => {
  const m = message as { reason: string; count: number };
  say(`  drop   ${m.count} event(s): ${m.reason}`);
});

const reporter = startReporter({
  config,
  sessionId: `demo-${process.pid}`,
  enabled: true,
  flushIntervalMs: 250,
  flushThreshold: 50,
  maxBatchSize: 50,
  maxQueueSize: 1000,
  retryBaseDelayMs: 100,
  maxRetries: 4,
  flushTimeoutMs: 10_000,
});
if (reporter === null) throw new Error('telemetry is disabled');

say('\n-- bursts of log()');
const half = Math.floor(eventCount / 2);
for (let i = 0; i < half; i++) reporter.log('demo.step', { step: i, loss: 1 / (i + 1) }, i % 50 === 0 ? 'debug' : 'info');
await sleep(400);

say('\n-- an exception, a user error, and a refused severity');
reporter.logException(new RangeError('learning rate out of range', { cause: new Error('lr=10') }));
reporter.logException(Object.assign(new Error('model not found'), { status: 404 }));
reporter.log('demo.bad', {}, 'loud' as 'info');
await sleep(300);

say(`\n-- fault stretch: the sink fails ${Math.round(faultRate * 100)}% of requests with 503 or 429`);
faulty = true;
for (let i = half; i < eventCount; i++) reporter.log('demo.step', { step: i });
await reporter.flush({ sync: true });
faulty = false;

say('\n-- graceful stop');
const drained = await reporter.stop();
const stats = reporter.stats();
await sink?.close();

const droppedAfter = stats.dropped.retries_exhausted + stats.dropped.rejected + stats.dropped.shutdown;
const balanced = stats.deliveredCounter + droppedAfter === stats.pushCounter;
process.stdout.write(
  [
    '',
    'summary',
    `  accepted   ${stats.pushCounter}`,
    `  delivered  ${stats.deliveredCounter}${sink ? ` (the sink holds ${new Set(sink.batches.flatMap((b) => b.body.events.map((e) => e.event_id))).size} distinct events)` : ''}`,
    `  dropped    ${Object.entries(stats.dropped).map(([reason, n]) => `${reason}=${n}`).join(' ')}`,
    `  delivered + dropped after acceptance = ${stats.deliveredCounter + droppedAfter} ${balanced ? '= accepted ✓' : '≠ accepted ✗'}`,
    `  drained before the deadline: ${drained}`,
    '',
  ].join('\n'),
);
process.exitCode = balanced ? 0 : 1;
