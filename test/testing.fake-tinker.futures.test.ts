import { describe, expect, it } from 'vitest';
import type { FakeTinker, FutureStep } from '../src/testing.js';
import { SUBMITS, VALID, manualClock, post, start } from './fake-tinker-helpers.js';

const poll = (fake: FakeTinker, requestId: string, allowMetadataOnly = true, headers: Record<string, string> = {}) =>
  post(fake, '/api/v1/retrieve_future', { request_id: requestId, allow_metadata_only: allowMetadataOnly }, { headers });

async function submitOptimStep(fake: FakeTinker): Promise<string> {
  return (await post(fake, '/api/v1/optim_step', VALID.optim_step)).json.request_id as string;
}

/** Submits an optim_step scripted with `steps`, and polls it `polls` times. */
async function run(fake: FakeTinker, steps: FutureStep[], polls: number) {
  fake.scriptNextFuture(steps);
  const requestId = await submitOptimStep(fake);
  const answers = [];
  for (let i = 0; i < polls; i++) answers.push(await poll(fake, requestId));
  return { requestId, answers };
}

describe('startFakeTinker: submits', () => {
  it.each(SUBMITS)('%s answers a new request_id and records its future with the request type the SDK polls with', async (name) => {
    const fake = await start();
    const answer = await post(fake, `/api/v1/${name}`, VALID[name]);
    expect(answer.json.request_id).toBe('fake-request-1');
    expect(fake.futures[0]).toMatchObject({ requestId: 'fake-request-1', path: `/api/v1/${name}`, polls: [] });
    expect(fake.futures[0]?.requestType).toMatch(/^[A-Z][A-Za-z]+$/);
  });

  it('create_model also answers the model id the SDK builds, "{session_id}:train:{model_seq_id}"', async () => {
    const fake = await start();
    const answer = await post(fake, '/api/v1/create_model', VALID.create_model);
    expect(answer.json).toEqual({ request_id: 'fake-request-1', model_id: 'fake-session-1:train:0' });
    expect(fake.futures[0]).toMatchObject({ requestType: 'CreateModel', modelId: 'fake-session-1:train:0' });
    expect((await poll(fake, 'fake-request-1')).json).toEqual({ model_id: 'fake-session-1:train:0', type: 'create_model' });
  });

  it('load_weights with session addressing answers the model it creates', async () => {
    const fake = await start();
    expect((await post(fake, '/api/v1/load_weights', VALID.load_weights)).json).toEqual({ request_id: 'fake-request-1', model_id: 'fake-session-1:train:1' });
  });

  it('an optim_step submit gives the next request id, and the unscripted future answers the default result at the first poll', async () => {
    const fake = await start();
    await submitOptimStep(fake);
    const requestId = await submitOptimStep(fake);
    expect(requestId).toBe('fake-request-2');
    expect((await poll(fake, requestId)).json).toEqual({ metrics: {} });
    expect(fake.futures[1]?.requestType).toBe('OptimStep');
  });

  it('create_sampling_session and get_info answer at once, without a future', async () => {
    const fake = await start();
    expect((await post(fake, '/api/v1/create_sampling_session', VALID.create_sampling_session)).json).toEqual({
      type: 'create_sampling_session',
      sampling_session_id: 'fake-session-1:sample:0',
    });
    expect((await post(fake, '/api/v1/get_info', VALID.get_info)).json).toMatchObject({ type: 'get_info', model_id: 'fake-session-1:train:0' });
    expect(fake.futures).toEqual([]);
  });
});

describe('startFakeTinker: retrieve_future scripts', () => {
  it('tryAgain answers try_again with the queue state and reason, then the next step', async () => {
    const fake = await start();
    const { requestId, answers } = await run(
      fake,
      [{ tryAgain: 'paused_capacity', reason: 'busy' }, { tryAgain: 'active' }, { result: { metrics: { loss: 1 } } }],
      3,
    );
    expect(answers.map((answer) => answer.json)).toEqual([
      { type: 'try_again', request_id: requestId, queue_state: 'paused_capacity', queue_state_reason: 'busy' },
      { type: 'try_again', request_id: requestId, queue_state: 'active' },
      { metrics: { loss: 1 } },
    ]);
  });

  it('completeMetadata answers complete_metadata with the payload size', async () => {
    const fake = await start();
    const { requestId, answers } = await run(fake, [{ completeMetadata: true, payloadBytes: 4096 }, { completeMetadata: true }], 2);
    expect(answers.map((answer) => answer.json)).toEqual([
      { status: 'complete_metadata', request_id: requestId, response_payload_size: 4096 },
      { status: 'complete_metadata', request_id: requestId, response_payload_size: 0 },
    ]);
  });

  it('a status step answers that status with Retry-After, then the script goes on', async () => {
    const fake = await start();
    const { answers } = await run(
      fake,
      [{ status: 429, retryAfter: 2 }, { status: 410 }, { status: 408, body: { queue_state: 'paused_rate_limit' } }, { result: 1 }],
      4,
    );
    expect(answers.map((answer) => [answer.status, answer.headers.get('retry-after')])).toEqual([
      [429, '2'],
      [410, null],
      [408, null],
      [200, null],
    ]);
    expect(answers[2]?.json).toEqual({ queue_state: 'paused_rate_limit' });
  });

  it('an error step answers the failed-request body with its category, and every later poll the same', async () => {
    const fake = await start();
    const { answers } = await run(fake, [{ error: 'bad input', category: 'user' }], 3);
    for (const answer of answers) expect([answer.status, answer.json]).toEqual([200, { error: 'bad input', category: 'user' }]);
  });

  it('a result is terminal: later polls get it again, and steps after it are never reached', async () => {
    const fake = await start();
    const { answers } = await run(fake, [{ result: { ok: true } }, { status: 500 }], 3);
    expect(answers.map((answer) => [answer.status, answer.json])).toEqual([
      [200, { ok: true }],
      [200, { ok: true }],
      [200, { ok: true }],
    ]);
  });

  it('a binary step answers its bytes with application/x-protobuf, or the content type given', async () => {
    const fake = await start();
    const bytes = new Uint8Array([1, 2, 250]);
    fake.scriptNextFuture([{ binary: bytes }]);
    fake.scriptNextFuture([{ binary: bytes, contentType: 'application/octet-stream' }]);
    const first = await fetchBytes(fake, await submitOptimStep(fake));
    const second = await fetchBytes(fake, await submitOptimStep(fake));
    expect(first).toEqual({ contentType: 'application/x-protobuf', bytes: [1, 2, 250] });
    expect(second.contentType).toBe('application/octet-stream');
  });

  it('a script that runs out answers the default result', async () => {
    const fake = await start();
    const { answers } = await run(fake, [{ tryAgain: 'active' }], 2);
    expect(answers[1]?.json).toEqual({ metrics: {} });
  });

  it('a delayMs step holds that poll until the clock has moved on, then answers the next step', async () => {
    const { clock, advance } = manualClock();
    const fake = await start({ clock });
    fake.scriptNextFuture([{ delayMs: 500 }, { delayMs: 250 }, { tryAgain: 'active' }, { result: 2 }]);
    const requestId = await submitOptimStep(fake);
    const answer = poll(fake, requestId);
    await expect.poll(() => fake.requests.length).toBe(2);
    advance(749);
    expect(fake.requests[1]?.outcome).toBe('pending');
    advance(1);
    expect((await answer).json.type).toBe('try_again');
    expect((await poll(fake, requestId)).json).toBe(2);
  });

  it('a hang step leaves that poll unanswered; the next poll gets the next step', async () => {
    const fake = await start();
    fake.scriptNextFuture([{ hang: true }, { result: 'done' }]);
    const requestId = await submitOptimStep(fake);
    const hung = poll(fake, requestId).then(
      () => 'answered',
      () => 'no answer',
    );
    expect((await fake.waitForRequest('/api/v1/retrieve_future')).outcome).toBe('hung');
    expect((await poll(fake, requestId)).json).toBe('done');
    await fake.close();
    expect(await hung).toBe('no answer');
  });

  it('a reset step resets that poll', async () => {
    const fake = await start();
    fake.scriptNextFuture([{ reset: true }, { result: 'done' }]);
    const requestId = await submitOptimStep(fake);
    await expect(poll(fake, requestId)).rejects.toThrow();
    expect(fake.requests[1]?.outcome).toBe('reset');
    expect((await poll(fake, requestId)).json).toBe('done');
  });

  it('records each poll: allow_metadata_only, the X-Tinker headers and the step that answered', async () => {
    const fake = await start();
    fake.scriptNextFuture([{ completeMetadata: true }, { result: 1 }]);
    const requestId = await submitOptimStep(fake);
    await poll(fake, requestId, true, {
      'X-Tinker-Request-Iteration': '0',
      'X-Tinker-Request-Type': 'OptimStep',
      'X-Tinker-Create-Promise-Roundtrip-Time': '0.25',
    });
    await poll(fake, requestId, false, { 'X-Tinker-Request-Iteration': '1', 'X-Tinker-Request-Type': 'OptimStep' });
    expect(fake.futures[0]?.polls).toEqual([
      { allowMetadataOnly: true, iteration: '0', requestType: 'OptimStep', createRoundTrip: '0.25', step: { completeMetadata: true } },
      { allowMetadataOnly: false, iteration: '1', requestType: 'OptimStep', createRoundTrip: undefined, step: { result: 1 } },
    ]);
  });
});

describe('startFakeTinker: which script a future gets', () => {
  it('scriptNextFuture scripts queue up, one per submit, in order', async () => {
    const fake = await start();
    fake.scriptNextFuture([{ result: 'first' }]);
    fake.scriptNextFuture([{ result: 'second' }]);
    const a = await submitOptimStep(fake);
    const b = await submitOptimStep(fake);
    const c = await submitOptimStep(fake);
    expect([(await poll(fake, a)).json, (await poll(fake, b)).json, (await poll(fake, c)).json]).toEqual(['first', 'second', { metrics: {} }]);
  });

  it('scriptNextFuture with a path waits for a submit to that path', async () => {
    const fake = await start();
    fake.scriptNextFuture([{ result: 'saved' }], { path: 'api/v1/save_weights' });
    const step = await submitOptimStep(fake);
    const save = (await post(fake, '/api/v1/save_weights', VALID.save_weights)).json.request_id;
    expect((await poll(fake, step)).json).toEqual({ metrics: {} });
    expect((await poll(fake, save)).json).toBe('saved');
  });

  it('scriptFuture replaces the script of a submitted future from its next poll', async () => {
    const fake = await start();
    fake.scriptNextFuture([{ tryAgain: 'active' }, { tryAgain: 'active' }]);
    const requestId = await submitOptimStep(fake);
    await poll(fake, requestId);
    fake.scriptFuture(requestId, [{ status: 410 }]);
    expect((await poll(fake, requestId)).status).toBe(410);
  });

  it('scriptFuture for an id never submitted answers its polls from the script', async () => {
    const fake = await start();
    fake.scriptFuture('req-from-elsewhere', [{ tryAgain: 'paused_rate_limit' }, { result: { ok: 1 } }]);
    expect((await poll(fake, 'req-from-elsewhere')).json.queue_state).toBe('paused_rate_limit');
    expect((await poll(fake, 'req-from-elsewhere')).json).toEqual({ ok: 1 });
    expect(fake.futures[0]).toMatchObject({ requestId: 'req-from-elsewhere', path: undefined });
  });

  it('scriptFuture for an id the fake will issue scripts that submit, ahead of scriptNextFuture', async () => {
    const fake = await start();
    fake.scriptFuture('fake-request-2', [{ tryAgain: 'paused_capacity' }, { result: 'second' }]);
    fake.scriptNextFuture([{ result: 'queued' }]);
    const first = await submitOptimStep(fake);
    const second = (await post(fake, '/api/v1/save_weights', VALID.save_weights)).json.request_id;
    expect(second).toBe('fake-request-2');
    expect((await poll(fake, first)).json).toBe('queued');
    expect((await poll(fake, second)).json.queue_state).toBe('paused_capacity');
    expect((await poll(fake, second)).json).toBe('second');
    expect(fake.futures.map((future) => [future.requestId, future.path, future.requestType])).toEqual([
      ['fake-request-2', '/api/v1/save_weights', 'SaveWeights'],
      ['fake-request-1', '/api/v1/optim_step', 'OptimStep'],
    ]);
  });

  it('retrieve_future of an unknown request id answers 404', async () => {
    const fake = await start();
    expect((await poll(fake, 'nobody')).status).toBe(404);
  });

  it('defaultFutureScript scripts every future scriptNextFuture did not, and sees the future', async () => {
    const fake = await start({ defaultFutureScript: (future) => [{ tryAgain: 'paused_capacity', reason: future.requestType }] });
    fake.scriptNextFuture([{ result: 'scripted' }]);
    const scripted = await submitOptimStep(fake);
    const unscripted = await submitOptimStep(fake);
    expect((await poll(fake, scripted)).json).toBe('scripted');
    expect((await poll(fake, unscripted)).json).toMatchObject({ queue_state: 'paused_capacity', queue_state_reason: 'OptimStep' });
    expect((await poll(fake, unscripted)).json).toEqual({ metrics: {} });
  });

  it('a defaultFutureScript that throws makes that submit a 500, recorded, and the fake goes on', async () => {
    const fake = await start({
      defaultFutureScript: () => {
        throw new Error('script bug');
      },
    });
    expect((await post(fake, '/api/v1/optim_step', VALID.optim_step)).status).toBe(500);
    expect(fake.errors).toHaveLength(1);
    expect((await post(fake, '/api/v1/client/config', VALID['client/config'])).status).toBe(200);
  });

  it('rejects a malformed step with the one message template', async () => {
    const fake = await start();
    expect(() => fake.scriptNextFuture([{ tryAgain: 3 } as never])).toThrow('Expected `steps[0].tryAgain` to be a queue state string, got `3` (number)');
    expect(() => fake.scriptNextFuture([{ result: 1 }, { error: 'x' } as never])).toThrow(
      'Expected `steps[1].category` to be a string (user, server or unknown), got `undefined` (undefined)',
    );
    expect(() => fake.scriptNextFuture([{ result: 1, status: 200 }])).toThrow(/Unknown option `status` for steps\[0\]/);
    expect(() => fake.scriptNextFuture([{ delayMs: -1 }])).toThrow(/Expected `steps\[0\].delayMs` to be an integer ≥ 0/);
    expect(() => fake.scriptNextFuture([{ binary: [1, 2] } as never])).toThrow('Expected `steps[0].binary` to be a Uint8Array, got `[array]` (array)');
    expect(() => fake.scriptNextFuture([{ completeMetadata: false } as never])).toThrow(/Expected `steps\[0\].completeMetadata` to be true/);
    expect(() => fake.scriptNextFuture('x' as never)).toThrow('Expected `steps` to be an array of future steps, got `"x"` (string)');
    expect(() => fake.scriptFuture(1 as never, [])).toThrow('Expected `requestId` to be a string, got `1` (number)');
  });
});

async function fetchBytes(fake: FakeTinker, requestId: string) {
  const response = await fetch(`${fake.url}/api/v1/retrieve_future`, {
    method: 'POST',
    headers: { 'x-api-key': fake.apiKey, 'content-type': 'application/json' },
    body: JSON.stringify({ request_id: requestId, allow_metadata_only: false }),
  });
  return { contentType: response.headers.get('content-type'), bytes: [...new Uint8Array(await response.arrayBuffer())] };
}
