/**
 * The got transport's `credential` option: the `X-API-Key` value read at
 * each send (a session's JWT, which a refresh replaces), the key when it
 * gives none, and redacted from a failure's reason as the key is.
 */
import { type IncomingHttpHeaders, type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { Transport } from '../src/core/ports.js';
import { createGotTransport } from '../src/io/transport.js';

const KEY = 'tml-SECRET-transport-credential-42';
const JWT_A = 'eyJhbGciOiJIUzI1NiJ9.eyJleHAiOjF9.JWT-SIGNATURE-AAAA';
const JWT_B = 'eyJhbGciOiJIUzI1NiJ9.eyJleHAiOjJ9.JWT-SIGNATURE-BBBB';

let server: Server | undefined;
let transport: Transport | undefined;
afterEach(async () => {
  transport?.close?.();
  transport = undefined;
  if (server !== undefined) {
    server.closeAllConnections();
    await new Promise((resolve) => server!.close(resolve));
    server = undefined;
  }
});

/** A telemetry endpoint that accepts every batch and records the headers of each. */
async function endpoint(): Promise<{ url: string; seen: IncomingHttpHeaders[] }> {
  const seen: IncomingHttpHeaders[] = [];
  server = createServer((req, res) => {
    seen.push(req.headers);
    req.resume().on('end', () => res.end('{"status":"accepted"}'));
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/v1/telemetry`, seen };
}

const send = (idempotencyKey = 'k') => transport!.send({ body: '{"events":[]}', idempotencyKey, signal: new AbortController().signal });

describe('got transport credential', () => {
  it('sends what the credential returns as X-API-Key, read again at each send', async () => {
    const { url, seen } = await endpoint();
    let current = JWT_A;
    transport = createGotTransport({ endpoint: url, apiKey: KEY, credential: () => current, userAgent: 'ua', httpTimeoutMs: 2000 });

    expect(await send('k-1')).toEqual({ kind: 'ok', status: 200 });
    current = JWT_B;
    expect(await send('k-2')).toEqual({ kind: 'ok', status: 200 });
    expect(seen.map((headers) => [headers['x-api-key'], headers['x-idempotency-key']])).toEqual([
      [JWT_A, 'k-1'],
      [JWT_B, 'k-2'],
    ]);
  });

  it('sends the key when the credential throws or returns an empty string', async () => {
    const { url, seen } = await endpoint();
    const answers: (() => string)[] = [
      () => '',
      () => {
        throw new Error('no token');
      },
    ];
    let n = 0;
    transport = createGotTransport({ endpoint: url, apiKey: KEY, credential: () => answers[n++]!(), userAgent: 'ua', httpTimeoutMs: 2000 });
    await send();
    await send();
    expect(seen.map((headers) => headers['x-api-key'])).toEqual([KEY, KEY]);
  });

  it('redacts the credential from a failure’s reason, as the key is', async () => {
    // A host name that cannot resolve, made of the credential: the lookup error quotes it.
    const credential = 'jwt-secret-signature-part';
    transport = createGotTransport({
      endpoint: `http://${credential}.invalid/api/v1/telemetry`,
      apiKey: KEY,
      credential: () => credential,
      userAgent: 'ua',
      httpTimeoutMs: 2000,
    });
    const result = await send();
    expect(result).toMatchObject({ kind: 'retryable' });
    const reason = (result as { reason: string }).reason;
    expect(reason).toContain('[redacted].invalid');
    expect(reason).not.toContain(credential);
  });
});
