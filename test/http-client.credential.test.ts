/**
 * createHttpClient's `credential` option: the X-API-Key value read once per
 * request (a JWT that changes), still dropped on a redirect to another
 * origin, and redacted from published messages as the key is.
 */
import { describe, expect, it } from 'vitest';
import { CHANNELS, HTTP_CHANNELS, isObserved } from '../src/host/channels.js';
import { createHttpClient } from '../src/host/http-client.js';
import { recordChannels, serve } from './tinker-helpers.js';

const KEY = 'tml-SECRET-credential-0123456789';
const JWT_A = 'eyJhbGciOiJIUzI1NiJ9.eyJleHAiOjF9.JWT-SIGNATURE-AAAA';
const JWT_B = 'eyJhbGciOiJIUzI1NiJ9.eyJleHAiOjJ9.JWT-SIGNATURE-BBBB';

/** What each request to `api` carried as X-API-Key, in order. */
const keysSeen = (api: Awaited<ReturnType<typeof serve>>) => api.received.map((r) => r.headers['x-api-key']);

describe('createHttpClient credential', () => {
  it('sends what the credential returns as X-API-Key, read again for each request', async () => {
    const api = await serve(() => ({}));
    let current = JWT_A;
    const client = createHttpClient({ config: { apiKey: KEY, baseUrl: api.baseUrl }, sessionId: 's', credential: () => current });

    await client.get('one');
    current = JWT_B;
    await client.get('two');

    expect(keysSeen(api)).toEqual([JWT_A, JWT_B]);
  });

  it('sends the key when the credential throws, returns an empty string or returns no string', async () => {
    const api = await serve(() => ({}));
    const answers: (() => string)[] = [
      () => {
        throw new Error('no token');
      },
      () => '',
      () => 42 as unknown as string,
    ];
    for (const credential of answers) {
      await createHttpClient({ config: { apiKey: KEY, baseUrl: api.baseUrl }, sessionId: 's', credential }).get('x');
    }
    expect(keysSeen(api)).toEqual([KEY, KEY, KEY]);
  });

  it('calls the credential once per request, failed or not, while no one listens', async () => {
    const api = await serve((request) => ({ status: request.path === '/missing' ? 404 : 200 }));
    expect(HTTP_CHANNELS.some((channel) => isObserved(channel))).toBe(false);
    let calls = 0;
    const client = createHttpClient({
      config: { apiKey: KEY, baseUrl: api.baseUrl },
      sessionId: 's',
      credential: () => {
        calls += 1;
        return JWT_A;
      },
    });

    await client.get('found');
    expect(calls).toBe(1);
    await expect(client.get('missing')).rejects.toThrow('404');
    expect(calls).toBe(2);
  });

  it('still drops the credential on a redirect to another origin', async () => {
    const other = await serve(() => ({}));
    const api = await serve(() => ({ status: 302, headers: { location: `${other.baseUrl}/landing` } }));
    const client = createHttpClient({ config: { apiKey: KEY, baseUrl: api.baseUrl }, sessionId: 's', credential: () => JWT_A });

    await client.get('away');

    expect(keysSeen(api)).toEqual([JWT_A]);
    expect(other.to('/landing')).toHaveLength(1);
    expect(keysSeen(other)).toEqual([undefined]);
  });

  it('redacts the credential from the published path and reason', async () => {
    const api = await serve((request) => ({ status: request.path.startsWith('/fail') ? 500 : 200 }));
    const channels = recordChannels();
    const client = createHttpClient({ config: { apiKey: KEY, baseUrl: api.baseUrl }, sessionId: 's', credential: () => JWT_A });

    await client.get(`items/${JWT_A}`);
    // got's HTTPError message quotes the URL, so the reason would hold the JWT unredacted.
    await expect(client.get(`fail/${JWT_A}`, { retry: { limit: 0 } })).rejects.toThrow(JWT_A);

    const payloads = channels.messages.filter((m) => (HTTP_CHANNELS as readonly string[]).includes(m.channel)).map((m) => m.payload);
    const exception = payloads.find((p) => p.kind === 'http');
    expect(exception?.path).toBe('/fail/[redacted]');
    expect(exception?.reason).toContain('/fail/[redacted]');
    expect(payloads.some((p) => p.path === '/items/[redacted]')).toBe(true);
    const text = JSON.stringify(payloads);
    expect(text).not.toContain('JWT-SIGNATURE');
    expect(text).not.toContain(KEY);
  });

  it('redacts the credential the request carried when it has been refreshed before the message is published', async () => {
    const api = await serve(() => ({ status: 500 }));
    const channels = recordChannels();
    const issued = [JWT_A];
    const client = createHttpClient({ config: { apiKey: KEY, baseUrl: api.baseUrl }, sessionId: 's', credential: () => issued.shift() ?? JWT_B });

    await expect(client.get(`fail/${JWT_A}`, { retry: { limit: 0 } })).rejects.toThrow(JWT_A);

    expect(keysSeen(api)).toEqual([JWT_A]);
    const payloads = channels.messages.filter((m) => (HTTP_CHANNELS as readonly string[]).includes(m.channel)).map((m) => m.payload);
    expect(payloads.map((p) => p.path)).toEqual(['/fail/[redacted]', '/fail/[redacted]', '/fail/[redacted]']);
    expect(payloads[2]?.reason).toContain('/fail/[redacted]');
    expect(JSON.stringify(payloads)).not.toContain('JWT-SIGNATURE-AAAA');
  });

  it('redacts an X-API-Key a request passes itself from the published path, with no credential option', async () => {
    const api = await serve(() => ({}));
    const channels = recordChannels();
    const own = 'tml-OWN-request-key-0123456789';
    const client = createHttpClient({ config: { apiKey: KEY, baseUrl: api.baseUrl }, sessionId: 's' });

    await client.get(`items/${own}`, { headers: { 'x-api-key': own } });

    expect(keysSeen(api)).toEqual([own]);
    expect(channels.on(CHANNELS.httpRequestStart).map((p) => p.path)).toEqual(['/items/[redacted]']);
  });
});
