/** The typed errors: stable code and name, the fields the contract names, messages that name the status and never a secret. */
import { describe, expect, it } from 'vitest';
import {
  ApiConnectionError,
  ApiStatusError,
  DeadlineExceededError,
  FutureAbortedError,
  FutureExpiredError,
  FutureTimeoutError,
  InvalidResponseError,
  RequestFailedError,
  SessionClosedError,
  TinkerError,
} from '../src/tinker/errors.js';

describe('Tinker errors', () => {
  const cause = new Error('underlying');
  const cases: [Error, string, string, Record<string, unknown>, string[]][] = [
    [
      new ApiStatusError({ status: 401, path: '/api/v1/create_session', detail: 'no' }),
      'ApiStatusError',
      'TINKER_API_STATUS',
      { status: 401, path: '/api/v1/create_session', requestId: undefined },
      ['POST /api/v1/create_session', 'HTTP 401', ': no'],
    ],
    [
      new ApiStatusError({ status: 404, path: '/api/v1/retrieve_future', requestId: 'r-1' }),
      'ApiStatusError',
      'TINKER_API_STATUS',
      { status: 404, requestId: 'r-1' },
      ['for request r-1', 'HTTP 404'],
    ],
    [
      new ApiConnectionError({ path: '/api/v1/x', reason: 'ECONNRESET: socket hang up', cause }),
      'ApiConnectionError',
      'TINKER_API_CONNECTION',
      { path: '/api/v1/x', cause },
      ['POST /api/v1/x', 'ECONNRESET'],
    ],
    [
      new DeadlineExceededError({ path: '/api/v1/client/config', deadlineMs: 300_000, cause }),
      'DeadlineExceededError',
      'TINKER_DEADLINE',
      { path: '/api/v1/client/config', deadlineMs: 300_000, cause },
      ['300000 ms', 'last failure: underlying'],
    ],
    [
      new RequestFailedError({ requestId: 'r-2', category: 'user', error: 'bad input' }),
      'RequestFailedError',
      'TINKER_REQUEST_FAILED',
      { requestId: 'r-2', category: 'user', error: 'bad input' },
      ['r-2', 'category user', 'bad input'],
    ],
    [
      new FutureExpiredError({ requestId: 'r-3' }),
      'FutureExpiredError',
      'TINKER_FUTURE_EXPIRED',
      { requestId: 'r-3', status: 410 },
      ['r-3', 'HTTP 410', 'submit the request again'],
    ],
    [
      new FutureTimeoutError({ requestId: 'r-4', timeoutMs: 1500 }),
      'FutureTimeoutError',
      'TINKER_FUTURE_TIMEOUT',
      { requestId: 'r-4', timeoutMs: 1500 },
      ['r-4', '1500 ms'],
    ],
    [new FutureAbortedError({ requestId: 'r-5', cause }), 'FutureAbortedError', 'TINKER_FUTURE_ABORTED', { requestId: 'r-5', cause }, ['r-5', 'aborted']],
    [
      new InvalidResponseError({ path: '/api/v1/retrieve_future', requestId: 'r-6', status: 200, expected: 'JSON' }),
      'InvalidResponseError',
      'TINKER_INVALID_RESPONSE',
      { path: '/api/v1/retrieve_future', requestId: 'r-6', status: 200 },
      ['HTTP 200', 'not JSON', 'r-6'],
    ],
    [new SessionClosedError({ sessionId: 's-1' }), 'SessionClosedError', 'TINKER_SESSION_CLOSED', { sessionId: 's-1' }, ['s-1', 'closed']],
  ];

  it.each(cases)('%s has its name, code, fields and a message naming them', (error, name, code, fields, phrases) => {
    expect(error).toBeInstanceOf(TinkerError);
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe(name);
    expect((error as TinkerError).code).toBe(code);
    expect(error).toMatchObject(fields);
    for (const phrase of phrases) expect(error.message).toContain(phrase);
    expect(error.stack?.startsWith(`${name}: `)).toBe(true);
    // The name lives on the prototype: no own `name` shows when the error is inspected or serialized.
    expect(Object.keys(error)).not.toContain('name');
  });

  it('says no attempt had finished when a DeadlineExceededError has no cause', () => {
    const error = new DeadlineExceededError({ path: '/p', deadlineMs: 5 });
    expect(error.cause).toBeUndefined();
    expect('cause' in error).toBe(false);
    expect(error.message).toContain('no attempt had finished');
  });
});
