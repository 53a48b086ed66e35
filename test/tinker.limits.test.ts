/**
 * The limits of one attempt, against real loopback servers: a response body
 * over the call's byte limit (1 MiB, 64 MiB for retrieve_future) fails at
 * once with InvalidResponseError and is not read to its end, and a request
 * that cannot be built fails at once, sent never and retried never.
 */
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { CHANNELS } from '../src/host/channels.js';
import { ApiConnectionError, InvalidResponseError } from '../src/tinker/errors.js';
import { MAX_FUTURE_RESPONSE_BYTES, MAX_RESPONSE_BYTES } from '../src/tinker/http.js';
import { KEY, makeApi, onCleanup, recordChannels, serve } from './tinker-helpers.js';

const MiB = 1024 * 1024;

/**
 * A server that answers every request 200 with a JSON string of `bodyBytes`
 * bytes, streamed in 1 MiB chunks (with `Content-Length` when `declareLength`),
 * and records how many bytes it wrote and whether the client closed the
 * socket before the end.
 */
async function streaming(bodyBytes: number, declareLength = false) {
  let answered!: () => void;
  /** `closed` settles when the server's response closes, which it learns after the client has moved on. */
  const seen = { requests: 0, writtenBytes: 0, closedEarly: false, closed: new Promise<void>((resolve) => (answered = resolve)) };
  const server: Server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      seen.requests++;
      res.writeHead(200, { 'content-type': 'application/json', ...(declareLength ? { 'content-length': String(bodyBytes) } : {}) });
      res.on('close', () => {
        seen.closedEarly ||= !res.writableFinished;
        answered();
      });
      const chunk = Buffer.alloc(MiB, 0x61);
      let left = bodyBytes - 3;
      const write = (data: Buffer | string) => {
        seen.writtenBytes += Buffer.byteLength(data);
        return res.write(data);
      };
      write('"');
      const pump = () => {
        while (left > 0 && !res.destroyed) {
          const part = left >= chunk.length ? chunk : chunk.subarray(0, left);
          left -= part.length;
          if (!write(part)) return void res.once('drain', pump);
        }
        if (!res.destroyed) res.end('"\n', () => (seen.writtenBytes += 2));
      };
      pump();
    });
  });
  onCleanup(() => {
    server.closeAllConnections();
    server.close();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen };
}

describe('response body limits', () => {
  it('fails a heartbeat whose body passes 1 MiB with InvalidResponseError naming the path and the limit, closing the socket before the rest arrives', async () => {
    const bodyBytes = 64 * MiB;
    const server = await streaming(bodyBytes);
    const { api } = makeApi(server.baseUrl);
    const error = await api.heartbeat('sess-1', 30_000).then(
      () => undefined,
      (rejection: unknown) => rejection,
    );
    expect(error).toBeInstanceOf(InvalidResponseError);
    expect((error as InvalidResponseError).message).toContain('/api/v1/session_heartbeat');
    expect((error as InvalidResponseError).message).toContain(String(MAX_RESPONSE_BYTES));
    expect(server.seen.requests).toBe(1);
    await server.seen.closed;
    expect(server.seen.closedEarly).toBe(true);
    expect(server.seen.writtenBytes).toBeLessThan(bodyBytes / 2);
  });

  it('fails a heartbeat whose Content-Length is over 1 MiB before reading its body', async () => {
    const bodyBytes = 32 * MiB;
    const server = await streaming(bodyBytes, true);
    const { api } = makeApi(server.baseUrl);
    const error = await api.heartbeat('sess-1', 30_000).then(
      () => undefined,
      (rejection: unknown) => rejection,
    );
    expect(error).toBeInstanceOf(InvalidResponseError);
    expect(server.seen.requests).toBe(1);
    await server.seen.closed;
    expect(server.seen.closedEarly).toBe(true);
    expect(server.seen.writtenBytes).toBeLessThan(bodyBytes / 2);
  });

  it('accepts a future result over 1 MiB: retrieve_future has its own limit', async () => {
    const server = await streaming(3 * MiB);
    const { api } = makeApi(server.baseUrl);
    api.bind('sess-1');
    const result = await api.retrieveFuture('r-1', { requestType: 'Sample' });
    expect(result.kind).toBe('json');
    await server.seen.closed;
    expect(server.seen.closedEarly).toBe(false);
  });

  it('fails a poll whose body passes 64 MiB at once with InvalidResponseError, one poll, the socket closed before the rest arrives', async () => {
    const bodyBytes = 96 * MiB;
    const server = await streaming(bodyBytes);
    const channels = recordChannels();
    const { api, clock } = makeApi(server.baseUrl);
    api.bind('sess-1');
    const error = await api.retrieveFuture('r-1', { requestType: 'Sample' }).then(
      () => undefined,
      (rejection: unknown) => rejection,
    );
    expect(error).toBeInstanceOf(InvalidResponseError);
    expect((error as InvalidResponseError).message).toContain('/api/v1/retrieve_future for request r-1');
    expect((error as InvalidResponseError).message).toContain(String(MAX_FUTURE_RESPONSE_BYTES));
    expect(server.seen.requests).toBe(1);
    await server.seen.closed;
    expect(server.seen.closedEarly).toBe(true);
    expect(server.seen.writtenBytes).toBeLessThan(bodyBytes);
    expect(clock.timers).toEqual([]);
    expect(channels.on(CHANNELS.futureConnectionError)).toEqual([]);
  });
});

describe('requests that cannot be built', () => {
  it('rejects a poll whose request-type header holds a newline at once: nothing sent, no backoff, no connection_error', async () => {
    const server = await serve(() => ({ json: { result: 1 } }));
    const channels = recordChannels();
    const { api, clock } = makeApi(server.baseUrl);
    api.bind('sess-1');
    const error = await api.retrieveFuture('r-1', { requestType: 'Optim\nStep', timeoutMs: 60_000 }).then(
      () => undefined,
      (rejection: unknown) => rejection,
    );
    expect(error).toBeInstanceOf(ApiConnectionError);
    const { message } = error as ApiConnectionError;
    expect(message).toContain('could not be built');
    expect(message).toContain('ERR_INVALID_CHAR');
    expect(message).not.toContain(KEY);
    expect(server.received).toEqual([]);
    expect(channels.on(CHANNELS.futureConnectionError)).toEqual([]);
    // Only the overall timeout was set, and it was cleared: no backoff was waited.
    expect(clock.timers.map((t) => [t.ms, t.cleared])).toEqual([[60_000, true]]);
  });
});
