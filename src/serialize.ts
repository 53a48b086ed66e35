/**
 * Turns any value into JSON-safe data, deterministically and without ever
 * throwing. `log()` calls it on the caller's path, so the result is also the
 * snapshot: a fresh copy that shares no mutable object with the input.
 *
 * The mapping:
 *
 * | input | output |
 * |---|---|
 * | null, boolean, finite number, string | as is (−0 becomes 0); strings over `maxStringLength` are cut, with `…[truncated N chars]` |
 * | NaN, Infinity, −Infinity | `"NaN"`, `"Infinity"`, `"-Infinity"` |
 * | undefined | left out as a property, `null` in an array or at the top |
 * | bigint | its decimal string, e.g. `"123"` |
 * | symbol | `"Symbol(description)"` |
 * | function | `"[Function name]"` or `"[Function anonymous]"` |
 * | Date | its ISO string; an invalid date is `"Invalid Date"` |
 * | Error | `{ name, message, stack?, cause?, …own enumerable properties }` |
 * | Map | an array of `[key, value]` pairs |
 * | Set | an array of its values |
 * | ArrayBuffer, typed array, DataView, Buffer | `"[Uint8Array(16)]"`: the type and its length |
 * | an object with a `toJSON` method | what `toJSON` returns, mapped again |
 * | any other object, class instances included | its own enumerable string-keyed properties |
 * | a cycle | `"[Circular]"` (a shared, acyclic reference is copied at each place) |
 * | deeper than `maxDepth` | `"[Object]"` or `"[Array]"` |
 * | more than `maxKeys` keys / `maxArrayLength` items | the first ones, then `"…": "N more keys"` / `"…N more items"` |
 * | a value that throws when read (getter, Proxy, `toJSON`) | `"[Unserializable: message]"` |
 */

/** A JSON value. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** A JSON object. */
export type JsonObject = { [key: string]: JsonValue };

/**
 * The limits of the mapping: fixed, not options, because they bound the work
 * `log()` does on the caller's path.
 * @inlineType Readonly
 */
export const SERIALIZE_LIMITS = Object.freeze({
  /** Levels of objects and arrays kept, the top one included (8); deeper ones become `"[Object]"` or `"[Array]"`. */
  maxDepth: 8,
  /** Keys kept per object (256); the rest are summed up as `"…": "N more keys"`. */
  maxKeys: 256,
  /** Items kept per array, Map or Set (1000); the rest are summed up as `"…N more items"`. */
  maxArrayLength: 1000,
  /** UTF-16 code units kept per string (32 768); the rest is cut, with `…[truncated N chars]`. */
  maxStringLength: 32_768,
} as const);

const { maxDepth, maxKeys, maxArrayLength, maxStringLength } = SERIALIZE_LIMITS;
const objectToString = Object.prototype.toString;

/** The JSON-safe form of `value`; see the module comment for the mapping. Never throws. */
export function toJsonSafe(value: unknown): JsonValue {
  return convert(value, [], 0);
}

/**
 * The `event_data` of a GENERIC_EVENT: `{}` for undefined or null, the mapped
 * object for an object, and `{ value: … }` for anything that does not map to
 * an object (a string, a number, an array, a Map). Always a fresh object.
 */
export function toEventData(data: unknown, _maxChars?: number, _secret?: string): JsonObject {
  let out: JsonObject;
  if (data === undefined || data === null) out = {};
  else {
    const converted = toJsonSafe(data);
    out = converted !== null && typeof converted === 'object' && !Array.isArray(converted) ? converted : { value: converted };
  }
  snapshotChars = JSON.stringify(out).length;
  return out;
}

let snapshotChars = 0;

/** The JSON length, in UTF-16 code units, of the last snapshot `toEventData` made. */
export function lastSnapshotChars(): number {
  return snapshotChars;
}

function convert(value: unknown, ancestors: object[], depth: number): JsonValue {
  switch (typeof value) {
    case 'string':
      return capString(value);
    case 'number':
      if (Number.isFinite(value)) return value === 0 ? 0 : value;
      return Number.isNaN(value) ? 'NaN' : value > 0 ? 'Infinity' : '-Infinity';
    case 'boolean':
      return value;
    case 'undefined':
      return null;
    case 'bigint':
    case 'symbol':
      return value.toString();
    case 'function':
      return `[Function ${functionName(value)}]`;
    default:
      if (value === null) return null;
      return convertObject(value as object, ancestors, depth);
  }
}

function convertObject(value: object, ancestors: object[], depth: number): JsonValue {
  // Depth is bounded, so a linear scan of the ancestors beats a WeakSet.
  if (ancestors.includes(value)) return '[Circular]';
  try {
    if (value instanceof Date) {
      const time = value.getTime();
      return Number.isNaN(time) ? 'Invalid Date' : value.toISOString();
    }
    if (Array.isArray(value)) {
      if (depth >= maxDepth) return '[Array]';
      return withAncestor(ancestors, value, () => convertItems(value, value.length, ancestors, depth));
    }
    if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer || objectToString.call(value) === '[object SharedArrayBuffer]') {
      return binaryLabel(value);
    }
    if (value instanceof Map) {
      if (depth >= maxDepth) return '[Array]';
      return withAncestor(ancestors, value, () => convertItems([...value.entries()], value.size, ancestors, depth));
    }
    if (value instanceof Set) {
      if (depth >= maxDepth) return '[Array]';
      return withAncestor(ancestors, value, () => convertItems([...value.values()], value.size, ancestors, depth));
    }
    if (value instanceof Error) {
      if (depth >= maxDepth) return '[Object]';
      return withAncestor(ancestors, value, () => convertError(value, ancestors, depth));
    }
    const toJSON = (value as { toJSON?: unknown }).toJSON;
    if (typeof toJSON === 'function') {
      const replaced: unknown = toJSON.call(value);
      if (replaced !== value) return withAncestor(ancestors, value, () => convert(replaced, ancestors, depth));
    }
    if (depth >= maxDepth) return '[Object]';
    return withAncestor(ancestors, value, () => convertPlain(value, ancestors, depth));
  } catch (error) {
    return unserializable(error);
  }
}

function withAncestor<T>(ancestors: object[], value: object, body: () => T): T {
  ancestors.push(value);
  try {
    return body();
  } finally {
    ancestors.pop();
  }
}

function convertItems(items: ArrayLike<unknown>, total: number, ancestors: object[], depth: number): JsonValue[] {
  const kept = Math.min(items.length, maxArrayLength);
  const out: JsonValue[] = new Array<JsonValue>(kept);
  for (let i = 0; i < kept; i++) out[i] = readSafely(() => convert(items[i], ancestors, depth + 1));
  if (total > kept) out.push(`…${total - kept} more items`);
  return out;
}

function convertPlain(value: object, ancestors: object[], depth: number): JsonObject {
  const out: JsonObject = {};
  const keys = Object.keys(value);
  const kept = Math.min(keys.length, maxKeys);
  for (let i = 0; i < kept; i++) {
    const key = keys[i] as string;
    const converted = readProperty(value, key, ancestors, depth);
    if (converted !== undefined) out[key] = converted;
  }
  if (keys.length > kept) out['…'] = `${keys.length - kept} more keys`;
  return out;
}

function convertError(error: Error, ancestors: object[], depth: number): JsonObject {
  const out: JsonObject = {
    name: readSafely(() => String(error.name)),
    message: readSafely(() => capString(String(error.message))),
  };
  const stack = readSafely(() => (typeof error.stack === 'string' ? capString(error.stack) : null));
  if (stack !== null) out.stack = stack;
  if ('cause' in error && error.cause !== undefined) out.cause = readSafely(() => convert(error.cause, ancestors, depth + 1));
  const rest = convertPlain(error, ancestors, depth);
  for (const key of Object.keys(rest)) if (!(key in out)) out[key] = rest[key] as JsonValue;
  return out;
}

/** Reads and maps one property; undefined (and a property holding undefined) is left out. */
function readProperty(value: object, key: string, ancestors: object[], depth: number): JsonValue | undefined {
  try {
    const property: unknown = (value as Record<string, unknown>)[key];
    if (property === undefined) return undefined;
    return convert(property, ancestors, depth + 1);
  } catch (error) {
    return unserializable(error);
  }
}

function readSafely(read: () => JsonValue): JsonValue {
  try {
    return read();
  } catch (error) {
    return unserializable(error);
  }
}

function unserializable(error: unknown): string {
  let message: string;
  try {
    message = error instanceof Error ? String(error.message) : String(error);
  } catch {
    message = 'unreadable error';
  }
  return `[Unserializable: ${message.length > 200 ? `${message.slice(0, 200)}…` : message}]`;
}

function capString(text: string): string {
  return text.length > maxStringLength ? `${text.slice(0, maxStringLength)}…[truncated ${text.length - maxStringLength} chars]` : text;
}

function functionName(fn: unknown): string {
  try {
    const name = (fn as { name?: unknown }).name;
    return typeof name === 'string' && name.length > 0 ? name : 'anonymous';
  } catch {
    return 'anonymous';
  }
}

function binaryLabel(value: object): string {
  const tag = objectToString.call(value).slice(8, -1);
  // A typed array or Buffer counts items; ArrayBuffer, SharedArrayBuffer and DataView have no `length` and count bytes.
  const length = (value as { length?: number }).length ?? (value as { byteLength: number }).byteLength;
  return `[${tag}(${String(length)})]`;
}
