import diagnostics from 'node:diagnostics_channel';
import { TimeoutError } from 'got';
import { afterEach, describe, expect, it } from 'vitest';
import { CHANNELS, type HttpRequestExceptionPayload } from '../src/host/channels.js';
import { createHttpClient } from '../src/host/http-client.js';

const API_KEY = 'sk-kinds-secret';
const cleanups: (() => void)[] = [];

afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

/**
 * The exception published when the attempt fails with the error `fail` makes. A hook added
 * with `.extend()` runs after the client's own, so the attempt has started
 * (and published its start) when it throws, as when the socket fails; the
 * request never leaves the process, so no server is needed.
 */
async function exceptionFor(fail: (options: unknown) => Error): Promise<HttpRequestExceptionPayload | undefined> {
  const messages: HttpRequestExceptionPayload[] = [];
  const listener = (payload: unknown) => messages.push(payload as HttpRequestExceptionPayload);
  diagnostics.subscribe(CHANNELS.httpRequestException, listener);
  cleanups.push(() => diagnostics.unsubscribe(CHANNELS.httpRequestException, listener));
  const client = createHttpClient({ config: { apiKey: API_KEY, baseUrl: 'http://127.0.0.1:9/api' }, sessionId: 'sess' }).extend({
    retry: { limit: 0 },
    hooks: {
      beforeRequest: [
        (options) => {
          throw fail(options);
        },
      ],
    },
  });
  await expect(client.get('v1/sample')).rejects.toThrow();
  expect(messages).toHaveLength(1);
  return messages[0];
}

const failure =
  (code: unknown, message = 'failed') =>
  () =>
    Object.assign(new Error(message), { code });

describe('the kind of an http exception', () => {
  it('is timeout for a failure with the code ETIMEDOUT', async () => {
    expect(await exceptionFor(failure('ETIMEDOUT', 'connect ETIMEDOUT 10.0.0.1:443'))).toMatchObject({
      kind: 'timeout',
      reason: 'ETIMEDOUT: connect ETIMEDOUT 10.0.0.1:443',
      path: '/api/v1/sample',
      method: 'GET',
    });
  });

  it("is timeout for got's TimeoutError whatever its code, as got builds it for an AbortSignal.timeout()", async () => {
    // got copies the DOMException's numeric code (23) onto its TimeoutError.
    const signalTimeout = (options: unknown) => new TimeoutError(new DOMException('signal timed out', 'TimeoutError') as never, {} as never, options as never);
    expect(await exceptionFor(signalTimeout)).toMatchObject({ kind: 'timeout', reason: 'TimeoutError: signal timed out' });
  });

  it.each(['ABORT_ERR', 'ERR_ABORTED'])('is aborted for a failure with the code %s', async (code) => {
    expect(await exceptionFor(failure(code, 'The operation was aborted'))).toMatchObject({ kind: 'aborted', reason: `${code}: The operation was aborted` });
  });

  it.each(['ECONNRESET', 'EAI_AGAIN', 'EPIPE'])('is network for the system error code %s', async (code) => {
    expect(await exceptionFor(failure(code))).toMatchObject({ kind: 'network', reason: `${code}: failed` });
  });

  it.each(['ERR_GOT_REQUEST_ERROR', 'ERR_UNSUPPORTED_PROTOCOL', 'ECONNRESET-LIKE', 'Econnreset'])(
    'is other for got’s own code, or a code that only starts like a system one: %s',
    async (code) => {
      expect(await exceptionFor(failure(code))).toMatchObject({ kind: 'other', reason: `${code}: failed` });
    },
  );

  it('is other for a code that is not a system error code, even one that contains E and a capital later on', async () => {
    expect(await exceptionFor(failure('UND_ERR_SOCKET', 'other side closed'))).toMatchObject({ kind: 'other', reason: 'UND_ERR_SOCKET: other side closed' });
  });

  it('is other for a code that is not a string, even one that reads like a system code', async () => {
    // A boxed string is an object: the classification (and the reason) treat it as no code at all.
    expect(await exceptionFor(failure(new String('ECONNRESET'), 'odd code'))).toMatchObject({ kind: 'other', reason: 'RequestError: odd code' });
  });
});
