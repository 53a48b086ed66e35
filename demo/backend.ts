/**
 * What reached the backend: the telemetry the fake Tinker API recorded for
 * the session, read back from `fake.telemetry` (not from the reporter's own
 * counters), so the demo shows the events as the server received them.
 */
import type { JsonValue } from '../src/index.js';
import type { FakeTinker, TelemetryEvent } from '../src/testing.js';
import type { DemoContext } from './context.js';

/** Event names whose every event is printed with its data; the others are counted by method and path. */
const SHOWN_IN_FULL = ['tinker.queue.state_change', 'tinker.future.request_failed'];

/** The distinct events the fake holds for `sessionId` (a batch retried after the server had taken it arrives twice). */
export function eventsAtFake(fake: FakeTinker, sessionId: string): TelemetryEvent[] {
  const seen = new Set<string>();
  const events: TelemetryEvent[] = [];
  for (const batch of fake.telemetry.batches) {
    if (batch.session_id !== sessionId) continue;
    for (const event of batch.events) {
      if (seen.has(event.event_id)) continue;
      seen.add(event.event_id);
      events.push(event);
    }
  }
  return events;
}

/** The `metadata` of a forwarded channel event's data; empty for any other event. */
const metadataOf = (event: TelemetryEvent): Record<string, JsonValue> =>
  (event.event_data as { metadata?: Record<string, JsonValue> } | undefined)?.metadata ?? {};

/**
 * Flushes the session's reporter, then prints, from the fake's records: the
 * batches and the session id they carry, and the events by type and name,
 * the queue changes and the failed request with their data.
 */
export async function showBackendTelemetry(context: DemoContext): Promise<void> {
  const { session, fake, transcript } = context;
  if (fake === undefined) return;
  await session.reporter?.flush({ sync: true });
  const batches = fake.telemetry.batches;
  const ours = batches.filter((batch) => batch.session_id === session.sessionId);
  const others = batches.length - ours.length;
  transcript.say(
    `  at the fake: ${batches.length} batches, ${ours.length === batches.length ? 'every one' : `${ours.length}`} with session_id ${session.sessionId}${others === 0 ? '' : ` (${others} with another id)`}`,
  );
  if (others > 0) context.problems.push(`${others} telemetry batches reached the fake without the session's id ${session.sessionId}`);

  const events = eventsAtFake(fake, session.sessionId);
  const groups = new Map<string, TelemetryEvent[]>();
  for (const event of events) {
    const key = event.event === 'GENERIC_EVENT' ? `GENERIC_EVENT ${event.event_name ?? ''}` : event.event;
    groups.set(key, [...(groups.get(key) ?? []), event]);
  }
  for (const [key, group] of groups) {
    const name = group[0]?.event_name ?? '';
    if (SHOWN_IN_FULL.includes(name)) {
      transcript.say(`  at the fake: ${key}  ×${group.length}`);
      for (const event of group) transcript.say(`                 ${event.severity.padEnd(7)} ${JSON.stringify(event.event_data)}`);
      continue;
    }
    const paths = new Map<string, number>();
    for (const event of group) {
      const { method, path } = metadataOf(event);
      if (typeof method !== 'string' || typeof path !== 'string') continue;
      paths.set(`${method} ${path}`, (paths.get(`${method} ${path}`) ?? 0) + 1);
    }
    const byPath = [...paths].map(([path, n]) => `${path} ×${n}`).join(', ');
    transcript.say(`  at the fake: ${key}  ×${group.length}${byPath === '' ? '' : `  (${byPath})`}`);
  }
  const names = new Set(events.map((event) => event.event_name));
  for (const expected of ['tinker.http.request.stop', 'tinker.queue.state_change', 'tinker.future.request_failed']) {
    if (!names.has(expected)) context.problems.push(`no ${expected} event reached the fake`);
  }
  context.live?.note('backend', `at the fake: ${events.length} events in ${ours.length} batches, all with session_id ${session.sessionId}`);
}
