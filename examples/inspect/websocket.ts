/**
 * Watch the reporter's lifecycle machine in the Stately inspector, from
 * Node: `npx tsx examples/inspect/websocket.ts`. (`npm run inspect` runs
 * the full demo with the same inspector attached.)
 *
 * It starts the inspector relay of `@statelyai/inspect/server` (an HTTP page
 * that embeds the Stately inspector, and a WebSocket server that passes
 * inspection events on to it), connects a WebSocket inspector to it, and
 * runs a small workload against an embedded loopback sink with that
 * inspector attached through `startReporter({ inspect })`: batches, a flush,
 * a stretch of 503 answers that the reporter retries, and a graceful stop.
 *
 *   npx tsx examples/inspect/websocket.ts               opens the inspector page, runs, then keeps the relay up until Ctrl-C
 *   npx tsx examples/inspect/websocket.ts --no-open     runs headless and exits by itself
 *   npx tsx examples/inspect/websocket.ts --port 9090   relay port (default 8080)
 *
 * The relay listens on every interface of the machine (the package offers no
 * host option), and the page loads the inspector UI from stately.ai, so the
 * browser needs the internet; the workload itself stays on 127.0.0.1.
 *
 * The relay and the inspector come from `demo/inspector.ts`, which the demo
 * shares. Shutting down, in this order: `reporter.stop()` (drains and ends
 * the machine), then `inspector.disconnect()` (closes the WebSocket), then
 * `inspector.close()` (the relay). The trap: the WebSocket inspector of
 * @statelyai/inspect 0.7.2 reconnects every 5 s, on a timer that holds the
 * process, whenever its socket fails, and its `stop()` does not cancel that
 * timer; so a process whose inspector cannot reach a relay never exits. So
 * the relay is started first, in this process, and the inspector (created
 * with `autoStart: false`) only once the relay listens; should something
 * still hold the process after the shutdown, a last unref'd timer says so
 * and exits.
 *
 * The import would be `from 'tinker-telemetry'` in an application; the
 * examples import the source so that they run without a build.
 */
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { parseArgs } from 'node:util';
import { DEFAULT_INSPECTOR_PORT, InspectorPortError, startStatelyInspector } from '../../demo/inspector.js';
import { startSink } from '../../demo/sink.js';
import { createConfig, startReporter } from '../../src/index.js';

const HELP = `Usage: npx tsx examples/inspect/websocket.ts [options]

  --port N     port of the inspector relay (default ${DEFAULT_INSPECTOR_PORT})
  --no-open    do not open the inspector page; run headless and exit when done
  -h, --help   show this help
`;

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: String(DEFAULT_INSPECTOR_PORT) },
    'no-open': { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (values.help) {
  process.stdout.write(HELP);
  process.exit(0);
}
const port = Number(values.port);
if (!Number.isInteger(port) || port < 1 || port > 65_535) usageError(`--port must be a whole number from 1 to 65535, got ${values.port}`);
const open = !values['no-open'];

const inspector = await startStatelyInspector({ port, open }).catch((error: unknown) => {
  if (error instanceof InspectorPortError) usageError(`Cannot start the inspector relay: ${error.message}; pass --port with a free port`);
  throw error;
});
console.log(`inspector relay on ${inspector.socketUrl}${open ? `; opening ${inspector.pageUrl}` : ` (page: ${inspector.pageUrl})`}`);

let failuresLeft = 0;
const sink = await startSink(() => (failuresLeft-- > 0 ? { status: 503 } : { status: 200 }));
const onState = (message: unknown) => {
  const { from, to, event } = message as { from: string; to: string; event: string };
  console.log(`  ${from.padEnd(17)} → ${to.padEnd(17)} on ${event}`);
};
subscribe('tinker:telemetry:state', onState);

const reporter = startReporter({
  config: createConfig({ apiKey: 'inspect-example-key', baseUrl: sink.url }),
  sessionId: `inspect-example-${process.pid}`,
  enabled: true,
  attachEvents: false,
  flushIntervalMs: 200,
  flushThreshold: 20,
  retryBaseDelayMs: 50,
  maxRetries: 3,
  inspect: inspector.inspect,
});
if (reporter === null) throw new Error('telemetry is disabled; the example needs it on');

for (let i = 0; i < 5; i++) reporter.log('inspect.step', { step: i });
await reporter.flush({ sync: true });
for (let i = 5; i < 30; i++) reporter.log('inspect.step', { step: i });
await reporter.flush({ sync: true });
// The next two requests get 503: the machine goes sending → retrying → sending twice before the ACK.
failuresLeft = 2;
reporter.log('inspect.fault', { note: 'the sink answers 503 twice; the reporter backs off and retries' });
await reporter.flush({ sync: true });

const drained = await reporter.stop();
unsubscribe('tinker:telemetry:state', onState);
await sink.close();
const stats = reporter.stats();
console.log(`delivered ${stats.deliveredCounter} of ${stats.pushCounter} events; drained: ${drained}`);

await inspector.disconnect();

if (open) {
  console.log(`the relay keeps serving ${inspector.pageUrl} (it replays its last 200 messages to a page that connects late); Ctrl-C to quit`);
  await new Promise((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
}
// Exits anyway 2 s later should an inspector page still be connected.
await inspector.close();

function usageError(message: string): never {
  process.stderr.write(`${message}\n\n${HELP}`);
  process.exit(2);
}
