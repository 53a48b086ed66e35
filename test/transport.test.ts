/**
 * One behaviour table run against every HTTP transport (node:http, got and undici), so
 * that they cannot drift apart: what is sent, how each status and each
 * failure reads, the key nowhere but its header, no redirect followed, and
 * the keep-alive connection kept and released. Then `describeNetworkError`,
 * which both use for a failure's reason.
 */
import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { describeNetworkError } from '../src/io/http-transport.js';
import { TRANSPORTS, deadPort, listen, request, track } from './transport-helpers.js';

const API_KEY = 'sk-transport-secret-42';

describe.each(TRANSPORTS)('$name transport', ({ create }) => {
  const transportFor = (endpoint: string, httpTimeoutMs = 2000, now?: () => number) =>
    track(create({ endpoint, apiKey: API_KEY, userAgent: 'tinker-telemetry/test', httpTimeoutMs, ...(now === undefined ? {} : { now }) }));

  it('POSTs the body verbatim with the key, content type, user-agent and idempotency key, and the key in its header alone', async () => {
    let seen: { method?: string; url?: string; headers: IncomingMessage['headers']; rawHeaders: string[]; body: string } | undefined;
    const { endpoint } = await listen((req, res, body) => {
      seen = { method: req.method, url: req.url, headers: req.headers, rawHeaders: req.rawHeaders, body };
      res.end('{"status":"accepted"}');
    });
    expect(await transportFor(endpoint).send(request({ body: '{"x":1}', idempotencyKey: 'idem-7' }))).toEqual({ kind: 'ok', status: 200 });
    expect(seen).toMatchObject({ method: 'POST', url: '/api/v1/telemetry', body: '{"x":1}' });
    expect(seen!.headers).toMatchObject({
      'x-api-key': API_KEY,
      'content-type': 'application/json',
      'user-agent': 'tinker-telemetry/test',
      'x-idempotency-key': 'idem-7',
    });
    // Sent once, under its own name: no other header, nor the URL, nor the body carries it.
    const carriers = seen!.rawHeaders.filter((_, i) => i % 2 === 1 && seen!.rawHeaders[i - 1]!.toLowerCase() !== 'x-api-key');
    expect(seen!.rawHeaders.filter((value) => value === API_KEY)).toHaveLength(1);
    expect([seen!.url, seen!.body, ...carriers].join('\n')).not.toContain(API_KEY);
  });

  it('asks for no compressed answer and ignores one it gets, since the answer is never read', async () => {
    let acceptEncoding: string | undefined;
    const { endpoint } = await listen((req, res) => {
      acceptEncoding = req.headers['accept-encoding'];
      // A body that is not gzip at all: decompressing it would fail the request.
      res.writeHead(200, { 'content-encoding': 'gzip' }).end('not gzip');
    });
    expect(await transportFor(endpoint).send(request())).toEqual({ kind: 'ok', status: 200 });
    expect(acceptEncoding).toBeUndefined();
  });

  it('counts a 2xx with a garbage body as delivered', async () => {
    const { endpoint } = await listen((_req, res) => res.end('<html>not json'));
    expect(await transportFor(endpoint).send(request())).toEqual({ kind: 'ok', status: 200 });
  });

  it.each([
    [202, { kind: 'ok', status: 202 }],
    [204, { kind: 'ok', status: 204 }],
    [503, { kind: 'retryable', status: 503, reason: 'HTTP 503' }],
    [500, { kind: 'retryable', status: 500, reason: 'HTTP 500' }],
    [429, { kind: 'retryable', status: 429, reason: 'HTTP 429' }],
    [408, { kind: 'retryable', status: 408, reason: 'HTTP 408' }],
    [413, { kind: 'too_large', status: 413 }],
    [400, { kind: 'rejected', status: 400 }],
    [401, { kind: 'rejected', status: 401 }],
    [404, { kind: 'rejected', status: 404 }],
    [302, { kind: 'rejected', status: 302 }],
  ])('maps HTTP %i, with no retryAfterMs key when there is no Retry-After', async (status, expected) => {
    const { endpoint } = await listen((_req, res) => res.writeHead(status, { location: '/elsewhere' }).end());
    expect(await transportFor(endpoint).send(request())).toStrictEqual(expected);
  });

  it('reads Retry-After in seconds on a 429', async () => {
    const { endpoint } = await listen((_req, res) => res.writeHead(429, { 'retry-after': '2' }).end());
    expect(await transportFor(endpoint).send(request())).toEqual({ kind: 'retryable', status: 429, retryAfterMs: 2000, reason: 'HTTP 429' });
  });

  it('reads Retry-After as an HTTP date on a 503, against the injected clock', async () => {
    const nowMs = Date.UTC(2026, 0, 15, 12, 0, 0);
    const { endpoint } = await listen((_req, res) => res.writeHead(503, { 'retry-after': new Date(nowMs + 30_000).toUTCString() }).end());
    expect(await transportFor(endpoint, 2000, () => nowMs).send(request())).toEqual({
      kind: 'retryable',
      status: 503,
      retryAfterMs: 30_000,
      reason: 'HTTP 503',
    });
  });

  it('turns a reset connection into a retryable result with a reason', async () => {
    const { endpoint } = await listen((req) => req.socket.destroy());
    const result = await transportFor(endpoint).send(request());
    expect(result.kind).toBe('retryable');
    expect(result.kind === 'retryable' && result.reason.length).toBeGreaterThan(0);
  });

  it('turns a refused connection into a retryable ECONNREFUSED', async () => {
    const port = await deadPort();
    const result = await transportFor(`http://127.0.0.1:${port}/api/v1/telemetry`, 1000).send(request());
    expect(result).toMatchObject({ kind: 'retryable', reason: expect.stringContaining('ECONNREFUSED') });
  });

  it('times out a hanging server after httpTimeoutMs', async () => {
    const { endpoint } = await listen(() => undefined);
    const result = await transportFor(endpoint, 50).send(request());
    expect(result).toMatchObject({ kind: 'retryable', reason: expect.stringMatching(/ETIMEDOUT|timeout/i) });
  });

  it('answers aborted promptly when the signal aborts', async () => {
    const controller = new AbortController();
    // The server never answers; the abort comes once the request is in flight.
    const { endpoint } = await listen(() => controller.abort());
    expect(await transportFor(endpoint).send(request({ signal: controller.signal }))).toEqual({ kind: 'retryable', reason: 'aborted' });
  });

  it('never puts the API key in a result', async () => {
    const { endpoint } = await listen((req, res) => (req.headers['x-idempotency-key'] === 'reset' ? req.socket.destroy() : res.writeHead(401).end()));
    const transport = transportFor(endpoint);
    const results = [await transport.send(request()), await transport.send(request({ idempotencyKey: 'reset' }))];
    expect(JSON.stringify(results)).not.toContain(API_KEY);
  });

  it('redacts the key from a failure’s reason that quotes it', async () => {
    // A host name that cannot resolve, made of the key: the lookup error quotes it.
    const result = await transportFor(`http://${API_KEY}.invalid/api/v1/telemetry`).send(request());
    expect(result).toMatchObject({ kind: 'retryable', reason: expect.stringContaining('[redacted].invalid') });
    expect(JSON.stringify(result)).not.toContain(API_KEY);
  });

  it('follows no redirect: a 301 is rejected, and its target never hears the key', async () => {
    const target = { requests: 0 };
    const { endpoint: elsewhere } = await listen((_req, res) => {
      target.requests++;
      res.end('{"status":"accepted"}');
    });
    const { endpoint } = await listen((_req, res) => res.writeHead(301, { location: elsewhere }).end());
    expect(await transportFor(endpoint).send(request())).toStrictEqual({ kind: 'rejected', status: 301 });
    expect(target.requests).toBe(0);
  });

  it('reuses one keep-alive connection for sequential sends', async () => {
    const { endpoint, sockets } = await listen((_req, res) => res.end('{"status":"accepted"}'));
    const transport = transportFor(endpoint);
    for (let i = 0; i < 3; i++) expect(await transport.send(request())).toEqual({ kind: 'ok', status: 200 });
    expect(sockets).toHaveLength(1);
  });

  it('close() ends the keep-alive socket, and the next send opens a new connection', async () => {
    const { endpoint, sockets } = await listen((_req, res) => res.end('{"status":"accepted"}'));
    const transport = transportFor(endpoint);
    await transport.send(request());
    const first = sockets[0]!;
    const ended = new Promise<void>((resolve) => first.once('close', () => resolve()));
    transport.close?.();
    // Resolves only when the client has ended the socket: the server itself never closes it in a test.
    await ended;
    expect(await transport.send(request())).toEqual({ kind: 'ok', status: 200 });
    expect(sockets).toHaveLength(2);
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
