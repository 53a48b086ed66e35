import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SERIALIZE_LIMITS, toEventData, toJsonSafe } from '../src/core/serialize.js';

const seed = Number(process.env.FC_SEED ?? 42);

describe('toJsonSafe', () => {
  it.each([
    ['null', null, null],
    ['true', true, true],
    ['a string', 'text', 'text'],
    ['a finite number', 1.5, 1.5],
    ['negative zero', -0, 0],
    ['NaN', Number.NaN, 'NaN'],
    ['Infinity', Number.POSITIVE_INFINITY, 'Infinity'],
    ['-Infinity', Number.NEGATIVE_INFINITY, '-Infinity'],
    ['undefined at the top', undefined, null],
    ['a bigint', 12345678901234567890n, '12345678901234567890'],
    ['a symbol', Symbol('tag'), 'Symbol(tag)'],
    ['a named function', function train() {}, '[Function train]'],
    [
      'an anonymous function',
      (
        () => () =>
          undefined
      )(),
      '[Function anonymous]',
    ],
    ['a Date', new Date(0), '1970-01-01T00:00:00.000Z'],
    ['an invalid Date', new Date(Number.NaN), 'Invalid Date'],
    [
      'a Map',
      new Map<unknown, unknown>([
        ['a', 1],
        [2, 'b'],
      ]),
      [
        ['a', 1],
        [2, 'b'],
      ],
    ],
    ['a Set', new Set([1, 'x']), [1, 'x']],
    ['a Uint8Array', new Uint8Array(16), '[Uint8Array(16)]'],
    ['an ArrayBuffer', new ArrayBuffer(8), '[ArrayBuffer(8)]'],
    ['an object with toJSON', { toJSON: () => ({ replaced: true }) }, { replaced: true }],
    [
      'a class instance',
      new (class Point {
        x = 1;
        y = 2;
      })(),
      { x: 1, y: 2 },
    ],
    ['a null-prototype object', Object.assign(Object.create(null) as object, { a: 1 }), { a: 1 }],
  ])('maps %s', (_name, input, expected) => {
    expect(toJsonSafe(input)).toEqual(expected);
  });

  it('leaves undefined properties out of objects and writes null for undefined array items', () => {
    expect(toJsonSafe({ a: undefined, b: 1 })).toEqual({ b: 1 });
    expect(toJsonSafe([undefined, 1])).toEqual([null, 1]);
  });

  it('maps an Error to name, message, stack, cause and its own properties', () => {
    const error = Object.assign(new TypeError('bad', { cause: new Error('root') }), { code: 'E_BAD' });
    const out = toJsonSafe(error) as Record<string, unknown>;
    expect(out).toMatchObject({ name: 'TypeError', message: 'bad', code: 'E_BAD', cause: { name: 'Error', message: 'root' } });
    expect(out.stack).toContain('TypeError: bad');
  });

  it('marks cycles but copies a shared acyclic reference at each place', () => {
    const shared = { n: 1 };
    const cyclic: Record<string, unknown> = { shared, again: shared };
    cyclic.self = cyclic;
    const list: unknown[] = [];
    list.push(list);
    expect(toJsonSafe(cyclic)).toEqual({ shared: { n: 1 }, again: { n: 1 }, self: '[Circular]' });
    expect(toJsonSafe(list)).toEqual(['[Circular]']);
  });

  it('cuts what is too deep, too wide, too long or too large', () => {
    let deep: unknown = 'bottom';
    for (let i = 0; i < SERIALIZE_LIMITS.maxDepth + 3; i++) deep = { d: deep };
    expect(JSON.stringify(toJsonSafe(deep))).toContain('"[Object]"');
    const wide = Object.fromEntries(Array.from({ length: SERIALIZE_LIMITS.maxKeys + 5 }, (_, i) => [`k${i}`, i]));
    const wideOut = toJsonSafe(wide) as Record<string, unknown>;
    expect(Object.keys(wideOut)).toHaveLength(SERIALIZE_LIMITS.maxKeys + 1);
    expect(wideOut['…']).toBe('5 more keys');
    const long = Array.from({ length: SERIALIZE_LIMITS.maxArrayLength + 2 }, (_, i) => i);
    expect((toJsonSafe(long) as unknown[]).at(-1)).toBe('…2 more items');
    const text = toJsonSafe('y'.repeat(SERIALIZE_LIMITS.maxStringLength + 10)) as string;
    expect(text.endsWith('…[truncated 10 chars]')).toBe(true);
    expect(text.length).toBe(SERIALIZE_LIMITS.maxStringLength + '…[truncated 10 chars]'.length);
  });

  it('writes what throws while being read as Unserializable, and never throws itself', () => {
    const getter = {
      get boom() {
        throw new Error('getter failed');
      },
      fine: 1,
    };
    const proxy = new Proxy(
      {},
      {
        ownKeys() {
          throw new Error('trap failed');
        },
      },
    );
    const revocable = Proxy.revocable({}, {});
    revocable.revoke();
    const badToJson = {
      toJSON() {
        throw new Error('toJSON failed');
      },
    };
    expect(toJsonSafe(getter)).toEqual({ boom: '[Unserializable: getter failed]', fine: 1 });
    expect(toJsonSafe(proxy)).toBe('[Unserializable: trap failed]');
    expect(toJsonSafe(revocable.proxy)).toMatch(/^\[Unserializable: /);
    expect(toJsonSafe(badToJson)).toBe('[Unserializable: toJSON failed]');
  });

  it('returns a snapshot that later mutation of the input does not change', () => {
    const input = { list: [1, 2], nested: { a: 'x' } };
    const out = toJsonSafe(input);
    input.list.push(3);
    input.nested.a = 'changed';
    expect(out).toEqual({ list: [1, 2], nested: { a: 'x' } });
  });

  it('is total, JSON-safe and deterministic for any value, cycles included', () => {
    const anything = fc.anything({
      withBoxedValues: true,
      withMap: true,
      withSet: true,
      withObjectString: true,
      withNullPrototype: true,
      withTypedArray: true,
      withSparseArray: true,
      withBigInt: true,
      withDate: true,
    });
    const withCycles = fc.tuple(anything, fc.boolean()).map(([value, cyclic]) => {
      if (cyclic && typeof value === 'object' && value !== null && Object.isExtensible(value)) {
        (value as Record<string, unknown>).loop = value;
      }
      return value;
    });
    fc.assert(
      fc.property(withCycles, (value) => {
        const out = toJsonSafe(value);
        expect(JSON.parse(JSON.stringify(out))).toEqual(out);
        expect(toJsonSafe(value)).toEqual(out);
      }),
      { seed, numRuns: 300 },
    );
  });
});

describe('toEventData', () => {
  it('gives {} for nothing, the object for an object, and { value } otherwise', () => {
    expect(toEventData(undefined)).toEqual({});
    expect(toEventData(null)).toEqual({});
    expect(toEventData({ a: 1 })).toEqual({ a: 1 });
    expect(toEventData('text')).toEqual({ value: 'text' });
    expect(toEventData([1, 2])).toEqual({ value: [1, 2] });
    expect(toEventData(new Map([['k', 1]]))).toEqual({ value: [['k', 1]] });
  });
});
