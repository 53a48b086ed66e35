/** The wire shapes: request bodies as the Python SDK's models, answers read strictly, the client config with its defaults. */
import { describe, expect, it } from 'vitest';
import type { JsonValue } from '../src/core/json.js';
import { DEFAULT_CLIENT_CONFIG, parseClientConfig } from '../src/tinker/client-config.js';
import {
  authTokenBody,
  clientConfigBody,
  createSessionBody,
  heartbeatBody,
  isServerId,
  MAX_ID_LENGTH,
  MAX_JWT_LENGTH,
  parseCreatedSession,
  parseFutureHandle,
  parseJwt,
} from '../src/tinker/messages.js';

describe('request bodies', () => {
  it('client/config is { sdk_version } and auth/token is {}', () => {
    expect(clientConfigBody('0.1.0')).toEqual({ sdk_version: '0.1.0' });
    expect(authTokenBody()).toEqual({});
  });

  it('create_session has its fields in the model’s order, project_id only when given, never null', () => {
    const without = createSessionBody({ tags: ['x'], userMetadata: {} }, '0.1.0');
    expect(JSON.stringify(without)).toBe('{"tags":["x"],"user_metadata":{},"sdk_version":"0.1.0","type":"create_session"}');
    const withNull = createSessionBody({ tags: [], userMetadata: {}, projectId: null as unknown as string }, '0.1.0');
    expect(withNull).not.toHaveProperty('project_id');
    const withId = createSessionBody({ tags: [], userMetadata: { a: 1 }, projectId: '' }, '0.1.0');
    expect(JSON.stringify(withId)).toBe('{"tags":[],"user_metadata":{"a":1},"sdk_version":"0.1.0","project_id":"","type":"create_session"}');
  });

  it('create_session copies the tags, so a later change to the caller’s array does not reach a retry', () => {
    const tags = ['a'];
    const body = createSessionBody({ tags, userMetadata: {} }, '0.1.0');
    tags.push('b');
    expect(body.tags).toEqual(['a']);
  });

  it('session_heartbeat is { session_id, type }', () => {
    expect(JSON.stringify(heartbeatBody('s-1'))).toBe('{"session_id":"s-1","type":"session_heartbeat"}');
  });
});

describe('answers', () => {
  const JWT = 'eyJhbGciOiJIUzI1NiJ9.eyJleHAiOjF9.c2ln-_0';

  it('reads a JWT only when it is three non-empty base64url parts of at most 16 KiB', () => {
    expect(parseJwt({ jwt: JWT })).toBe(JWT);
    const longest = `${JWT}${'A'.repeat(MAX_JWT_LENGTH - JWT.length)}`;
    expect(parseJwt({ jwt: longest })).toBe(longest);
    const bad = [`${longest}A`, `${JWT}\u0000`, `${JWT}\n`, 'abc', 'a.b', 'a.b.c.d', 'a..c', '.b.c', 'a.b.', 'a+b.c.d', 'a.b=.c', 'a.b.c ', 'a.b.c→'];
    for (const jwt of bad) expect(parseJwt({ jwt })).toBeUndefined();
    for (const body of [{ jwt: '' }, { jwt: 1 }, {}, null, ['jwt'], 'jwt'] as JsonValue[]) expect(parseJwt(body)).toBeUndefined();
  });

  it('reads as an id 1 to 256 characters of printable ASCII, and nothing else', () => {
    const longest = `${'!'.repeat(MAX_ID_LENGTH - 1)}~`;
    for (const id of ['s', 'fake-session-1', longest, 'a:b/c?d=e']) expect(isServerId(id)).toBe(true);
    for (const id of ['', `${longest}x`, 'a b', 'a\nb', 'a\u001b[31m', 'a\u0000', 'a\u007f', 'é', 'a\u2028b', 7, null]) expect(isServerId(id)).toBe(false);
  });

  it('reads create_session’s id and only its non-empty string messages', () => {
    expect(parseCreatedSession({ session_id: 's', info_message: 'i', warning_message: null, error_message: '' })).toEqual({ sessionId: 's', infoMessage: 'i' });
    expect(parseCreatedSession({ session_id: 's', warning_message: 'w', error_message: 'e' })).toEqual({
      sessionId: 's',
      warningMessage: 'w',
      errorMessage: 'e',
    });
    const bad = [{}, { session_id: 3 }, { session_id: '' }, { session_id: 's'.repeat(300) }, { session_id: 's\u001b\n' }, null, []] as JsonValue[];
    for (const body of bad) expect(parseCreatedSession(body)).toBeUndefined();
  });

  it('reads a submit’s request_id and a string model_id, refusing either when it is not an id', () => {
    expect(parseFutureHandle({ request_id: 'r', model_id: 'm' })).toEqual({ requestId: 'r', modelId: 'm' });
    expect(parseFutureHandle({ request_id: 'r', model_id: null })).toEqual({ requestId: 'r' });
    expect(parseFutureHandle({ request_id: 'r', model_id: '' })).toEqual({ requestId: 'r' });
    const bad = [
      {},
      { request_id: 1 },
      { request_id: '' },
      { request_id: 'r'.repeat(257) },
      { request_id: 'r\n' },
      { request_id: 'r', model_id: 'm\u0000' },
      'r',
    ];
    for (const body of bad as JsonValue[]) expect(parseFutureHandle(body)).toBeUndefined();
  });
});

describe('parseClientConfig', () => {
  it('gives the Python SDK defaults for {}', () => {
    expect(parseClientConfig({})).toEqual(DEFAULT_CLIENT_CONFIG);
    expect(DEFAULT_CLIENT_CONFIG).toMatchObject({ pjwtAuthEnabled: false, billingExceptionMaxPauseDurationSec: 3600, sampleMaxConcurrentRequests: 2000 });
  });

  it('takes each snake_case field of the right type and ignores unknown fields', () => {
    const config = parseClientConfig({
      pjwt_auth_enabled: true,
      credential_default_source: 'credential_cmd',
      billing_exception_max_pause_duration_sec: 10,
      proto_compress_fwdbwd: true,
      brand_new_flag: 1,
    });
    expect(config).toEqual({
      ...DEFAULT_CLIENT_CONFIG,
      pjwtAuthEnabled: true,
      credentialDefaultSource: 'credential_cmd',
      billingExceptionMaxPauseDurationSec: 10,
      protoCompressFwdbwd: true,
    });
  });

  it('keeps the default for a mistyped, null or fractional field', () => {
    const config = parseClientConfig({ pjwt_auth_enabled: 'yes', fwdbwd_max_chunk_len: 1.5, billing_exception_max_pause_duration_sec: null });
    expect(config).toEqual(DEFAULT_CLIENT_CONFIG);
  });

  it('is undefined for a body that is not an object', () => {
    for (const body of [null, [], 'x', 3]) expect(parseClientConfig(body)).toBeUndefined();
  });
});
