/**
 * The model endpoints the fake knows (tinker-protocol.md §2): the submits,
 * which answer a future to poll, and the two calls that answer at once.
 * The session endpoints (config, auth, create, heartbeat, telemetry,
 * retrieve_future) are the server's own routes.
 */
import type { JsonObject, JsonValue } from '../core/json.js';
import {
  CREATE_MODEL_REQUEST,
  CREATE_SAMPLING_SESSION_REQUEST,
  FORWARD_BACKWARD_REQUEST,
  GET_INFO_REQUEST,
  LOAD_WEIGHTS_REQUEST,
  OPTIM_STEP_REQUEST,
  SAMPLE_REQUEST,
  SAVE_WEIGHTS_FOR_SAMPLER_REQUEST,
  SAVE_WEIGHTS_REQUEST,
  UNLOAD_MODEL_REQUEST,
} from './request-models.js';
import type { ModelSchema } from './schema.js';

/** A POST that answers `{ request_id, model_id? }` and whose result is polled with `retrieve_future`. */
export interface SubmitEndpoint {
  readonly kind: 'submit';
  readonly model: ModelSchema;
  /** The `X-Tinker-Request-Type` the Python SDK polls it with. */
  readonly requestType: string;
  /** The `model_id` the submit answers, when the SDK reads one from it. */
  readonly modelId?: (body: JsonObject) => string | undefined;
  /** The future's result when no script says otherwise. */
  readonly defaultResult: (body: JsonObject, modelId: string | undefined) => JsonValue;
  /** Whether a protobuf body (`application/x-protobuf`) is accepted, undecoded. */
  readonly acceptsProtobuf?: boolean;
}

/** A POST answered at once. */
export interface ImmediateEndpoint {
  readonly kind: 'immediate';
  readonly model: ModelSchema;
  readonly answer: (body: JsonObject) => JsonObject;
}

const text = (value: JsonValue | undefined, fallback: string): string => (typeof value === 'string' ? value : fallback);

// The SDK's model id for a model made in a session: "{session_id}:train:{model_seq_id}".
const trainModelId = (body: JsonObject): string | undefined =>
  typeof body.session_id === 'string' && typeof body.model_seq_id === 'number' ? `${body.session_id}:train:${body.model_seq_id}` : undefined;

/** Every model endpoint, by path (`/api/v1/<name>`). */
export const MODEL_ENDPOINTS: Readonly<Record<string, SubmitEndpoint | ImmediateEndpoint>> = Object.freeze({
  '/api/v1/create_model': {
    kind: 'submit',
    model: CREATE_MODEL_REQUEST,
    requestType: 'CreateModel',
    modelId: trainModelId,
    defaultResult: (_body, modelId) => ({ model_id: modelId ?? 'fake-model', type: 'create_model' }),
  },
  '/api/v1/forward_backward': {
    kind: 'submit',
    model: FORWARD_BACKWARD_REQUEST,
    requestType: 'ForwardBackward',
    acceptsProtobuf: true,
    defaultResult: () => ({ loss_fn_output_type: 'cross_entropy', loss_fn_outputs: [], metrics: { 'loss:sum': 0 } }),
  },
  '/api/v1/optim_step': {
    kind: 'submit',
    model: OPTIM_STEP_REQUEST,
    requestType: 'OptimStep',
    defaultResult: () => ({ metrics: {} }),
  },
  '/api/v1/save_weights': {
    kind: 'submit',
    model: SAVE_WEIGHTS_REQUEST,
    requestType: 'SaveWeights',
    defaultResult: (body) => ({ path: `tinker://${text(body.model_id, 'fake-model')}/weights/${text(body.path, 'checkpoint')}`, type: 'save_weights' }),
  },
  '/api/v1/save_weights_for_sampler': {
    kind: 'submit',
    model: SAVE_WEIGHTS_FOR_SAMPLER_REQUEST,
    requestType: 'SaveWeightsForSampler',
    defaultResult: (body) => ({
      path: `tinker://${text(body.model_id, 'fake-model')}/sampler_weights/${text(body.path, 'checkpoint')}`,
      type: 'save_weights_for_sampler',
    }),
  },
  '/api/v1/load_weights': {
    kind: 'submit',
    model: LOAD_WEIGHTS_REQUEST,
    requestType: 'LoadWeights',
    modelId: trainModelId,
    defaultResult: (body, modelId) => ({ path: text(body.path, ''), model_id: modelId ?? text(body.model_id, 'fake-model'), type: 'load_weights' }),
  },
  '/api/v1/unload_model': {
    kind: 'submit',
    model: UNLOAD_MODEL_REQUEST,
    requestType: 'UnloadModel',
    defaultResult: (body) => ({ model_id: text(body.model_id, 'fake-model'), type: 'unload_model' }),
  },
  '/api/v1/asample': {
    kind: 'submit',
    model: SAMPLE_REQUEST,
    requestType: 'Sample',
    defaultResult: () => ({ type: 'sample', sequences: [{ stop_reason: 'length', tokens: [], logprobs: [] }], prompt_logprobs: null }),
  },
  '/api/v1/create_sampling_session': {
    kind: 'immediate',
    model: CREATE_SAMPLING_SESSION_REQUEST,
    answer: (body) => ({
      type: 'create_sampling_session',
      sampling_session_id: `${text(body.session_id, 'session')}:sample:${typeof body.sampling_session_seq_id === 'number' ? body.sampling_session_seq_id : 0}`,
    }),
  },
  '/api/v1/get_info': {
    kind: 'immediate',
    model: GET_INFO_REQUEST,
    answer: (body) => ({
      type: 'get_info',
      model_data: { arch: 'fake', model_name: 'fake-model', tokenizer_id: 'fake-tokenizer' },
      model_id: text(body.model_id, 'fake-model'),
      is_lora: true,
      lora_rank: 32,
      model_name: 'fake-model',
    }),
  },
} satisfies Record<string, SubmitEndpoint | ImmediateEndpoint>);
