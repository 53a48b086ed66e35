/**
 * Scripted futures: what `retrieve_future` answers for each request id, one
 * step per poll (tinker-protocol.md §4.2). A script is a list of steps; a
 * terminal step (a result, binary bytes or an error body) answers every
 * later poll too, and a script that runs out answers the endpoint's default
 * result.
 */
import type { JsonValue } from '../core/json.js';
import { integerInRange, invalidType, unknownOption } from '../core/validate.js';
import { type Reply, type ScriptedResponse, checkJson, checkScriptedResponse, jsonReply, toReply } from './scripted-response.js';

/** A queue state the server reports in `try_again`. */
export type QueueState = 'active' | 'paused_capacity' | 'paused_rate_limit';

/**
 * One poll's answer:
 * - `{ tryAgain, reason? }`: `{"type":"try_again","request_id","queue_state","queue_state_reason"?}` (any string, to test unknown states);
 * - `{ completeMetadata: true, payloadBytes? }`: `{"status":"complete_metadata","request_id","response_payload_size"}` (default 0 bytes);
 * - `{ error, category }`: the failed-request body `{"error","category"}` (terminal);
 * - `{ result }`: 200 with that JSON (terminal);
 * - `{ binary, contentType? }`: 200 with those bytes, default `application/x-protobuf` (terminal);
 * - `{ delayMs }`: wait that long, in milliseconds, then answer this poll with the next step;
 * - a `ScriptedResponse`: `{ status, body?, retryAfter?, … }`, `{ hang: true }`, `{ reset: true }`.
 */
export type FutureStep = TryAgainStep | CompleteMetadataStep | ErrorStep | ResultStep | BinaryStep | DelayStep | ScriptedResponse;

/** Answers `{"type":"try_again","request_id","queue_state","queue_state_reason"?}`: the request is still queued. */
export interface TryAgainStep {
  /** `queue_state`: a `QueueState`, or any other string to test how a client reads an unknown one. */
  readonly tryAgain: QueueState | (string & {});
  /** `queue_state_reason`. Default: left out. */
  readonly reason?: string;
}

/** Answers `{"status":"complete_metadata","request_id","response_payload_size"}`: the result is ready but large. */
export interface CompleteMetadataStep {
  /** Always true. */
  readonly completeMetadata: true;
  /** `response_payload_size`, in bytes. Default 0. */
  readonly payloadBytes?: number;
}

/** Answers 200 with the failed-request body `{"error","category"}`. Terminal. */
export interface ErrorStep {
  /** `error`: the server's text. */
  readonly error: string;
  /** `category`: `user`, `server` or `unknown` on the wire; any other string to test how a client reads it. */
  readonly category: 'user' | 'server' | 'unknown' | (string & {});
}

/** Answers 200 with this JSON. Terminal. */
export interface ResultStep {
  /** The result. */
  readonly result: JsonValue;
}

/** Answers 200 with these bytes. Terminal. */
export interface BinaryStep {
  /** The body. */
  readonly binary: Uint8Array;
  /** Its content type. Default `application/x-protobuf`. */
  readonly contentType?: string;
}

/** Holds this poll for a while, then answers it with the next step. */
export interface DelayStep {
  /** How long, in milliseconds (on the fake's clock). */
  readonly delayMs: number;
}

/** One poll of a future, as the fake saw and answered it. */
export interface FuturePoll {
  /** The body's `allow_metadata_only`. */
  readonly allowMetadataOnly: boolean | undefined;
  /** The `X-Tinker-Request-Iteration` header, undefined when absent. */
  readonly iteration: string | undefined;
  /** The `X-Tinker-Request-Type` header. */
  readonly requestType: string | undefined;
  /** The `X-Tinker-Create-Promise-Roundtrip-Time` header (seconds, as text). */
  readonly createRoundTrip: string | undefined;
  /** The step that answered it (a `{ delayMs }` before it is not listed). */
  readonly step: FutureStep;
}

/** A future the fake knows: made by a submit, or scripted by id. */
export interface RecordedFuture {
  /** The request id: `fake-request-1`, `fake-request-2`, … for a submit. */
  readonly requestId: string;
  /** The submit's path (`/api/v1/optim_step`); undefined for a future only scripted by id. */
  readonly path: string | undefined;
  /** The request type the Python SDK polls this endpoint with (`OptimStep`). */
  readonly requestType: string | undefined;
  /** The `model_id` the submit answered, if any. */
  readonly modelId: string | undefined;
  /** Every poll, in order. */
  readonly polls: readonly FuturePoll[];
}

interface FutureState {
  readonly record: { -readonly [K in keyof RecordedFuture]: RecordedFuture[K] } & { polls: FuturePoll[] };
  script: readonly FutureStep[];
  cursor: number;
  defaultResult: JsonValue;
}

const TERMINAL = ['result', 'binary', 'error'];
const STEP_KEYS: Readonly<Record<string, readonly string[]>> = {
  tryAgain: ['tryAgain', 'reason'],
  completeMetadata: ['completeMetadata', 'payloadBytes'],
  error: ['error', 'category'],
  result: ['result'],
  binary: ['binary', 'contentType'],
};

function stepKind(step: FutureStep): string {
  for (const key of [...Object.keys(STEP_KEYS), 'hang', 'reset', 'status']) if (key in step) return key;
  return 'delayMs';
}

/** Throws a TypeError or RangeError (the template of src/core/validate.ts) unless `steps` is a list of `FutureStep`s. */
export function checkSteps(name: string, steps: unknown): asserts steps is readonly FutureStep[] {
  if (!Array.isArray(steps)) throw invalidType(name, 'an array of future steps', steps);
  steps.forEach((step: unknown, i) => checkStep(`${name}[${i}]`, step));
}

function checkStep(name: string, step: unknown): void {
  if (typeof step !== 'object' || step === null || Array.isArray(step)) throw invalidType(name, 'a future step object', step);
  const record = step as Record<string, unknown>;
  const kind = Object.keys(STEP_KEYS).find((key) => key in record);
  if (kind === undefined) {
    if ('hang' in record || 'reset' in record || 'status' in record) return checkScriptedResponse(name, step);
    for (const key of Object.keys(record))
      if (key !== 'delayMs') throw unknownOption(name, key, [...Object.keys(STEP_KEYS), 'delayMs', 'hang', 'reset', 'status']);
    integerInRange(`${name}.delayMs`, record.delayMs, 0);
    return;
  }
  const allowed = STEP_KEYS[kind] ?? [];
  for (const key of Object.keys(record)) if (!allowed.includes(key)) throw unknownOption(name, key, allowed);
  const value = record[kind];
  if (kind === 'tryAgain' && typeof value !== 'string') throw invalidType(`${name}.tryAgain`, 'a queue state string', value);
  if (kind === 'tryAgain' && record.reason !== undefined && typeof record.reason !== 'string') throw invalidType(`${name}.reason`, 'a string', record.reason);
  if (kind === 'completeMetadata' && value !== true) throw invalidType(`${name}.completeMetadata`, 'true', value);
  if (kind === 'completeMetadata' && record.payloadBytes !== undefined) integerInRange(`${name}.payloadBytes`, record.payloadBytes, 0);
  if (kind === 'error' && typeof value !== 'string') throw invalidType(`${name}.error`, 'a string', value);
  if (kind === 'error' && typeof record.category !== 'string') throw invalidType(`${name}.category`, 'a string (user, server or unknown)', record.category);
  if (kind === 'result') checkJson(`${name}.result`, value);
  if (kind === 'binary' && !(value instanceof Uint8Array)) throw invalidType(`${name}.binary`, 'a Uint8Array', value);
  if (kind === 'binary' && record.contentType !== undefined && typeof record.contentType !== 'string') {
    throw invalidType(`${name}.contentType`, 'a string', record.contentType);
  }
}

/** The reply for a step that answers (any step but `{ delayMs }`). */
export function stepReply(step: FutureStep, requestId: string): Reply {
  if ('tryAgain' in step) {
    const body: Record<string, JsonValue> = { type: 'try_again', request_id: requestId, queue_state: step.tryAgain };
    if (step.reason !== undefined) body.queue_state_reason = step.reason;
    return jsonReply(200, body);
  }
  if ('completeMetadata' in step) return jsonReply(200, { status: 'complete_metadata', request_id: requestId, response_payload_size: step.payloadBytes ?? 0 });
  if ('error' in step) return jsonReply(200, { error: step.error, category: step.category });
  if ('result' in step) return jsonReply(200, step.result);
  if ('binary' in step)
    return { kind: 'send', status: 200, headers: { 'content-type': step.contentType ?? 'application/x-protobuf' }, body: step.binary, delayMs: 0 };
  if ('hang' in step || 'reset' in step || 'status' in step) return toReply(step);
  return jsonReply(500, { detail: 'fake-tinker: a delay step cannot answer' });
}

/** The futures of one fake: their scripts, cursors and polls. */
export class FutureBook {
  private readonly states = new Map<string, FutureState>();
  private readonly pending: { steps: readonly FutureStep[]; path: string | undefined }[] = [];
  private count = 0;
  /** Every future, in the order the fake learnt of it. */
  readonly list: RecordedFuture[] = [];

  /**
   * Makes the future of a submit (request ids `fake-request-1`, `-2`, …), with the
   * first script `scriptNext` queued for its path, else the one `defaultScript` gives.
   */
  submit(
    path: string,
    requestType: string,
    modelId: string | undefined,
    defaultResult: JsonValue,
    defaultScript: (future: RecordedFuture) => readonly FutureStep[],
  ): RecordedFuture {
    const requestId = `fake-request-${++this.count}`;
    const early = this.states.get(requestId);
    if (early !== undefined) {
      // Scripted by id before it was submitted: that script wins, and the record learns where it came from.
      Object.assign(early.record, { path, requestType, modelId });
      early.defaultResult = defaultResult;
      return early.record;
    }
    const record = { requestId, path, requestType, modelId, polls: [] };
    const index = this.pending.findIndex((entry) => entry.path === undefined || entry.path === path);
    const queued = index === -1 ? undefined : this.pending.splice(index, 1)[0]?.steps;
    const script = queued ?? defaultScript(record);
    checkSteps('defaultFutureScript()', script);
    return this.add(record, [...script], defaultResult);
  }

  /** Queues `steps` for the next submit (to `path`, when given). */
  scriptNext(steps: readonly FutureStep[], path: string | undefined): void {
    this.pending.push({ steps: [...steps], path });
  }

  /**
   * Replaces the script of `requestId` from its next poll on. A request id not yet known is
   * answered from it when polled, and a submit that is then given that id keeps it.
   */
  script(requestId: string, steps: readonly FutureStep[]): void {
    const state = this.states.get(requestId);
    if (state === undefined) {
      this.add({ requestId, path: undefined, requestType: undefined, modelId: undefined, polls: [] }, [...steps], {});
      return;
    }
    state.script = [...steps];
    state.cursor = 0;
  }

  /** Forgets the scripts queued by `scriptNext`. */
  clearPending(): void {
    this.pending.length = 0;
  }

  /** Whether `requestId` is a future the fake knows. */
  has(requestId: string): boolean {
    return this.states.has(requestId);
  }

  /**
   * The steps of one poll: the delays to wait, then the step that answers it.
   * The cursor moves past each step taken, but stays on a terminal one.
   */
  take(requestId: string): { delaysMs: number[]; step: FutureStep } | undefined {
    const state = this.states.get(requestId);
    if (state === undefined) return undefined;
    const delaysMs: number[] = [];
    for (;;) {
      const step = state.script[state.cursor] ?? { result: state.defaultResult };
      const kind = stepKind(step);
      if (state.cursor < state.script.length && !TERMINAL.includes(kind)) state.cursor++;
      if (kind !== 'delayMs') return { delaysMs, step };
      delaysMs.push((step as { delayMs: number }).delayMs);
    }
  }

  /** Records a poll of a known future. */
  recordPoll(requestId: string, poll: FuturePoll): void {
    this.states.get(requestId)?.record.polls.push(poll);
  }

  private add(record: FutureState['record'], script: readonly FutureStep[], defaultResult: JsonValue): RecordedFuture {
    this.states.set(record.requestId, { record, script, cursor: 0, defaultResult });
    this.list.push(record);
    return record;
  }
}
