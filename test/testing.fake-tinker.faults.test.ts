import { request as httpRequest } from 'node:http';
import { describe, expect, it } from 'vitest';
import type { FakeTinker } from '../src/testing.js';
import { VALID, manualClock, post, start } from './fake-tinker-helpers.js';

const CONFIG = '/api/v1/client/config';

/** A POST through node:http on its own connection, reporting the error code when the connection fails. */
function rawPost(fake: FakeTinker, path: string, body: unknown): Promise<{ status: number } | { error: string }> {
  return new Promise((resolve) => {
    const req = httpRequest(
      `${fake.url}${path}`,
      { method: 'POST', agent: false, headers: { 'x-api-key': fake.apiKey, 'content-type': 'application/json' } },
      (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode ?? 0 }));
      },
    );
    req.on('error', (error: NodeJS.ErrnoException) => resolve({ error: error.code ?? error.message }));
    req.end(JSON.stringify(body));
  });
}

describe('startFakeTinker: injected faults', () => {
  it('a status fault answers that status with its body, and is used once by default', async () => {
    const fake = await start();
    const fault = fake.inject({ match: 'api/v1/client/config', response: { status: 503, body: { detail: 'down' } } });
    const first = await post(fake, CONFIG, VALID['client/config']);
    const second = await post(fake, CONFIG, VALID['client/config']);
    expect([first.status, first.json]).toEqual([503, { detail: 'down' }]);
    expect(second.status).toBe(200);
    expect([fault.hits, fault.remaining]).toEqual([1, 0]);
    expect(fake.requests.map((request) => [request.status, request.faulted])).toEqual([
      [503, true],
      [200, false],
    ]);
  });

  it('a status fault without a body answers a JSON detail', async () => {
    const fake = await start();
    fake.inject({ match: CONFIG, response: { status: 500 } });
    const answer = await post(fake, CONFIG, VALID['client/config']);
    expect(answer.json).toEqual({ detail: 'Scripted status 500' });
    expect(answer.headers.get('content-type')).toBe('application/json');
  });

  it('a string body is sent as text/plain, as is', async () => {
    const fake = await start();
    fake.inject({ match: CONFIG, response: { status: 502, body: '<html>bad gateway</html>' } });
    const answer = await post(fake, CONFIG, VALID['client/config']);
    expect([answer.status, answer.text, answer.headers.get('content-type')]).toEqual([502, '<html>bad gateway</html>', 'text/plain']);
  });

  it('retryAfter sends Retry-After in seconds or as the text given, retryAfterMs sends retry-after-ms, headers are added', async () => {
    const fake = await start();
    fake.inject({ match: CONFIG, response: { status: 429, retryAfter: 7 } });
    fake.inject({
      match: CONFIG,
      response: { status: 503, retryAfter: 'Wed, 21 Oct 2037 07:28:00 GMT', retryAfterMs: 1500, headers: { 'x-should-retry': 'true' } },
    });
    const first = await post(fake, CONFIG, VALID['client/config']);
    const second = await post(fake, CONFIG, VALID['client/config']);
    expect([first.status, first.headers.get('retry-after')]).toEqual([429, '7']);
    expect([second.status, second.headers.get('retry-after'), second.headers.get('retry-after-ms'), second.headers.get('x-should-retry')]).toEqual([
      503,
      'Wed, 21 Oct 2037 07:28:00 GMT',
      '1500',
      'true',
    ]);
  });

  it('times: N answers the next N matching requests, then the fake answers again', async () => {
    const fake = await start();
    fake.inject({ match: CONFIG, response: { status: 503 }, times: 3 });
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await post(fake, CONFIG, VALID['client/config'])).status);
    expect(statuses).toEqual([503, 503, 503, 200]);
  });

  it('times: Infinity answers every matching request until removed', async () => {
    const fake = await start();
    const fault = fake.inject({ match: CONFIG, response: { status: 503 }, times: Infinity });
    for (let i = 0; i < 3; i++) expect((await post(fake, CONFIG, VALID['client/config'])).status).toBe(503);
    expect(fault.remaining).toBe(Infinity);
    fault.remove();
    fault.remove();
    expect((await post(fake, CONFIG, VALID['client/config'])).status).toBe(200);
  });

  it('clearFaults removes every fault', async () => {
    const fake = await start();
    fake.inject({ match: CONFIG, response: { status: 503 }, times: Infinity });
    fake.inject({ match: '/api/v1/create_session', response: { status: 500 } });
    fake.clearFaults();
    expect((await post(fake, CONFIG, VALID['client/config'])).status).toBe(200);
    expect((await post(fake, '/api/v1/create_session', VALID.create_session)).status).toBe(200);
  });

  it('only matching requests are answered by a fault; the first matching fault wins', async () => {
    const fake = await start();
    fake.inject({ match: '/api/v1/create_session', response: { status: 500 } });
    fake.inject({ match: '/api/v1/create_session', response: { status: 502 } });
    expect((await post(fake, CONFIG, VALID['client/config'])).status).toBe(200);
    expect((await post(fake, '/api/v1/create_session', VALID.create_session)).status).toBe(500);
    expect((await post(fake, '/api/v1/create_session', VALID.create_session)).status).toBe(502);
  });

  it('a predicate sees the recorded request, its parsed body included', async () => {
    const fake = await start();
    fake.inject({ match: (request) => (request.body as { sdk_version?: string })?.sdk_version === 'bad', response: { status: 400 } });
    expect((await post(fake, CONFIG, { sdk_version: 'good' })).status).toBe(200);
    expect((await post(fake, CONFIG, { sdk_version: 'bad' })).status).toBe(400);
  });

  it('a fault answers before the key is checked or the body validated, and records no violation', async () => {
    const fake = await start();
    fake.inject({ match: CONFIG, response: { status: 503 }, times: 2 });
    expect((await post(fake, CONFIG, VALID['client/config'], { key: 'tml-wrong' })).status).toBe(503);
    expect((await post(fake, CONFIG, { nonsense: true })).status).toBe(503);
    expect(fake.violations).toEqual([]);
  });

  it('hang: the request is never answered, and is recorded as hung', async () => {
    const fake = await start();
    fake.inject({ match: CONFIG, response: { hang: true } });
    const answer = post(fake, CONFIG, VALID['client/config']).then(
      () => 'answered',
      () => 'no answer',
    );
    const hung = await fake.waitForRequest(CONFIG);
    expect(hung).toMatchObject({ outcome: 'hung', status: undefined, faulted: true });
    expect((await post(fake, '/api/v1/create_session', VALID.create_session)).status).toBe(200);
    await fake.close();
    expect(await answer).toBe('no answer');
  });

  it('reset: the connection is reset without an answer, and the fake goes on serving', async () => {
    const fake = await start();
    fake.inject({ match: CONFIG, response: { reset: true } });
    expect(await rawPost(fake, CONFIG, VALID['client/config'])).toEqual({ error: 'ECONNRESET' });
    expect(fake.requests[0]).toMatchObject({ outcome: 'reset', status: undefined, faulted: true });
    expect(await rawPost(fake, CONFIG, VALID['client/config'])).toEqual({ status: 200 });
  });

  it('delayMs holds the answer until the clock has moved on that long', async () => {
    const { clock, advance } = manualClock();
    const fake = await start({ clock });
    fake.inject({ match: CONFIG, response: { status: 503, delayMs: 2_000 } });
    const answer = post(fake, CONFIG, VALID['client/config']);
    await expect.poll(() => fake.requests.length).toBe(1);
    advance(1_999);
    expect(fake.requests[0]?.outcome).toBe('pending');
    advance(1);
    expect((await answer).status).toBe(503);
    expect(fake.requests[0]).toMatchObject({ outcome: 'answered', status: 503 });
  });

  it('rejects a malformed fault with the one message template', async () => {
    const fake = await start();
    expect(() => fake.inject({ match: CONFIG, response: { status: 99 } })).toThrow(
      'Expected `fault.response.status` to be an integer from 100 to 599, got `99` (number)',
    );
    expect(() => fake.inject({ match: CONFIG, response: { hang: true, status: 500 } as never })).toThrow(/Unknown option `status` for fault.response/);
    expect(() => fake.inject({ match: 7 as never, response: { hang: true } })).toThrow(
      'Expected `fault.match` to be a path string or a predicate function, got `7` (number)',
    );
    expect(() => fake.inject({ match: CONFIG, response: { reset: true }, times: 0 })).toThrow(/Expected `fault.times` to be an integer ≥ 1/);
    expect(() => fake.inject({ match: CONFIG, response: { status: 500, body: { n: Number.NaN } } })).toThrow(
      /Expected `fault.response.body.n` to be a JSON value/,
    );
    expect(() => fake.inject({ match: CONFIG, response: { status: 500 }, tims: 2 } as never)).toThrow(/Did you mean `times`\?/);
  });
});
