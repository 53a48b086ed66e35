import diagnostics from 'node:diagnostics_channel';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { CHANNELS, HTTP_CHANNELS } from '../src/host/channels.js';
import { createConfig } from '../src/config.js';
import { createHttpClient } from '../src/host/http-client.js';

const API_KEY = 'sk-http-client-secret';
let server: Server | undefined;
const cleanups: (() => void)[] = [];

afterEach(async () => {
  vi.restoreAllMocks();
  for (const cleanup of cleanups.splice(0)) cleanup();
  if (server) {
    server.closeAllConnections();
    await new Promise((resolve) => server!.close(resolve));
    server = undefined;
  }
});

function record() {
  const messages: { channel: string; payload: Record<string, unknown> }[] = [];
  for (const channel of HTTP_CHANNELS) {
    const listener = (payload: unknown) => messages.push({ channel, payload: payload as Record<string, unknown> });
    diagnostics.subscribe(channel, listener);
    cleanups.push(() => diagnostics.unsubscribe(channel, listener));
  }
  return messages;
}

async function serve(status = 200, onRequest: () => 'hang' | void = () => undefined) {
  const keys: (string | undefined)[] = [];
  server = createServer((req, res) => {
    keys.push(req.headers['x-api-key'] as string | undefined);
    if (onRequest() === 'hang') return;
    res.writeHead(status, { 'content-type': 'application/json' }).end('{"ok":true}');
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  return { baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}/api`, keys };
}

describe('createHttpClient', () => {
  it('publishes start and stop with the real method, path, status, duration and retry count, sending the key', async () => {
    const { baseUrl, keys } = await serve();
    const messages = record();
    const client = createHttpClient({ config: createConfig({ apiKey: API_KEY, baseUrl }), sessionId: 'sess' });
    await client.post('v1/sample', { json: { prompt: 'hi' } });
    expect(keys).toEqual([API_KEY]);
    expect(messages.map((m) => m.channel)).toEqual([CHANNELS.httpRequestStart, CHANNELS.httpRequestStop]);
    expect(messages[0]!.payload).toMatchObject({ sessionId: 'sess', method: 'POST', path: '/api/v1/sample', systemTime: expect.any(Number) });
    expect(messages[1]!.payload).toMatchObject({ sessionId: 'sess', method: 'POST', path: '/api/v1/sample', status: 200, retryCount: 0 });
    expect(messages[1]!.payload.durationMs).toBeGreaterThanOrEqual(0);
  });

  it('publishes an exception when the server is down, and never the key', async () => {
    const { baseUrl } = await serve();
    await new Promise((resolve) => server!.close(resolve));
    server = undefined;
    const messages = record();
    const client = createHttpClient({ config: createConfig({ apiKey: API_KEY, baseUrl }), sessionId: 'sess' });
    await expect(client.get('v1/health', { retry: { limit: 0 } })).rejects.toThrow();
    const exception = messages.find((m) => m.channel === CHANNELS.httpRequestException);
    expect(exception?.payload).toMatchObject({
      sessionId: 'sess',
      method: 'GET',
      path: '/api/v1/health',
      kind: 'network',
      reason: expect.stringContaining('ECONNREFUSED'),
    });
    expect(JSON.stringify(messages)).not.toContain(API_KEY);
  });

  it('publishes the stop with its status and then an http exception for an error status', async () => {
    const { baseUrl } = await serve(404);
    const messages = record();
    const client = createHttpClient({ config: createConfig({ apiKey: API_KEY, baseUrl }), sessionId: 'sess' });
    await expect(client.get('missing', { retry: { limit: 0 } })).rejects.toThrow();
    expect(messages.map((m) => [m.channel, m.payload.status ?? m.payload.kind])).toEqual([
      [CHANNELS.httpRequestStart, undefined],
      [CHANNELS.httpRequestStop, 404],
      [CHANNELS.httpRequestException, 'http'],
    ]);
  });

  it('measures durationMs on the performance.now() clock from the start of the attempt to the response', async () => {
    // The server moves the monotonic clock on by 250 ms while it holds the request.
    let clock = 1_000;
    vi.spyOn(performance, 'now').mockImplementation(() => clock);
    const { baseUrl } = await serve(200, () => {
      clock += 250;
    });
    const messages = record();
    const client = createHttpClient({ config: createConfig({ apiKey: API_KEY, baseUrl }), sessionId: 'sess' });
    await client.get('v1/health');
    expect(messages.find((m) => m.channel === CHANNELS.httpRequestStop)?.payload.durationMs).toBe(250);
  });

  it('measures the exception durationMs from the start of the attempt to the failure', async () => {
    let clock = 5_000;
    vi.spyOn(performance, 'now').mockImplementation(() => clock);
    const { baseUrl } = await serve();
    const messages = record();
    const client = createHttpClient({ config: createConfig({ apiKey: API_KEY, baseUrl }), sessionId: 'sess' }).extend({
      retry: { limit: 0 },
      hooks: {
        beforeRequest: [
          () => {
            clock += 40;
            throw Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
          },
        ],
      },
    });
    await expect(client.get('v1/health')).rejects.toThrow('socket hang up');
    expect(messages.find((m) => m.channel === CHANNELS.httpRequestException)?.payload).toMatchObject({ kind: 'network', durationMs: 40 });
  });

  it('publishes an exception with an empty path and durationMs 0 when got rejects the options before any attempt', async () => {
    const { baseUrl } = await serve();
    const messages = record();
    const client = createHttpClient({ config: createConfig({ apiKey: API_KEY, baseUrl }), sessionId: 'sess' });
    await expect(client.get('/v1/health')).rejects.toThrow('`url` must not start with a slash');
    expect(messages).toEqual([
      {
        channel: CHANNELS.httpRequestException,
        payload: {
          sessionId: 'sess',
          method: 'GET',
          path: '',
          kind: 'other',
          reason: 'ERR_GOT_REQUEST_ERROR: `url` must not start with a slash',
          durationMs: 0,
        },
      },
    ]);
  });

  it('publishes the method in upper case and the path without its query', async () => {
    const { baseUrl } = await serve();
    const messages = record();
    const client = createHttpClient({ config: createConfig({ apiKey: API_KEY, baseUrl }), sessionId: 'sess' });
    await client('v1/futures?id=7', { method: 'patch' });
    expect(messages.map((m) => [m.payload.method, m.payload.path])).toEqual([
      ['PATCH', '/api/v1/futures'],
      ['PATCH', '/api/v1/futures'],
    ]);
  });

  it('publishes one aborted exception when the caller aborts through its signal, which got reports without its beforeError hook', async () => {
    let arrived: () => void = () => undefined;
    const reached = new Promise<void>((resolve) => (arrived = resolve));
    const { baseUrl } = await serve(200, () => (arrived(), 'hang'));
    const messages = record();
    const client = createHttpClient({ config: createConfig({ apiKey: API_KEY, baseUrl }), sessionId: 'sess' });
    const controller = new AbortController();
    const request = client.get('v1/slow', { retry: { limit: 0 }, signal: controller.signal });
    await reached;
    controller.abort();
    await expect(request).rejects.toThrow('This operation was aborted');
    expect(messages.map((m) => m.channel)).toEqual([CHANNELS.httpRequestStart, CHANNELS.httpRequestException]);
    expect(messages[1]!.payload).toMatchObject({
      sessionId: 'sess',
      method: 'GET',
      path: '/api/v1/slow',
      kind: 'aborted',
      reason: 'ERR_ABORTED: This operation was aborted.',
    });
    expect(messages[1]!.payload.durationMs).toBeGreaterThan(0);
  });

  it('publishes the exception of a stream request through got’s hook, and leaves the stream to the caller', async () => {
    const { baseUrl } = await serve();
    await new Promise((resolve) => server!.close(resolve));
    server = undefined;
    const messages = record();
    const client = createHttpClient({ config: createConfig({ apiKey: API_KEY, baseUrl }), sessionId: 'sess' });
    const stream = client.stream('v1/health', { retry: { limit: 0 } });
    await expect(new Promise((resolve, reject) => stream.on('error', reject).on('end', resolve).resume())).rejects.toThrow(/ECONNREFUSED/);
    expect(messages.map((m) => [m.channel, m.payload.kind])).toEqual([
      [CHANNELS.httpRequestStart, undefined],
      [CHANNELS.httpRequestException, 'network'],
    ]);
  });

  it.each([
    ['a string', 'plain failure'],
    ['null', null],
  ])('publishes nothing, and never throws, when a later handler rejects with %s', async (_what, reason) => {
    const messages = record();
    const client = createHttpClient({ config: createConfig({ apiKey: API_KEY, baseUrl: 'http://127.0.0.1:9/api' }), sessionId: 'sess' }).extend({
      handlers: [() => Promise.reject(reason) as never],
    });
    await expect(client.get('v1/sample')).rejects.toBe(reason);
    await new Promise((resolve) => setImmediate(resolve));
    expect(messages).toEqual([]);
  });

  it('publishes an error from a later handler that carries no request options, with the method and path of the request', async () => {
    const messages = record();
    const client = createHttpClient({ config: createConfig({ apiKey: API_KEY, baseUrl: 'http://127.0.0.1:9/api' }), sessionId: 'sess' }).extend({
      handlers: [() => Promise.reject(Object.assign(new Error('refused by a handler'), { code: 'EHANDLER' })) as never],
    });
    await expect(client.post('v1/sample')).rejects.toThrow('refused by a handler');
    await new Promise((resolve) => setImmediate(resolve));
    expect(messages).toEqual([
      {
        channel: CHANNELS.httpRequestException,
        payload: { sessionId: 'sess', method: 'POST', path: '/api/v1/sample', kind: 'network', reason: 'EHANDLER: refused by a handler', durationMs: 0 },
      },
    ]);
  });

  it('describes an error from a later handler that has no code by its name and message', async () => {
    const messages = record();
    const client = createHttpClient({ config: createConfig({ apiKey: API_KEY, baseUrl: 'http://127.0.0.1:9/api' }), sessionId: 'sess' }).extend({
      handlers: [() => Promise.reject(new RangeError('refused by a handler')) as never],
    });
    await expect(client.get('v1/sample')).rejects.toThrow('refused by a handler');
    await new Promise((resolve) => setImmediate(resolve));
    expect(messages.map((m) => [m.payload.kind, m.payload.reason])).toEqual([['other', 'RangeError: refused by a handler']]);
  });

  it('still returns got’s own promise, with its helpers, and publishes nothing more for a success', async () => {
    const { baseUrl } = await serve();
    const messages = record();
    const client = createHttpClient({ config: createConfig({ apiKey: API_KEY, baseUrl }), sessionId: 'sess' });
    await expect(client.get('v1/sample').json()).resolves.toEqual({ ok: true });
    expect(messages.map((m) => m.channel)).toEqual([CHANNELS.httpRequestStart, CHANNELS.httpRequestStop]);
  });

  it('gives up connecting after 5 s and on a socket idle for 60 s by default, with no bound on the whole request', () => {
    const client = createHttpClient({ config: createConfig({ apiKey: API_KEY, baseUrl: 'http://127.0.0.1:9' }), sessionId: 'sess' });
    const { connect, socket, request, response, read, send, lookup, secureConnect } = client.defaults.options.timeout;
    expect({ connect, socket, request, response, read, send, lookup, secureConnect }).toEqual({
      connect: 5000,
      socket: 60_000,
      request: undefined,
      response: undefined,
      read: undefined,
      send: undefined,
      lookup: undefined,
      secureConnect: undefined,
    });
    expect(client.extend({ timeout: { socket: 200 } }).defaults.options.timeout).toMatchObject({ connect: 5000, socket: 200 });
  });

  it('fails a request to a server that never answers once the socket has been idle for the timeout, published as a timeout', async () => {
    const { baseUrl } = await serve(200, () => 'hang');
    const messages = record();
    const client = createHttpClient({ config: createConfig({ apiKey: API_KEY, baseUrl }), sessionId: 'sess' }).extend({
      timeout: { socket: 200 },
      retry: { limit: 0 },
    });
    await expect(client.get('v1/hang')).rejects.toThrow("Timeout awaiting 'socket' for 200ms");
    expect(messages.find((m) => m.channel === CHANNELS.httpRequestException)?.payload).toMatchObject({
      path: '/api/v1/hang',
      kind: 'timeout',
      reason: "ETIMEDOUT: Timeout awaiting 'socket' for 200ms",
    });
  });

  it("publishes a timeout exception when got's request timeout fires", async () => {
    const { baseUrl } = await serve(200, () => 'hang');
    const messages = record();
    const client = createHttpClient({ config: createConfig({ apiKey: API_KEY, baseUrl }), sessionId: 'sess' });
    await expect(client.get('v1/slow', { retry: { limit: 0 }, timeout: { request: 30 } })).rejects.toThrow("Timeout awaiting 'request' for 30ms");
    expect(messages.find((m) => m.channel === CHANNELS.httpRequestException)?.payload).toMatchObject({
      path: '/api/v1/slow',
      kind: 'timeout',
      reason: "ETIMEDOUT: Timeout awaiting 'request' for 30ms",
    });
  });
});
