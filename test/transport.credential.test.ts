/**
 * The `credential` option of every HTTP transport (node:http, got and undici): the
 * `X-API-Key` value read at each send (a session's JWT, which a refresh
 * replaces), the key when it gives none, and redacted from a failure's
 * reason as the key is.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { describe, expect, it } from 'vitest';
import { TRANSPORTS, listen, request, track } from './transport-helpers.js';

const KEY = 'tml-SECRET-transport-credential-42';
const JWT_A = 'eyJhbGciOiJIUzI1NiJ9.eyJleHAiOjF9.JWT-SIGNATURE-AAAA';
const JWT_B = 'eyJhbGciOiJIUzI1NiJ9.eyJleHAiOjJ9.JWT-SIGNATURE-BBBB';

/** A telemetry endpoint that accepts every batch and records the headers of each. */
async function endpoint(): Promise<{ url: string; seen: IncomingHttpHeaders[] }> {
  const seen: IncomingHttpHeaders[] = [];
  const { endpoint: url } = await listen((req, res) => {
    seen.push(req.headers);
    res.end('{"status":"accepted"}');
  });
  return { url, seen };
}

describe.each(TRANSPORTS)('$name transport credential', ({ create }) => {
  const send = (transport: ReturnType<typeof create>, idempotencyKey = 'k') => transport.send(request({ idempotencyKey }));

  it('sends what the credential returns as X-API-Key, read again at each send', async () => {
    const { url, seen } = await endpoint();
    let current = JWT_A;
    const transport = track(create({ endpoint: url, apiKey: KEY, credential: () => current, userAgent: 'ua', httpTimeoutMs: 2000 }));

    expect(await send(transport, 'k-1')).toEqual({ kind: 'ok', status: 200 });
    current = JWT_B;
    expect(await send(transport, 'k-2')).toEqual({ kind: 'ok', status: 200 });
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
    const transport = track(create({ endpoint: url, apiKey: KEY, credential: () => answers[n++]!(), userAgent: 'ua', httpTimeoutMs: 2000 }));
    await send(transport);
    await send(transport);
    expect(seen.map((headers) => headers['x-api-key'])).toEqual([KEY, KEY]);
  });

  it('redacts the credential from a failure’s reason, as the key is', async () => {
    // A host name that cannot resolve, made of the credential: the lookup error quotes it.
    const credential = 'jwt-secret-signature-part';
    const transport = track(
      create({
        endpoint: `http://${credential}.invalid/api/v1/telemetry`,
        apiKey: KEY,
        credential: () => credential,
        userAgent: 'ua',
        httpTimeoutMs: 2000,
      }),
    );
    const result = await send(transport);
    expect(result).toMatchObject({ kind: 'retryable' });
    const reason = (result as { reason: string }).reason;
    expect(reason).toContain('[redacted].invalid');
    expect(reason).not.toContain(credential);
  });
});
