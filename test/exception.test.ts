import { describe, expect, it } from 'vitest';
import { describeException, findUserError } from '../src/core/exception.js';

class QuotaError extends Error {}

describe('describeException', () => {
  it.each([
    ['a TypeError', new TypeError('bad'), 'TypeError', 'bad'],
    ['a subclass without a name of its own', new QuotaError('quota'), 'QuotaError', 'quota'],
    ['a thrown string', 'plain text', 'string', 'plain text'],
    ['a thrown number', 42, 'number', '42'],
    ['undefined', undefined, 'undefined', 'undefined'],
    ['null', null, 'null', 'null'],
    ['a plain object', { code: 7 }, 'Object', '{"code":7}'],
    ['an object with a message', { message: 'has message' }, 'Object', 'has message'],
    ['a symbol', Symbol('s'), 'symbol', 'Symbol(s)'],
  ])('describes %s', (_name, thrown, type, message) => {
    const fields = describeException(thrown, '');
    expect(fields.error_type).toBe(type);
    expect(fields.error_message).toBe(message);
  });

  it('writes the stack and each cause, in order, into the traceback', () => {
    const root = new RangeError('root cause');
    const middle = new Error('middle', { cause: root });
    const top = new TypeError('top', { cause: middle });
    const { traceback } = describeException(top, '');
    expect(traceback).toBeDefined();
    const text = traceback as string;
    expect(text.startsWith('TypeError: top')).toBe(true);
    expect(text.indexOf('Caused by: Error: middle')).toBeGreaterThan(0);
    expect(text.indexOf('Caused by: RangeError: root cause')).toBeGreaterThan(text.indexOf('Caused by: Error: middle'));
  });

  it('ends a cyclic cause chain with [Circular]', () => {
    const a = new Error('a');
    const b = new Error('b', { cause: a });
    (a as { cause?: unknown }).cause = b;
    expect(describeException(a, '').traceback).toMatch(/Caused by: Error: b[\s\S]*Caused by: \[Circular\]$/);
  });

  it('describes a non-Error cause by type and message', () => {
    expect(describeException(new Error('x', { cause: 'because' }), '').traceback).toContain('Caused by: string: because');
  });

  it('leaves traceback out when there is no stack', () => {
    expect(describeException('text', '')).not.toHaveProperty('traceback');
    expect(describeException({ a: 1 }, '')).not.toHaveProperty('traceback');
  });

  it('never throws on hostile values', () => {
    const proxy = new Proxy(
      {},
      {
        get() {
          throw new Error('no');
        },
        getPrototypeOf() {
          throw new Error('no');
        },
        ownKeys() {
          throw new Error('no');
        },
      },
    );
    const getters = Object.defineProperty(new Error('x'), 'message', {
      get() {
        throw new Error('no');
      },
    });
    expect(() => describeException(proxy, '')).not.toThrow();
    expect(() => describeException(getters, '')).not.toThrow();
    expect(describeException(proxy, '').error_type).toBe('Object');
  });
});

describe('findUserError', () => {
  const withStatus = (status: unknown, extra: object = {}) => Object.assign(new Error(`status ${String(status)}`), { status }, extra);

  it.each([400, 401, 403, 404, 422, 499])('treats HTTP %i as a user error', (status) => {
    expect(findUserError(withStatus(status), '')).toMatchObject({ status_code: status, error_type: 'Error', message: `status ${status}` });
  });

  it.each([408, 429, 500, 503, 399, 200])('does not treat HTTP %i as a user error', (status) => {
    expect(findUserError(withStatus(status), '')).toBeUndefined();
  });

  it('reads statusCode, response.statusCode and a digit string', () => {
    expect(findUserError(Object.assign(new Error('a'), { statusCode: 404 }), '')?.status_code).toBe(404);
    expect(findUserError(Object.assign(new Error('b'), { response: { statusCode: 403, body: 'denied' } }), '')).toMatchObject({
      status_code: 403,
      body: 'denied',
    });
    expect(findUserError(withStatus('422'), '')?.status_code).toBe(422);
  });

  it('finds a user error two causes deep, describing the link that carries the status', () => {
    const inner = Object.assign(new QuotaError('over quota'), { status: 400 });
    const error = new Error('outer', { cause: new Error('middle', { cause: inner }) });
    expect(findUserError(error, '')).toEqual({ error_type: 'QuotaError', message: 'over quota', status_code: 400 });
  });

  it('lets the first status in the chain decide: a 500 wrapping a 400 is not a user error', () => {
    expect(findUserError(withStatus(500, { cause: withStatus(400) }), '')).toBeUndefined();
  });

  it('survives a cyclic chain without a status', () => {
    const a = new Error('a');
    const b = new Error('b', { cause: a });
    (a as { cause?: unknown }).cause = b;
    expect(findUserError(a, '')).toBeUndefined();
  });

  it('includes a sanitized body', () => {
    const cyclic: Record<string, unknown> = { detail: 'bad field' };
    cyclic.self = cyclic;
    expect(findUserError(withStatus(422, { body: cyclic }), '')?.body).toEqual({ detail: 'bad field', self: '[Circular]' });
  });
});
