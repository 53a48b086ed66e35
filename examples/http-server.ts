/**
 * Per-request telemetry in a node:http server, and a graceful shutdown. Each
 * request becomes one `http.request` event with its method, path, status and
 * duration in ms. On SIGTERM (or Ctrl-C) the server stops accepting, lets the
 * requests in progress finish, then `stop()` sends SESSION_END and drains the
 * reporter before the process exits with status 0.
 *
 *   PORT=8080 npx tsx examples/http-server.ts
 *   curl http://127.0.0.1:8080/ ; curl http://127.0.0.1:8080/missing
 *   kill -TERM <pid>            # or Ctrl-C
 *
 * PORT defaults to 0 (any free port); the address is printed. With
 * TINKER_BASE_URL unset it sends to an embedded loopback sink, so it runs
 * offline; set TINKER_BASE_URL and TINKER_API_KEY to send to a real backend.
 * The import would be `from 'tinker-telemetry'` in an application; the
 * examples import the source so that they run without a build.
 */
import { type IncomingMessage, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { createConfig, startReporter, type Severity } from '../src/index.js';
import { startSink } from '../demo/sink.js';

const port = Number(process.env.PORT ?? 0);
if (!Number.isInteger(port) || port < 0 || port > 65_535)
  throw new RangeError(`PORT must be an integer from 0 to 65535, got ${JSON.stringify(process.env.PORT)}`);

// An empty TINKER_BASE_URL counts as unset, so `TINKER_BASE_URL= npx tsx …` still runs offline.
const sink = process.env.TINKER_BASE_URL ? undefined : await startSink();
const config = createConfig({
  baseUrl: sink?.url ?? process.env.TINKER_BASE_URL,
  // The embedded sink accepts any key; a real backend needs TINKER_API_KEY, and startReporter says so when it is missing.
  apiKey: process.env.TINKER_API_KEY ?? (sink ? 'example-key' : undefined),
});
console.log(`telemetry to ${config.telemetryEndpoint}${sink ? ' (embedded loopback sink)' : ''}`);

// A server should serve whether or not telemetry is on, so a null reporter (TINKER_TELEMETRY=0) is simply skipped with `?.`.
const reporter = startReporter({ config, sessionId: `http-server-example-${process.pid}`, flushIntervalMs: 1_000 });
console.log(reporter ? `telemetry session ${reporter.sessionId}` : 'telemetry is disabled (TINKER_TELEMETRY)');

function handle(request: IncomingMessage, response: ServerResponse): void {
  const path = new URL(request.url ?? '/', 'http://localhost').pathname;
  if (request.method === 'GET' && (path === '/' || path === '/health')) {
    response.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
  } else {
    response.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"not found"}');
  }
}

const server = createServer((request, response) => {
  const startedAt = performance.now();
  // `finish` fires once the whole response is handed to the socket, so the duration covers the handler and the write.
  response.once('finish', () => {
    const path = new URL(request.url ?? '/', 'http://localhost').pathname;
    const durationMs = Math.round((performance.now() - startedAt) * 1000) / 1000;
    const status = response.statusCode;
    const severity: Severity = status >= 500 ? 'error' : status >= 400 ? 'warning' : 'info';
    reporter?.log('http.request', { method: request.method, path, status, durationMs }, severity);
    console.log(`${request.method} ${path} → ${status} (${durationMs} ms)`);
  });
  handle(request, response);
});

await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
console.log(`listening on http://127.0.0.1:${(server.address() as AddressInfo).port}`);

let shuttingDown = false;
async function shutdown(signal: NodeJS.Signals): Promise<void> {
  if (shuttingDown) return;
  shuttingDown = true;
  console.log(`${signal}: no longer accepting connections`);
  // close() refuses new connections at once, drops idle keep-alive sockets, and calls back when the last request is done,
  // so every request's event is logged before stop() queues SESSION_END.
  await new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
  const drained = (await reporter?.stop()) ?? true;
  const stats = reporter?.stats();
  if (stats) console.log(`telemetry stopped: drained ${drained}, accepted ${stats.pushCounter}, delivered ${stats.deliveredCounter}`);
  await sink?.close();
  console.log('bye');
  // Nothing is left on the event loop, so the process exits by itself with this status.
  process.exitCode = drained ? 0 : 1;
}
process.once('SIGTERM', (signal) => void shutdown(signal));
process.once('SIGINT', (signal) => void shutdown(signal));
