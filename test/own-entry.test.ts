import { describe, expect, it } from 'vitest';
import { setOwnEntry } from '../src/core/own-entry.js';
import { redactJson } from '../src/core/redact.js';
import { capEventData, jsonBytes } from '../src/core/truncate.js';
import type { JsonObject, JsonValue } from '../src/core/serialize.js';

/** `{"__proto__": {"x": 1}, "a": 2}` as JSON.parse makes it: `__proto__` an own data property. */
const parsed = () => JSON.parse('{"__proto__":{"x":1},"a":2}') as JsonObject;

describe('setOwnEntry', () => {
  it('sets __proto__ as an own enumerable data property, leaving the prototype alone', () => {
    const out: Record<string, JsonValue> = {};
    setOwnEntry(out, '__proto__', { x: 1 });
    setOwnEntry(out, 'a', 2);
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
    expect(Object.getOwnPropertyDescriptor(out, '__proto__')).toEqual({ value: { x: 1 }, enumerable: true, writable: true, configurable: true });
    expect(JSON.stringify(out)).toBe('{"__proto__":{"x":1},"a":2}');
  });

  it('writes a primitive under __proto__ too, which assignment would drop', () => {
    const out: Record<string, JsonValue> = {};
    setOwnEntry(out, '__proto__', 1);
    expect(JSON.stringify(out)).toBe('{"__proto__":1}');
  });
});

describe('__proto__ after the snapshot', () => {
  it('survives redaction', () => {
    expect(JSON.stringify(redactJson(parsed(), 'secret'))).toBe('{"__proto__":{"x":1},"a":2}');
  });

  it('survives the cut to maxEventBytes while it fits', () => {
    const data = Object.assign(parsed(), { blob: 'b'.repeat(5000) });
    const out = capEventData(data, 1000, jsonBytes(data));
    expect(Object.hasOwn(out, '__proto__')).toBe(true);
    expect(JSON.stringify(out).startsWith('{"__proto__":{"x":1},"a":2,"blob":"bbb')).toBe(true);
    // A string under __proto__ that does not fit whole is cut, and still kept.
    const long = JSON.parse(`{"a":1,"__proto__":"${'l'.repeat(5000)}"}`) as JsonObject;
    const cut = capEventData(long, 1000, jsonBytes(long));
    expect(Object.hasOwn(cut, '__proto__')).toBe(true);
    expect(cut.__proto__).toMatch(/^l+…\[truncated \d+ chars\]$/);
  });
});
