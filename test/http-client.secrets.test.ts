/**
 * createHttpClient sends the key to the base URL's origin only: a redirect
 * to another origin drops it, and a key written into the base URL never
 * reaches a published path. Two real loopback servers; different ports are
 * different origins.
 */
import diagnostics from 'node:diagnostics_channel';
import { type IncomingHttpHeaders, type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { HTTP_CHANNELS } from '../src/host/channels.js';
import { createConfig } from '../src/config.js';
import { createHttpClient } from '../src/host/http-client.js';

const KEY = 'tml-SECRET-redirect-0123456789';

interface Seen {
  path: string;
  headers: IncomingHttpHeaders;
}

const servers: Server[] = [];
const cleanups: (() => void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) cleanup();
  await Promise.all(
    servers.splice(0).map((server) => {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    }),
  );
});

/** A loopback server that records each request and answers `route(path)`: a status, or a redirect to a location. */
async function serve(route: (path: string) => number | { location: string }): Promise<{ origin: string; seen: Seen[] }> {
  const seen: Seen[] = [];
  const server = createServer((req, res) => {
    const path = req.url ?? '';
    seen.push({ path, headers: req.headers });
    const answer = route(path);
    if (typeof answer === 'number') res.writeHead(answer, { 'content-type': 'application/json' }).end('{"ok":true}');
    else res.writeHead(302, { location: answer.location }).end();
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen };
}

/** Every header value a server saw, as one text to search for the key. */
const headerText = (seen: Seen[]) => JSON.stringify(seen.map((s) => s.headers));

function record() {
  const payloads: Record<string, unknown>[] = [];
  for (const channel of HTTP_CHANNELS) {
    const listener = (payload: unknown) => payloads.push(payload as Record<string, unknown>);
    diagnostics.subscribe(channel, listener);
    cleanups.push(() => diagnostics.unsubscribe(channel, listener));
  }
  return payloads;
}

describe('createHttpClient redirects', () => {
  it('never sends X-API-Key to another origin a redirect leads to, nor back to the API after it', async () => {
    const api = { origin: '' };
    const other = await serve((path) => (path === '/bounce' ? { location: `${api.origin}/api/back` } : 200));
    const first = await serve((path) =>
      path === '/api/away' ? { location: `${other.origin}/landing` } : path === '/api/bounce' ? { location: `${other.origin}/bounce` } : 200,
    );
    api.origin = first.origin;
    const client = createHttpClient({ config: createConfig({ apiKey: KEY, baseUrl: `${first.origin}/api` }), sessionId: 's' });

    await expect(client.get('away').json()).resolves.toEqual({ ok: true });
    await expect(client.get('bounce').json()).resolves.toEqual({ ok: true });

    expect(other.seen.map((s) => s.path)).toEqual(['/landing', '/bounce']);
    expect(other.seen.map((s) => s.headers['x-api-key'])).toEqual([undefined, undefined]);
    expect(headerText(other.seen)).not.toContain(KEY);
    // The API saw the key on each first hop; the hop that came back from elsewhere went without it.
    expect(first.seen.map((s) => [s.path, s.headers['x-api-key']])).toEqual([
      ['/api/away', KEY],
      ['/api/bounce', KEY],
      ['/api/back', undefined],
    ]);
  });

  it('keeps every other header on a redirect to another origin, dropping X-API-Key alone', async () => {
    const other = await serve(() => 200);
    const api = await serve(() => ({ location: `${other.origin}/landing` }));
    const client = createHttpClient({ config: createConfig({ apiKey: KEY, baseUrl: `${api.origin}/api` }), sessionId: 's' });

    await client.get('away', { headers: { 'x-request-tag': 'tag-1' } });

    expect(other.seen[0]?.headers).toMatchObject({ 'x-request-tag': 'tag-1' });
    expect(other.seen[0]?.headers['x-api-key']).toBeUndefined();
  });

  it('still follows a redirect within the origin, sending the key on each hop', async () => {
    const api = await serve((path) => (path === '/api/old' ? { location: '/api/new' } : 200));
    const client = createHttpClient({ config: createConfig({ apiKey: KEY, baseUrl: `${api.origin}/api` }), sessionId: 's' });
    await expect(client.get('old').json()).resolves.toEqual({ ok: true });
    expect(api.seen.map((s) => [s.path, s.headers['x-api-key']])).toEqual([
      ['/api/old', KEY],
      ['/api/new', KEY],
    ]);
  });

  it('treats another scheme on the same host and port as another origin, where got would keep its own credentials', async () => {
    const api = await serve(() => ({ location: `${api.origin.replace('http:', 'https:')}/secure` }));
    const nextHop: (string | undefined)[] = [];
    const client = createHttpClient({ config: createConfig({ apiKey: KEY, baseUrl: `${api.origin}/api` }), sessionId: 's' }).extend({
      retry: { limit: 0 },
      // Runs after the client's own hook: what the https hop would have sent.
      hooks: { beforeRedirect: [(options) => void nextHop.push(options.headers['x-api-key'] as string | undefined)] },
    });
    // The loopback server speaks no TLS, so the https hop fails; the headers it would have carried are what matter.
    await expect(client.get('up')).rejects.toThrow();
    expect(nextHop).toEqual([undefined]);
  });

  it('follows no redirect when extended with followRedirect: false', async () => {
    const other = await serve(() => 200);
    const api = await serve(() => ({ location: `${other.origin}/x` }));
    const client = createHttpClient({ config: createConfig({ apiKey: KEY, baseUrl: `${api.origin}/api` }), sessionId: 's' }).extend({ followRedirect: false });
    expect((await client.get('away')).statusCode).toBe(302);
    expect(other.seen).toEqual([]);
  });
});

describe('createHttpClient published paths', () => {
  it('redact a key written into the base URL, on start, stop and exception', async () => {
    const api = await serve(() => 404);
    const payloads = record();
    const client = createHttpClient({ config: createConfig({ apiKey: KEY, baseUrl: `${api.origin}/k/${KEY}/` }), sessionId: 's' });
    await expect(client.get('v1/missing', { retry: { limit: 0 } })).rejects.toThrow('404');
    expect(api.seen.map((s) => s.path)).toEqual([`/k/${KEY}/v1/missing`]);
    expect(payloads.map((p) => p.path)).toEqual(['/k/[redacted]/v1/missing', '/k/[redacted]/v1/missing', '/k/[redacted]/v1/missing']);
    expect(JSON.stringify(payloads)).not.toContain(KEY);
  });
});
