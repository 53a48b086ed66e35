import { describe, expect, it } from 'vitest';
import { SERIALIZE_LIMITS, toEventData, toJsonSafe } from '../src/core/serialize.js';

const { maxDepth, maxStringLength } = SERIALIZE_LIMITS;

/** `value` wrapped in `levels` objects `{ d: … }`, so that it sits at depth `levels`. */
function inside(levels: number, value: unknown): unknown {
  let out = value;
  for (let i = 0; i < levels; i++) out = { d: out };
  return out;
}

/** `value` wrapped in `levels` one-item arrays. */
function inArrays(levels: number, value: unknown): unknown {
  let out = value;
  for (let i = 0; i < levels; i++) out = [out];
  return out;
}

describe('toJsonSafe depth limit', () => {
  it('keeps eight levels of nested arrays and cuts the ninth to "[Array]"', () => {
    expect(toJsonSafe(inArrays(maxDepth, 'leaf'))).toEqual(inArrays(maxDepth, 'leaf'));
    expect(toJsonSafe(inArrays(maxDepth + 1, 'leaf'))).toEqual(inArrays(maxDepth, '[Array]'));
  });

  it.each([
    ['an array', () => [1], [1], '[Array]'],
    ['a Set', () => new Set([1]), [1], '[Array]'],
    ['a plain object', () => ({ a: 1 }), { a: 1 }, '[Object]'],
  ])('keeps %s on the last kept level and labels it one level deeper', (_name, make, kept, label) => {
    expect(toJsonSafe(inside(maxDepth - 1, make()))).toEqual(inside(maxDepth - 1, kept));
    expect(toJsonSafe(inside(maxDepth, make()))).toEqual(inside(maxDepth, label));
  });

  it('counts the [key, value] pairs of a Map as a level of their own', () => {
    const map = () => new Map([['k', 1]]);
    expect(toJsonSafe(inside(maxDepth - 2, map()))).toEqual(inside(maxDepth - 2, [['k', 1]]));
    expect(toJsonSafe(inside(maxDepth - 1, map()))).toEqual(inside(maxDepth - 1, ['[Array]']));
    expect(toJsonSafe(inside(maxDepth, map()))).toEqual(inside(maxDepth, '[Array]'));
  });

  it('keeps an Error on the last kept level and labels it "[Object]" one level deeper', () => {
    const kept = toJsonSafe(inside(maxDepth - 1, new Error('deep')));
    expect(JSON.stringify(kept)).toContain('"message":"deep"');
    expect(toJsonSafe(inside(maxDepth, new Error('deep')))).toEqual(inside(maxDepth, '[Object]'));
  });

  it('counts each link of an Error cause chain as a level', () => {
    let error = new Error('e0');
    for (let i = 1; i <= maxDepth; i++) error = new Error(`e${i}`, { cause: error });
    let out = toJsonSafe(error) as Record<string, unknown>;
    for (let i = 1; i < maxDepth; i++) out = out.cause as Record<string, unknown>;
    expect(out.message).toBe('e1');
    expect(out.cause).toBe('[Object]');
  });
});

describe('toJsonSafe strings', () => {
  it('keeps a string of exactly maxStringLength and cuts one code unit more', () => {
    const exact = 'a'.repeat(maxStringLength);
    expect(toJsonSafe(exact)).toBe(exact);
    expect(toJsonSafe(`${exact}b`)).toBe(`${exact}…[truncated 1 chars]`);
  });

  it('cuts an Error message and stack like any other string', () => {
    const error = new Error('m'.repeat(maxStringLength + 2));
    error.stack = 's'.repeat(maxStringLength + 3);
    // A budget that holds both cut strings, so only the per-string limit cuts them.
    const out = toJsonSafe(error, 3 * maxStringLength) as Record<string, unknown>;
    expect(out.message).toBe(`${'m'.repeat(maxStringLength)}…[truncated 2 chars]`);
    expect(out.stack).toBe(`${'s'.repeat(maxStringLength)}…[truncated 3 chars]`);
  });
});

describe('toJsonSafe objects', () => {
  it('leaves a property holding undefined out, not present with an undefined value', () => {
    const out = toJsonSafe({ a: undefined, b: 1 }) as Record<string, unknown>;
    expect(Object.keys(out)).toEqual(['b']);
  });

  it('maps an object whose toJSON returns the object itself by its own properties', () => {
    const self = {
      a: 1,
      toJSON() {
        return this;
      },
    };
    expect(toJsonSafe(self)).toEqual({ a: 1, toJSON: '[Function toJSON]' });
  });

  it('maps what toJSON returns even when it is null', () => {
    expect(toJsonSafe({ toJSON: () => null })).toBeNull();
  });

  it('maps a primitive that toJSON returns as that primitive, as JSON.stringify does', () => {
    for (const primitive of [42, 'text', true]) expect(toJsonSafe({ toJSON: () => primitive })).toBe(primitive);
  });

  it('maps a plain object by its own keys, even when its toStringTag names another kind', () => {
    const spoofed = { a: 1, [Symbol.toStringTag]: 'SharedArrayBuffer' };
    expect(toJsonSafe(spoofed)).toStrictEqual({ a: 1 });
  });
});

describe('toJsonSafe errors', () => {
  it('leaves cause out when the error has none or its cause is undefined', () => {
    expect(toJsonSafe(new Error('plain'))).not.toHaveProperty('cause');
    const explicit = new Error('explicit', { cause: undefined });
    expect('cause' in explicit).toBe(true);
    expect(toJsonSafe(explicit)).not.toHaveProperty('cause');
  });

  it('leaves stack out when it is missing or not a string', () => {
    const missing = new Error('no stack');
    missing.stack = undefined;
    const numeric = new Error('numeric stack');
    (numeric as { stack: unknown }).stack = 42;
    expect(toJsonSafe(missing)).toStrictEqual({ name: 'Error', message: 'no stack' });
    expect(toJsonSafe(numeric)).toStrictEqual({ name: 'Error', message: 'numeric stack' });
  });

  it('does not let an own enumerable property override name, message, stack or cause', () => {
    const error = new Error('ignored');
    error.stack = undefined;
    Object.defineProperty(error, 'message', { value: 42, enumerable: true });
    Object.defineProperty(error, 'code', { value: 'E_X', enumerable: true });
    expect(toJsonSafe(error)).toStrictEqual({ name: 'Error', message: '42', code: 'E_X' });
  });

  it('writes an error name that throws when read as Unserializable', () => {
    const error = new Error('named');
    error.stack = undefined;
    Object.defineProperty(error, 'name', {
      get() {
        throw new Error('name failed');
      },
    });
    expect(toJsonSafe(error)).toStrictEqual({ name: '[Unserializable: name failed]', message: 'named' });
  });
});

describe('toJsonSafe unreadable values', () => {
  it('writes an array item whose getter throws as Unserializable and keeps the others', () => {
    const list: unknown[] = [1, 2];
    Object.defineProperty(list, 0, {
      get() {
        throw new Error('item failed');
      },
    });
    expect(toJsonSafe(list)).toEqual(['[Unserializable: item failed]', 2]);
  });

  it('keeps 200 characters of the thrown message and cuts a longer one with …', () => {
    const throwing = (message: string) => ({
      get x(): never {
        throw new Error(message);
      },
    });
    const exact = 'e'.repeat(200);
    expect(toJsonSafe(throwing(exact))).toEqual({ x: `[Unserializable: ${exact}]` });
    expect(toJsonSafe(throwing(`${exact}f`))).toEqual({ x: `[Unserializable: ${exact}…]` });
  });

  it('redacts the key from a thrown message before its cut at 200 characters, so no part of it is kept', () => {
    const key = 'tml-ABCDEFGHIJKLMNOPQRSTUVWXYZ';
    const thrown = {
      get x(): never {
        throw new Error(`${'x'.repeat(185)}${key} and more`);
      },
    };
    const out = toJsonSafe(thrown, undefined, key) as { x: string };
    expect(out.x).toBe(`[Unserializable: ${'x'.repeat(185)}[redacted]…]`);
    for (let i = 0; i + 8 <= key.length; i++) expect(out.x).not.toContain(key.slice(i, i + 8));
  });

  it('writes a thrown non-Error by its string form, and one that cannot be stringified as "unreadable error"', () => {
    const throwingValue = (thrown: unknown) => ({
      get x(): never {
        throw thrown;
      },
    });
    expect(toJsonSafe(throwingValue('plain reason'))).toEqual({ x: '[Unserializable: plain reason]' });
    expect(toJsonSafe(throwingValue(Object.create(null)))).toEqual({ x: '[Unserializable: unreadable error]' });
  });

  it('names a function "anonymous" when its name is not a string or cannot be read', () => {
    const arrayName = Object.defineProperty(function named() {}, 'name', { value: ['x'] });
    const throwingName = Object.defineProperty(function named() {}, 'name', {
      get() {
        throw new Error('no');
      },
    });
    expect(toJsonSafe(arrayName)).toBe('[Function anonymous]');
    expect(toJsonSafe(throwingName)).toBe('[Function anonymous]');
  });
});

describe('toJsonSafe binary data', () => {
  it.each([
    ['a typed array, by items', new Uint16Array(4), '[Uint16Array(4)]'],
    ['a Float64Array, by items', new Float64Array(3), '[Float64Array(3)]'],
    ['a Buffer, by bytes', Buffer.from('abc'), '[Uint8Array(3)]'],
    ['a DataView, by bytes', new DataView(new ArrayBuffer(6)), '[DataView(6)]'],
    ['a SharedArrayBuffer, by bytes', new SharedArrayBuffer(8), '[SharedArrayBuffer(8)]'],
  ])('labels %s with its type and length', (_name, input, expected) => {
    expect(toJsonSafe(input)).toBe(expected);
  });
});

describe('toEventData', () => {
  it('wraps an object that maps to null, such as one whose toJSON returns null, in { value }', () => {
    expect(toEventData({ toJSON: () => null })).toStrictEqual({ value: null });
  });
});
