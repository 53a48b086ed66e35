/**
 * The demo's live view: a `node:http` server on 127.0.0.1 that serves the
 * page under `demo/live/`, the lifecycle graph as JSON, and a stream of
 * Server-Sent Events fed by the reporter's `tinker:telemetry:*` channels and
 * its `stats()`.
 *
 * The server keeps the latest snapshot (state, counters, recent batches and
 * transitions), so a page that connects late, or reconnects, starts from the
 * present rather than from nothing.
 */
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { readFile } from 'node:fs/promises';
import { type IncomingMessage, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { StateValue } from 'xstate';
import {
  CHANNELS,
  type DropCounts,
  type ReporterStats,
  type TelemetryBatchFailedPayload,
  type TelemetryBatchSentPayload,
  type TelemetryEventDroppedPayload,
  type TelemetryStatePayload,
} from '../src/index.js';
import type { MachineGraph } from '../tools/machine-graph.js';

/** What the live view reads from the reporter it shows. */
export interface ObservedReporter {
  readonly sessionId: string;
  stats(): ReporterStats;
}

/** Options of `startLiveView`. */
export interface LiveViewOptions {
  /** The reporter to show; only channel messages of its session are used. */
  reporter: ObservedReporter;
  /** The lifecycle machine's graph, drawn by the page. */
  graph: MachineGraph;
  /** Port on 127.0.0.1; 0 picks a free one. Default: 0. */
  port?: number;
}

/** The books of a finished run, as the demo prints them. */
export interface LiveSummary {
  accepted: number;
  delivered: number;
  dropped: DropCounts;
  /** delivered + dropped after acceptance = accepted. */
  balanced: boolean;
  /** `stop()` drained before its deadline. */
  drained: boolean;
}

/** A running live view. */
export interface LiveView {
  /** `http://127.0.0.1:PORT/`. */
  readonly url: string;
  /** Announces the step the demo is in, e.g. `fault stretch`. */
  step(title: string): void;
  /** Sends fresh counters; call it after work that publishes nothing (a burst of `log()`). */
  sample(): void;
  /** Sends the final counters and the summary; the page then shows the run as done. */
  finish(summary: LiveSummary): void;
  /** Ends every event stream and closes the server. */
  close(): Promise<void>;
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
  from: string;
  to: string;
  event: string;
}

interface Snapshot {
  sessionId: string;
  startedAtMs: number;
  state: string;
  stats: WireStats;
  step: string;
  phase: 'running' | 'done';
  batches: BatchRow[];
  transitions: TransitionRow[];
  drops: { atMs: number; reason: string; count: number }[];
  summary: LiveSummary | undefined;
}

const RECENT_BATCHES = 20;
const RECENT_TRANSITIONS = 16;
const RECENT_DROPS = 10;

const STATIC_FILES: Record<string, { file: string; type: string }> = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/index.html': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/live.css': { file: 'live.css', type: 'text/css; charset=utf-8' },
  '/live.js': { file: 'live.js', type: 'text/javascript; charset=utf-8' },
};

/** Everything the page loads comes from this server: the policy makes a stray external asset fail loudly. */
const SECURITY_HEADERS = {
  'content-security-policy': "default-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'cache-control': 'no-store',
};

/** `{ draining: 'sending' }` → `draining.sending`, the names the graph uses. */
function dottedState(value: StateValue): string {
  if (typeof value === 'string') return value;
  const [key, child] = Object.entries(value)[0] ?? ['', undefined];
  return child === undefined ? key : `${key}.${dottedState(child)}`;
}

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
 * Starts the live view of `options.reporter` on 127.0.0.1 and resolves once
 * it listens. Throws a RangeError for a port outside 0–65535.
 */
export async function startLiveView(options: LiveViewOptions): Promise<LiveView> {
  const { reporter, graph } = options;
  const port = options.port ?? 0;
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    throw new RangeError(`Expected \`port\` to be an integer in 0–65535, got \`${String(port)}\` (${typeof port})`);
  }
  const assets = new Map<string, Buffer>();
  for (const { file } of Object.values(STATIC_FILES)) {
    if (!assets.has(file)) assets.set(file, await readFile(new URL(`./live/${file}`, import.meta.url)));
  }
  const graphJson = JSON.stringify(graph);

  const initial = wireStats(reporter.stats());
  const snapshot: Snapshot = {
    sessionId: reporter.sessionId,
    startedAtMs: Date.now(),
    state: initial.state,
    stats: initial,
    step: '',
    phase: 'running',
    batches: [],
    transitions: [],
    drops: [],
    summary: undefined,
  };

  const clients = new Set<ServerResponse>();
  const send = (type: string, data: unknown) => {
    const frame = `event: ${type}\ndata: ${JSON.stringify(data)}\n\n`;
    for (const client of clients) client.write(frame);
  };

  // Channel messages come in bursts within one turn (a batch's outcome, the
  // transition, a drop); one stats frame per turn is enough, and `stats()`
  // is only read when someone watches.
  let sampleQueued = false;
  const sampleNow = () => {
    sampleQueued = false;
    snapshot.stats = wireStats(reporter.stats());
    send('stats', snapshot.stats);
  };
  const sample = () => {
    if (sampleQueued || clients.size === 0) return;
    sampleQueued = true;
    setImmediate(sampleNow);
  };

  const ours = (message: unknown) => (message as { sessionId?: unknown }).sessionId === reporter.sessionId;
  const onState = (message: unknown) => {
    if (!ours(message)) return;
    const { from, to, event } = message as TelemetryStatePayload;
    const row: TransitionRow = { atMs: Date.now(), from, to, event };
    snapshot.state = to;
    pushBounded(snapshot.transitions, row, RECENT_TRANSITIONS);
    send('state', row);
    sample();
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
  const subscriptions: [string, (message: unknown) => void][] = [
    [CHANNELS.telemetryState, onState],
    [CHANNELS.telemetryBatchSent, onSent],
    [CHANNELS.telemetryBatchFailed, onFailed],
    [CHANNELS.telemetryEventDropped, onDropped],
  ];
  for (const [name, listener] of subscriptions) subscribe(name, listener);

  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    const path = new URL(request.url ?? '/', 'http://127.0.0.1').pathname;
    if (request.method !== 'GET') {
      response.writeHead(405, { allow: 'GET' }).end();
      return;
    }
    if (path === '/events') {
      response.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', connection: 'keep-alive', ...SECURITY_HEADERS });
      // A reconnecting page retries after a second rather than the browser's default three.
      response.write('retry: 1000\n\n');
      snapshot.stats = wireStats(reporter.stats());
      response.write(`event: snapshot\ndata: ${JSON.stringify(snapshot)}\n\n`);
      clients.add(response);
      request.on('close', () => clients.delete(response));
      return;
    }
    if (path === '/graph.json') {
      response.writeHead(200, { 'content-type': 'application/json; charset=utf-8', ...SECURITY_HEADERS }).end(graphJson);
      return;
    }
    const entry = STATIC_FILES[path];
    if (entry === undefined) {
      response.writeHead(404, { 'content-type': 'text/plain; charset=utf-8', ...SECURITY_HEADERS }).end('not found\n');
      return;
    }
    response.writeHead(200, { 'content-type': entry.type, ...SECURITY_HEADERS }).end(assets.get(entry.file));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port: boundPort } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${boundPort}/`,
    step(title) {
      snapshot.step = title;
      send('step', { title, atMs: Date.now() });
      sample();
    },
    sample,
    finish(summary) {
      flushDrop();
      snapshot.stats = wireStats(reporter.stats());
      snapshot.state = snapshot.stats.state;
      snapshot.phase = 'done';
      snapshot.summary = summary;
      send('stats', snapshot.stats);
      send('done', { stats: snapshot.stats, summary });
    },
    close() {
      for (const [name, listener] of subscriptions) unsubscribe(name, listener);
      for (const client of clients) client.end();
      clients.clear();
      return new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      });
    },
  };
}
