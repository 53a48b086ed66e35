/**
 * The edges of one HTTP attempt (src/tinker/http.ts) and of the protocol's
 * error messages: how a path is normalised, where the body limit sits to
 * the byte, which status a body over the limit reports, how a failure
 * without a response is described, and the exact text of the errors.
 */
import { type IncomingMessage, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Got } from 'got';
import { describe, expect, it } from 'vitest';
import { Credentials } from '../src/tinker/credentials.js';
import { ApiStatusError, FutureAbortedError, FutureTimeoutError, SessionClosedError } from '../src/tinker/errors.js';
import {
  MAX_FUTURE_RESPONSE_BYTES,
  MAX_RESPONSE_BYTES,
  RETRIEVE_FUTURE_PATH,
  attempt,
  detailOf,
  responseLimitBytes,
  unboundClient,
} from '../src/tinker/http.js';
import { KEY, onCleanup, serve } from './tinker-helpers.js';

const credentials = () => new Credentials(KEY);

/** A request of `attempt` to `path` with no signal fired. */
const requestTo = (path: string, extra: { maxBodyBytes?: number; timeoutMs?: number } = {}) => ({
  path,
  body: '{}',
  headers: { 'content-type': 'application/json' },
  signal: new AbortController().signal,
  ...extra,
});

/** A loopback server on port 0 whose handler the test writes. */
async function raw(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<string> {
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => handler(req, res));
  });
  onCleanup(() => {
    server.closeAllConnections();
    server.close();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** A client whose `post` throws `thrown` at once, as got does for a request it cannot build. */
const throwing = (thrown: unknown) =>
  ({
    post: () => {
      throw thrown;
    },
  }) as unknown as Got;

describe('responseLimitBytes', () => {
  it('gives retrieve_future its 64 MiB limit with no leading slash, and with several', () => {
    expect(responseLimitBytes(RETRIEVE_FUTURE_PATH.slice(1))).toBe(MAX_FUTURE_RESPONSE_BYTES);
    expect(responseLimitBytes(`//${RETRIEVE_FUTURE_PATH.slice(1)}`)).toBe(MAX_FUTURE_RESPONSE_BYTES);
    expect(responseLimitBytes('/api/v1/session_heartbeat')).toBe(MAX_RESPONSE_BYTES);
  });
});

describe('unboundClient', () => {
  it('connects within 5 s and drops a socket idle for 60 s', () => {
    expect(unboundClient('http://127.0.0.1:9/').defaults.options.timeout).toMatchObject({ connect: 5_000, socket: 60_000 });
  });
});

describe('attempt', () => {
  it('posts to the path as given when it has no leading slash, and drops every leading slash', async () => {
    const server = await serve(() => ({ json: {} }));
    const client = unboundClient(server.baseUrl);
    expect((await attempt(client, requestTo('api/v1/a'), credentials())).kind).toBe('response');
    expect((await attempt(client, requestTo('//api/v1/b'), credentials())).kind).toBe('response');
    expect(server.received.map((r) => r.path)).toEqual(['/api/v1/a', '/api/v1/b']);
  });

  it("keeps the client's own whole-request timeout when the request names none", async () => {
    const server = await serve(() => ({ json: {} }));
    const seen: unknown[] = [];
    const client = unboundClient(server.baseUrl).extend({
      timeout: { request: 30_000 },
      hooks: { beforeRequest: [(options) => void seen.push(options.timeout.request)] },
    });
    await attempt(client, requestTo('api/v1/a'), credentials());
    await attempt(client, requestTo('api/v1/a', { timeoutMs: 10_000 }), credentials());
    expect(seen).toEqual([30_000, 10_000]);
  });

  it('accepts a streamed body of exactly the limit, and refuses one byte more with the status the server answered', async () => {
    const baseUrl = await raw((req, res) => {
      res.writeHead(503, { 'content-type': 'text/plain' });
      res.end('x'.repeat(req.url === '/exact' ? 1024 : 1025));
    });
    const client = unboundClient(baseUrl);
    const exact = await attempt(client, requestTo('exact', { maxBodyBytes: 1024 }), credentials());
    expect(exact).toMatchObject({ kind: 'response', status: 503 });
    expect(await attempt(client, requestTo('over', { maxBodyBytes: 1024 }), credentials())).toEqual({ kind: 'too_large', status: 503, limitBytes: 1024 });
  });

  it('accepts a Content-Length of exactly the limit', async () => {
    const baseUrl = await raw((_req, res) => {
      res.writeHead(207, { 'content-length': '1024' });
      res.end('y'.repeat(1024));
    });
    expect(await attempt(unboundClient(baseUrl), requestTo('a', { maxBodyBytes: 1024 }), credentials())).toMatchObject({ kind: 'response', status: 207 });
  });

  it('refuses a Content-Length over the limit before any of the body arrives', async () => {
    const baseUrl = await raw((_req, res) => {
      // Headers only; the body would follow, but never does.
      res.writeHead(502, { 'content-length': '2048' });
      res.flushHeaders();
    });
    const outcome = await attempt(unboundClient(baseUrl), requestTo('a', { maxBodyBytes: 1024, timeoutMs: 2_000 }), credentials());
    expect(outcome).toEqual({ kind: 'too_large', status: 502, limitBytes: 1024 });
  });

  describe('a failure without a response', () => {
    it('is described as `code: message`, and its cause carries the code', async () => {
      const outcome = await attempt(throwing({ code: 'EXAMPLE', name: 'TypeError', message: 'went wrong' }), requestTo('a'), credentials());
      expect(outcome).toMatchObject({ kind: 'network', reason: 'EXAMPLE: went wrong' });
      expect(outcome.kind === 'network' && Object.hasOwn(outcome.cause, 'code') && (outcome.cause as Error & { code: string }).code).toBe('EXAMPLE');
    });

    it('falls back to the name, then to `Error`, when there is no code', async () => {
      expect(await attempt(throwing(new TypeError('bad value')), requestTo('a'), credentials())).toMatchObject({ reason: 'TypeError: bad value' });
      expect(await attempt(throwing({ message: 'no name' }), requestTo('a'), credentials())).toMatchObject({ reason: 'Error: no name' });
    });

    it('is the label alone when the message is missing or empty', async () => {
      expect(await attempt(throwing({ code: 'EXAMPLE' }), requestTo('a'), credentials())).toMatchObject({ reason: 'EXAMPLE' });
      expect(await attempt(throwing({ code: 'EXAMPLE', message: '' }), requestTo('a'), credentials())).toMatchObject({ reason: 'EXAMPLE' });
    });

    it('gives a cause with no code property when the error has no string code', async () => {
      const outcome = await attempt(throwing(new Error('plain')), requestTo('a'), credentials());
      expect(outcome).toMatchObject({ kind: 'network', reason: 'Error: plain' });
      expect(outcome.kind === 'network' && Object.hasOwn(outcome.cause, 'code')).toBe(false);
    });

    it('ignores fields that are not strings, and fields whose getter throws', async () => {
      expect(await attempt(throwing({ code: 42, name: 'Named', message: 'm' }), requestTo('a'), credentials())).toMatchObject({
        kind: 'network',
        reason: 'Named: m',
      });
      const hostile = {
        get code(): string {
          throw new Error('no');
        },
        message: 'm',
      };
      expect(await attempt(throwing(hostile), requestTo('a'), credentials())).toMatchObject({ kind: 'network', reason: 'Error: m' });
      expect(await attempt(throwing(null), requestTo('a'), credentials())).toMatchObject({ kind: 'network', reason: 'Error' });
    });
  });
});

describe('detailOf', () => {
  it('puts the body on one line, each run of white space one space, with none at either end', () => {
    expect(detailOf(Buffer.from('  \n {"error":  \t"bad"}\r\n '), credentials())).toBe('{"error": "bad"}');
  });
});

describe('error messages', () => {
  it('an ApiStatusError with an empty detail ends at the status', () => {
    expect(new ApiStatusError({ status: 500, path: '/api/v1/x', detail: '' }).message).toBe('Tinker API POST /api/v1/x answered HTTP 500');
  });

  it('FutureTimeoutError, FutureAbortedError and SessionClosedError name the request or the session', () => {
    expect(new FutureTimeoutError({ requestId: 'r-1', timeoutMs: 250 }).message).toBe('Tinker request r-1 had no result within 250 ms');
    expect(new FutureAbortedError({ requestId: 'r-2' }).message).toBe('Waiting for the result of Tinker request r-2 was aborted');
    expect(new SessionClosedError({ sessionId: 's-1' }).message).toBe('Tinker session s-1 is closed');
  });
});
