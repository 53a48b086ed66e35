/**
 * Writing a key into a JSON object built from the caller's data. `out[key] =`
 * with the key `__proto__` does not make a property: it calls
 * `Object.prototype`'s setter, which changes the prototype (or, for a
 * primitive, does nothing), so data parsed from `{"__proto__": 1}` would lose
 * that key without a trace. `JSON.stringify` writes an own `__proto__` data
 * property like any other, so defining one keeps the key on the wire.
 */

/** Sets `out[key] = value` as an own, enumerable data property, also when `key` is `__proto__`. */
export function setOwnEntry<T>(out: Record<string, T>, key: string, value: T): void {
  if (key === '__proto__') Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
  else out[key] = value;
}
