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
 * | Map | an array of `[key, value]` pairs, read from its iterator only as far as they are kept |
 * | Set | an array of its values, read the same way |
 * | ArrayBuffer, typed array, DataView, Buffer | `"[Uint8Array(16)]"`: the type and its length |
 * | an object with a `toJSON` method | what `toJSON` returns, mapped again without calling its own `toJSON` (as `JSON.stringify` does) |
 * | any other object, class instances included | its own enumerable string-keyed properties, `__proto__` included |
 * | a cycle | `"[Circular]"` (a shared, acyclic reference is copied at each place) |
 * | deeper than `maxDepth` | `"[Object]"` or `"[Array]"` |
 * | more than `maxKeys` keys / `maxArrayLength` items | the first ones, then `"…": "N more keys"` / `"…N more items"` |
 * | a value that throws when read (getter, Proxy, `toJSON`) | `"[Unserializable: message]"` |
 * | past the snapshot's budget | the walk stops: each array it left unfinished ends in `"…[snapshot budget exhausted]"`, each such object gets `"…": "…[snapshot budget exhausted]"`, and a string it reached is cut to the room left, with `…[truncated N chars]` |
 *
 * **The budget.** One snapshot visits at most `maxNodes` values (a shared
 * reference counts at each place it is copied) and writes at most about
 * `maxChars` of JSON: the walk counts, as it builds the copy, the UTF-16
 * code units the copy's JSON takes (strings, keys, punctuation, and
 * numbers, exactly up to 15 significant digits and at most 1 over beyond;
 * escapes such as `\"` and `\u0000` count as one), and keeps back
 * `RESERVE_CHARS` for its markers, so for any `maxChars` of 1024 or more
 * the count stays within it. `lastSnapshotChars()` reports the count.
 * Whatever the shape of the input (a DAG of shared references, a Map of
 * millions of entries, a 50 MB string, a getter that returns a fresh
 * object on each read, a `toJSON` that returns a huge array), the work is
 * bounded by these two numbers and the per-node limits, not by the size
 * of the input. The engine's own work on the host's objects is not:
 * `Object.keys` of an object with a million keys, and whatever getters,
 * `toJSON` or Proxy traps do.
 *
 * **Strings.** A cut string has `secret` redacted first (an API key that
 * straddles the cut is left out whole, never in part; see `redactCut`).
 * Strings kept whole are redacted at send time with the rest of the event.
 * Every string of 13 code units or more is copied flat, cut or not, because
 * V8 represents a slice as a view of its parent: a 100-character
 * `body.slice(0, 100)` would otherwise keep the whole body alive for as
 * long as the event is queued, which the queue's size accounting cannot
 * see. Measured (BENCHMARKS.md, "Hostile inputs"): 200 queued events each
 * holding a 100-character slice of its own 4 MiB string kept 800 MiB alive
 * without the copy and none with it; the copy costs 40–70 ns per string
 * of 13 or more code units. Object keys are not copied: the engine
 * internalizes property names, which never views a larger string.
 */
import type { JsonObject, JsonValue } from './json.js';
import { int32Chars, numberChars } from './json-length.js';
import { setOwnEntry } from './own-entry.js';
import { REDACTED, flat, redactCut } from './redact.js';
import { BUDGET_MARKER, CUT_RESERVE, MARKER_CHARS, budget, closeArray, closeObject, hasRoom } from './snapshot-budget.js';
import { jsonBytes } from './truncate.js';

export { BUDGET_MARKER };

export type { JsonObject, JsonValue } from './json.js';

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
  /**
   * Values visited per snapshot (50 000), a shared reference counted at each
   * place it is copied; then the walk stops with the budget marker. More
   * than the default budget of chars can hold (every value written takes
   * two or more), so it stops the walk only where chars do not: properties
   * holding undefined, or a larger `maxChars`. Walking 50 000 values took
   * 0.6–1.3 ms on the machine of BENCHMARKS.md ("Hostile inputs"), well
   * within the 5 ms one `log()` may take on any input.
   */
  maxNodes: 50_000,
} as const);

/** The JSON length, in UTF-16 code units, one snapshot takes at most by default (65 536): the default `maxEventBytes`. */
export const DEFAULT_SNAPSHOT_CHARS = 65_536;

const { maxDepth, maxKeys, maxArrayLength, maxStringLength, maxNodes } = SERIALIZE_LIMITS;
// Taken unbound on purpose and only ever run with `.call(value)`: the snapshot uses the built-ins, not
// what a subclass or the value itself may put in their place.
/* eslint-disable @typescript-eslint/unbound-method */
const objectToString = Object.prototype.toString;
const hasOwn = Object.prototype.hasOwnProperty;
const dateTime = Date.prototype.getTime;
const dateIso = Date.prototype.toISOString;
/* eslint-enable @typescript-eslint/unbound-method */

/**
 * Kept back from `maxChars` for what the walk writes once the budget has
 * run out: a marker and a closing bracket for each level it can have open
 * (the levels, a Map's pairs, and `toEventData`'s `{"value":…}`), and the
 * one value being written as it ran out (a number of up to 24 code units,
 * or a cut string's suffix): 408 code units.
 */
export const RESERVE_CHARS = (maxDepth + 2) * (MARKER_CHARS + 1) + CUT_RESERVE + 8;

/** The JSON length of the last top-level snapshot. */
let lastChars = 0;
/** `budget.cutChars` and `budget.cutBytes` of the last top-level snapshot. */
let lastCutChars = 0;
let lastCutBytes = 0;

/**
 * The JSON-safe form of `value`; see the module comment for the mapping and
 * the budget: at most `maxChars` (default `DEFAULT_SNAPSHOT_CHARS`) UTF-16
 * code units of JSON for a `maxChars` of at least 1024 (one that is not a
 * number counts as 0, which keeps only a marker), with `secret` (default
 * none) redacted from every string it cuts. Never throws.
 */
export function toJsonSafe(value: unknown, maxChars: number = DEFAULT_SNAPSHOT_CHARS, secret = ''): JsonValue {
  return snapshot(value, maxChars, secret, false);
}

/**
 * The `event_data` of a GENERIC_EVENT: `{}` for undefined or null, the mapped
 * object for an object, and `{ value: … }` for anything that does not map to
 * an object (a string, a number, an array, a Map). Always a fresh object,
 * within the budget of `toJsonSafe`, `{"value":…}` included.
 */
export function toEventData(data: unknown, maxChars: number = DEFAULT_SNAPSHOT_CHARS, secret = ''): JsonObject {
  return snapshot(data, maxChars, secret, true) as JsonObject;
}

/**
 * The JSON length, in UTF-16 code units, of what the most recent top-level
 * `toJsonSafe` or `toEventData` call returned: exact but for escapes (`\"`,
 * `\n`, `\u0000` count as one) and for numbers of 16 or 17 significant
 * digits, counted 1 over at most. Set as that call
 * returns, so a snapshot taken inside it (a getter that logs) does not
 * change what it reports. 0 before the first call.
 */
export function lastSnapshotChars(): number {
  return lastChars;
}

/**
 * The part of `lastSnapshotChars()` taken by strings the snapshot cut, in
 * UTF-16 code units of JSON, quotes included: the strings whose exact UTF-8
 * size `lastSnapshotCutBytes()` gives. Set with it.
 */
export function lastSnapshotCutChars(): number {
  return lastCutChars;
}

/**
 * The exact UTF-8 size, as JSON, of the strings `lastSnapshotCutChars()`
 * counts. With it, what the rest of the snapshot takes can be bounded and
 * the cut strings counted as they are (see `countCut`). Set with it.
 */
export function lastSnapshotCutBytes(): number {
  return lastCutBytes;
}

/** Whether a snapshot is being taken: one taken meanwhile (a getter that logs) is nested in it. */
let walking = false;

function snapshot(value: unknown, maxChars: number, secret: string, asEventData: boolean): JsonValue {
  if (walking) return nestedSnapshot(value, maxChars, secret, asEventData);
  walking = true;
  budget.usedChars = 0;
  budget.charLimit = (typeof maxChars === 'number' && maxChars > 0 ? maxChars : 0) - RESERVE_CHARS;
  // The top value is the first visit.
  budget.nodesLeft = maxNodes - 1;
  budget.secret = typeof secret === 'string' ? secret : '';
  budget.cutChars = 0;
  budget.cutBytes = 0;
  try {
    // Nothing here throws: objects are read inside a try, and primitives printed with String().
    let out: JsonValue;
    if (asEventData && (value === undefined || value === null)) {
      out = {};
      budget.usedChars = 2;
    } else out = convert(value, [], 0);
    if (asEventData && (out === null || typeof out !== 'object' || Array.isArray(out))) {
      out = { value: out };
      // {"value":…}
      budget.usedChars += 10;
    }
    lastChars = budget.usedChars;
    lastCutChars = budget.cutChars;
    lastCutBytes = budget.cutBytes;
    return out;
  } finally {
    walking = false;
  }
}

/**
 * A snapshot taken while another is being taken: it sets the outer one's
 * budget aside and gives it back, so the common case, a snapshot taken
 * alone, does not pay for saving a budget nothing else uses.
 */
function nestedSnapshot(value: unknown, maxChars: number, secret: string, asEventData: boolean): JsonValue {
  const { usedChars, charLimit, nodesLeft, secret: outerSecret, cutChars, cutBytes } = budget;
  walking = false;
  try {
    return snapshot(value, maxChars, secret, asEventData);
  } finally {
    walking = true;
    budget.usedChars = usedChars;
    budget.charLimit = charLimit;
    budget.nodesLeft = nodesLeft;
    budget.secret = outerSecret;
    budget.cutChars = cutChars;
    budget.cutBytes = cutBytes;
  }
}

function convert(value: unknown, ancestors: object[], depth: number): JsonValue {
  switch (typeof value) {
    case 'string':
      return keepString(value);
    case 'number':
      // Most numbers are small integers: `| 0` keeps one unchanged (and makes −0 0).
      if ((value | 0) === value) {
        budget.usedChars += int32Chars(value);
        return value | 0;
      }
      if (Number.isFinite(value)) {
        budget.usedChars += numberChars(value);
        return value;
      }
      return keepString(Number.isNaN(value) ? 'NaN' : value > 0 ? 'Infinity' : '-Infinity', false);
    case 'boolean':
      budget.usedChars += value ? 4 : 5;
      return value;
    case 'undefined':
      budget.usedChars += 4;
      return null;
    case 'bigint':
      // String(), unlike toString(), cannot be replaced by the host, so it cannot throw.
      return keepString(String(value), false);
    case 'symbol':
      // The description is the caller's string, so the label is copied.
      return keepString(String(value));
    case 'function':
      return keepString(`[Function ${functionName(value)}]`);
    default:
      if (value === null) {
        budget.usedChars += 4;
        return null;
      }
      return convertObject(value as object, ancestors, depth, true);
  }
}

function convertObject(value: object, ancestors: object[], depth: number, callToJSON: boolean): JsonValue {
  // Depth is bounded, so a linear scan of the ancestors beats a WeakSet.
  if (ancestors.length > 0 && ancestors.includes(value)) return keepString('[Circular]', false);
  // What a throw leaves half-built is replaced by the Unserializable label: its count and the
  // ancestors it pushed are taken back.
  const usedBefore = budget.usedChars;
  const ancestorsBefore = ancestors.length;
  try {
    // Most data is plain objects: one prototype check spares them the tests for every other kind.
    if (Object.getPrototypeOf(value) !== Object.prototype || Array.isArray(value)) {
      const special = convertKind(value, ancestors, depth);
      if (special !== undefined) return special;
    }
    const toJSON = callToJSON ? (value as { toJSON?: unknown }).toJSON : undefined;
    if (typeof toJSON === 'function') {
      const replaced: unknown = toJSON.call(value);
      if (replaced !== value) {
        ancestors.push(value);
        const out = typeof replaced === 'object' && replaced !== null ? convertObject(replaced, ancestors, depth, false) : convert(replaced, ancestors, depth);
        ancestors.pop();
        return out;
      }
    }
    if (depth >= maxDepth) return keepString('[Object]', false);
    ancestors.push(value);
    const keys = Object.keys(value);
    budget.usedChars++;
    const out = convertPlain(value, keys, ancestors, depth);
    ancestors.pop();
    return out;
  } catch (error) {
    ancestors.length = ancestorsBefore;
    budget.usedChars = usedBefore;
    return unserializable(error);
  }
}

/** A Date, array, binary data, Map, Set or Error, mapped; undefined for any other object. May throw. */
function convertKind(value: object, ancestors: object[], depth: number): JsonValue | undefined {
  if (value instanceof Date) {
    const time = dateTime.call(value);
    return keepString(Number.isNaN(time) ? 'Invalid Date' : dateIso.call(value), false);
  }
  if (Array.isArray(value)) {
    if (depth >= maxDepth) return keepString('[Array]', false);
    ancestors.push(value);
    const out = convertArray(value, ancestors, depth);
    ancestors.pop();
    return out;
  }
  if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer || objectToString.call(value) === '[object SharedArrayBuffer]') {
    return keepString(binaryLabel(value), false);
  }
  if (value instanceof Map || value instanceof Set) {
    if (depth >= maxDepth) return keepString('[Array]', false);
    ancestors.push(value);
    const out = convertIterated(value instanceof Map ? value.entries() : value.values(), value.size, ancestors, depth);
    ancestors.pop();
    return out;
  }
  if (value instanceof Error) {
    if (depth >= maxDepth) return keepString('[Object]', false);
    ancestors.push(value);
    const out = convertError(value, ancestors, depth);
    ancestors.pop();
    return out;
  }
  return undefined;
}

function convertArray(list: readonly unknown[], ancestors: object[], depth: number): JsonValue[] {
  const total = list.length;
  const kept = Math.min(total, maxArrayLength);
  const out: JsonValue[] = [];
  budget.usedChars++;
  for (let i = 0; i < kept; i++) {
    if (!hasRoom(1)) return closeArray(out, true);
    out.push(readItem(list, i, ancestors, depth + 1));
    budget.usedChars++;
  }
  if (total > kept) addItem(out, `…${total - kept} more items`);
  return closeArray(out, false);
}

/**
 * The items of a Map or Set, from its own iterator, read only as far as
 * they are kept: a Map of millions of entries is never copied whole.
 */
function convertIterated(iterator: Iterator<unknown>, size: number, ancestors: object[], depth: number): JsonValue[] {
  const kept = Math.min(size, maxArrayLength);
  const out: JsonValue[] = [];
  budget.usedChars++;
  let read = 0;
  while (read < kept) {
    if (!hasRoom(1)) return closeArray(out, true);
    const step = iterator.next();
    if (step.done === true) return closeArray(out, false);
    read++;
    // The iterator has read the value already, and convert never throws.
    out.push(convert(step.value, ancestors, depth + 1));
    budget.usedChars++;
  }
  if (size > read) addItem(out, `…${size - read} more items`);
  return closeArray(out, false);
}

function convertError(error: Error, ancestors: object[], depth: number): JsonObject {
  const out: JsonObject = {};
  let entries = 0;
  budget.usedChars++;
  for (const field of ERROR_FIELDS) {
    const cost = field.length + 4;
    if (!hasRoom(cost)) return closeObject(out, entries, true);
    budget.usedChars += cost;
    const converted = readErrorField(error, field, ancestors, depth);
    if (converted === undefined) budget.usedChars -= cost;
    else {
      out[field] = converted;
      entries++;
    }
  }
  return writeEntries(out, entries, error, Object.keys(error), ancestors, depth);
}

const ERROR_FIELDS = ['name', 'message', 'stack', 'cause'] as const;

/** An Error's own field: name and message always, stack when a string, cause when not undefined. */
function readErrorField(error: Error, field: (typeof ERROR_FIELDS)[number], ancestors: object[], depth: number): JsonValue | undefined {
  try {
    switch (field) {
      case 'name':
        return keepString(String(error.name));
      case 'message':
        return keepString(String(error.message));
      case 'stack': {
        const stack: unknown = error.stack;
        return typeof stack === 'string' ? keepString(stack) : undefined;
      }
      case 'cause':
        return 'cause' in error && error.cause !== undefined ? convert(error.cause, ancestors, depth + 1) : undefined;
    }
  } catch (thrown) {
    return unserializable(thrown);
  }
}

/**
 * The copy of a plain object (or any object without a kind of its own):
 * the properties of `source` named by `keys`, at most `maxKeys` of them,
 * while the budget lasts. `writeEntries` does the same for an Error, whose
 * copy starts with its name, message, stack and cause; this one is apart
 * because `log()` runs it on nearly every call, and an object made here
 * and filled in one place, rather than passed in from two, made the
 * bench's ordinary `log()` 1–2 % faster (BENCHMARKS.md, "Where the time goes").
 */
function convertPlain(source: object, keys: readonly string[], ancestors: object[], depth: number): JsonObject {
  const out: JsonObject = {};
  let entries = 0;
  const kept = Math.min(keys.length, maxKeys);
  for (let i = 0; i < kept; i++) {
    const key = keys[i] as string;
    // The key, its quotes and colon, and the comma or closing brace after the value.
    const cost = key.length + 4;
    if (!hasRoom(cost)) return closeObject(out, entries, true);
    budget.usedChars += cost;
    const converted = readProperty(source, key, ancestors, depth);
    if (converted === undefined) budget.usedChars -= cost;
    else {
      setOwnEntry(out, key, converted);
      entries++;
    }
  }
  return closeEntries(out, entries, keys.length - kept);
}

/**
 * Adds to `out`, which has `entries` entries (an Error's name, message,
 * stack and cause), the properties of `source` named by `keys` that `out`
 * does not have yet, as `convertPlain` does.
 */
function writeEntries(out: JsonObject, entries: number, source: object, keys: readonly string[], ancestors: object[], depth: number): JsonObject {
  const kept = Math.min(keys.length, maxKeys);
  for (let i = 0; i < kept; i++) {
    const key = keys[i] as string;
    if (hasOwn.call(out, key)) continue;
    const cost = key.length + 4;
    if (!hasRoom(cost)) return closeObject(out, entries, true);
    budget.usedChars += cost;
    const converted = readProperty(source, key, ancestors, depth);
    if (converted === undefined) budget.usedChars -= cost;
    else {
      setOwnEntry(out, key, converted);
      entries++;
    }
  }
  return closeEntries(out, entries, keys.length - kept);
}

/** Ends an object of `entries` entries whose `more` further keys were not kept: `"…": "N more keys"` for them. */
function closeEntries(out: JsonObject, entries: number, more: number): JsonObject {
  if (more > 0) {
    // `"…":` and the closing brace.
    budget.usedChars += 5;
    out['…'] = keepString(`${more} more keys`, false);
    entries++;
  }
  return closeObject(out, entries, false);
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

function readItem(list: readonly unknown[], index: number, ancestors: object[], depth: number): JsonValue {
  try {
    return convert(list[index], ancestors, depth);
  } catch (error) {
    return unserializable(error);
  }
}

/** Adds a summary item (`…N more items`) and the comma or bracket after it. */
function addItem(out: JsonValue[], text: string): void {
  out.push(keepString(text, false));
  budget.usedChars++;
}

/**
 * `text` as the snapshot keeps it, counted: whole when it fits in
 * `maxStringLength` and in the budget, else cut to the smaller of the two
 * with `budget.secret` redacted first, ending in `…[truncated N chars]`. A flat
 * copy (see the module comment), unless `copy` is false: a text made here
 * from numbers and fixed words, which views nothing of the caller's.
 */
function keepString(text: string, copy = true): string {
  // The room left for the string's contents, its quotes aside.
  const room = budget.charLimit - budget.usedChars - 2;
  if (text.length <= maxStringLength && text.length <= room) {
    budget.usedChars += text.length + 2;
    return copy ? flat(text) : text;
  }
  const limit = room >= maxStringLength ? maxStringLength : Math.max(0, room - CUT_RESERVE);
  const { kept, omitted } = redactCut(text, limit, budget.secret);
  const marker = omitted === 0 ? '' : `…[truncated ${omitted} chars]`;
  const out = `${kept}${marker}`;
  budget.usedChars += out.length + 2;
  countCut(kept, marker);
  return out;
}

/**
 * Counts a string the snapshot cut, `kept` and then `marker`, by its exact
 * UTF-8 size as JSON. The size is read from the two parts, not from the
 * string they make: reading that would flatten it into one string of 2
 * bytes a code unit (the marker's `…` is above U+00FF), doubling the heap a
 * queued cut takes. Redaction at send time only shortens a string, unless a
 * secret shorter than `[redacted]` occurs in it: such a string is not
 * counted here, and so is left to the bound of the rest.
 */
function countCut(kept: string, marker: string): void {
  const secret = budget.secret;
  if (secret.length > 0 && secret.length < REDACTED.length) {
    if (kept.includes(secret) || `${kept.slice(kept.length - secret.length + 1)}${marker}`.includes(secret)) return;
  }
  budget.cutChars += kept.length + marker.length + 2;
  // The marker is ASCII but for its `…`: 3 bytes in UTF-8 for 1 code unit.
  budget.cutBytes += jsonBytes(kept) + (marker.length > 0 ? marker.length + 2 : 0);
}

function unserializable(error: unknown): string {
  let message: string;
  try {
    message = error instanceof Error ? String(error.message) : String(error);
  } catch {
    message = 'unreadable error';
  }
  // Redacted before the cut, as every string is: the message may quote the key.
  const { kept, omitted } = redactCut(message, 200, budget.secret);
  return keepString(`[Unserializable: ${kept}${omitted > 0 ? '…' : ''}]`);
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
