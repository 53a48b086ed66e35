import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { Transport } from '../src/core/ports.js';
import { describeNetworkError } from '../src/io/http-transport.js';
import { createGotTransport } from '../src/io/transport.js';

const API_KEY = 'sk-transport-secret-42';
let server: Server | undefined;
let transport: Transport | undefined;

afterEach(async () => {
  transport?.close?.();
  transport = undefined;
  if (server) {
    server.closeAllConnections();
    await new Promise((resolve) => server!.close(resolve));
    server = undefined;
  }
});

async function serve(handler: (req: IncomingMessage, res: ServerResponse, body: string) => void, httpTimeoutMs = 2000) {
  const connections = { count: 0 };
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => handler(req, res, body));
  });
  server.on('connection', () => connections.count++);
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/v1/telemetry`;
  transport = createGotTransport({ endpoint, apiKey: API_KEY, userAgent: 'tinker-telemetry/test', httpTimeoutMs });
  return { transport, connections };
}

const request = (overrides: Partial<{ body: string; idempotencyKey: string; signal: AbortSignal }> = {}) => ({
  body: '{"events":[]}',
  idempotencyKey: 'key-1',
  signal: new AbortController().signal,
  ...overrides,
});

describe('got transport', () => {
  it('POSTs the body verbatim with the key, content type, user-agent and idempotency key', async () => {
    let seen: { method?: string; url?: string; headers: IncomingMessage['headers']; body: string } | undefined;
    const { transport } = await serve((req, res, body) => {
      seen = { method: req.method, url: req.url, headers: req.headers, body };
      res.end('{"status":"accepted"}');
    });
    expect(await transport.send(request({ body: '{"x":1}', idempotencyKey: 'idem-7' }))).toEqual({ kind: 'ok', status: 200 });
    expect(seen).toMatchObject({ method: 'POST', url: '/api/v1/telemetry', body: '{"x":1}' });
    expect(seen!.headers).toMatchObject({
      'x-api-key': API_KEY,
      'content-type': 'application/json',
      'user-agent': 'tinker-telemetry/test',
      'x-idempotency-key': 'idem-7',
    });
  });

  it('asks for no compressed answer and ignores one it gets, since the answer is never read', async () => {
    let acceptEncoding: string | undefined;
    const { transport } = await serve((req, res) => {
      acceptEncoding = req.headers['accept-encoding'];
      // A body that is not gzip at all: decompressing it would fail the request.
      res.writeHead(200, { 'content-encoding': 'gzip' }).end('not gzip');
    });
    expect(await transport.send(request())).toEqual({ kind: 'ok', status: 200 });
    expect(acceptEncoding).toBeUndefined();
  });

  it('counts a 2xx with a garbage body as delivered', async () => {
    const { transport } = await serve((_req, res) => res.end('<html>not json'));
    expect(await transport.send(request())).toEqual({ kind: 'ok', status: 200 });
  });

  it.each([
    [503, { kind: 'retryable', status: 503, reason: 'HTTP 503' }],
    [408, { kind: 'retryable', status: 408, reason: 'HTTP 408' }],
    [413, { kind: 'too_large', status: 413 }],
    [400, { kind: 'rejected', status: 400 }],
    [401, { kind: 'rejected', status: 401 }],
    [302, { kind: 'rejected', status: 302 }],
  ])('maps HTTP %i, with no retryAfterMs key when there is no Retry-After', async (status, expected) => {
    const { transport } = await serve((_req, res) => res.writeHead(status, { location: '/elsewhere' }).end());
    expect(await transport.send(request())).toStrictEqual(expected);
  });

  it('reads Retry-After on a 429', async () => {
    const { transport } = await serve((_req, res) => res.writeHead(429, { 'retry-after': '2' }).end());
    expect(await transport.send(request())).toEqual({ kind: 'retryable', status: 429, retryAfterMs: 2000, reason: 'HTTP 429' });
  });

  it('turns a reset connection into a retryable result with a reason', async () => {
    const { transport } = await serve((req) => req.socket.destroy());
    const result = await transport.send(request());
    expect(result.kind).toBe('retryable');
    expect(result.kind === 'retryable' && result.reason.length).toBeGreaterThan(0);
  });

  it('turns a refused connection into a retryable ECONNREFUSED', async () => {
    await serve(() => undefined);
    const port = (server!.address() as AddressInfo).port;
    await new Promise((resolve) => server!.close(resolve));
    server = undefined;
    transport = createGotTransport({ endpoint: `http://127.0.0.1:${port}/api/v1/telemetry`, apiKey: API_KEY, userAgent: 'ua', httpTimeoutMs: 1000 });
    const result = await transport.send(request());
    expect(result).toMatchObject({ kind: 'retryable', reason: expect.stringContaining('ECONNREFUSED') });
  });

  it('times out a hanging server after httpTimeoutMs', async () => {
    const { transport } = await serve(() => undefined, 50);
    const result = await transport.send(request());
    expect(result).toMatchObject({ kind: 'retryable', reason: expect.stringMatching(/ETIMEDOUT|timeout/i) });
  });

  it('answers aborted promptly when the signal aborts', async () => {
    const controller = new AbortController();
    // The server never answers; the abort comes once the request is in flight.
    const { transport } = await serve(() => controller.abort());
    expect(await transport.send(request({ signal: controller.signal }))).toEqual({ kind: 'retryable', reason: 'aborted' });
  });

  it('never puts the API key in a result', async () => {
    const { transport } = await serve((req, res) => (req.headers['x-idempotency-key'] === 'reset' ? req.socket.destroy() : res.writeHead(401).end()));
    const results = [await transport.send(request()), await transport.send(request({ idempotencyKey: 'reset' }))];
    expect(JSON.stringify(results)).not.toContain(API_KEY);
  });

  it('reuses one keep-alive connection for sequential sends', async () => {
    const { transport, connections } = await serve((_req, res) => res.end('{"status":"accepted"}'));
    await transport.send(request());
    await transport.send(request());
    await transport.send(request());
    expect(connections.count).toBe(1);
  });

  it('close() releases the keep-alive sockets, so the next send opens a new connection', async () => {
    const { transport, connections } = await serve((_req, res) => res.end('{"status":"accepted"}'));
    await transport.send(request());
    transport.close?.();
    expect(await transport.send(request())).toEqual({ kind: 'ok', status: 200 });
    expect(connections.count).toBe(2);
  });
});

describe('describeNetworkError', () => {
  it('labels the message with the code when there is one', () => {
    expect(describeNetworkError(Object.assign(new TypeError('connect refused'), { code: 'ECONNREFUSED' }), API_KEY)).toBe('ECONNREFUSED: connect refused');
  });

  it('labels the message with the name when the code is missing or not a string', () => {
    expect(describeNetworkError(new TypeError('fetch failed'), API_KEY)).toBe('TypeError: fetch failed');
    expect(describeNetworkError(Object.assign(new RangeError('bad'), { code: 23 }), API_KEY)).toBe('RangeError: bad');
  });

  it('labels the message with Error when neither the code nor the name is a string', () => {
    expect(describeNetworkError({ name: 42, message: 'odd' }, API_KEY)).toBe('Error: odd');
    expect(describeNetworkError({}, API_KEY)).toBe('Error');
  });

  it('gives the label alone when the message is empty or not a string', () => {
    expect(describeNetworkError(Object.assign(new Error(''), { code: 'ECONNRESET' }), API_KEY)).toBe('ECONNRESET');
    expect(describeNetworkError({ code: 'EPIPE', message: 42 }, API_KEY)).toBe('EPIPE');
    expect(describeNetworkError({ name: 'AbortError', message: 'x' }, API_KEY)).toBe('AbortError: x');
  });

  it('says unknown network error when the error cannot be read', () => {
    expect(describeNetworkError(null, API_KEY)).toBe('unknown network error');
    expect(describeNetworkError(undefined, API_KEY)).toBe('unknown network error');
  });

  it('keeps a reason of 300 characters whole and cuts a longer one to 300 followed by an ellipsis', () => {
    const label = 'ECONNRESET: ';
    const exactly = (n: number) => ({ code: 'ECONNRESET', message: 'm'.repeat(n - label.length) });
    expect(describeNetworkError(exactly(299), API_KEY)).toBe(label + 'm'.repeat(287));
    expect(describeNetworkError(exactly(300), API_KEY)).toBe(label + 'm'.repeat(288));
    expect(describeNetworkError(exactly(301), API_KEY)).toBe(`${label}${'m'.repeat(288)}…`);
    expect(describeNetworkError(exactly(1000), API_KEY)).toBe(`${label}${'m'.repeat(288)}…`);
  });

  it('replaces every occurrence of the API key with [redacted]', () => {
    const error = { code: 'ERR_X', message: `key ${API_KEY} sent as ${API_KEY}` };
    expect(describeNetworkError(error, API_KEY)).toBe('ERR_X: key [redacted] sent as [redacted]');
  });

  it('replaces a key across the 300-character cut whole, and cuts after it', () => {
    const label = 'ECONNRESET: ';
    const error = { code: 'ECONNRESET', message: `${'m'.repeat(300 - label.length - 5)}${API_KEY} and more` };
    expect(describeNetworkError(error, API_KEY)).toBe(`${label}${'m'.repeat(300 - label.length - 5)}[redacted]…`);
  });

  it('redacts a key in the code or the name that labels the reason', () => {
    expect(describeNetworkError({ code: `E_${API_KEY}`, message: 'x' }, API_KEY)).toBe('E_[redacted]: x');
    expect(describeNetworkError({ name: `N_${API_KEY}` }, API_KEY)).toBe('N_[redacted]');
  });

  it('leaves the text alone when the API key is empty', () => {
    expect(describeNetworkError({ code: 'ERR_X', message: 'no key here' }, '')).toBe('ERR_X: no key here');
  });
});
