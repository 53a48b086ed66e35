/**
 * `npm run demo`: a reporter sending to an embedded loopback sink that stands
 * in for the Tinker backend, through bursts of `log()`, instrumented HTTP
 * calls, a captured exception and a user error, a stretch of 503 and 429
 * answers, and a graceful stop. It prints each machine transition, each batch
 * and each drop, then a summary whose books must balance; unless `--no-ui`,
 * a live view of the same run is served on 127.0.0.1; with `--inspect`, the
 * Stately inspector watches the reporter's machine through a relay.
 */
import { subscribe } from 'node:diagnostics_channel';
import { reporterMachine } from '../machines/reporter.machine.js';
import {
  CHANNELS,
  type HttpRequestExceptionPayload,
  type HttpRequestStopPayload,
  type LoggerLike,
  type TelemetryBatchFailedPayload,
  type TelemetryBatchSentPayload,
  type TelemetryEventDroppedPayload,
  type TelemetryStatePayload,
  captureExceptions,
  createConfig,
  createHttpClient,
  startReporter,
} from '../src/index.js';
import { machineGraph } from '../tools/machine-graph.js';
import { startStandInApi } from './api.js';
import { type DemoOptions, HELP, UsageError, parseDemoArgs } from './cli.js';
import { InspectorPortError, type StatelyInspector, startStatelyInspector } from './inspector.js';
import { type LiveView, startLiveView } from './live.js';
import { startSink } from './sink.js';

/** XState names a delayed transition's event `xstate.after.<delay>.<state id>`; the diagram calls it `after <delay>`. */
function eventLabel(event: string): string {
  const delay = /^xstate\.after\.([^.]+)\./.exec(event)?.[1];
  if (delay === undefined) return event;
  return /^\d+$/.test(delay) ? `after ${delay}ms` : `after ${delay}`;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Bursts of the first half of the events, and the pause between them: slow enough to watch the machine. */
const BURSTS = 6;
const BURST_GAP_MS = 200;

async function main(): Promise<number> {
  let options: DemoOptions;
  try {
    options = parseDemoArgs(process.argv.slice(2));
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`demo: ${error.message}\nRun \`npm run demo -- --help\` for the options.\n`);
    return 2;
  }
  if (options.help) {
    process.stdout.write(HELP);
    return 0;
  }
  const { events: eventCount, faultRate, quiet } = options;
  // A full queue refuses events one by one; drops of one reason in one turn are printed as one line.
  let pendingDrop: { reason: string; count: number } | undefined;
  const flushDrop = () => {
    if (pendingDrop === undefined) return;
    const { reason, count } = pendingDrop;
    pendingDrop = undefined;
    if (!quiet) process.stdout.write(`  drop   ${count} event(s): ${reason}\n`);
  };
  const say = (line: string) => {
    flushDrop();
    if (!quiet) process.stdout.write(`${line}\n`);
  };

  if (options.baseUrl !== undefined && (process.env.TINKER_API_KEY ?? '').trim() === '') {
    process.stderr.write('demo: `--base-url` sends to a real backend and needs its API key: set TINKER_API_KEY\n');
    return 2;
  }

  // Before anything else starts, so that a busy port stops the demo with nothing to shut down.
  let inspector: StatelyInspector | undefined;
  if (options.inspectPort !== undefined) {
    try {
      inspector = await startStatelyInspector({ port: options.inspectPort });
    } catch (error) {
      if (!(error instanceof InspectorPortError)) throw error;
      process.stderr.write(`demo: cannot start the inspector relay: ${error.message}; pass \`--inspect=PORT\` with a free port\n`);
      return 2;
    }
    process.stdout.write(`inspector: ${inspector.pageUrl}\n`);
    say(
      `           (the Stately inspector page, fed by the relay on ${inspector.socketUrl}, which listens on every interface; the page loads its UI from stately.ai)`,
    );
  }

  let faulty = false;
  let faultCounter = 0;
  const sink =
    options.baseUrl !== undefined
      ? undefined
      : await startSink(() => {
          if (!faulty || Math.random() >= faultRate) return { status: 200 };
          return faultCounter++ % 2 === 0 ? { status: 503 } : { status: 429, headers: { 'retry-after': '1' } };
        });
  const config = sink ? createConfig({ apiKey: 'demo-key', baseUrl: sink.url }) : createConfig({ baseUrl: options.baseUrl });
  const standIn = await startStandInApi();
  say(`sink: ${sink ? `${sink.url} (embedded loopback)` : `${config.baseUrl} (real backend)`}`);
  say(`api:  ${standIn.url} (stand-in for the Tinker API, called through createHttpClient)`);

  const sessionId = `demo-${process.pid}`;
  const ours = (message: unknown) => (message as { sessionId?: unknown }).sessionId === sessionId;
  subscribe(CHANNELS.telemetryState, (message) => {
    if (!ours(message)) return;
    const { from, to, event } = message as TelemetryStatePayload;
    say(`  state  ${(from || '(start)').padEnd(17)} → ${to.padEnd(17)} on ${eventLabel(event)}`);
  });
  subscribe(CHANNELS.telemetryBatchSent, (message) => {
    if (!ours(message)) return;
    const m = message as TelemetryBatchSentPayload;
    say(`  batch  ${String(m.size).padStart(3)} events  attempt ${m.attempt}  ${m.durationMs.toFixed(1).padStart(5)} ms  → ${m.status}`);
  });
  subscribe(CHANNELS.telemetryBatchFailed, (message) => {
    if (!ours(message)) return;
    const m = message as TelemetryBatchFailedPayload;
    const what = m.status ?? m.reason ?? m.kind;
    const next = !m.willRetry ? 'given up' : m.kind === 'too_large' ? 'split in two' : `retry in ${m.delayMs ?? 0} ms`;
    say(`  batch  ${String(m.size).padStart(3)} events  attempt ${m.attempt}  ${m.durationMs.toFixed(1).padStart(5)} ms  → ${what}, ${next}`);
  });
  subscribe(CHANNELS.telemetryEventDropped, (message) => {
    if (!ours(message)) return;
    const m = message as TelemetryEventDroppedPayload;
    if (pendingDrop?.reason === m.reason) {
      pendingDrop.count += m.count;
      return;
    }
    flushDrop();
    pendingDrop = { reason: m.reason, count: m.count };
    setImmediate(flushDrop);
  });
  subscribe(CHANNELS.httpRequestStop, (message) => {
    if (!ours(message)) return;
    const m = message as HttpRequestStopPayload;
    say(`  http   ${m.method} ${m.path} → ${m.status}  ${m.durationMs.toFixed(1)} ms`);
  });
  subscribe(CHANNELS.httpRequestException, (message) => {
    if (!ours(message)) return;
    const m = message as HttpRequestExceptionPayload;
    // An HTTP error status was already printed with its response; other failures say why.
    say(`  http   ${m.method} ${m.path} failed (${m.kind === 'http' ? 'an HTTP error status' : `${m.kind}: ${m.reason}`})  ${m.durationMs.toFixed(1)} ms`);
  });

  // The reporter's warnings as terminal lines rather than pino's JSON on stderr.
  const logger: LoggerLike = {
    warn: (_obj, msg) => say(`  warn   ${msg ?? ''}`),
    error: (_obj, msg) => say(`  error  ${msg ?? ''}`),
    info: (_obj, msg) => say(`  info   ${msg ?? ''}`),
    debug: () => undefined,
  };
  const reporter = startReporter({
    config,
    sessionId,
    enabled: true,
    logger,
    flushIntervalMs: 250,
    flushThreshold: 50,
    maxBatchSize: 50,
    maxQueueSize: 1000,
    retryBaseDelayMs: 100,
    maxRetries: 4,
    httpTimeoutMs: 2000,
    flushTimeoutMs: 10_000,
    inspect: inspector?.inspect,
  });
  if (reporter === null) throw new Error('telemetry is disabled although the demo enables it');

  let live: LiveView | undefined;
  if (options.ui) {
    try {
      live = await startLiveView({ reporter, graph: machineGraph(reporterMachine), port: options.port });
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      if (code !== 'EADDRINUSE' && code !== 'EACCES') throw error;
      throw new Error(`cannot serve the live view on 127.0.0.1:${options.port} (${String(code)}): choose another \`--port\`, or 0 for a free one`);
    }
    process.stdout.write(`live view: ${live.url}\n`);
    say(`           (the run takes a few seconds; \`--hold-ms 60000\` keeps the page up for a minute after it)`);
  }
  const step = (title: string) => {
    say(`\n-- ${title}`);
    live?.step(title);
  };

  step(`bursts of log(): ${Math.floor(eventCount / 2)} events in ${BURSTS} bursts`);
  const half = Math.floor(eventCount / 2);
  for (let burst = 0; burst < BURSTS; burst++) {
    for (let i = Math.floor((half * burst) / BURSTS); i < Math.floor((half * (burst + 1)) / BURSTS); i++) {
      reporter.log('demo.step', { step: i, loss: 1 / (i + 1) }, i % 50 === 0 ? 'debug' : 'info');
    }
    live?.sample();
    await sleep(BURST_GAP_MS);
  }
  await sleep(300);

  step('instrumented HTTP calls (createHttpClient), forwarded as telemetry');
  // No got retries: each call is one request, so each shows up once on the channels.
  const api = createHttpClient({ config: { apiKey: 'demo-key', baseUrl: standIn.url }, sessionId }).extend({ retry: { limit: 0 }, timeout: { request: 1000 } });
  await api.get('api/v1/healthz').json();
  await api.post('api/v1/forward_backward', { json: { batch: [1, 2, 3] } }).json();
  await api.post('api/v1/optim_step', { json: { lr: 1e-4 } }).json();
  await api.post('api/v1/sample', { json: { prompt: 'hello' } }).json();
  live?.sample();
  await sleep(300);

  step('a captured exception, a user error, and a refused event');
  // got appends the method and URL after a colon; the first clause says enough here.
  const describe = (error: unknown) => (error instanceof Error ? `${error.name}: ${error.message.split(': ')[0]}` : String(error));
  try {
    await captureExceptions({ reporter }, () => api.post('api/v1/save_weights', { json: {}, timeout: { request: 200 } }));
  } catch (error) {
    say(`  capture ${describe(error)} → UNHANDLED_EXCEPTION`);
  }
  try {
    await captureExceptions({ reporter }, () => api.get('api/v1/models/no-such-model'));
  } catch (error) {
    say(`  capture ${describe(error)} → user_error (a 4xx the caller caused, at WARNING)`);
  }
  try {
    captureExceptions({ reporter }, () => {
      throw new RangeError('learning rate out of range', { cause: new Error('lr=10') });
    });
  } catch (error) {
    say(`  capture ${describe(error)} → UNHANDLED_EXCEPTION, with its cause in the traceback`);
  }
  reporter.log('demo.bad', {}, 'loud' as 'info');
  live?.sample();
  await sleep(400);

  step(
    sink
      ? `fault stretch: the sink fails ${Math.round(faultRate * 100)}% of requests with 503, or 429 with Retry-After: 1`
      : 'second half of the events (a real backend: no faults are injected)',
  );
  faulty = true;
  for (let burst = 0; burst < 3; burst++) {
    for (let i = half + Math.floor(((eventCount - half) * burst) / 3); i < half + Math.floor(((eventCount - half) * (burst + 1)) / 3); i++) {
      reporter.log('demo.step', { step: i });
    }
    live?.sample();
    await sleep(100);
  }
  await reporter.flush({ sync: true });
  faulty = false;

  step('graceful stop');
  const drained = await reporter.stop();
  await inspector?.disconnect();
  if (!reporter.log('demo.late', {})) say('  (a log() after stop() is refused)');
  const stats = reporter.stats();
  await Promise.all([sink?.close(), standIn.close()]);

  flushDrop();
  const droppedAfter = stats.dropped.retries_exhausted + stats.dropped.rejected + stats.dropped.shutdown;
  const balanced = stats.deliveredCounter + droppedAfter === stats.pushCounter;
  const held = sink ? ` (the sink holds ${new Set(sink.batches.flatMap((b) => b.body.events.map((e) => e.event_id))).size} distinct events)` : '';
  process.stdout.write(
    [
      '',
      'summary',
      `  accepted   ${stats.pushCounter}`,
      `  delivered  ${stats.deliveredCounter}${held}`,
      `  dropped    ${Object.entries(stats.dropped)
        .map(([reason, n]) => `${reason}=${n}`)
        .join(' ')}`,
      `  delivered + dropped after acceptance = ${stats.deliveredCounter + droppedAfter} ${balanced ? '= accepted ✓' : '≠ accepted ✗'}`,
      `  drained before the deadline: ${drained}`,
      '',
    ].join('\n'),
  );

  if (live) {
    live.finish({ accepted: stats.pushCounter, delivered: stats.deliveredCounter, dropped: stats.dropped, balanced, drained });
    say(`live view: showing the final state for ${options.holdMs} ms (--hold-ms)`);
    await sleep(options.holdMs);
    await live.close();
  }
  // After the hold, so that an inspector page opened during it still gets the relay's replay.
  await inspector?.close();
  return balanced ? 0 : 1;
}

try {
  process.exitCode = await main();
} catch (error) {
  process.stderr.write(`demo: ${error instanceof Error ? error.message : String(error)}\n`);
  // The servers and the reporter started before the failure would keep the process alive.
  process.exit(1);
}
