/**
 * The API key never leaves `X-API-Key`: not in logs, error records, events,
 * `stats()`, channel payloads or `attachLogger` output, even when the
 * backend answers 401 and 500, resets the connection, or echoes the key back.
 */
import diagnostics from 'node:diagnostics_channel';
import { type IncomingHttpHeaders, createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { inspect } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { CHANNELS } from '../src/host/channels.js';
import { createConfig } from '../src/config.js';
import { attachLogger, detachLogger } from '../src/host/debug-logger.js';
import { createHttpClient } from '../src/host/http-client.js';
import { SafeLogger } from '../src/host/logger.js';
import { REDACTED, errorSummary, redactJson, redactText } from '../src/core/redact.js';
import { resolveOptions } from '../src/options.js';
import { TelemetryReporter, startReporter } from '../src/reporter.js';
import type { LoggerLike } from '../src/core/ports.js';

const KEY = 'tml-SECRET-7f3a9c1e5b2d4f6a8c0e';

/** Everything a value holds, hidden properties included, as text: what a leak check searches. */
function dump(value: unknown): string {
  let json = '';
  try {
    json = JSON.stringify(value) ?? '';
  } catch {
    // Cycles: util.inspect below still shows everything.
  }
  return `${inspect(value, { depth: Infinity, showHidden: true, maxArrayLength: Infinity, maxStringLength: Infinity })}\n${json}`;
}

interface Call {
  level: string;
  obj: unknown;
  msg: unknown;
  text: string;
}

/** A LoggerLike that records every call, child bindings included. */
function capturingLogger(): { logger: LoggerLike; calls: Call[] } {
  const calls: Call[] = [];
  const make = (bindings: Record<string, unknown>): LoggerLike => {
    const at = (level: string) => (obj: object, msg?: string) => {
      calls.push({ level, obj, msg, text: `${level} ${dump(bindings)} ${dump(obj)} ${dump(msg)}` });
    };
    return { warn: at('warn'), info: at('info'), error: at('error'), debug: at('debug'), child: (more) => make({ ...bindings, ...more }) };
  };
  return { logger: make({}), calls };
}

/** Subscribes to every channel of the package; returns the payloads heard and an unsubscribe. */
function recordChannels(): { heard: { channel: string; text: string }[]; stop(): void } {
  const heard: { channel: string; text: string }[] = [];
  const listeners = Object.values(CHANNELS).map((channel) => {
    const listener = (message: unknown) => heard.push({ channel, text: dump(message) });
    diagnostics.subscribe(channel, listener);
    return () => diagnostics.unsubscribe(channel, listener);
  });
  return { heard, stop: () => listeners.forEach((unsubscribe) => unsubscribe()) };
}

interface Sink {
  server: Server;
  base: string;
  headers: IncomingHttpHeaders[];
  bodies: string[];
  outcomes: (number | 'reset')[];
}

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => new Promise<void>((resolve) => server.close(() => resolve()))));
});

/** A loopback server answering the n-th request (from 0) as `script(n, path)` says. */
async function startSink(script: (n: number, path: string) => number | 'reset', body: (path: string) => string = () => '{}'): Promise<Sink> {
  const sink = { headers: [], bodies: [], outcomes: [] } as unknown as Sink;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const n = sink.headers.length;
      sink.headers.push(req.headers);
      sink.bodies.push(Buffer.concat(chunks).toString('utf8'));
      const outcome = script(n, req.url ?? '');
      sink.outcomes.push(outcome);
      if (outcome === 'reset') {
        req.socket.destroy();
        return;
      }
      res.writeHead(outcome, { 'content-type': 'application/json' });
      res.end(body(req.url ?? ''));
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  sink.server = server;
  sink.base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return sink;
}

describe('the API key', () => {
  it('dump finds the key wherever it is, hidden properties included, so the leak checks below can fail', () => {
    expect(dump({ a: [{ b: { c: { d: { e: { f: KEY } } } } }] })).toContain(KEY);
    // A Config keeps the key in a non-enumerable property: JSON misses it, dump does not.
    expect(JSON.stringify(createConfig({ apiKey: KEY, baseUrl: 'http://127.0.0.1:1' }))).not.toContain(KEY);
    expect(dump(createConfig({ apiKey: KEY, baseUrl: 'http://127.0.0.1:1' }))).toContain(KEY);
  });

  it('travels only as X-API-Key through 401, 500, a reset connection and a 401 that echoes it, never in logs, events, stats or channels', async () => {
    // Telemetry: the first request is refused, the next fails, the next is cut off, the rest are accepted.
    const telemetry = await startSink(
      (n) => (n === 0 ? 401 : n === 1 ? 500 : n === 2 ? 'reset' : 200),
      () => JSON.stringify({ detail: `invalid key ${KEY}` }),
    );
    // The Tinker API, called through createHttpClient: a 401 that echoes the key, and a reset.
    const api = await startSink(
      (_n, path) => (path.endsWith('/reset') ? 'reset' : 401),
      () => JSON.stringify({ detail: `invalid key ${KEY}`, key: KEY }),
    );
    const { logger, calls } = capturingLogger();
    const debug = capturingLogger();
    const channels = recordChannels();
    const debugId = attachLogger({ logger: debug.logger });
    try {
      const sessionId = 'secret-session';
      const reporter = startReporter({
        config: createConfig({ apiKey: KEY, baseUrl: telemetry.base }),
        sessionId,
        enabled: true,
        logger,
        flushIntervalMs: 0,
        maxRetries: 3,
        retryBaseDelayMs: 1,
        drainOnExit: false,
      })!;
      reporter.log('with.key', { token: KEY, [KEY]: 'as a key', nested: [`Bearer ${KEY}`] });
      expect(await reporter.flush({ sync: true })).toBe(false);

      const client = createHttpClient({ config: createConfig({ apiKey: KEY, baseUrl: api.base }), sessionId }).extend({ retry: { limit: 0 } });
      const unauthorized: unknown = await client.get('v1/unauthorized').then(
        () => undefined,
        (error: unknown) => error,
      );
      const reset: unknown = await client.get('v1/reset').then(
        () => undefined,
        (error: unknown) => error,
      );
      // The errors got hands back hold the key in their options: exactly what must not travel on.
      expect(dump(unauthorized)).toContain(KEY);
      expect(dump(reset)).toContain(KEY);

      reporter.logException(unauthorized);
      reporter.logException(reset);
      reporter.log('got.reset', reset);
      reporter.logException(new Error(`boom ${KEY}`));
      expect(await reporter.flush({ sync: true })).toBe(true);
      await reporter.stop();
      const stats = reporter.stats();

      // The sink saw the key, in the header and nowhere else.
      expect(telemetry.outcomes.slice(0, 4)).toEqual([401, 500, 'reset', 200]);
      expect(telemetry.headers.every((headers) => headers['x-api-key'] === KEY)).toBe(true);
      expect(api.headers.map((headers) => headers['x-api-key'])).toEqual([KEY, KEY]);
      for (const body of telemetry.bodies) expect(body).not.toContain(KEY);
      const delivered = telemetry.bodies.slice(3).join('\n');
      expect(telemetry.bodies[0]).toContain('"token":"[redacted]","[redacted]":"as a key","nested":["Bearer [redacted]"]');
      expect(delivered).toContain('"x-api-key":"[redacted]"');
      expect(delivered).toContain('"error_message":"boom [redacted]"');
      expect(delivered).toContain('"event_name":"user_error"');
      expect(delivered).toContain('"event_name":"got.reset"');
      expect(delivered).toContain('"event_name":"tinker.http.request.exception"');
      expect(delivered.split(REDACTED).length).toBeGreaterThan(5);

      // The failures were logged and published, without the key.
      expect(calls.some((call) => call.level === 'warn' && String(call.msg).includes('rejected with HTTP 401'))).toBe(true);
      expect(calls.some((call) => call.level === 'debug' && /HTTP 500/.test(call.text))).toBe(true);
      expect(calls.some((call) => call.level === 'debug' && /ECONNRESET|socket hang up|UND_ERR_SOCKET|other side closed/.test(call.text))).toBe(true);
      expect(channels.heard.some((entry) => entry.channel === CHANNELS.httpRequestException)).toBe(true);
      expect(channels.heard.some((entry) => entry.channel === CHANNELS.telemetryBatchFailed && entry.text.includes('HTTP 500'))).toBe(true);
      expect(debug.calls.some((call) => call.msg === CHANNELS.telemetryBatchFailed)).toBe(true);
      for (const call of [...calls, ...debug.calls]) expect(call.text).not.toContain(KEY);
      for (const entry of channels.heard) expect(entry.text).not.toContain(KEY);
      expect(dump(stats)).not.toContain(KEY);
      expect(stats).toMatchObject({ deliveredCounter: stats.pushCounter - 2, dropped: { rejected: 2 } });
    } finally {
      channels.stop();
      detachLogger(debugId);
    }
  });

  it('is redacted from an internal error, which is logged as a plain summary, never the error object', () => {
    const { logger, calls } = capturingLogger();
    let fail = false;
    const leaky = Object.assign(new Error(`clock ${KEY}`), {
      code: 'E_CLOCK',
      options: { headers: { 'x-api-key': KEY } },
      response: { statusCode: 401, body: KEY },
    });
    const clock = {
      now: () => {
        if (fail) throw leaky;
        return 0;
      },
      setTimeout: () => 0,
      clearTimeout: () => undefined,
    };
    const reporter = startReporter({
      config: createConfig({ apiKey: KEY, baseUrl: 'https://example.com' }),
      sessionId: 's',
      enabled: true,
      logger,
      clock,
      drainOnExit: false,
    })!;
    fail = true;
    expect(reporter.log('x')).toBe(false);
    const record = calls.find((call) => call.level === 'error');
    expect(record?.obj).toEqual({ err: { code: 'E_CLOCK', name: 'Error', message: 'clock [redacted]', status: 401 } });
    expect(record?.msg).toBe('Telemetry log() failed internally');
    expect(record?.text).not.toContain(KEY);
    fail = false;
  });

  it('is redacted from a lifecycle failure, which is logged as a plain summary', async () => {
    const { logger, calls } = capturingLogger();
    const options = resolveOptions({
      config: createConfig({ apiKey: KEY, baseUrl: 'https://example.com' }),
      sessionId: 's',
      transport: { send: () => Promise.resolve({ kind: 'ok', status: 200 }) },
      drainOnExit: false,
    });
    const broken = Object.assign(new TypeError(`action ${KEY}`), { options: { headers: { 'x-api-key': KEY } } });
    const reporter = new TelemetryReporter(options, new SafeLogger(logger, { component: 'tinker-telemetry', sessionId: 's' }), {
      adjustMachine: (machine) =>
        machine.provide({
          actions: {
            deliverBatch: () => {
              throw broken;
            },
          },
        }),
    });
    expect(await reporter.stop()).toBe(true);
    const record = calls.find((call) => call.level === 'error');
    expect(record?.msg).toBe('Telemetry lifecycle failed; the session is abandoned');
    expect((record?.obj as { err: unknown }).err).toEqual({ name: 'TypeError', message: 'action [redacted]' });
    expect(record?.text).not.toContain(KEY);
  });
});

describe('the API key in warnings that quote a value', () => {
  const start = () => {
    const { logger, calls } = capturingLogger();
    const reporter = startReporter({
      config: createConfig({ apiKey: KEY, baseUrl: 'https://example.com' }),
      sessionId: 's',
      enabled: true,
      logger,
      transport: { send: () => Promise.resolve({ kind: 'ok', status: 200 }) },
      drainOnExit: false,
    })!;
    return { reporter, warnings: () => calls.filter((call) => call.level === 'warn') };
  };

  it('is redacted whole from a refused severity, even across the 60-character cut of the quote', async () => {
    const { reporter, warnings } = start();
    // The key starts 10 characters before the cut: a cut before the redaction would quote `tml-SECRET`.
    expect(reporter.log('e', undefined, `${'s'.repeat(50)}${KEY} tail` as 'info')).toBe(false);
    expect(reporter.log('e', undefined, Symbol(KEY) as unknown as 'info')).toBe(false);
    expect(warnings().map((call) => call.msg)).toEqual([
      `Telemetry event refused: severity "${'s'.repeat(50)}[redacted]" is not one of debug, info, warning, error, critical`,
      'Telemetry event refused: severity `Symbol([redacted])` (symbol) is not one of debug, info, warning, error, critical',
    ]);
    for (const call of warnings()) expect(call.text).not.toContain(KEY.slice(0, 8));
    await reporter.stop();
  });

  it('is redacted from a refused timeout, which is quoted up to 60 characters', async () => {
    const { reporter, warnings } = start();
    await reporter.waitUntilDrained(`${KEY}${'9'.repeat(60)}` as unknown as number);
    expect(warnings().map((call) => call.msg)).toEqual([
      `Telemetry waitUntilDrained(): expected a timeout in ms ≥ 0, got [redacted]${'9'.repeat(60 - KEY.length)}; using flushTimeoutMs (30000)`,
    ]);
    await reporter.stop();
  });
});

describe('redaction helpers', () => {
  it('redactText replaces every occurrence, and an empty secret changes nothing', () => {
    expect(redactText(`a ${KEY} b ${KEY}`, KEY)).toBe('a [redacted] b [redacted]');
    expect(redactText('nothing here', KEY)).toBe('nothing here');
    expect(redactText('abc', '')).toBe('abc');
  });

  it('redactJson redacts strings and keys at any depth, and leaves other values alone', () => {
    expect(redactJson({ [`k${KEY}`]: [KEY, 1, null, true, { x: `-${KEY}-` }] }, KEY)).toEqual({
      'k[redacted]': ['[redacted]', 1, null, true, { x: '-[redacted]-' }],
    });
    expect(redactJson(3, KEY)).toBe(3);
    expect(redactJson(null, KEY)).toBeNull();
  });

  it('errorSummary redacts the key from the code and the name as well as the message', () => {
    expect(errorSummary({ code: `E_${KEY}`, name: `N_${KEY}`, message: KEY }, KEY)).toEqual({
      code: 'E_[redacted]',
      name: 'N_[redacted]',
      message: '[redacted]',
    });
  });

  it('errorSummary keeps code, name, message and status of the right types only, and never reads past a throwing getter', () => {
    expect(errorSummary(Object.assign(new RangeError(`m ${KEY}`), { code: 'E1', response: { statusCode: 503 } }), KEY)).toEqual({
      code: 'E1',
      name: 'RangeError',
      message: 'm [redacted]',
      status: 503,
    });
    expect(errorSummary({ code: 1, name: 2, message: 3, response: { statusCode: '503' } }, KEY)).toEqual({});
    expect(errorSummary({ response: 'x' }, KEY)).toEqual({});
    expect(errorSummary(`text ${KEY}`, KEY)).toEqual({ message: 'text [redacted]' });
    expect(errorSummary(null, KEY)).toEqual({ message: 'null' });
    const hostile = new Proxy(
      {},
      {
        get: () => {
          throw new Error('no');
        },
      },
    );
    expect(errorSummary(hostile, KEY)).toEqual({});
  });
});

describe('the cleartext warning', () => {
  const start = (baseUrl: string) => {
    const { logger, calls } = capturingLogger();
    const reporter = startReporter({
      config: createConfig({ apiKey: KEY, baseUrl }),
      sessionId: 's',
      enabled: true,
      logger,
      transport: { send: () => Promise.resolve({ kind: 'ok', status: 200 }) },
      drainOnExit: false,
    });
    void reporter?.stop();
    return calls.filter((call) => call.level === 'warn');
  };

  it('names the host, not the key, when baseUrl is plain http to a host that is not loopback', () => {
    for (const [url, host] of [
      ['http://example.com/services', 'example.com'],
      ['http://127.0.0.1.example.com', '127.0.0.1.example.com'],
      ['http://128.0.0.1', '128.0.0.1'],
      ['http://10.0.0.127', '10.0.0.127'],
      ['http://[::2]', '[::2]'],
      ['http://localhost.example', 'localhost.example'],
    ] as const) {
      const warnings = start(url);
      expect(warnings).toHaveLength(1);
      expect(warnings[0]?.obj).toEqual({ host });
      expect(warnings[0]?.msg).toBe(`Telemetry baseUrl is plain http: the API key would travel in cleartext to ${host}; use https`);
      expect(warnings[0]?.text).not.toContain(KEY);
    }
  });

  it('stays silent for loopback over http and for any https host', () => {
    for (const url of ['http://localhost:8080', 'http://127.0.0.1:9', 'http://127.255.3.4', 'http://[::1]:3000', 'https://example.com', 'https://127.0.0.1']) {
      expect(start(url), url).toEqual([]);
    }
  });

  it('is not logged when telemetry is disabled, as nothing is sent', () => {
    const { logger, calls } = capturingLogger();
    expect(startReporter({ config: createConfig({ apiKey: KEY, baseUrl: 'http://example.com' }), sessionId: 's', enabled: false, logger })).toBeNull();
    expect(calls).toEqual([]);
  });
});
