/**
 * The cost of one request of a 100-event batch, by HTTP client, in one
 * process against a loopback sink (node:http on 127.0.0.1, port 0, in the
 * same process, so every client pays the same sink): (a) got as
 * `createGotTransport` configures it, (b) `createUndiciTransport`, (c)
 * `createNodeTransport` (the default), (d) a bare `http.request` with a
 * keep-alive agent, the floor: no timer, no abort, no answer limit. One
 * request in flight, as the reporter sends. Alternating rounds (a, b, c, d, …)
 * after a warm-up round of each; the median and spread (min–max) over the
 * rounds of ms per request, requests per second, and CPU µs per request
 * (the whole process, sink included).
 *
 * `npm run build && node bench/transport-ab.mjs [--quick]`
 */
import { Agent, createServer, request as httpRequest } from 'node:http';
import { performance } from 'node:perf_hooks';

const quick = process.argv.includes('--quick');
const ROUNDS = quick ? 2 : 6;
const REQUESTS = quick ? 50 : 500;
const HTTP_TIMEOUT_MS = 5000;
const API_KEY = 'bench-key';
const USER_AGENT = `tinker-telemetry/bench node/${process.version}`;

const { createConfig, startReporter } = await import('../dist/src/index.js');
const { createGotTransport } = await import('../dist/src/io/transport.js');
const { createUndiciTransport } = await import('../dist/src/io/undici-transport.js');
const { createNodeTransport } = await import('../dist/src/io/node-transport.js');

// ---- the sink ---------------------------------------------------------------
const sink = { requests: 0, bytes: 0 };
const server = createServer((req, res) => {
  req.on('data', (chunk) => (sink.bytes += chunk.length));
  req.on('end', () => {
    sink.requests++;
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"accepted"}');
  });
});
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const endpoint = `http://127.0.0.1:${server.address().port}/api/v1/telemetry`;

// ---- the body: a real batch of 100 events, as the reporter serializes it -----
async function batchBody() {
  let body;
  const reporter = startReporter({
    config: createConfig({ apiKey: API_KEY, baseUrl: 'http://127.0.0.1:9' }),
    sessionId: 'bench',
    enabled: true,
    attachEvents: false,
    logger: { warn() {}, info() {}, error() {}, debug() {} },
    maxBatchSize: 100,
    flushThreshold: 100,
    transport: {
      async send(request) {
        body ??= request.body;
        return { kind: 'ok', status: 200 };
      },
    },
  });
  for (let i = 0; i < 100; i++) reporter.log('bench.event', { i });
  await reporter.stop(5000);
  if (body === undefined) throw new Error('the reporter sent no batch');
  return body;
}
const body = await batchBody();

// ---- the clients: one send each, resolving true when the sink said 2xx --------
const options = { endpoint, apiKey: API_KEY, userAgent: USER_AGENT, httpTimeoutMs: HTTP_TIMEOUT_MS };
const viaTransport = (transport) => ({
  send: async (n) => (await transport.send({ body, idempotencyKey: `k-${n}`, signal: new AbortController().signal })).kind === 'ok',
  close: () => transport.close?.(),
});
const agent = new Agent({ keepAlive: true });
const url = new URL(endpoint);
const bare = {
  send: (n) =>
    new Promise((resolve) => {
      const req = httpRequest(
        {
          agent,
          host: url.hostname,
          port: url.port,
          path: url.pathname,
          method: 'POST',
          headers: {
            'X-API-Key': API_KEY,
            'content-type': 'application/json',
            'user-agent': USER_AGENT,
            'X-Idempotency-Key': `k-${n}`,
            'content-length': Buffer.byteLength(body),
          },
        },
        (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode >= 200 && res.statusCode < 300));
          res.on('error', () => resolve(false));
        },
      );
      req.on('error', () => resolve(false));
      req.end(body);
    }),
  close: () => agent.destroy(),
};
const clients = {
  'got (createGotTransport)': viaTransport(createGotTransport(options)),
  'undici (createUndiciTransport)': viaTransport(createUndiciTransport(options)),
  'node:http (createNodeTransport)': viaTransport(createNodeTransport(options)),
  'bare http.request, keep-alive agent': bare,
};

// ---- the rounds ---------------------------------------------------------------
/** `REQUESTS` sends one after the other: ms per request, CPU µs per request, and the sends that failed. */
async function round(client) {
  let failed = 0;
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  for (let n = 0; n < REQUESTS; n++) if (!(await client.send(n))) failed++;
  const ms = (performance.now() - started) / REQUESTS;
  const cpu = process.cpuUsage(cpuBefore);
  return { ms, cpuUs: (cpu.user + cpu.system) / REQUESTS, failed };
}

const names = Object.keys(clients);
for (const name of names) await round(clients[name]);
const results = Object.fromEntries(names.map((name) => [name, []]));
for (let r = 0; r < ROUNDS; r++) for (const name of names) results[name].push(await round(clients[name]));
for (const client of Object.values(clients)) client.close();
server.closeAllConnections();
server.close();

// ---- the table ------------------------------------------------------------------
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const fmt = (x, digits) => x.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
const cell = (xs, digits) => `${fmt(median(xs), digits)} | ${fmt(Math.min(...xs), digits)}–${fmt(Math.max(...xs), digits)}`;
const floor = median(results[names.at(-1)].map((x) => x.ms));
const lines = [
  `One request of a ${Buffer.byteLength(body).toLocaleString('en-US')}-byte body of 100 events, one in flight, ${ROUNDS} alternating rounds of ${REQUESTS} after a warm-up round of each, Node.js ${process.version}${quick ? ' (--quick)' : ''}.`,
  '',
  '| client | median ms/request | spread | median requests/s | spread | median CPU µs/request (sink included) | spread | ratio to bare | failed |',
  '|---|---|---|---|---|---|---|---|---|',
  ...names.map((name) => {
    const rs = results[name];
    const ms = rs.map((x) => x.ms);
    return `| ${name} | ${cell(ms, 3)} | ${cell(
      ms.map((x) => 1000 / x),
      0,
    )} | ${cell(
      rs.map((x) => x.cpuUs),
      1,
    )} | ${fmt(median(ms) / floor, 2)}× | ${rs.reduce((sum, x) => sum + x.failed, 0)} |`;
  }),
];
process.stdout.write(`${lines.join('\n')}\n`);
