/**
 * The HTTP transports at their edges: what `http-transport.ts` makes of a
 * credential that is no string, a Retry-After header sent twice and an
 * error that cannot be read; and the undici and `node:http` transports' own
 * handling of the caller's abort, of their timer and listener after a send,
 * of their timeout's reason and of a send after `close()`.
 */
import { getEventListeners } from 'node:events';
import { describe, expect, it } from 'vitest';
import { currentCredential, describeNetworkError, failureReason, statusResult } from '../src/io/http-transport.js';
import { OWN_TRANSPORTS, listen, request, track } from './transport-helpers.js';

const API_KEY = 'sk-edges-secret-42';

describe('http-transport helpers', () => {
  it('reads a credential that returns no string as none, so the key is sent', () => {
    expect(currentCredential(() => 42 as unknown as string)).toBe('');
    expect(currentCredential(() => 'jwt-1')).toBe('jwt-1');
  });

  it('reads the first of a Retry-After header sent twice', () => {
    expect(statusResult(503, ['2', '5'], () => 0)).toEqual({ kind: 'retryable', status: 503, reason: 'HTTP 503', retryAfterMs: 2000 });
  });

  it('gives an unreadable error (null) the reason describeNetworkError gives it when no credential was sent', () => {
    expect(failureReason(null, API_KEY, '')).toBe(describeNetworkError(null, API_KEY));
    expect(failureReason(null, API_KEY, '')).toBe('unknown network error');
  });

  it('names an error it cannot read the fields of (null) plainly "Error" when a credential was sent', () => {
    expect(failureReason(null, API_KEY, 'jwt-1')).toBe('Error');
  });

  it('redacts the credential sent from an error that has a message but no code, and keeps the rest of the reason', () => {
    const error = Object.assign(new Error('socket closed while sending jwt-1 to the server'), { name: 'SocketError' });
    expect(failureReason(error, API_KEY, 'jwt-1')).toBe('SocketError: socket closed while sending [redacted] to the server');
  });
});

describe.each(OWN_TRANSPORTS)('$name transport edges', ({ create }) => {
  const transportFor = (endpoint: string, httpTimeoutMs = 2000) => track(create({ endpoint, apiKey: API_KEY, userAgent: 'ua', httpTimeoutMs }));

  it('ends a send waiting for its answer as soon as the caller aborts, long before httpTimeoutMs', { timeout: 3000 }, async () => {
    const caller = new AbortController();
    const { endpoint } = await listen(() => caller.abort());
    expect(await transportFor(endpoint, 60_000).send(request({ signal: caller.signal }))).toEqual({ kind: 'retryable', reason: 'aborted' });
  });

  it('leaves no abort listener on the caller’s signal once a send has settled', async () => {
    const { endpoint } = await listen((_req, res) => res.end());
    const signal = new AbortController().signal;
    const transport = transportFor(endpoint);
    expect(await transport.send(request({ signal }))).toEqual({ kind: 'ok', status: 200 });
    expect(await transport.send(request({ signal }))).toEqual({ kind: 'ok', status: 200 });
    expect(getEventListeners(signal, 'abort')).toHaveLength(0);
  });

  it('says how long it waited when no answer came within httpTimeoutMs', async () => {
    const { endpoint } = await listen(() => undefined);
    expect(await transportFor(endpoint, 30).send(request())).toEqual({ kind: 'retryable', reason: 'ETIMEDOUT: no answer within 30 ms' });
  });

  it('connects again for a send after close()', async () => {
    const { endpoint, sockets } = await listen((_req, res) => res.end());
    const transport = transportFor(endpoint);
    expect(await transport.send(request())).toEqual({ kind: 'ok', status: 200 });
    transport.close?.();
    expect(await transport.send(request())).toEqual({ kind: 'ok', status: 200 });
    expect(sockets).toHaveLength(2);
  });
});
