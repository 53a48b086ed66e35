/**
 * The budget of one snapshot (see `serialize.ts`): the JSON code units its
 * copy has taken and may take, the values it may still visit, and the key
 * to redact from what it cuts. Module state, so the common case allocates
 * nothing for it; a snapshot taken inside another (a getter that logs)
 * saves and restores it, so it has a budget of its own.
 */
import type { JsonObject, JsonValue } from './json.js';

/** What ends an array, and is the value of an object's `"…"` key, when the snapshot's budget stopped its walk there. */
export const BUDGET_MARKER = '…[snapshot budget exhausted]';

/** The JSON of the larger marker, `"…":"…[snapshot budget exhausted]"`, with its comma. */
export const MARKER_CHARS = BUDGET_MARKER.length + 7;

/**
 * Room a string cut by the budget keeps for its `…[truncated N chars]` (N
 * of up to 9 digits: 28 code units) and for a key that `redactCut` moves
 * the cut past (its `[redacted]` adds up to 9 for a key of 10 or more).
 */
export const CUT_RESERVE = 40;

/** The snapshot being taken. */
export const budget = {
  /** JSON code units the copy has taken so far, its pending closing brackets aside. */
  usedChars: 0,
  /** What `usedChars` may reach before the walk stops: `maxChars` less the room kept for markers. */
  charLimit: 0,
  /** Values the walk may still visit. */
  nodesLeft: 0,
  /** Redacted from every string the snapshot cuts; `''` for none. */
  secret: '',
  /** JSON code units (quotes included) of the strings the snapshot cut and counted in `cutBytes`; part of `usedChars`. */
  cutChars: 0,
  /** The exact UTF-8 size, as JSON, of the strings counted in `cutChars`. */
  cutBytes: 0,
};

/**
 * Whether the walk may visit one more value, taking `chars` more code units
 * at least; asked once before each item, entry or field, so it also counts
 * the visit.
 */
export function hasRoom(chars: number): boolean {
  return --budget.nodesLeft >= 0 && budget.usedChars + chars <= budget.charLimit;
}

/**
 * Ends an array: the marker when the budget stopped the walk in it, and the
 * closing bracket of an empty one (each item counted the comma or bracket
 * after it).
 */
export function closeArray(out: JsonValue[], stopped: boolean): JsonValue[] {
  if (stopped) {
    out.push(BUDGET_MARKER);
    budget.usedChars += BUDGET_MARKER.length + 3;
  } else if (out.length === 0) budget.usedChars++;
  return out;
}

/** Ends an object of `entries` entries, as `closeArray` does, the marker under `"…"`. */
export function closeObject(out: JsonObject, entries: number, stopped: boolean): JsonObject {
  if (stopped) {
    out['…'] = BUDGET_MARKER;
    budget.usedChars += MARKER_CHARS;
  } else if (entries === 0) budget.usedChars++;
  return out;
}
