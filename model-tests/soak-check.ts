/**
 * The judgement of a soak run: `checkSoak` turns what a run observed into
 * the list of broken guarantees (the rules and why they are the right ones
 * are in `soak.ts`), and `soakFigures` into the numbers worth printing. Both
 * are pure, so the test can plant faults in real observations and check that
 * each one is noticed.
 */
import { DROP_REASONS, type DropCounts, type ReporterStats, type TelemetryBatchFailedPayload, type TelemetryBatchSentPayload } from '../src/index.js';
import { ANSWER_KINDS, type AnswerKind, type SinkRequest } from './soak-sink.js';

/** Memory at one instant, in bytes. */
export interface MemorySample {
  atMs: number;
  rss: number;
  heapUsed: number;
  /** Sampled right after `global.gc()`. */
  afterGc: boolean;
}

/** The settings of a run, every default filled in (see `SoakOptions` in `soak.ts` for each one's meaning). */
export interface SoakSettings {
  events: number;
  producers: number;
  seed: number;
  maxQueueSize: number;
  maxBatchSize: number;
  flushThreshold: number;
  flushIntervalMs: number;
  httpTimeoutMs: number;
  retryBaseDelayMs: number;
  maxRetries: number;
  stopTimeoutMs: number;
  lateCalls: number;
  sampleEveryMs: number;
  stallEveryChunks: number;
}

/** Everything a soak run observed; `checkSoak` judges it without further I/O. */
export interface SoakObservations {
  options: SoakSettings;
  sessionId: string;
  /** Calls of `log()`/`logException()`, by the producers and after `stop()`. */
  calls: number;
  /** Calls that returned true. */
  acceptedCalls: number;
  /** Calls that returned false. */
  refusedCalls: number;
  /** Calls that returned something other than a boolean. */
  nonBooleanResults: number;
  /** Calls made invalid on purpose (bad severity or empty name) before `stop()`. */
  invalidCalls: number;
  /** Calls made once `stop()` had been called: the straggling producer's and the late calls. */
  callsAfterStop: number;
  /** Of those, the ones that returned true (each one a fault). */
  acceptedAfterStop: number;
  /** Times the event loop was blocked on purpose. */
  stalls: number;
  /** `stats()` just before `stop()`. */
  beforeStop: ReporterStats;
  /** `stats()` after `stop()` resolved. */
  after: ReporterStats;
  stop: { elapsedMs: number; drained: boolean | undefined; samePromise: boolean };
  /** The machine event that took the machine to `ended`. */
  endedBy: string | undefined;
  batchesSent: Pick<TelemetryBatchSentPayload, 'size' | 'attempt'>[];
  batchesFailed: Pick<TelemetryBatchFailedPayload, 'size' | 'attempt' | 'kind' | 'willRetry'>[];
  droppedOnChannel: DropCounts;
  sink: { requests: SinkRequest[]; problems: string[] };
  /** `flush()` (plain and sync) and `waitUntilDrained()` calls, and how their promises settled. */
  flushes: { plain: number; plainNotTrue: number; rejected: number; sync: number; waits: number; nonBoolean: number };
  /** `stop()` or producer/flush promises that had not settled in time (the soak gives up waiting instead of hanging). */
  hangs: string[];
  /** What escaped: process-level events, throws out of reporter methods, and the reporter logger's `error` records (its internal faults). */
  errors: { unhandledRejections: string[]; uncaughtExceptions: string[]; thrownIntoCaller: string[]; loggerErrors: string[]; loggerWarnings: number };
  memory: { samples: MemorySample[]; startMs: number; endMs: number; gcExposed: boolean };
  durationMs: number;
}

/** The figures of one run, for tables and READMEs. */
export interface SoakFigures {
  seed: number;
  events: number;
  producers: number;
  durationMs: number;
  stopMs: number;
  drained: boolean | undefined;
  endedBy: string | undefined;
  calls: number;
  /** `pushCounter`: SESSION_START and SESSION_END included. */
  accepted: number;
  refused: Pick<DropCounts, 'queue_full' | 'invalid' | 'after_stop'>;
  delivered: number;
  /** Distinct event ids the sink answered with a 2xx. */
  sinkDistinctDelivered: number;
  dropped: DropCounts;
  /** Retries scheduled (`batch:failed` with `willRetry`, kind `retryable`). */
  retries: number;
  /** Batches split after a 413. */
  splits: number;
  /** Batches given up after a failed attempt (`willRetry: false`). */
  finalFailures: number;
  requests: Record<AnswerKind, number>;
  requestsTotal: number;
  /** Slow answers not written because the client had gone. */
  lateAnswers: number;
  /** 2xx-answered requests whose answer the client did not see. */
  ghost2xx: number;
  /** Of those, the ones whose batch was sent again under the same key (the rest were dropped by the client). */
  ghostsResent: number;
  /** Event-loop stalls made on purpose. */
  stalls: number;
  peakRssFirstHalf: number;
  peakRssSecondHalf: number;
  peakHeapFirstHalf: number;
  peakHeapSecondHalf: number;
  gcExposed: boolean;
}

/** How late `stop()` may resolve after its deadline: timer and event-loop slack. */
export const STOP_MARGIN_MS = 250;
/** Memory tolerance between the halves of the run: `max(ratio × first, first + extraBytes)`. */
export const MEMORY_TOLERANCE = Object.freeze({ ratio: 1.5, extraBytes: 64 * 1024 * 1024 });

const MIB = 1024 * 1024;

/**
 * Judges one run: returns one line per broken guarantee (see the module
 * comment for each rule and why it is the right one). Pure: no I/O.
 */
export function checkSoak(o: SoakObservations): string[] {
  const v: string[] = [];
  const { after, beforeStop, options } = o;
  const d = after.dropped;

  // The books.
  const displaced = beforeStop.queueSize >= options.maxQueueSize ? 1 : 0;
  const outcomes = after.deliveredCounter + d.retries_exhausted + d.rejected + d.shutdown + displaced;
  if (after.queueSize !== 0 || after.inFlight !== 0) v.push(`after stop: queueSize ${after.queueSize} and inFlight ${after.inFlight}, expected 0 and 0`);
  if (after.pushCounter !== outcomes + after.queueSize + after.inFlight) {
    v.push(
      `accounting: pushCounter ${after.pushCounter} ≠ delivered ${after.deliveredCounter} + retries_exhausted ${d.retries_exhausted} + rejected ${d.rejected} + shutdown ${d.shutdown} + displaced by SESSION_END ${displaced} + queue ${after.queueSize} + in flight ${after.inFlight}`,
    );
  }
  if (after.flushCounter !== after.pushCounter) v.push(`accounting: flushCounter ${after.flushCounter} ≠ pushCounter ${after.pushCounter}`);
  if (o.nonBooleanResults !== 0) v.push(`${o.nonBooleanResults} log()/logException() calls returned something other than a boolean`);
  if (o.acceptedCalls !== after.pushCounter - 2) {
    v.push(`accepted calls ${o.acceptedCalls} ≠ pushCounter ${after.pushCounter} − 2 (SESSION_START and SESSION_END)`);
  }
  const refusedCounted = d.queue_full - displaced + d.invalid + d.after_stop;
  if (o.refusedCalls !== refusedCounted) {
    v.push(`refused calls ${o.refusedCalls} ≠ queue_full ${d.queue_full} − displaced ${displaced} + invalid ${d.invalid} + after_stop ${d.after_stop}`);
  }
  if (d.invalid !== o.invalidCalls) v.push(`dropped.invalid ${d.invalid} ≠ ${o.invalidCalls} invalid calls made`);
  if (d.after_stop !== o.callsAfterStop || o.acceptedAfterStop !== 0) {
    v.push(
      `after stop(): ${o.callsAfterStop} calls made, ${o.acceptedAfterStop} accepted, dropped.after_stop ${d.after_stop}; expected every one refused and counted`,
    );
  }
  for (const reason of DROP_REASONS) {
    if (o.droppedOnChannel[reason] !== d[reason]) v.push(`event:dropped channel says ${reason} ${o.droppedOnChannel[reason]}, stats() says ${d[reason]}`);
  }
  const sentSizes = o.batchesSent.map((b) => b.size);
  const sentTotal = sentSizes.reduce((a, b) => a + b, 0);
  if (sentTotal !== after.deliveredCounter) v.push(`batch:sent sizes add up to ${sentTotal}, deliveredCounter is ${after.deliveredCounter}`);
  if (after.state !== 'ended' || !after.sessionEnded)
    v.push(`after stop: state ${JSON.stringify(after.state)}, sessionEnded ${after.sessionEnded}; expected ended`);

  // What reached the sink.
  for (const p of o.sink.problems) v.push(`wire: ${p}`);
  const requests = o.sink.requests;
  const perKey = new Map<string, SinkRequest[]>();
  for (const r of requests) perKey.set(r.key, [...(perKey.get(r.key) ?? []), r]);
  for (const [key, list] of perKey) {
    if (list.length > options.maxRetries + 1) v.push(`idempotency key ${key} was sent ${list.length} times, more than 1 + maxRetries (${options.maxRetries})`);
  }
  const answered = requests.filter((r) => r.answered2xx);
  const lastSeqOfKey = lastSeqByKey(requests);
  const superseded = supersededRequests(requests);
  const kept = answered.filter((r) => (lastSeqOfKey.get(r.key) ?? r.seq) === r.seq);
  const ghosts = answered.length - o.batchesSent.length;
  if (ghosts < 0) v.push(`the client saw ${o.batchesSent.length} 2xx answers but the sink wrote only ${answered.length}`);
  if (superseded.length > Math.max(0, ghosts)) {
    v.push(
      `${superseded.length} 2xx-answered requests were sent again under the same key, but only ${Math.max(0, ghosts)} 2xx answers went unseen by the client`,
    );
  }
  const occurrences = new Map<string, SinkRequest[]>();
  for (const r of answered) for (const id of r.batch?.ids ?? []) occurrences.set(id, [...(occurrences.get(id) ?? []), r]);
  let badDuplicates = 0;
  for (const [id, list] of occurrences) {
    if (list.length < 2) continue;
    const early = list.slice(0, -1).filter((r) => (lastSeqOfKey.get(r.key) ?? r.seq) === r.seq);
    if (early.length > 0 && badDuplicates++ < 5) {
      v.push(
        `event_id ${id} was 2xx-answered ${list.length} times (requests #${list.map((r) => r.seq).join(', #')}), and not only because its batch was retried`,
      );
    }
  }
  if (badDuplicates > 5) v.push(`… and ${badDuplicates - 5} more duplicated event ids`);
  const distinct = occurrences.size;
  if (ghosts === 0 && distinct !== after.deliveredCounter) {
    v.push(`the sink accepted ${distinct} distinct event ids, deliveredCounter is ${after.deliveredCounter}, and every 2xx was seen by the client`);
  }
  const surplus = distinct - after.deliveredCounter;
  if (surplus < 0 || surplus > d.retries_exhausted + d.shutdown) {
    v.push(
      `the sink accepted ${distinct} distinct ids against deliveredCounter ${after.deliveredCounter}: a surplus of ${surplus}, outside 0..retries_exhausted + shutdown (${d.retries_exhausted + d.shutdown})`,
    );
  }
  if (
    !isSubsequence(
      sentSizes,
      answered.map((r) => r.batch?.ids.length ?? 0),
    )
  ) {
    v.push(`the batch sizes the client saw delivered (${sentSizes.length}) are not a subsequence of the sink's 2xx-answered batches (${answered.length})`);
  }
  let lastIndex = -1;
  for (const r of kept) {
    for (const index of r.batch?.indices ?? []) {
      if (index <= lastIndex) {
        v.push(`request #${r.seq}: event_session_index ${index} arrived after ${lastIndex}: batches out of acceptance order`);
        break;
      }
      lastIndex = index;
    }
  }
  const idOfIndex = new Map<number, string>();
  const indexOfId = new Map<string, number>();
  let mismatches = 0;
  let beyond = 0;
  for (const r of requests) {
    r.batch?.ids.forEach((id, i) => {
      const index = r.batch!.indices[i]!;
      const knownId = idOfIndex.get(index);
      const knownIndex = indexOfId.get(id);
      if ((knownId !== undefined && knownId !== id) || (knownIndex !== undefined && knownIndex !== index)) {
        if (mismatches++ < 3)
          v.push(`event_session_index ${index} and event_id ${id} are not one to one (also seen: ${knownId ?? '-'} / ${knownIndex ?? '-'})`);
      }
      idOfIndex.set(index, id);
      indexOfId.set(id, index);
      if (index >= after.pushCounter && beyond++ < 3) v.push(`event_session_index ${index} ≥ pushCounter ${after.pushCounter}: an index never given out`);
    });
  }

  // One session start, one session end.
  const idsOfType = (type: string, list: SinkRequest[]) => {
    const found = new Map<string, number>();
    for (const { batch } of list) {
      if (batch === undefined) continue;
      for (let i = 0; i < batch.types.length; i++) if (batch.types[i] === type) found.set(batch.ids[i]!, batch.indices[i]!);
    }
    return found;
  };
  const starts = idsOfType('SESSION_START', requests);
  if (starts.size > 1 || [...starts.values()].some((index) => index !== 0))
    v.push(`SESSION_START: ${starts.size} ids at indices ${[...starts.values()].join(', ')}; expected one, at 0`);
  const ends = idsOfType('SESSION_END', requests);
  const endsDelivered = idsOfType('SESSION_END', kept);
  if (ends.size > 1) v.push(`SESSION_END: ${ends.size} different ids reached the sink; it is queued once`);
  for (const index of ends.values()) {
    if (index !== after.pushCounter - 1) v.push(`SESSION_END has index ${index}, expected the last accepted index ${after.pushCounter - 1}`);
  }
  if (o.endedBy === undefined) {
    v.push('the machine never published a transition to ended');
  } else if (o.endedBy === 'ACK') {
    if (endsDelivered.size !== 1)
      v.push(`the machine ended on ACK (last batch delivered) but SESSION_END is in ${endsDelivered.size} of the sink's final 2xx answers`);
  } else {
    if (d.retries_exhausted + d.rejected + d.shutdown < 1)
      v.push(`the machine ended on ${o.endedBy}, so SESSION_END was dropped, yet no accepted event is counted as dropped`);
    if (endsDelivered.size > 0 && ghosts - superseded.length < 1)
      v.push(`SESSION_END was 2xx-answered, the machine ended on ${o.endedBy}, and no unseen 2xx explains it`);
    if (ends.size === 0 && o.endedBy !== 'DEADLINE') v.push(`SESSION_END never reached the sink, yet the machine ended on ${o.endedBy}, not on the deadline`);
  }

  // stop().
  if (o.stop.elapsedMs > options.stopTimeoutMs + STOP_MARGIN_MS) {
    v.push(`stop(${options.stopTimeoutMs}) took ${o.stop.elapsedMs.toFixed(0)} ms, more than its deadline + ${STOP_MARGIN_MS} ms`);
  }
  if (typeof o.stop.drained !== 'boolean') v.push(`stop() resolved to ${String(o.stop.drained)}, not a boolean`);
  if (!o.stop.samePromise) v.push('a second stop() returned a different promise');
  const shouldHaveDrained = d.shutdown === 0 && o.endedBy !== 'DEADLINE';
  if (o.stop.drained !== shouldHaveDrained) {
    v.push(`stop() resolved ${String(o.stop.drained)}, but shutdown drops are ${d.shutdown} and the machine ended on ${o.endedBy ?? 'nothing'}`);
  }

  // Nothing escapes.
  for (const e of o.errors.unhandledRejections) v.push(`unhandled rejection: ${e}`);
  for (const e of o.errors.uncaughtExceptions) v.push(`uncaught exception: ${e}`);
  for (const e of o.errors.thrownIntoCaller) v.push(`a reporter method threw into its caller: ${e}`);
  for (const e of o.errors.loggerErrors) v.push(`reporter logged an internal error: ${e}`);
  if (o.flushes.rejected > 0) v.push(`${o.flushes.rejected} flush() promises rejected`);
  if (o.flushes.plainNotTrue > 0) v.push(`${o.flushes.plainNotTrue} plain flush() calls resolved to something other than true`);
  if (o.flushes.nonBoolean > 0) v.push(`${o.flushes.nonBoolean} flush({ sync: true }) or waitUntilDrained() calls resolved to a non-boolean`);
  for (const h of o.hangs) v.push(`hang: ${h}`);

  // Memory.
  const halves = memoryHalves(o.memory);
  const limit = (first: number) => Math.max(first * MEMORY_TOLERANCE.ratio, first + MEMORY_TOLERANCE.extraBytes);
  if (halves.rss[1] > limit(halves.rss[0])) {
    v.push(
      `peak RSS grew from ${mib(halves.rss[0])} MiB (first half) to ${mib(halves.rss[1])} MiB (second half), above the tolerance ${mib(limit(halves.rss[0]))} MiB`,
    );
  }
  if (halves.heap[1] > limit(halves.heap[0])) {
    v.push(
      `peak heap grew from ${mib(halves.heap[0])} MiB (first half) to ${mib(halves.heap[1])} MiB (second half), above the tolerance ${mib(limit(halves.heap[0]))} MiB`,
    );
  }
  return v;
}

/** The figures of a run, from its observations. */
export function soakFigures(o: SoakObservations): SoakFigures {
  const requests = Object.fromEntries(ANSWER_KINDS.map((k) => [k, 0])) as Record<AnswerKind, number>;
  for (const r of o.sink.requests) requests[r.answer]++;
  const answered = o.sink.requests.filter((r) => r.answered2xx);
  const distinct = new Set(answered.flatMap((r) => r.batch?.ids ?? [])).size;
  const halves = memoryHalves(o.memory);
  return {
    seed: o.options.seed,
    events: o.options.events,
    producers: o.options.producers,
    durationMs: Math.round(o.durationMs),
    stopMs: Math.round(o.stop.elapsedMs),
    drained: o.stop.drained,
    endedBy: o.endedBy,
    calls: o.calls,
    accepted: o.after.pushCounter,
    refused: { queue_full: o.after.dropped.queue_full, invalid: o.after.dropped.invalid, after_stop: o.after.dropped.after_stop },
    delivered: o.after.deliveredCounter,
    sinkDistinctDelivered: distinct,
    dropped: { ...o.after.dropped },
    retries: o.batchesFailed.filter((f) => f.willRetry && f.kind === 'retryable').length,
    splits: o.batchesFailed.filter((f) => f.willRetry && f.kind === 'too_large').length,
    finalFailures: o.batchesFailed.filter((f) => !f.willRetry).length,
    requests,
    requestsTotal: o.sink.requests.length,
    lateAnswers: o.sink.requests.filter((r) => r.late).length,
    ghost2xx: answered.length - o.batchesSent.length,
    ghostsResent: supersededRequests(o.sink.requests).length,
    stalls: o.stalls,
    peakRssFirstHalf: halves.rss[0],
    peakRssSecondHalf: halves.rss[1],
    peakHeapFirstHalf: halves.heap[0],
    peakHeapSecondHalf: halves.heap[1],
    gcExposed: o.memory.gcExposed,
  };
}

/** Peak RSS and heap in the first and second halves of the run; with gc exposed, the heap is read after collections only. */
function memoryHalves(memory: SoakObservations['memory']): { rss: [number, number]; heap: [number, number] } {
  const middle = (memory.startMs + memory.endMs) / 2;
  const inRun = memory.samples.filter((s) => s.atMs >= memory.startMs && s.atMs <= memory.endMs);
  const first = inRun.filter((s) => s.atMs < middle);
  const second = inRun.filter((s) => s.atMs >= middle);
  const peak = (list: MemorySample[], pick: (s: MemorySample) => number) => list.reduce((max, s) => Math.max(max, pick(s)), 0);
  const heapSamples = (list: MemorySample[]) => (memory.gcExposed && list.some((s) => s.afterGc) ? list.filter((s) => s.afterGc) : list);
  // A half with no sample (a run shorter than one sampling period) borrows the other's, so nothing is compared.
  const pair = (pick: (s: MemorySample) => number, select: (l: MemorySample[]) => MemorySample[]): [number, number] => {
    const a = peak(select(first), pick);
    const b = peak(select(second), pick);
    return [a || b, b || a];
  };
  return {
    rss: pair(
      (s) => s.rss,
      (l) => l,
    ),
    heap: pair((s) => s.heapUsed, heapSamples),
  };
}

/** The last arrival of each idempotency key. */
function lastSeqByKey(requests: readonly SinkRequest[]): Map<string, number> {
  const last = new Map<string, number>();
  for (const r of requests) last.set(r.key, r.seq);
  return last;
}

/** 2xx-answered requests that a later request with the same key followed: proof the client never saw that 2xx. */
function supersededRequests(requests: readonly SinkRequest[]): SinkRequest[] {
  const last = lastSeqByKey(requests);
  return requests.filter((r) => r.answered2xx && (last.get(r.key) ?? r.seq) > r.seq);
}

function isSubsequence(needle: readonly number[], haystack: readonly number[]): boolean {
  let i = 0;
  for (const value of haystack) if (i < needle.length && needle[i] === value) i++;
  return i === needle.length;
}

function mib(bytes: number): string {
  return (bytes / MIB).toFixed(1);
}
