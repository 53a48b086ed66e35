/** The options of `startFakeTinker`, their defaults and their validation. */
import { type Clock, systemClock } from '../core/clock.js';
import type { JsonObject } from '../core/json.js';
import { integerInRange, invalidType, outOfRange, unknownOption } from '../core/validate.js';
import type { FutureStep, RecordedFuture } from './futures.js';

/** The API key the fake accepts unless `apiKey` says otherwise. */
export const FAKE_TINKER_API_KEY = 'tml-fake-tinker-test-key';

/**
 * What `POST /api/v1/client/config` answers, camelCase for the wire's
 * snake_case fields. A field left out takes the Python SDK's default
 * (`ClientConfigResponse`), shown beside it.
 */
export interface ClientConfigOptions {
  /** `pjwt_auth_enabled`: the client should exchange its key for a JWT at `auth/token`. Default false. */
  pjwtAuthEnabled?: boolean;
  /** `credential_default_source`. Default `'api_key'`. */
  credentialDefaultSource?: string;
  /** `sample_dispatch_bytes_semaphore_size`, bytes. Default 10 MiB. */
  sampleDispatchBytesSemaphoreSize?: number;
  /** `inflight_response_bytes_semaphore_size`, bytes. Default 50 MiB. */
  inflightResponseBytesSemaphoreSize?: number;
  /** `parallel_fwdbwd_chunks`. Default true. */
  parallelFwdbwdChunks?: boolean;
  /** `proto_compress_fwdbwd`. Default false. */
  protoCompressFwdbwd?: boolean;
  /** `fwdbwd_max_chunk_len`, datums. Default 1024. */
  fwdbwdMaxChunkLen?: number;
  /** `fwdbwd_max_chunk_bytes_count`, bytes. Default 5,000,000. */
  fwdbwdMaxChunkBytesCount?: number;
  /** `fwdbwd_dispatch_bytes_semaphore_size`, bytes. Default 50,000,000. */
  fwdbwdDispatchBytesSemaphoreSize?: number;
  /** `billing_exception_max_pause_duration_sec`, seconds. Default 3600. */
  billingExceptionMaxPauseDurationSec?: number;
  /** `sample_no_retries`. Default false. */
  sampleNoRetries?: boolean;
  /** `sample_enable_stuck_detection`. Default true. */
  sampleEnableStuckDetection?: boolean;
  /** `sample_max_concurrent_requests`. Default 2000. */
  sampleMaxConcurrentRequests?: number;
  /** `use_pyqwest_transport`. Default true. */
  usePyqwestTransport?: boolean;
  /** `create_model_via_load_weights`. Default false. */
  createModelViaLoadWeights?: boolean;
}

const CLIENT_CONFIG_DEFAULTS: Readonly<Record<keyof ClientConfigOptions, boolean | number | string>> = Object.freeze({
  pjwtAuthEnabled: false,
  credentialDefaultSource: 'api_key',
  sampleDispatchBytesSemaphoreSize: 10 * 1024 * 1024,
  inflightResponseBytesSemaphoreSize: 50 * 1024 * 1024,
  parallelFwdbwdChunks: true,
  protoCompressFwdbwd: false,
  fwdbwdMaxChunkLen: 1024,
  fwdbwdMaxChunkBytesCount: 5_000_000,
  fwdbwdDispatchBytesSemaphoreSize: 50_000_000,
  billingExceptionMaxPauseDurationSec: 3600,
  sampleNoRetries: false,
  sampleEnableStuckDetection: true,
  sampleMaxConcurrentRequests: 2000,
  usePyqwestTransport: true,
  createModelViaLoadWeights: false,
});

/** The messages `create_session` answers besides the session id. Each is left out of the answer when not given. */
export interface CreateSessionMessages {
  /** `info_message`, which the Python SDK logs at INFO. */
  info?: string;
  /** `warning_message`, logged at WARNING. */
  warning?: string;
  /** `error_message`, logged at ERROR (the session is still created). */
  error?: string;
}

/** Options of `startFakeTinker`. */
export interface FakeTinkerOptions {
  /** The API key the fake accepts as `X-API-Key`. Default `FAKE_TINKER_API_KEY` (`'tml-fake-tinker-test-key'`). */
  apiKey?: string;
  /** The port on 127.0.0.1. Default 0: a free port, chosen by the system. */
  port?: number;
  /** What `client/config` answers; see `ClientConfigOptions`. Default: the Python SDK's defaults (no JWT). */
  clientConfig?: ClientConfigOptions;
  /** What `client/dynamic_config` answers, or `false` to answer it 404 (which the Python SDK reads as the defaults). Default `{ refreshIntervalSec: 300 }`. */
  dynamicConfig?:
    | {
        /** `refresh_interval_sec`, in seconds. Default 300. */
        refreshIntervalSec?: number;
      }
    | false;
  /** The messages `create_session` answers. Default none. */
  createSessionMessages?: CreateSessionMessages;
  /** How long a JWT from `auth/token` is accepted, in milliseconds (its `exp` claim, rounded down to seconds). Default 3,600,000 (1 hour). */
  jwtTtlMs?: number;
  /** The clock: `now()` stamps the records and expires JWTs, `setTimeout` runs `delayMs`. Default `systemClock`. */
  clock?: Clock;
  /**
   * Whether a field with a default other than `None`, which the Python SDK always sends
   * (`allow_metadata_only`, `adam_params.beta1`, `overwrite`, `event_data`, …), must be present.
   * `false` accepts it missing, as the server's models do. The `type` discriminator is required either way. Default true.
   */
  requireDefaultedFields?: boolean;
  /** The largest request body read, in bytes; a larger one is answered 413. Default 33,554,432 (32 MiB). */
  maxBodyBytes?: number;
  /**
   * The script of a submitted request's future when `scriptNextFuture` queued none, e.g.
   * `() => [{ tryAgain: 'active' }]`. A script that runs out answers the endpoint's default result.
   * Default: none, so the first poll gets the default result.
   */
  defaultFutureScript?: (future: RecordedFuture) => readonly FutureStep[];
}

/** The options with their defaults applied. */
export interface ResolvedFakeOptions {
  readonly apiKey: string;
  readonly port: number;
  readonly clientConfig: JsonObject;
  readonly refreshIntervalSec: number | undefined;
  readonly createSessionMessages: CreateSessionMessages;
  readonly jwtTtlMs: number;
  readonly clock: Clock;
  readonly requireDefaultedFields: boolean;
  readonly maxBodyBytes: number;
  readonly defaultFutureScript: ((future: RecordedFuture) => readonly FutureStep[]) | undefined;
}

const KEYS = [
  'apiKey',
  'port',
  'clientConfig',
  'dynamicConfig',
  'createSessionMessages',
  'jwtTtlMs',
  'clock',
  'requireDefaultedFields',
  'maxBodyBytes',
  'defaultFutureScript',
] as const;

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const snakeCase = (name: string): string => name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

function resolveClientConfig(input: unknown): JsonObject {
  if (input !== undefined && !isObject(input)) throw invalidType('clientConfig', 'an object', input);
  const known = Object.keys(CLIENT_CONFIG_DEFAULTS);
  const config: JsonObject = {};
  for (const key of Object.keys(input ?? {})) if (!known.includes(key)) throw unknownOption('clientConfig', key, known);
  for (const [key, fallback] of Object.entries(CLIENT_CONFIG_DEFAULTS)) {
    const value = input?.[key] ?? fallback;
    if (typeof fallback === 'number') integerInRange(`clientConfig.${key}`, value, 0, Number.MAX_SAFE_INTEGER);
    else if (typeof value !== typeof fallback) throw invalidType(`clientConfig.${key}`, `a ${typeof fallback}`, value);
    config[snakeCase(key)] = value as boolean | number | string;
  }
  return config;
}

function resolveMessages(input: unknown): CreateSessionMessages {
  if (input === undefined) return {};
  if (!isObject(input)) throw invalidType('createSessionMessages', 'an object { info?, warning?, error? }', input);
  const known = ['info', 'warning', 'error'] as const;
  for (const key of Object.keys(input)) if (!(known as readonly string[]).includes(key)) throw unknownOption('createSessionMessages', key, known);
  const messages: CreateSessionMessages = {};
  for (const key of known) {
    const value = input[key];
    if (value === undefined) continue;
    if (typeof value !== 'string') throw invalidType(`createSessionMessages.${key}`, 'a string', value);
    messages[key] = value;
  }
  return messages;
}

function resolveRefresh(input: unknown): number | undefined {
  if (input === false) return undefined;
  if (input === undefined) return 300;
  if (!isObject(input)) throw invalidType('dynamicConfig', 'an object { refreshIntervalSec? } or false', input);
  for (const key of Object.keys(input)) if (key !== 'refreshIntervalSec') throw unknownOption('dynamicConfig', key, ['refreshIntervalSec']);
  return input.refreshIntervalSec === undefined ? 300 : integerInRange('dynamicConfig.refreshIntervalSec', input.refreshIntervalSec, 0);
}

function resolveClock(input: unknown): Clock {
  if (input === undefined) return systemClock;
  if (!isObject(input) || typeof input.now !== 'function' || typeof input.setTimeout !== 'function' || typeof input.clearTimeout !== 'function') {
    throw invalidType('clock', 'a Clock { now, setTimeout, clearTimeout }', input);
  }
  return input as unknown as Clock;
}

/** Checks `options` (the message template of src/core/validate.ts) and applies the defaults. */
export function resolveFakeOptions(options: unknown = {}): ResolvedFakeOptions {
  if (!isObject(options)) throw invalidType('options', 'an object', options);
  for (const key of Object.keys(options)) if (!(KEYS as readonly string[]).includes(key)) throw unknownOption('startFakeTinker()', key, KEYS);
  const apiKey = options.apiKey ?? FAKE_TINKER_API_KEY;
  if (typeof apiKey !== 'string') throw invalidType('apiKey', 'a string', apiKey, true);
  if (apiKey.trim() === '') throw outOfRange('apiKey', 'a string that is not blank', apiKey, true);
  const requireDefaultedFields = options.requireDefaultedFields ?? true;
  if (typeof requireDefaultedFields !== 'boolean') throw invalidType('requireDefaultedFields', 'a boolean', requireDefaultedFields);
  const defaultFutureScript = options.defaultFutureScript;
  if (defaultFutureScript !== undefined && typeof defaultFutureScript !== 'function')
    throw invalidType('defaultFutureScript', 'a function', defaultFutureScript);
  return {
    apiKey,
    port: integerInRange('port', options.port ?? 0, 0, 65_535),
    clientConfig: resolveClientConfig(options.clientConfig),
    refreshIntervalSec: resolveRefresh(options.dynamicConfig),
    createSessionMessages: resolveMessages(options.createSessionMessages),
    jwtTtlMs: integerInRange('jwtTtlMs', options.jwtTtlMs ?? 3_600_000, 1),
    clock: resolveClock(options.clock),
    requireDefaultedFields,
    maxBodyBytes: integerInRange('maxBodyBytes', options.maxBodyBytes ?? 32 * 1024 * 1024, 0),
    defaultFutureScript: defaultFutureScript as ResolvedFakeOptions['defaultFutureScript'],
  };
}
