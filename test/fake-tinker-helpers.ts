/** Shared by the fake Tinker API's tests: a started fake closed after each test, plain requests to it, a hand-driven clock, and a valid body per endpoint. */
import { afterEach } from 'vitest';
import type { Clock } from '../src/core/clock.js';
import { type FakeTinker, type FakeTinkerOptions, startFakeTinker } from '../src/testing.js';

let fakes: FakeTinker[] = [];

afterEach(async () => {
  await Promise.all(fakes.map((fake) => fake.close()));
  fakes = [];
});

/** Starts a fake that `afterEach` closes. */
export async function start(options?: FakeTinkerOptions): Promise<FakeTinker> {
  const fake = await startFakeTinker(options);
  fakes.push(fake);
  return fake;
}

export interface Answer {
  status: number;
  headers: Headers;
  text: string;
  /** The body parsed as JSON (typed as JSON.parse types it, for the tests to reach into), undefined when it is not JSON. */
  json: ReturnType<typeof JSON.parse>;
}

/** A POST with a JSON body (or a raw string/bytes), the fake's key unless `key` says otherwise (`null`: no key). */
export async function post(
  fake: FakeTinker,
  path: string,
  body: unknown,
  options: { key?: string | null; contentType?: string | null; headers?: Record<string, string>; raw?: boolean } = {},
): Promise<Answer> {
  const headers: Record<string, string> = { ...options.headers };
  const key = options.key === undefined ? fake.apiKey : options.key;
  if (key !== null) headers['x-api-key'] = key;
  const contentType = options.contentType === undefined ? 'application/json' : options.contentType;
  if (contentType !== null) headers['content-type'] = contentType;
  const payload = options.raw === true ? (body as string | Uint8Array) : JSON.stringify(body);
  const response = await fetch(`${fake.url}${path}`, { method: 'POST', headers, body: payload });
  return read(response);
}

/** A GET with the fake's key. */
export async function get(fake: FakeTinker, path: string): Promise<Answer> {
  return read(await fetch(`${fake.url}${path}`, { headers: { 'x-api-key': fake.apiKey } }));
}

async function read(response: Response): Promise<Answer> {
  const text = await response.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: response.status, headers: response.headers, text, json };
}

/** A clock whose time and timers the test moves by hand. */
export function manualClock(startMs = 1_700_000_000_000) {
  let now = startMs;
  const timers = new Map<number, { at: number; fn: () => void }>();
  let next = 0;
  const clock: Clock = {
    now: () => now,
    setTimeout: (fn, ms) => {
      timers.set(++next, { at: now + ms, fn });
      return next;
    },
    clearTimeout: (handle) => void timers.delete(handle as number),
  };
  return {
    clock,
    pending: () => timers.size,
    /** Moves time on by `ms` and runs the timers due. */
    advance(ms: number) {
      now += ms;
      for (const [id, timer] of [...timers]) {
        if (timer.at <= now) {
          timers.delete(id);
          timer.fn();
        }
      }
    },
  };
}

/** A session id the fake issued. */
export async function createSession(fake: FakeTinker): Promise<string> {
  const answer = await post(fake, '/api/v1/create_session', VALID.create_session);
  return answer.json.session_id as string;
}

const ADAM = { learning_rate: 0.0001, beta1: 0.9, beta2: 0.95, eps: 1e-12, weight_decay: 0, grad_clip_norm: 0 };
const PROMPT = { chunks: [{ tokens: [1, 2, 3], type: 'encoded_text' }] };
const SAMPLING = { max_tokens: 16, temperature: 1, top_k: -1, top_p: 1 };

/** A body the Python SDK 0.25 could send, for each endpoint by its name under `/api/v1/`. */
export const VALID = {
  'client/config': { sdk_version: '0.1.0' },
  'client/dynamic_config': { sdk_version: '0.1.0' },
  'auth/token': {},
  create_session: { tags: ['a', 'b'], user_metadata: { run: 7 }, sdk_version: '0.1.0', project_id: 'proj-1', type: 'create_session' },
  session_heartbeat: { session_id: 'fake-session-1', type: 'session_heartbeat' },
  retrieve_future: { request_id: 'fake-request-1', allow_metadata_only: true },
  telemetry: {
    session_id: 'fake-session-1',
    platform: 'Linux',
    sdk_version: '0.1.0',
    process_uuid: '6f1f6f4e-8a2b-4c1d-9e3f-0a1b2c3d4e5f',
    events: [
      { event: 'SESSION_START', event_id: 'e0', event_session_index: 0, severity: 'INFO', timestamp: '2025-01-02T03:04:05.678Z' },
      {
        event: 'GENERIC_EVENT',
        event_id: 'e1',
        event_session_index: 1,
        severity: 'INFO',
        timestamp: '2025-01-02T03:04:05.678901Z',
        event_name: 'tinker.queue.state_change',
        event_data: { to: 'active' },
      },
      {
        event: 'UNHANDLED_EXCEPTION',
        event_id: 'e2',
        event_session_index: 2,
        severity: 'ERROR',
        timestamp: '2025-01-02T03:04:06+00:00',
        error_type: 'TypeError',
        error_message: 'boom',
        traceback: 'at x',
      },
      { event: 'SESSION_END', event_id: 'e3', event_session_index: 3, severity: 'INFO', timestamp: '2025-01-02T03:04:07Z', duration: '0:00:02.000000' },
    ],
  },
  create_model: {
    session_id: 'fake-session-1',
    model_seq_id: 0,
    base_model: 'Qwen/Qwen3-8B',
    user_metadata: {},
    lora_config: { rank: 32, seed: 1, train_unembed: true, train_mlp: true, train_attn: true },
    type: 'create_model',
  },
  forward_backward: {
    forward_backward_input: {
      data: [{ model_input: PROMPT, loss_fn_inputs: { target_tokens: { data: [2, 3, 4], dtype: 'int64', shape: [3] } } }],
      loss_fn: 'cross_entropy',
    },
    model_id: 'fake-session-1:train:0',
    seq_id: 1,
  },
  optim_step: { adam_params: ADAM, model_id: 'fake-session-1:train:0', seq_id: 2, type: 'optim_step' },
  save_weights: { model_id: 'fake-session-1:train:0', path: 'step-1', overwrite: false, type: 'save_weights' },
  save_weights_for_sampler: { model_id: 'fake-session-1:train:0', path: 'step-1', type: 'save_weights_for_sampler' },
  load_weights: { session_id: 'fake-session-1', model_seq_id: 1, path: 'tinker://x/weights/step-1', optimizer: true, type: 'load_weights' },
  unload_model: { model_id: 'fake-session-1:train:0', type: 'unload_model' },
  asample: { num_samples: 1, prompt: PROMPT, sampling_params: SAMPLING, base_model: 'Qwen/Qwen3-8B', topk_prompt_logprobs: 0, type: 'sample' },
  create_sampling_session: { session_id: 'fake-session-1', sampling_session_seq_id: 0, base_model: 'Qwen/Qwen3-8B', type: 'create_sampling_session' },
  get_info: { model_id: 'fake-session-1:train:0', type: 'get_info' },
} as const;

/** The endpoints that answer a future. */
export const SUBMITS = [
  'create_model',
  'forward_backward',
  'optim_step',
  'save_weights',
  'save_weights_for_sampler',
  'load_weights',
  'unload_model',
  'asample',
] as const;

/** A deep copy of a valid body, to break (typed as JSON.parse types it). */
export function validBody(name: keyof typeof VALID): ReturnType<typeof JSON.parse> {
  return JSON.parse(JSON.stringify(VALID[name]));
}
