/**
 * The request bodies the Tinker API accepts, written from the Python SDK's
 * request models (tinker 0.25, `src/tinker/types/*.py`). Request models there
 * derive from `StrictBase` (`extra="forbid"`), and the SDK dumps them with
 * `exclude_unset=False, exclude_none=True`: defaults, `type` included, are
 * sent, and `None` is left out. See `schema.ts` for how that reads here.
 *
 * Two choices go beyond what pydantic itself checks, because a body that
 * breaks them is a bug of the sender, never of the fake: the `type`
 * discriminator is required although it has a default, and the telemetry
 * events (response-side `BaseModel`s in the SDK, which ignore extra fields)
 * forbid extra fields like the batch that carries them.
 */
import { type ModelSchema, type Schema, s } from './schema.js';

const { required, defaulted, optional } = s;

/** `ClientConfigRequest`, also the body of `client/dynamic_config`. */
export const CLIENT_CONFIG_REQUEST = s.model('ClientConfigRequest', { sdk_version: required(s.string) });

/** The body of `auth/token`: the SDK sends `{}`. */
export const AUTH_TOKEN_REQUEST = s.model('AuthTokenRequest', {});

/** `CreateSessionRequest`. `user_metadata` is `dict | None` without a default: required, and `exclude_none` means never null. */
export const CREATE_SESSION_REQUEST = s.model('CreateSessionRequest', {
  tags: required(s.array(s.string)),
  user_metadata: required(s.record(s.any)),
  sdk_version: required(s.string),
  project_id: optional(s.string),
  type: required(s.literal('create_session')),
});

/** `SessionHeartbeatRequest`. */
export const SESSION_HEARTBEAT_REQUEST = s.model('SessionHeartbeatRequest', {
  session_id: required(s.string),
  type: required(s.literal('session_heartbeat')),
});

/** `FutureRetrieveRequest`. */
export const FUTURE_RETRIEVE_REQUEST = s.model('FutureRetrieveRequest', {
  request_id: required(s.string),
  allow_metadata_only: defaulted(s.boolean),
});

const SEVERITY = s.literal('DEBUG', 'INFO', 'WARNING', 'ERROR', 'CRITICAL');

function telemetryEvent(name: string, event: string, extra: ModelSchema['fields']): ModelSchema {
  return s.model(name, {
    event: required(s.literal(event)),
    event_id: required(s.string),
    event_session_index: required(s.integer),
    severity: required(SEVERITY),
    timestamp: required(s.datetime),
    ...extra,
  });
}

/** `TelemetryEvent`: the union of the four event models, told apart by `event`. */
export const TELEMETRY_EVENT: Schema = s.tagged('event', {
  SESSION_START: telemetryEvent('SessionStartEvent', 'SESSION_START', {}),
  SESSION_END: telemetryEvent('SessionEndEvent', 'SESSION_END', { duration: required(s.string) }),
  UNHANDLED_EXCEPTION: telemetryEvent('UnhandledExceptionEvent', 'UNHANDLED_EXCEPTION', {
    error_message: required(s.string),
    error_type: required(s.string),
    traceback: optional(s.string),
  }),
  GENERIC_EVENT: telemetryEvent('GenericEvent', 'GENERIC_EVENT', {
    event_name: required(s.string),
    event_data: defaulted(s.record(s.any)),
  }),
});

/** `TelemetrySendRequest`. */
export const TELEMETRY_SEND_REQUEST = s.model('TelemetrySendRequest', {
  events: required(s.array(TELEMETRY_EVENT)),
  platform: required(s.string),
  sdk_version: required(s.string),
  session_id: required(s.string),
  process_uuid: required(s.string),
});

const ADAM_PARAMS = s.model('AdamParams', {
  learning_rate: defaulted(s.number),
  beta1: defaulted(s.number),
  beta2: defaulted(s.number),
  eps: defaulted(s.number),
  weight_decay: defaulted(s.number),
  grad_clip_norm: defaulted(s.number),
});

/** `OptimStepRequest`. */
export const OPTIM_STEP_REQUEST = s.model('OptimStepRequest', {
  adam_params: required(ADAM_PARAMS),
  model_id: required(s.string),
  seq_id: optional(s.integer),
  type: required(s.literal('optim_step')),
});

/** `SaveWeightsRequest`. */
export const SAVE_WEIGHTS_REQUEST = s.model('SaveWeightsRequest', {
  model_id: required(s.string),
  path: optional(s.string),
  seq_id: optional(s.integer),
  ttl_seconds: optional(s.integer),
  overwrite: defaulted(s.boolean),
  type: required(s.literal('save_weights')),
});

/** `SaveWeightsForSamplerRequest`. */
export const SAVE_WEIGHTS_FOR_SAMPLER_REQUEST = s.model('SaveWeightsForSamplerRequest', {
  model_id: required(s.string),
  path: optional(s.string),
  sampling_session_seq_id: optional(s.integer),
  seq_id: optional(s.integer),
  ttl_seconds: optional(s.integer),
  type: required(s.literal('save_weights_for_sampler')),
});

/** `LoadWeightsRequest`. */
export const LOAD_WEIGHTS_REQUEST = s.model('LoadWeightsRequest', {
  model_id: optional(s.string),
  seq_id: optional(s.integer),
  session_id: optional(s.string),
  model_seq_id: optional(s.integer),
  base_model: optional(s.string),
  user_metadata: optional(s.record(s.any)),
  path: required(s.string),
  optimizer: required(s.boolean),
  weights_access_token: optional(s.string),
  type: required(s.literal('load_weights')),
});

/** `UnloadModelRequest`. */
export const UNLOAD_MODEL_REQUEST = s.model('UnloadModelRequest', {
  model_id: required(s.string),
  type: required(s.literal('unload_model')),
});

const LORA_CONFIG = s.model('LoraConfig', {
  rank: required(s.integer),
  seed: optional(s.integer),
  train_unembed: defaulted(s.boolean),
  train_mlp: defaulted(s.boolean),
  train_attn: defaulted(s.boolean),
});

/** `CreateModelRequest`. */
export const CREATE_MODEL_REQUEST = s.model('CreateModelRequest', {
  session_id: required(s.string),
  model_seq_id: required(s.integer),
  base_model: required(s.string),
  user_metadata: optional(s.record(s.any)),
  lora_config: optional(LORA_CONFIG),
  type: required(s.literal('create_model')),
});

/** `CreateSamplingSessionRequest`. */
export const CREATE_SAMPLING_SESSION_REQUEST = s.model('CreateSamplingSessionRequest', {
  session_id: required(s.string),
  sampling_session_seq_id: required(s.integer),
  base_model: optional(s.string),
  model_path: optional(s.string),
  type: required(s.literal('create_sampling_session')),
});

/** `GetInfoRequest`. */
export const GET_INFO_REQUEST = s.model('GetInfoRequest', {
  model_id: required(s.string),
  type: required(s.literal('get_info')),
});

const IMAGE_FORMAT = s.literal('png', 'jpeg');

/** `ModelInput`: chunks told apart by `type`. */
const MODEL_INPUT = s.model('ModelInput', {
  chunks: required(
    s.array(
      s.tagged('type', {
        encoded_text: s.model('EncodedTextChunk', { tokens: required(s.array(s.integer)), type: required(s.literal('encoded_text')) }),
        image: s.model('ImageChunk', {
          data: required(s.string),
          format: required(IMAGE_FORMAT),
          expected_tokens: optional(s.integer),
          type: required(s.literal('image')),
        }),
        image_asset_pointer: s.model('ImageAssetPointerChunk', {
          format: required(IMAGE_FORMAT),
          location: required(s.string),
          expected_tokens: optional(s.integer),
          type: required(s.literal('image_asset_pointer')),
        }),
        dmel: s.model('DmelChunk', { dmel: required(s.string), type: required(s.literal('dmel')) }),
      }),
    ),
  ),
});

const SAMPLING_PARAMS = s.model('SamplingParams', {
  max_tokens: optional(s.integer),
  seed: optional(s.integer),
  stop: optional(s.union('a string, an array of strings or an array of integers', s.string, s.array(s.string), s.array(s.integer))),
  temperature: defaulted(s.number),
  top_k: defaulted(s.integer),
  top_p: defaulted(s.number),
});

/** `SampleRequest` (POST `asample`). */
export const SAMPLE_REQUEST = s.model('SampleRequest', {
  num_samples: defaulted(s.integer),
  prompt: required(MODEL_INPUT),
  sampling_params: required(SAMPLING_PARAMS),
  base_model: optional(s.string),
  model_path: optional(s.string),
  sampling_session_id: optional(s.string),
  seq_id: optional(s.integer),
  prompt_logprobs: optional(s.boolean),
  topk_prompt_logprobs: defaulted(s.integer),
  type: required(s.literal('sample')),
});

const TENSOR_DATA = s.model('TensorData', {
  data: optional(s.array(s.number)),
  dtype: required(s.literal('int64', 'float32')),
  shape: optional(s.array(s.integer)),
  sparse_crow_indices: optional(s.array(s.integer)),
  sparse_col_indices: optional(s.array(s.integer)),
});

const DATUM = s.model('Datum', { model_input: required(MODEL_INPUT), loss_fn_inputs: defaulted(s.record(TENSOR_DATA)) });

/**
 * `ForwardBackwardRequest` as JSON, the form of SDKs before 0.22.3 (it has no
 * `type`). Tinker 0.25 sends protobuf instead, which the fake accepts
 * without decoding it.
 */
export const FORWARD_BACKWARD_REQUEST = s.model('ForwardBackwardRequest', {
  forward_backward_input: required(
    s.model('ForwardBackwardInput', {
      data: required(s.array(DATUM)),
      loss_fn: required(s.literal('cross_entropy', 'importance_sampling', 'ppo', 'cispo', 'dro')),
      loss_fn_config: optional(s.record(s.number)),
    }),
  ),
  model_id: required(s.string),
  seq_id: optional(s.integer),
});
