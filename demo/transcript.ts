/**
 * What the demo prints: its own lines, the session's and the reporter's log
 * lines, and, once it knows the session's id, what the channels publish for
 * that session: the reporter's transitions, batches and drops, the HTTP
 * requests, the queue changes and the failed futures.
 */
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import {
  CHANNELS,
  type FuturePayload,
  type HttpRequestExceptionPayload,
  type HttpRequestStopPayload,
  type LoggerLike,
  type QueueStateChangePayload,
  type TelemetryBatchFailedPayload,
  type TelemetryBatchSentPayload,
  type TelemetryEventDroppedPayload,
  type TelemetryStatePayload,
} from '../src/index.js';
import { type MachineTransition, eventLabel } from './machines.js';

/** The heartbeat's path: its requests are shown by the heartbeat step, and not every time. */
export const HEARTBEAT_PATH = '/api/v1/session_heartbeat';

/** The demo's terminal output. */
export interface Transcript {
  /** Prints a line, unless `--quiet`. */
  say(line: string): void;
  /** Prints a line even with `--quiet`: the addresses and the summary. */
  always(line: string): void;
  /** Prints a transition of the session machine (the reporter's come from its channel). */
  sessionTransition(transition: MachineTransition): void;
  /** From now on, prints what the channels publish for `sessionId`. Later calls do nothing. */
  follow(sessionId: string): void;
  /** The session's and the reporter's logger: their warnings as terminal lines rather than pino's JSON on stderr. */
  readonly logger: LoggerLike;
  /** Prints the drops still being counted and stops listening to the channels. */
  close(): void;
}

/** The label of a `tinker:future:*` channel: `request_failed`, `timeout`, … */
const futureKind = (channel: string) => channel.slice(channel.lastIndexOf(':') + 1);

/** Makes the transcript; with `quiet`, only `always` prints. */
export function createTranscript(options: { quiet: boolean; write?: (text: string) => void }): Transcript {
  const write = options.write ?? ((text: string) => process.stdout.write(text));
  const { quiet } = options;
  // A full queue refuses events one by one; drops of one reason in one turn are printed as one line.
  let pendingDrop: { reason: string; count: number } | undefined;
  const flushDrop = () => {
    if (pendingDrop === undefined) return;
    const { reason, count } = pendingDrop;
    pendingDrop = undefined;
    if (!quiet) write(`  drop   ${count} event(s): ${reason}\n`);
  };
  const say = (line: string) => {
    flushDrop();
    if (!quiet) write(`${line}\n`);
  };
  const always = (line: string) => {
    flushDrop();
    write(`${line}\n`);
  };

  let followed: string | undefined;
  const subscriptions: [string, (message: unknown) => void][] = [];
  const on = <T>(channel: string, print: (message: T) => void) => {
    const listener = (message: unknown) => {
      if ((message as { sessionId?: unknown }).sessionId === followed) print(message as T);
    };
    subscriptions.push([channel, listener]);
    subscribe(channel, listener);
  };

  const follow = (sessionId: string) => {
    if (followed !== undefined) return;
    followed = sessionId;
    on<TelemetryStatePayload>(CHANNELS.telemetryState, ({ from, to, event }) =>
      say(`  state  ${(from || '(start)').padEnd(17)} → ${to.padEnd(17)} on ${eventLabel(event)}`),
    );
    on<TelemetryBatchSentPayload>(CHANNELS.telemetryBatchSent, (m) =>
      say(`  batch  ${String(m.size).padStart(3)} events  attempt ${m.attempt}  ${m.durationMs.toFixed(1).padStart(5)} ms  → ${m.status}`),
    );
    on<TelemetryBatchFailedPayload>(CHANNELS.telemetryBatchFailed, (m) => {
      const what = m.status ?? m.reason ?? m.kind;
      const next = !m.willRetry ? 'given up' : m.kind === 'too_large' ? 'split in two' : `retry in ${m.delayMs ?? 0} ms`;
      say(`  batch  ${String(m.size).padStart(3)} events  attempt ${m.attempt}  ${m.durationMs.toFixed(1).padStart(5)} ms  → ${what}, ${next}`);
    });
    on<TelemetryEventDroppedPayload>(CHANNELS.telemetryEventDropped, (m) => {
      if (pendingDrop?.reason === m.reason) {
        pendingDrop.count += m.count;
        return;
      }
      flushDrop();
      pendingDrop = { reason: m.reason, count: m.count };
      setImmediate(flushDrop);
    });
    on<HttpRequestStopPayload>(CHANNELS.httpRequestStop, (m) => {
      if (m.path !== HEARTBEAT_PATH) say(`  http   ${m.method} ${m.path} → ${m.status}  ${m.durationMs.toFixed(1)} ms`);
    });
    on<HttpRequestExceptionPayload>(CHANNELS.httpRequestException, (m) => {
      // An HTTP error status was already printed with its response; other failures say why.
      if (m.path === HEARTBEAT_PATH) return;
      say(`  http   ${m.method} ${m.path} failed (${m.kind === 'http' ? 'an HTTP error status' : `${m.kind}: ${m.reason}`})  ${m.durationMs.toFixed(1)} ms`);
    });
    on<QueueStateChangePayload>(CHANNELS.queueStateChange, (m) =>
      say(`  queue  ${m.requestId}  ${(m.from ?? '(new)').padEnd(15)} → ${m.to}${m.reason === undefined ? '' : `  (reason: ${m.reason})`}`),
    );
    for (const channel of [
      CHANNELS.futureRequestFailed,
      CHANNELS.futureApiError,
      CHANNELS.futureTimeout,
      CHANNELS.futureConnectionError,
      CHANNELS.futureValidationError,
    ]) {
      on<FuturePayload>(channel, (m) => {
        const details = [m.status === undefined ? '' : `HTTP ${m.status}`, m.category === undefined ? '' : `category ${m.category}`].filter(Boolean).join(', ');
        say(`  future ${m.requestId} ${m.requestType} ${futureKind(channel)}${details === '' ? '' : ` (${details})`}`);
      });
    }
  };

  return {
    say,
    always,
    sessionTransition: ({ from, to, event }) => say(`  session ${(from || '(start)').padEnd(16)} → ${to.padEnd(17)} on ${eventLabel(event)}`),
    follow,
    logger: {
      warn: (_obj, msg) => say(`  warn   ${msg ?? ''}`),
      error: (_obj, msg) => say(`  error  ${msg ?? ''}`),
      info: (_obj, msg) => say(`  info   ${msg ?? ''}`),
      debug: () => undefined,
    },
    close() {
      flushDrop();
      for (const [channel, listener] of subscriptions) unsubscribe(channel, listener);
      subscriptions.length = 0;
    },
  };
}
