/**
 * Cutting an event down to `maxEventBytes`, deterministically: the same
 * input always gives the same output, so every retry and every split half
 * carries the same content. Runs only for events over the cap.
 */
import type { JsonObject, JsonValue } from './json.js';
import { setOwnEntry } from './own-entry.js';

/** The key of the marker that says what was cut from an `event_data`. */
export const MARKER_KEY = '…';
/** Names of dropped keys listed in the marker at most. */
export const MAX_LISTED_KEYS = 8;
/** JSON bytes of each dropped key name listed in the marker at most, quotes included. */
export const LISTED_KEY_BYTES = 40;
/**
 * Bytes kept free for the marker: its fixed fields with 16-digit numbers,
 * plus `MAX_LISTED_KEYS` names of `LISTED_KEY_BYTES` each, rounded up.
 */
export const MARKER_RESERVE = 480;

/** The UTF-8 size of `value` as JSON. */
export function jsonBytes(value: JsonValue): number {
  return Buffer.byteLength(JSON.stringify(value));
}

function cut(text: string, kept: number): string {
  return `${text.slice(0, kept)}…[truncated ${text.length - kept} chars]`;
}

/**
 * `text` when its JSON fits in `budget` bytes, else the longest prefix
 * followed by `…[truncated N chars]` (N counts UTF-16 code units) that fits,
 * or `''` when not even the marker fits.
 */
export function cutString(text: string, budget: number): string {
  if (jsonBytes(text) <= budget) return text;
  const fits = (kept: number) => jsonBytes(cut(text, kept)) <= budget;
  if (!fits(0)) return '';
  // The size grows with the prefix (a longer prefix adds at least a byte, a
  // shorter count removes at most one), so a binary search finds the longest.
  let low = 0;
  // Keeping the whole text never fits: it did not fit even without the marker.
  let high = text.length;
  while (low < high) {
    const middle = Math.ceil((low + high) / 2);
    if (fits(middle)) low = middle;
    else high = middle - 1;
  }
  return cut(text, low);
}

/**
 * The top-level keys of `data` in order while they fit in `budget` bytes
 * (at least `MARKER_RESERVE`) with the marker, then a string value that does
 * not fit whole cut to fit, then the marker under `"…"`:
 * `{ truncated: true, originalBytes, keptKeys, droppedKeys, droppedKeyCount }`,
 * `droppedKeys` naming the first `MAX_LISTED_KEYS` dropped keys, each cut to
 * `LISTED_KEY_BYTES`. Called only when `data` is over `budget`.
 */
export function capEventData(data: JsonObject, budget: number, originalBytes: number): JsonObject {
  const keys = Object.keys(data);
  const out: JsonObject = {};
  // The braces and the marker; each kept entry adds its key, colon, value and comma.
  let used = 2 + MARKER_RESERVE;
  let kept = 0;
  for (; kept < keys.length; kept++) {
    const key = keys[kept] as string;
    const entry = jsonBytes(key) + jsonBytes(data[key] as JsonValue) + 2;
    if (used + entry > budget) break;
    setOwnEntry(out, key, data[key] as JsonValue);
    used += entry;
  }
  const next = keys[kept];
  if (next !== undefined) {
    const value = data[next];
    const shortened = typeof value === 'string' ? cutString(value, budget - used - jsonBytes(next) - 2) : '';
    if (shortened !== '') {
      setOwnEntry(out, next, shortened);
      kept++;
    }
  }
  const dropped = keys.slice(kept);
  out[MARKER_KEY] = {
    truncated: true,
    originalBytes,
    keptKeys: kept,
    droppedKeys: dropped.slice(0, MAX_LISTED_KEYS).map((key) => cutString(key, LISTED_KEY_BYTES)),
    droppedKeyCount: dropped.length,
  };
  return out;
}
