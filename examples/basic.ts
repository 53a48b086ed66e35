/**
 * The smallest complete session: start a reporter, log a few events at
 * different severities, flush and wait for the outcome, stop (which sends
 * SESSION_END and drains), and print the counters of `stats()`.
 *
 *   npx tsx examples/basic.ts
 *
 * With TINKER_BASE_URL unset it sends to an embedded loopback sink, so it runs
 * offline; set TINKER_BASE_URL and TINKER_API_KEY to send to a real backend.
 * The import would be `from 'tinker-telemetry'` in an application; the
 * examples import the source so that they run without a build.
 */
import { createConfig, startReporter, type Severity } from '../src/index.js';
import { startSink } from '../demo/sink.js';

// An empty TINKER_BASE_URL counts as unset, so `TINKER_BASE_URL= npx tsx …` still runs offline.
const sink = process.env.TINKER_BASE_URL ? undefined : await startSink();
const config = createConfig({
  baseUrl: sink?.url ?? process.env.TINKER_BASE_URL,
  // The embedded sink accepts any key; a real backend needs TINKER_API_KEY, and startReporter says so when it is missing.
  apiKey: process.env.TINKER_API_KEY ?? (sink ? 'example-key' : undefined),
});
console.log(`sending to ${config.telemetryEndpoint}${sink ? ' (embedded loopback sink)' : ''}`);

const sessionId = `basic-example-${process.pid}`;
const reporter = startReporter({ config, sessionId });
if (reporter === null) {
  // TINKER_TELEMETRY=0 (or false/no/off) turns telemetry off: there is no reporter, and nothing is sent.
  console.log('telemetry is disabled (TINKER_TELEMETRY); nothing to report');
  await sink?.close();
} else {
  console.log(`session ${reporter.sessionId} started (SESSION_START queued)`);

  const events: [name: string, data: unknown, severity: Severity][] = [
    ['train.step', { step: 1, loss: 0.37 }, 'info'],
    ['train.step', { step: 2, loss: 0.31 }, 'debug'],
    ['checkpoint.slow', { seconds: 41 }, 'warning'],
    ['eval.failed', { dataset: 'held-out', reason: 'shape mismatch' }, 'error'],
  ];
  for (const [name, data, severity] of events) {
    const accepted = reporter.log(name, data, severity);
    console.log(`log(${JSON.stringify(name)}, …, '${severity}') → ${accepted ? 'accepted' : 'refused'}`);
  }

  // `sync` waits until everything accepted so far has an outcome; true means all of it was delivered.
  const delivered = await reporter.flush({ sync: true });
  console.log(`flush({ sync: true }) → ${delivered} (everything so far ${delivered ? 'delivered' : 'NOT delivered'})`);

  const drained = await reporter.stop();
  console.log(`stop() → ${drained} (SESSION_END sent, ${drained ? 'drained before the deadline' : 'deadline hit'})`);

  const stats = reporter.stats();
  console.log('stats():', JSON.stringify(stats));
  console.log(`accepted ${stats.pushCounter}, delivered ${stats.deliveredCounter}, state ${JSON.stringify(stats.state)}`);
  if (sink) console.log(`the sink received ${sink.batches.length} batch(es), ${sink.batches.flatMap((b) => b.body.events).length} events`);
  await sink?.close();
  // A non-zero status tells a script that something was lost.
  process.exitCode = delivered && drained && stats.deliveredCounter === stats.pushCounter ? 0 : 1;
}
