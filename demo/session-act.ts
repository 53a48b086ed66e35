/**
 * The demo's first act, the Tinker session against the fake Tinker API:
 * what start-up sent, heartbeats arriving, a request whose future waits out
 * `paused_capacity`, and a request that fails with a typed error. Each step
 * prints what the session does and what the fake recorded.
 */
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import {
  CHANNELS,
  type HttpRequestExceptionPayload,
  type HttpRequestStopPayload,
  type JsonObject,
  type JsonValue,
  type QueueStateChangePayload,
  RequestFailedError,
} from '../src/index.js';
import type { DemoContext } from './context.js';
import { HEARTBEAT_PATH } from './transcript.js';

/** Characters of a recorded request body shown on its line. */
const BODY_CHARS = 110;

/** A body on one line, cut to `BODY_CHARS`. */
function shortJson(value: JsonValue | undefined): string {
  if (value === undefined) return '(no body)';
  const text = JSON.stringify(value);
  return text.length <= BODY_CHARS ? text : `${text.slice(0, BODY_CHARS - 1)}…`;
}

/** The model the demo's requests name: the id the fake's `create_model` would have issued for this session. */
const modelOf = (sessionId: string) => `${sessionId}:train:0`;

/**
 * An `optim_step` body as the Python SDK sends it: every field of
 * `OptimStepRequest`, the defaulted ones included, so the fake's strict
 * validation passes.
 */
function optimStepBody(modelId: string): JsonObject {
  return {
    adam_params: { learning_rate: 0.0001, beta1: 0.9, beta2: 0.95, eps: 1e-12, weight_decay: 0, grad_clip_norm: 0 },
    model_id: modelId,
    type: 'optim_step',
  };
}

/** A `save_weights` body as the SDK sends it: `overwrite` is defaulted but always sent. */
export function saveWeightsBody(modelId: string, path: string): JsonObject {
  return { model_id: modelId, path, overwrite: false, type: 'save_weights' };
}

/** Prints the id the server issued and, against the fake, the start-up requests it received. */
export function showStartUp(context: DemoContext): void {
  const { session, fake, transcript } = context;
  if (fake === undefined) {
    transcript.say('  (start-up against a real backend: client/config, then create_session; their bodies are not recorded here)');
  } else {
    const created = fake.requests.findIndex((request) => request.path === '/api/v1/create_session' && request.status === 200);
    for (const request of fake.requests.slice(0, created + 1)) {
      transcript.say(`  start-up ${request.method} ${request.path} → ${request.status ?? request.outcome}  ${shortJson(request.body)}`);
    }
  }
  transcript.say(`  session created: ${session.sessionId} (issued by the server; every heartbeat and telemetry batch carries it)`);
  context.live?.note('session', `session created: ${session.sessionId}`);
}

/**
 * Waits for `count` heartbeats of the session and prints each one as it is
 * answered, with how many the fake has accepted. Gives up, as a problem,
 * when they take much longer than `intervalMs` each.
 */
export async function showHeartbeats(context: DemoContext, count: number, intervalMs: number): Promise<void> {
  const { session, fake, transcript } = context;
  let answered = 0;
  let finish: () => void = () => undefined;
  const enough = new Promise<void>((resolve) => (finish = resolve));
  const accepted = () => fake?.heartbeats.filter((beat) => beat.sessionId === session.sessionId).length;
  const onStop = (message: unknown) => {
    const m = message as HttpRequestStopPayload;
    if (m.sessionId !== session.sessionId || m.path !== HEARTBEAT_PATH) return;
    answered++;
    const atFake = fake === undefined ? '' : `  (the fake has accepted ${accepted()} for ${session.sessionId})`;
    transcript.say(`  beat   #${answered} ${m.method} ${m.path} → ${m.status}  ${m.durationMs.toFixed(1)} ms${atFake}`);
    if (answered >= count) finish();
  };
  const onException = (message: unknown) => {
    const m = message as HttpRequestExceptionPayload;
    if (m.sessionId !== session.sessionId || m.path !== HEARTBEAT_PATH || m.kind === 'http') return;
    transcript.say(`  beat   ${m.method} ${m.path} failed (${m.kind}: ${m.reason})`);
  };
  subscribe(CHANNELS.httpRequestStop, onStop);
  subscribe(CHANNELS.httpRequestException, onException);
  const timeoutMs = count * intervalMs + 10_000;
  const timer = setTimeout(finish, timeoutMs);
  try {
    await enough;
  } finally {
    clearTimeout(timer);
    unsubscribe(CHANNELS.httpRequestStop, onStop);
    unsubscribe(CHANNELS.httpRequestException, onException);
  }
  if (answered < count) context.problems.push(`only ${answered} of ${count} heartbeats were answered within ${timeoutMs} ms`);
}

/**
 * Submits an `optim_step` whose future the fake answers `try_again` with
 * `paused_capacity`, then, a poll later, `active`, then the result: the
 * session publishes each queue change, and the reporter forwards it.
 */
export async function submitThroughPausedCapacity(context: DemoContext): Promise<void> {
  const { session, fake, transcript } = context;
  if (fake === undefined) return;
  fake.scriptNextFuture(
    [
      { tryAgain: 'paused_capacity', reason: 'the cluster is at capacity (scripted)' },
      // The fake holds these polls, as the service's long polls do, so the pause can be watched.
      { delayMs: 800 },
      { tryAgain: 'active' },
      { delayMs: 400 },
      { result: { metrics: { loss: 0.42 } } },
    ],
    { path: 'api/v1/optim_step' },
  );
  const queued: string[] = [];
  const onQueue = (message: unknown) => {
    const m = message as QueueStateChangePayload;
    if (m.sessionId === session.sessionId) queued.push(m.to);
  };
  subscribe(CHANNELS.queueStateChange, onQueue);
  try {
    const result = await session.submit('api/v1/optim_step', optimStepBody(modelOf(session.sessionId)), { requestType: 'OptimStep', timeoutMs: 15_000 });
    const future = fake.futures.find((one) => one.path === '/api/v1/optim_step');
    const polls = future === undefined ? '' : ` after ${future.polls.length} polls of retrieve_future`;
    transcript.say(`  result ${result.kind === 'json' ? JSON.stringify(result.value) : `${result.bytes.byteLength} bytes of ${result.contentType}`}${polls}`);
  } catch (error) {
    context.problems.push(`the optim_step future failed: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`);
    transcript.say(`  error  ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`);
  } finally {
    unsubscribe(CHANNELS.queueStateChange, onQueue);
  }
  if (queued.join(' → ') !== 'paused_capacity → active') {
    context.problems.push(`the queue went ${queued.join(' → ') || 'nowhere'}, not paused_capacity → active`);
  }
}

/**
 * Submits a `save_weights` whose future the fake answers with an error body
 * of category `user`: `submit` rejects with a `RequestFailedError`, printed
 * with its code, category and request id.
 */
export async function failedRequest(context: DemoContext): Promise<void> {
  const { session, fake, transcript } = context;
  if (fake === undefined) return;
  const checkpoint = 'demo/step-1';
  fake.scriptNextFuture([{ error: `checkpoint ${checkpoint} already exists; pass overwrite: true to replace it`, category: 'user' }], {
    path: 'api/v1/save_weights',
  });
  try {
    const result = await session.submit('api/v1/save_weights', saveWeightsBody(modelOf(session.sessionId), checkpoint), {
      requestType: 'SaveWeights',
      timeoutMs: 15_000,
    });
    context.problems.push(`save_weights succeeded (${JSON.stringify(result)}) where the fake was scripted to fail it`);
  } catch (error) {
    if (error instanceof RequestFailedError) {
      transcript.say(`  typed  ${error.name}  code ${error.code}  category ${error.category}  request ${error.requestId}`);
      transcript.say(`         ${error.message}`);
      context.live?.note('future', `${error.name} (${error.code}, category ${error.category})`);
    } else {
      const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
      context.problems.push(`save_weights failed with ${text}, not a RequestFailedError`);
      transcript.say(`  error  ${text}`);
    }
  }
}
