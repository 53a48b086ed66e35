/**
 * createHttpClient's `credential` option: the X-API-Key value read once per
 * request (a JWT that changes), still dropped on a redirect to another
 * origin, and redacted from published messages as the key is.
 */
import diagnostics from 'node:diagnostics_channel';
import { type IncomingHttpHeaders, type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { HTTP_CHANNELS } from '../src/host/channels.js';
import { createHttpClient } from '../src/host/http-client.js';

const KEY = 'tml-SECRET-credential-0123456789';
const JWT_A = 'eyJhbGciOiJIUzI1NiJ9.eyJleHAiOjF9.JWT-SIGNATURE-AAAA';
const JWT_B = 'eyJhbGciOiJIUzI1NiJ9.eyJleHAiOjJ9.JWT-SIGNATURE-BBBB';

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

async function serve(
  route: (path: string) => number | { location: string },
): Promise<{ origin: string; seen: { path: string; headers: IncomingHttpHeaders }[] }> {
  const seen: { path: string; headers: IncomingHttpHeaders }[] = [];
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

function record(): Record<string, unknown>[] {
  const payloads: Record<string, unknown>[] = [];
  for (const channel of HTTP_CHANNELS) {
    const listener = (payload: unknown) => payloads.push(payload as Record<string, unknown>);
    diagnostics.subscribe(channel, listener);
    cleanups.push(() => diagnostics.unsubscribe(channel, listener));
  }
  return payloads;
}

describe('createHttpClient credential', () => {
  it('sends what the credential returns as X-API-Key, read again for each request', async () => {
    const api = await serve(() => 200);
    let current = JWT_A;
    const client = createHttpClient({ config: { apiKey: KEY, baseUrl: api.origin }, sessionId: 's', credential: () => current });

    await client.get('one');
    current = JWT_B;
    await client.get('two');

    expect(api.seen.map((s) => s.headers['x-api-key'])).toEqual([JWT_A, JWT_B]);
  });

  it('sends the key when the credential throws or returns an empty string', async () => {
    const api = await serve(() => 200);
    const answers: (() => string)[] = [
      () => {
        throw new Error('no token');
      },
      () => '',
    ];
    for (const credential of answers) {
      await createHttpClient({ config: { apiKey: KEY, baseUrl: api.origin }, sessionId: 's', credential }).get('x');
    }
    expect(api.seen.map((s) => s.headers['x-api-key'])).toEqual([KEY, KEY]);
  });

  it('still drops the credential on a redirect to another origin', async () => {
    const other = await serve(() => 200);
    const api = await serve(() => ({ location: `${other.origin}/landing` }));
    const client = createHttpClient({ config: { apiKey: KEY, baseUrl: api.origin }, sessionId: 's', credential: () => JWT_A });

    await client.get('away');

    expect(api.seen[0]?.headers['x-api-key']).toBe(JWT_A);
    expect(other.seen[0]?.headers['x-api-key']).toBeUndefined();
  });

  it('redacts the credential from the published path and reason', async () => {
    const api = await serve((path) => (path.startsWith('/fail') ? 500 : 200));
    const payloads = record();
    const client = createHttpClient({ config: { apiKey: KEY, baseUrl: api.origin }, sessionId: 's', credential: () => JWT_A });

    await client.get(`items/${JWT_A}`);
    // got's HTTPError message quotes the URL, so the reason would hold the JWT unredacted.
    await expect(client.get(`fail/${JWT_A}`, { retry: { limit: 0 } })).rejects.toThrow(JWT_A);

    const exception = payloads.find((p) => p.kind === 'http');
    expect(exception?.path).toBe('/fail/[redacted]');
    expect(exception?.reason).toContain('/fail/[redacted]');
    expect(payloads.some((p) => p.path === '/items/[redacted]')).toBe(true);
    const text = JSON.stringify(payloads);
    expect(text).not.toContain('JWT-SIGNATURE');
    expect(text).not.toContain(KEY);
  });
});
