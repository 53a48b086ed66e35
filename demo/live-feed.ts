/**
 * What the live view's page is fed: the snapshot of the run (the state of
 * each machine, the reporter's counters, recent batches, transitions, drops
 * and notes) and the frames that update it. The session machine's
 * transitions are handed in; once it follows a reporter, the feed listens to
 * the channels of that reporter's session: the reporter's transitions,
 * batches and drops, and the session's heartbeats, queue changes and failed
 * futures, as notes.
 */
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import {
  CHANNELS,
  type DropCounts,
  FUTURE_CHANNELS,
  type FuturePayload,
  type HttpRequestStopPayload,
  type QueueStateChangePayload,
  type ReporterStats,
  type TelemetryBatchFailedPayload,
  type TelemetryBatchSentPayload,
  type TelemetryEventDroppedPayload,
  type TelemetryStatePayload,
} from '../src/index.js';
import { type MachineTransition, dottedState } from './machines.js';
import { HEARTBEAT_PATH } from './transcript.js';

/** The machine whose transitions come from `tinker:telemetry:state` once the feed follows a reporter. */
export const REPORTER_MACHINE = 'reporter';

/** What the live view reads from the reporter it follows. */
export interface ObservedReporter {
  /** The session whose channel messages are shown. */
  readonly sessionId: string;
  /** The reporter's counters; undefined while it has not started. */
  stats(): ReporterStats | undefined;
}

/** The books of a finished run, as the demo prints them. */
export interface LiveSummary {
  /** The id the server issued for the session. */
  sessionId: string;
  accepted: number;
  delivered: number;
  dropped: DropCounts;
  /** delivered + dropped after acceptance = accepted. */
  balanced: boolean;
  /** The reporter drained before the close deadline. */
  drained: boolean;
  /** Heartbeats the fake Tinker API accepted; undefined against a real backend. */
  heartbeats: number | undefined;
  /** Requests the fake Tinker API refused as invalid (422); undefined against a real backend. */
  violations: number | undefined;
}

/** What a note in the activity feed is about. */
export type NoteKind = 'beat' | 'queue' | 'future' | 'backend' | 'session';

/** The run as the page sees it, and what changes it. */
export interface LiveFeed {
  /** The whole present state, to send as JSON to a page that connects (or reconnects); its counters read fresh. */
  snapshot(): object;
  /** A transition of a machine that has no channel (the session's). */
  transition(transition: MachineTransition): void;
  /** Follows `reporter` from now on; later calls do nothing. */
  follow(reporter: ObservedReporter): void;
  /** Adds a line to the activity feed. */
  note(kind: NoteKind, text: string): void;
  /** Announces the step the demo is in. */
  step(title: string): void;
  /** Sends fresh counters, once per turn, and only when someone watches. */
  sample(): void;
  /** Sends the final counters and the summary. */
  finish(summary: LiveSummary): void;
  /** Stops listening to the channels. */
  dispose(): void;
}

/** Counters as the page gets them: `stats()` with the state as a dotted name. */
type WireStats = Omit<ReporterStats, 'state' | 'sessionEnded'> & { state: string };

interface BatchRow {
  atMs: number;
  size: number;
  attempt: number;
  durationMs: number;
  /** The HTTP status, or the failure's kind or reason when there is none. */
  outcome: string;
  ok: boolean;
  /** `retry` (with `delayMs`), `split`, `dropped`, or undefined on success. */
  next: 'retry' | 'split' | 'dropped' | undefined;
  delayMs: number | undefined;
}

interface TransitionRow {
  atMs: number;
  machine: string;
  from: string;
  to: string;
  event: string;
}

interface NoteRow {
  atMs: number;
  kind: NoteKind;
  text: string;
}

interface Snapshot {
  /** The session's id; empty until the server has issued it. */
  sessionId: string;
  startedAtMs: number;
  /** The current state of each machine, by id; absent for a machine that has not started. */
  states: Record<string, string>;
  /** The last transition of each machine, by id, for the arrow drawn as taken. */
  lastTransitions: Record<string, TransitionRow>;
  stats: WireStats | undefined;
  step: string;
  phase: 'running' | 'done';
  batches: BatchRow[];
  transitions: TransitionRow[];
  drops: { atMs: number; reason: string; count: number }[];
  notes: NoteRow[];
  summary: LiveSummary | undefined;
}

const RECENT_BATCHES = 20;
const RECENT_TRANSITIONS = 16;
const RECENT_DROPS = 10;
const RECENT_NOTES = 16;

function wireStats(stats: ReporterStats): WireStats {
  return {
    state: dottedState(stats.state),
    queueSize: stats.queueSize,
    queueBytes: stats.queueBytes,
    inFlight: stats.inFlight,
    pushCounter: stats.pushCounter,
    flushCounter: stats.flushCounter,
    deliveredCounter: stats.deliveredCounter,
    dropped: { ...stats.dropped },
    spooled: stats.spooled,
    replayed: stats.replayed,
    replayDropped: stats.replayDropped,
    recovered: stats.recovered,
    spoolCorrupt: stats.spoolCorrupt,
    spoolErrors: stats.spoolErrors,
  };
}

function pushBounded<T>(list: T[], item: T, limit: number): void {
  list.push(item);
  if (list.length > limit) list.splice(0, list.length - limit);
}

/**
 * Makes the feed: `send(type, data)` writes one Server-Sent Event to every
 * page; `watched()` says whether any page is connected, so that `stats()`
 * is only read for someone.
 */
export function createLiveFeed(send: (type: string, data: unknown) => void, watched: () => boolean): LiveFeed {
  const snapshot: Snapshot = {
    sessionId: '',
    startedAtMs: Date.now(),
    states: {},
    lastTransitions: {},
    stats: undefined,
    step: '',
    phase: 'running',
    batches: [],
    transitions: [],
    drops: [],
    notes: [],
    summary: undefined,
  };

  let reporter: ObservedReporter | undefined;
  const readStats = () => {
    const stats = reporter?.stats();
    if (stats !== undefined) snapshot.stats = wireStats(stats);
    return snapshot.stats;
  };
  // Channel messages come in bursts within one turn (a batch's outcome, the
  // transition, a drop); one stats frame per turn is enough, and `stats()`
  // is only read when someone watches.
  let sampleQueued = false;
  const sampleNow = () => {
    sampleQueued = false;
    const stats = readStats();
    if (stats !== undefined) send('stats', stats);
  };
  const sample = () => {
    if (sampleQueued || !watched()) return;
    sampleQueued = true;
    setImmediate(sampleNow);
  };

  const transition = ({ machine, from, to, event }: Pick<TransitionRow, 'machine' | 'from' | 'to' | 'event'>) => {
    const row: TransitionRow = { atMs: Date.now(), machine, from, to, event };
    snapshot.states[machine] = to;
    snapshot.lastTransitions[machine] = row;
    pushBounded(snapshot.transitions, row, RECENT_TRANSITIONS);
    send('state', row);
    sample();
  };

  const ours = (message: unknown) => reporter !== undefined && (message as { sessionId?: unknown }).sessionId === reporter.sessionId;
  const onState = (message: unknown) => {
    if (!ours(message)) return;
    const { from, to, event } = message as TelemetryStatePayload;
    transition({ machine: REPORTER_MACHINE, from, to, event });
  };
  const onBatch = (row: BatchRow) => {
    pushBounded(snapshot.batches, row, RECENT_BATCHES);
    send('batch', row);
    sample();
  };
  const onSent = (message: unknown) => {
    if (!ours(message)) return;
    const m = message as TelemetryBatchSentPayload;
    onBatch({
      atMs: Date.now(),
      size: m.size,
      attempt: m.attempt,
      durationMs: m.durationMs,
      outcome: String(m.status),
      ok: true,
      next: undefined,
      delayMs: undefined,
    });
  };
  const onFailed = (message: unknown) => {
    if (!ours(message)) return;
    const m = message as TelemetryBatchFailedPayload;
    const next = !m.willRetry ? 'dropped' : m.kind === 'too_large' ? 'split' : 'retry';
    const outcome = m.status !== undefined ? String(m.status) : (m.reason ?? m.kind);
    onBatch({ atMs: Date.now(), size: m.size, attempt: m.attempt, durationMs: m.durationMs, outcome, ok: false, next, delayMs: m.delayMs });
  };
  // A full queue refuses events one by one: drops of one reason in one turn become one row.
  let pendingDrop: { atMs: number; reason: string; count: number } | undefined;
  const flushDrop = () => {
    if (pendingDrop === undefined) return;
    const row = pendingDrop;
    pendingDrop = undefined;
    pushBounded(snapshot.drops, row, RECENT_DROPS);
    send('drop', row);
    sample();
  };
  const onDropped = (message: unknown) => {
    if (!ours(message)) return;
    const { reason, count } = message as TelemetryEventDroppedPayload;
    if (pendingDrop?.reason === reason) {
      pendingDrop.count += count;
      return;
    }
    flushDrop();
    pendingDrop = { atMs: Date.now(), reason, count };
    setImmediate(flushDrop);
  };
  const note = (kind: NoteKind, text: string) => {
    const row: NoteRow = { atMs: Date.now(), kind, text };
    pushBounded(snapshot.notes, row, RECENT_NOTES);
    send('note', row);
    sample();
  };
  let beats = 0;
  const onHttpStop = (message: unknown) => {
    if (!ours(message)) return;
    const m = message as HttpRequestStopPayload;
    if (m.path === HEARTBEAT_PATH) note('beat', `heartbeat #${++beats} → ${m.status}`);
  };
  const onQueue = (message: unknown) => {
    if (!ours(message)) return;
    const m = message as QueueStateChangePayload;
    note('queue', `queue ${m.requestId}: ${m.from ?? '(new)'} → ${m.to}`);
  };
  const onFuture = (channel: string) => (message: unknown) => {
    if (!ours(message)) return;
    const m = message as FuturePayload;
    const category = m.category === undefined ? '' : `, category ${m.category}`;
    note('future', `future ${m.requestId} ${m.requestType}: ${channel.slice(channel.lastIndexOf(':') + 1)}${category}`);
  };
  const subscriptions: [string, (message: unknown) => void][] = [
    [CHANNELS.telemetryState, onState],
    [CHANNELS.telemetryBatchSent, onSent],
    [CHANNELS.telemetryBatchFailed, onFailed],
    [CHANNELS.telemetryEventDropped, onDropped],
    [CHANNELS.httpRequestStop, onHttpStop],
    [CHANNELS.queueStateChange, onQueue],
    ...FUTURE_CHANNELS.map((channel): [string, (message: unknown) => void] => [channel, onFuture(channel)]),
  ];
  for (const [name, listener] of subscriptions) subscribe(name, listener);

  return {
    snapshot() {
      readStats();
      return snapshot;
    },
    transition,
    follow(observed) {
      if (reporter !== undefined) return;
      reporter = observed;
      snapshot.sessionId = observed.sessionId;
      send('session', { sessionId: observed.sessionId });
    },
    note,
    step(title) {
      snapshot.step = title;
      send('step', { title, atMs: Date.now() });
      sample();
    },
    sample,
    finish(summary) {
      flushDrop();
      const stats = readStats();
      if (stats !== undefined) snapshot.states[REPORTER_MACHINE] = stats.state;
      snapshot.phase = 'done';
      snapshot.summary = summary;
      if (stats !== undefined) send('stats', stats);
      send('done', { stats, states: snapshot.states, summary });
    },
    dispose() {
      for (const [name, listener] of subscriptions) unsubscribe(name, listener);
    },
  };
}
