import { describe, expect, it } from 'vitest';
import type { FakeTinker } from '../src/testing.js';
import { VALID, createSession, post, start, validBody } from './fake-tinker-helpers.js';

const ENDPOINTS = Object.keys(VALID) as (keyof typeof VALID)[];

/** Posts `body` to `/api/v1/<name>` and expects a 422 whose one recorded issue is `rule` at `field`. */
async function expectViolation(fake: FakeTinker, name: string, body: unknown, rule: string, field: string, options: Parameters<typeof post>[3] = {}) {
  const answer = await post(fake, `/api/v1/${name}`, body, options);
  expect(answer.status).toBe(422);
  const violation = fake.violations.at(-1);
  expect(violation?.path).toBe(`/api/v1/${name}`);
  expect(violation?.requestIndex).toBe(fake.requests.length - 1);
  expect(violation?.issues.map((one) => [one.rule, one.field])).toEqual([[rule, field]]);
  expect(answer.json.detail[0]).toMatchObject({ type: rule, msg: violation?.issues[0]?.message });
  return { answer, violation: violation! };
}

describe('startFakeTinker: every body the Python SDK could send passes', () => {
  it.each(ENDPOINTS)('%s: a valid body is answered 200 and records no violation', async (name) => {
    const fake = await start();
    await createSession(fake);
    await post(fake, '/api/v1/optim_step', VALID.optim_step);
    const answer = await post(fake, `/api/v1/${name}`, VALID[name]);
    expect(answer.status).toBe(200);
    expect(fake.violations).toEqual([]);
  });

  it('a forward_backward body sent as protobuf is accepted undecoded and kept as bytes', async () => {
    const fake = await start();
    const bytes = new Uint8Array([0x0a, 0x03, 0x66, 0x6f, 0x6f]);
    const answer = await post(fake, '/api/v1/forward_backward', bytes, { contentType: 'application/x-protobuf', raw: true });
    expect(answer.json).toEqual({ request_id: 'fake-request-1' });
    expect(fake.requests[0]).toMatchObject({ body: undefined, bodyBytes: 5, binaryBody: bytes });
  });

  it('with requireDefaultedFields false, fields the SDK always sends may be left out, but not the type discriminator', async () => {
    const fake = await start({ requireDefaultedFields: false });
    expect((await post(fake, '/api/v1/optim_step', { adam_params: {}, model_id: 'm', type: 'optim_step' })).status).toBe(200);
    expect((await post(fake, '/api/v1/retrieve_future', { request_id: 'fake-request-1' })).status).toBe(200);
    await expectViolation(fake, 'optim_step', { adam_params: {}, model_id: 'm' }, 'missing', 'type');
  });
});

describe('startFakeTinker: each validation rule answers 422 and is recorded', () => {
  it('json: a body that is not JSON', async () => {
    const fake = await start();
    const { violation } = await expectViolation(fake, 'create_session', '{"tags": [', 'json', 'body', { raw: true });
    expect(violation.model).toBe('CreateSessionRequest');
  });

  it('json: an empty body', async () => {
    const fake = await start();
    await expectViolation(fake, 'auth/token', '', 'json', 'body', { raw: true });
  });

  it('content_type: a JSON body sent without Content-Type: application/json', async () => {
    const fake = await start();
    await expectViolation(fake, 'client/config', VALID['client/config'], 'content_type', 'body', { contentType: 'text/plain' });
  });

  it('content_type: protobuf where only JSON is accepted', async () => {
    const fake = await start();
    await expectViolation(fake, 'optim_step', new Uint8Array([1]), 'content_type', 'body', { contentType: 'application/x-protobuf', raw: true });
  });

  it('missing: a required field left out', async () => {
    const fake = await start();
    const body = validBody('create_session');
    delete body.sdk_version;
    const { violation } = await expectViolation(fake, 'create_session', body, 'missing', 'sdk_version');
    expect(violation.reason).toBe('Expected `sdk_version` to be a string, got `undefined` (undefined)');
  });

  it('missing: a field with a default the SDK always sends (allow_metadata_only)', async () => {
    const fake = await start();
    await expectViolation(fake, 'retrieve_future', { request_id: 'fake-request-1' }, 'missing', 'allow_metadata_only');
  });

  it('missing: the type discriminator', async () => {
    const fake = await start();
    const body = validBody('session_heartbeat');
    delete body.type;
    await expectViolation(fake, 'session_heartbeat', body, 'missing', 'type');
  });

  it('missing: the event type of a telemetry event', async () => {
    const fake = await start();
    const body = validBody('telemetry');
    delete body.events[1].event;
    await expectViolation(fake, 'telemetry', body, 'missing', 'events[1].event');
  });

  it('missing: a field its event type requires (SESSION_END without duration)', async () => {
    const fake = await start();
    const body = validBody('telemetry');
    delete body.events[3].duration;
    await expectViolation(fake, 'telemetry', body, 'missing', 'events[3].duration');
  });

  it('extra: a field the model does not have', async () => {
    const fake = await start();
    const { violation } = await expectViolation(fake, 'create_session', { ...VALID.create_session, session_id: 'x' }, 'extra', 'session_id');
    expect(violation.reason).toBe('Expected `session_id` to be absent (CreateSessionRequest forbids extra fields), got `"x"` (string)');
  });

  it('extra: a top-level field of a telemetry batch', async () => {
    const fake = await start();
    await expectViolation(fake, 'telemetry', { ...VALID.telemetry, host: 'h' }, 'extra', 'host');
  });

  it("extra: a field of another event type (SESSION_START with a GENERIC_EVENT's event_name)", async () => {
    const fake = await start();
    const body = validBody('telemetry');
    body.events[0].event_name = 'x';
    await expectViolation(fake, 'telemetry', body, 'extra', 'events[0].event_name');
  });

  it('extra: inside a nested model (adam_params)', async () => {
    const fake = await start();
    const body = validBody('optim_step');
    body.adam_params.momentum = 0.9;
    await expectViolation(fake, 'optim_step', body, 'extra', 'adam_params.momentum');
  });

  it('null: an optional field sent as null instead of left out', async () => {
    const fake = await start();
    const { violation } = await expectViolation(fake, 'create_session', { ...VALID.create_session, project_id: null }, 'null', 'project_id');
    expect(violation.reason).toBe('Expected `project_id` to be a string or absent, never null, got `null` (null)');
  });

  it('null: user_metadata, which the SDK always sends as an object', async () => {
    const fake = await start();
    await expectViolation(fake, 'create_session', { ...VALID.create_session, user_metadata: null }, 'null', 'user_metadata');
  });

  it('null: an optional field of a telemetry event (traceback)', async () => {
    const fake = await start();
    const body = validBody('telemetry');
    body.events[2].traceback = null;
    await expectViolation(fake, 'telemetry', body, 'null', 'events[2].traceback');
  });

  it('type: a string field sent as a number', async () => {
    const fake = await start();
    await expectViolation(fake, 'session_heartbeat', { session_id: 42, type: 'session_heartbeat' }, 'type', 'session_id');
  });

  it('type: an integer field sent with a fraction', async () => {
    const fake = await start();
    const body = validBody('telemetry');
    body.events[1].event_session_index = 1.5;
    await expectViolation(fake, 'telemetry', body, 'type', 'events[1].event_session_index');
  });

  it('type: a boolean sent as a string', async () => {
    const fake = await start();
    await expectViolation(fake, 'retrieve_future', { request_id: 'r', allow_metadata_only: 'true' }, 'type', 'allow_metadata_only');
  });

  it('type: an array item of the wrong type', async () => {
    const fake = await start();
    await expectViolation(fake, 'create_session', { ...VALID.create_session, tags: ['a', 7] }, 'type', 'tags[1]');
  });

  it('type: event_data that is not an object', async () => {
    const fake = await start();
    const body = validBody('telemetry');
    body.events[1].event_data = ['x'];
    await expectViolation(fake, 'telemetry', body, 'type', 'events[1].event_data');
  });

  it('type: a body that is not an object', async () => {
    const fake = await start();
    await expectViolation(fake, 'client/config', ['0.1.0'], 'type', 'body');
  });

  it('type: a union none of whose forms matches (sampling_params.stop)', async () => {
    const fake = await start();
    const body = validBody('asample');
    body.sampling_params.stop = ['x', 1];
    await expectViolation(fake, 'asample', body, 'type', 'sampling_params.stop');
  });

  it('literal: a wrong type discriminator', async () => {
    const fake = await start();
    const { violation } = await expectViolation(fake, 'create_session', { ...VALID.create_session, type: 'createSession' }, 'literal', 'type');
    expect(violation.reason).toBe('Expected `type` to be "create_session", got `"createSession"` (string)');
  });

  it('literal: a severity outside the five', async () => {
    const fake = await start();
    const body = validBody('telemetry');
    body.events[0].severity = 'info';
    await expectViolation(fake, 'telemetry', body, 'literal', 'events[0].severity');
  });

  it('literal: an unknown telemetry event type', async () => {
    const fake = await start();
    const body = validBody('telemetry');
    body.events[0].event = 'SESSION_PAUSE';
    await expectViolation(fake, 'telemetry', body, 'literal', 'events[0].event');
  });

  it('literal: an unknown model-input chunk type', async () => {
    const fake = await start();
    const body = validBody('asample');
    body.prompt.chunks[0].type = 'text';
    await expectViolation(fake, 'asample', body, 'literal', 'prompt.chunks[0].type');
  });

  it('format: a timestamp that is not ISO-8601 with a zone', async () => {
    const fake = await start();
    const body = validBody('telemetry');
    body.events[0].timestamp = '2025-01-02 03:04:05';
    await expectViolation(fake, 'telemetry', body, 'format', 'events[0].timestamp');
  });
});

describe('startFakeTinker: violations', () => {
  it('lists every issue of a body, each with its field, in the 422 body in FastAPI form', async () => {
    const fake = await start();
    const answer = await post(fake, '/api/v1/create_session', { tags: 'a', sdk_version: '0.1.0', type: 'create_session', extra: 1 });
    expect(answer.status).toBe(422);
    expect(answer.json.detail.map((one: { loc: unknown[]; type: string }) => [one.loc, one.type])).toEqual([
      [['body', 'tags'], 'type'],
      [['body', 'user_metadata'], 'missing'],
      [['body', 'extra'], 'extra'],
    ]);
    expect(fake.violations).toHaveLength(1);
    expect(fake.sessions).toEqual([]);
  });

  it.each(ENDPOINTS)('%s: checks its body against its model (an extra field is refused)', async (name) => {
    const fake = await start();
    const body = { ...validBody(name), unexpected_field: true };
    await expectViolation(fake, name, body, 'extra', 'unexpected_field');
  });

  it('records no violation for a request refused 401 before its body is read', async () => {
    const fake = await start();
    await post(fake, '/api/v1/create_session', { junk: true }, { key: 'tml-wrong' });
    expect(fake.violations).toEqual([]);
  });
});
