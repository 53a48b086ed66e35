/** Shape checks shared by the readers of spool files and journals: what they read was written by an earlier process and is trusted no further than this. */

/** The four event types the server accepts, as found in a stored event's `event` field. */
const EVENT_TYPES: readonly unknown[] = ['SESSION_START', 'SESSION_END', 'UNHANDLED_EXCEPTION', 'GENERIC_EVENT'];

/** A plain JSON object (not null, not an array). */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Whether `value` is a stored wire event: an object with a known type, a string id and an integer index. */
export function isStoredEvent(value: unknown): value is Record<string, unknown> & { event_session_index: number } {
  return isRecord(value) && EVENT_TYPES.includes(value.event) && typeof value.event_id === 'string' && Number.isInteger(value.event_session_index);
}

/** Whether `value` has exactly the envelope's string fields, each non-empty (`fields` sorted, comma-separated). */
export function hasStringFields(value: Record<string, unknown>, fields: string): boolean {
  return Object.keys(value).sort().join(',') === fields && Object.values(value).every((field) => typeof field === 'string' && field !== '');
}
