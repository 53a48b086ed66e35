/**
 * The end of the demo: `session.close()`, SESSION_END at the backend, and
 * the summary, whose books must balance and which, against the fake Tinker
 * API, counts its heartbeats and validation violations.
 */
import { DROP_REASONS, type DropReason } from '../src/index.js';
import { eventsAtFake } from './backend.js';
import { type DemoContext, step } from './context.js';
import type { LiveSummary } from './live.js';
import { dottedState } from './machines.js';

/** Drops of events that had been accepted: with `deliveredCounter`, they account for every accepted event. */
const AFTER_ACCEPTANCE: readonly DropReason[] = ['retries_exhausted', 'rejected', 'shutdown', 'internal_error'];

/** Closes the session within `timeoutMs` and prints what reached the fake at the end. */
export async function closeSession(context: DemoContext, timeoutMs: number): Promise<void> {
  const { session, fake, transcript } = context;
  step(context, 'session.close(): the heartbeat stops, open futures are aborted, SESSION_END is sent and the queue drained');
  await session.close(timeoutMs);
  if (session.reporter?.log('demo.late', {}) === false) transcript.say('  (a log() after close() is refused)');
  if (fake === undefined) return;
  const events = eventsAtFake(fake, session.sessionId);
  const ends = events.filter((event) => event.event === 'SESSION_END');
  const last = events.at(-1);
  if (ends.length === 1 && last?.event === 'SESSION_END') {
    transcript.say(`  at the fake: SESSION_END delivered, the last of ${events.length} events of ${session.sessionId} (duration ${last.duration ?? '?'})`);
  } else {
    context.problems.push(`the fake holds ${ends.length} SESSION_END events for ${session.sessionId}, and its last event is ${last?.event ?? 'none'}`);
  }
}

/** Prints the summary, and returns it for the live view; `ok` is false when the books do not balance or anything went otherwise than planned. */
export function summarise(context: DemoContext): { summary: LiveSummary; ok: boolean } {
  const { session, fake, transcript, problems } = context;
  const stats = session.reporter?.stats();
  if (stats === undefined) throw new Error('the session has no reporter although the demo enables telemetry');
  const droppedAfter = AFTER_ACCEPTANCE.reduce((sum, reason) => sum + stats.dropped[reason], 0);
  const balanced = stats.deliveredCounter + droppedAfter === stats.pushCounter;
  const drained = stats.state === 'ended' && stats.dropped.shutdown === 0;
  const heartbeats = fake?.heartbeats.filter((beat) => beat.sessionId === session.sessionId).length;
  const violations = fake?.violations.length;
  const held = fake === undefined ? '' : ` (the fake holds ${eventsAtFake(fake, session.sessionId).length} distinct events of ${session.sessionId})`;
  const lines = [
    '',
    'summary',
    `  session    ${session.sessionId} (issued by ${fake === undefined ? 'the backend' : 'the fake Tinker API'}), ${dottedState(session.state)}`,
    ...(heartbeats === undefined ? [] : [`  heartbeats ${heartbeats} accepted by the fake`]),
    `  accepted   ${stats.pushCounter}`,
    `  delivered  ${stats.deliveredCounter}${held}`,
    `  dropped    ${DROP_REASONS.map((reason) => `${reason}=${stats.dropped[reason]}`).join(' ')}`,
    `  delivered + dropped after acceptance = ${stats.deliveredCounter + droppedAfter} ${balanced ? '= accepted ✓' : '≠ accepted ✗'}`,
    `  drained before the deadline: ${drained}`,
    ...(violations === undefined ? [] : [`  validation violations at the fake: ${violations} ${violations === 0 ? '✓' : '✗'}`]),
    ...problems.map((problem) => `  ✗ ${problem}`),
    '',
  ];
  for (const line of lines) transcript.always(line);
  const summary: LiveSummary = {
    sessionId: session.sessionId,
    accepted: stats.pushCounter,
    delivered: stats.deliveredCounter,
    dropped: stats.dropped,
    balanced,
    drained,
    heartbeats,
    violations,
  };
  return { summary, ok: balanced && (violations ?? 0) === 0 && problems.length === 0 };
}
