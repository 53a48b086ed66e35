/**
 * What the undici and `node:http` transports do beyond the table every
 * transport passes
 * (`transport.test.ts`, `transport.credential.test.ts`): the answer's body
 * discarded without ever being buffered, `httpTimeoutMs` bounding the whole
 * request, one request on the wire at a time, and `send` settling as a
 * value in every case (a bad endpoint, an abort before the send, a close
 * during it); and a reporter delivering through it, as the bench runs it.
 */
import type { ServerResponse } from 'node:http';
import { describe, expect, it } from 'vitest';
import { createConfig } from '../src/config.js';
import { MAX_ANSWER_BYTES } from '../src/io/http-transport.js';
import { type TelemetryReporter, startReporter } from '../src/reporter.js';
import { recordingLogger } from './helpers.js';
import { OWN_TRANSPORTS, listen, request, track } from './transport-helpers.js';

const API_KEY = 'sk-undici-secret-42';
describe.each(OWN_TRANSPORTS)('$name transport', ({ create }) => {
  const transportFor = (endpoint: string, httpTimeoutMs = 2000) => track(create({ endpoint, apiKey: API_KEY, userAgent: 'ua', httpTimeoutMs }));

  it('cuts an endless answer after MAX_ANSWER_BYTES instead of reading or buffering it, and still reports its status', async () => {
    const chunk = Buffer.alloc(64 * 1024, 'x');
    const served = { bytes: 0, closed: false };
    let gone = () => undefined as void;
    const clientGone = new Promise<void>((resolve) => (gone = resolve));
    const { endpoint } = await listen((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      // Writes for as long as the client reads, and stops when it goes away.
      const pump = () => {
        while (!served.closed && res.write(chunk)) served.bytes += chunk.length;
      };
      res.on('drain', pump);
      res.on('close', () => {
        served.closed = true;
        gone();
      });
      pump();
    });
    // A timeout far beyond the test's own: only the cut can end this send.
    expect(await transportFor(endpoint, 60_000).send(request())).toEqual({ kind: 'ok', status: 200 });
    // The client hung up: what the server got written is the limit plus what the sockets' buffers took.
    await clientGone;
    expect(served.bytes).toBeLessThan(32 * 2 ** 20);
  });

  it('cuts an answer whose content-length is over MAX_ANSWER_BYTES without waiting for its body', async () => {
    const { endpoint } = await listen((_req, res) => {
      // Announces more than the limit, sends a little, and never ends.
      res.writeHead(503, { 'content-length': String(MAX_ANSWER_BYTES + 1), 'retry-after': '1' });
      res.write('x');
    });
    expect(await transportFor(endpoint, 60_000).send(request())).toEqual({ kind: 'retryable', status: 503, retryAfterMs: 1000, reason: 'HTTP 503' });
  });

  describe.each([
    ['with a content-length', (res: ServerResponse, bytes: number) => res.end('x'.repeat(bytes))],
    ['chunked', (res: ServerResponse, bytes: number) => res.write('x'.repeat(bytes - 1), () => res.end('x'))],
  ])('an answer %s', (_how, answer) => {
    it('of MAX_ANSWER_BYTES less one is read to its end, so the connection serves the next send', async () => {
      const { endpoint, sockets } = await listen((_req, res) => answer(res, MAX_ANSWER_BYTES - 1));
      const transport = transportFor(endpoint);
      for (let i = 0; i < 3; i++) expect(await transport.send(request())).toEqual({ kind: 'ok', status: 200 });
      expect(sockets).toHaveLength(1);
    });

    it('of MAX_ANSWER_BYTES is cut, its connection with it, and its status still counts', async () => {
      const { endpoint, sockets } = await listen((_req, res) => answer(res, MAX_ANSWER_BYTES));
      const transport = transportFor(endpoint);
      for (let i = 0; i < 3; i++) expect(await transport.send(request())).toEqual({ kind: 'ok', status: 200 });
      expect(sockets).toHaveLength(3);
    });
  });

  it('settles with the status at httpTimeoutMs when the answer’s body never ends', async () => {
    const { endpoint } = await listen((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('the start of a body that never ends');
    });
    // Without a bound on the whole request, this send would wait for undici's own 300 s body timeout, or forever.
    expect(await transportFor(endpoint, 50).send(request())).toEqual({ kind: 'ok', status: 200 });
  });

  it('puts one request on the wire at a time, on one connection, when sends overlap', async () => {
    let inFlight = 0;
    let mostInFlight = 0;
    const { endpoint, sockets } = await listen((_req, res) => {
      mostInFlight = Math.max(mostInFlight, ++inFlight);
      setImmediate(() => {
        inFlight--;
        res.end('{"status":"accepted"}');
      });
    });
    const transport = transportFor(endpoint);
    const results = await Promise.all([transport.send(request()), transport.send(request()), transport.send(request())]);
    expect(results).toEqual([0, 1, 2].map(() => ({ kind: 'ok', status: 200 })));
    expect(mostInFlight).toBe(1);
    expect(sockets).toHaveLength(1);
  });

  it('answers aborted without a request when the signal has already aborted', async () => {
    const seen = { requests: 0 };
    const { endpoint, sockets } = await listen((_req, res) => {
      seen.requests++;
      res.end();
    });
    const controller = new AbortController();
    controller.abort();
    expect(await transportFor(endpoint).send(request({ signal: controller.signal }))).toEqual({ kind: 'retryable', reason: 'aborted' });
    expect(seen.requests).toBe(0);
    expect(sockets).toHaveLength(0);
  });

  it('turns an endpoint that is not a URL into a retryable result, not a throw', async () => {
    expect(await transportFor('not a url').send(request())).toEqual({ kind: 'retryable', reason: 'ERR_INVALID_URL: Invalid URL' });
  });

  it('turns an endpoint of another protocol than http or https into a retryable result that names the protocol', async () => {
    const result = await transportFor('ftp://127.0.0.1:9/api/v1/telemetry').send(request());
    expect(result).toMatchObject({ kind: 'retryable', reason: expect.stringMatching(/protocol.*(ftp|http)/i) });
  });

  it('does nothing on close() before any send, and connects at the first send after it', async () => {
    const { endpoint, sockets } = await listen((_req, res) => res.end());
    const transport = transportFor(endpoint);
    expect(() => transport.close?.()).not.toThrow();
    expect(await transport.send(request())).toEqual({ kind: 'ok', status: 200 });
    expect(sockets).toHaveLength(1);
  });

  it('settles a send in flight as retryable when close() ends its connection', async () => {
    let answered = () => undefined as void;
    const arrived = new Promise<void>((resolve) => (answered = resolve));
    const { endpoint } = await listen(() => answered());
    const transport = transportFor(endpoint);
    const sending = transport.send(request());
    await arrived;
    transport.close?.();
    expect(await sending).toMatchObject({ kind: 'retryable', reason: expect.any(String) });
  });

  it('carries a reporter’s batches, in order and each event once, over one connection that stop() releases', async () => {
    const batches: { key: string | undefined; indexes: number[] }[] = [];
    const { endpoint, sockets } = await listen((req, res, body) => {
      const events = (JSON.parse(body) as { events: { event_session_index: number }[] }).events;
      batches.push({ key: req.headers['x-idempotency-key'] as string | undefined, indexes: events.map((e) => e.event_session_index) });
      res.end('{"status":"accepted"}');
    });
    const config = createConfig({ apiKey: API_KEY, baseUrl: endpoint.replace('/api/v1/telemetry', '') });
    const reporter = startReporter({
      config,
      sessionId: 'own-transport',
      enabled: true,
      attachEvents: false,
      maxBatchSize: 100,
      logger: recordingLogger().logger,
      transport: create({ endpoint: config.telemetryEndpoint, apiKey: API_KEY, userAgent: 'ua', httpTimeoutMs: 2000 }),
    }) as TelemetryReporter;
    for (let i = 0; i < 250; i++) reporter.log('step', { i });
    expect(await reporter.stop(5000)).toBe(true);
    // SESSION_START, 250 events, SESSION_END: every index once, in order, each batch with a key of its own.
    expect(batches.flatMap((b) => b.indexes)).toEqual([...Array(252).keys()]);
    expect(new Set(batches.map((b) => b.key)).size).toBe(batches.length);
    expect(sockets).toHaveLength(1);
    // stop() closed the transport: the socket ends without the server closing it.
    await new Promise<void>((resolve) => (sockets[0]!.destroyed ? resolve() : sockets[0]!.once('close', () => resolve())));
  });
});
