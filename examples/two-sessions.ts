/**
 * Two sessions in one process, side by side: each reporter has its own queue,
 * counters and SESSION_START/SESSION_END, forwards only the diagnostics
 * channel messages that carry its own session id, and goes on working after
 * the other one has stopped.
 *
 *   npx tsx examples/two-sessions.ts
 *
 * With TINKER_BASE_URL unset it sends to an embedded loopback sink, so it runs
 * offline; set TINKER_BASE_URL and TINKER_API_KEY to send to a real backend.
 * The import would be `from 'tinker-telemetry'` in an application; the
 * examples import the source so that they run without a build.
 */
import { createConfig, publishHttpRequestStop, startReporter, type ReporterStats } from '../src/index.js';
import { startSink } from '../demo/sink.js';

// An empty TINKER_BASE_URL counts as unset, so `TINKER_BASE_URL= npx tsx …` still runs offline.
const sink = process.env.TINKER_BASE_URL ? undefined : await startSink();
const config = createConfig({
  baseUrl: sink?.url ?? process.env.TINKER_BASE_URL,
  // The embedded sink accepts any key; a real backend needs TINKER_API_KEY, and startReporter says so when it is missing.
  apiKey: process.env.TINKER_API_KEY ?? (sink ? 'example-key' : undefined),
});
console.log(`sending to ${config.telemetryEndpoint}${sink ? ' (embedded loopback sink)' : ''}`);

const training = startReporter({ config, sessionId: `two-sessions-training-${process.pid}` });
const evaluation = startReporter({ config, sessionId: `two-sessions-evaluation-${process.pid}` });
if (training === null || evaluation === null) {
  console.log('telemetry is disabled (TINKER_TELEMETRY); nothing to report');
  await Promise.all([training?.stop(), evaluation?.stop()]);
  await sink?.close();
} else {
  console.log(`sessions ${training.sessionId} and ${evaluation.sessionId} started`);
  const show = (label: string, s: ReporterStats) =>
    console.log(
      `  ${label.padEnd(10)} accepted ${s.pushCounter}, delivered ${s.deliveredCounter}, queued ${s.queueSize}, state ${JSON.stringify(s.state)}, ended ${s.sessionEnded}`,
    );

  for (let step = 1; step <= 3; step++) training.log('train.step', { step, loss: 1 / step });
  for (let batch = 1; batch <= 5; batch++) evaluation.log('eval.batch', { batch, accuracy: 0.8 + batch / 100 });
  console.log('\nlogged 3 events in training and 5 in evaluation (each counter includes its own SESSION_START)');
  show('training', training.stats());
  show('evaluation', evaluation.stats());

  // A channel message reaches only the reporter whose session id it carries; this is how a shared HTTP client stays per-session.
  publishHttpRequestStop({ sessionId: training.sessionId, method: 'POST', path: '/api/v1/forward_backward', status: 200, durationMs: 12.5, retryCount: 0 });
  console.log('\npublished one tinker:http:request:stop for the training session only');
  show('training', training.stats());
  show('evaluation', evaluation.stats());

  const trainingDrained = await training.stop();
  // Refused and counted as `after_stop` (the reporter's logger warns once on stderr); the other session is unaffected.
  const refused = !training.log('train.step', { step: 4 });
  const stillLogging = evaluation.log('eval.done', { batches: 5 });
  console.log(
    `\nstopped training (drained ${trainingDrained}); training.log() now ${refused ? 'refused' : 'accepted'}, evaluation.log() still ${stillLogging ? 'accepted' : 'refused'}`,
  );
  show('training', training.stats());
  show('evaluation', evaluation.stats());

  const evaluationDrained = await evaluation.stop();
  console.log(`\nstopped evaluation (drained ${evaluationDrained})`);
  const a = training.stats();
  const b = evaluation.stats();
  show('training', a);
  show('evaluation', b);
  if (sink) {
    for (const id of [training.sessionId, evaluation.sessionId]) {
      const events = sink.batches.filter((batch) => batch.body.session_id === id).flatMap((batch) => batch.body.events);
      console.log(`  the sink holds ${events.length} events for ${id}: ${events.map((e) => e.event).join(', ')}`);
    }
  }
  await sink?.close();
  // 1 + 3 + 1 forwarded + SESSION_END for training; 1 + 5 + 1 + SESSION_END for evaluation.
  const independent = a.deliveredCounter === 6 && b.deliveredCounter === 8 && a.dropped.after_stop === 1 && b.dropped.after_stop === 0;
  process.exitCode = trainingDrained && evaluationDrained && refused && stillLogging && independent ? 0 : 1;
}
