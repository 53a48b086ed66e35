/**
 * The server's client configuration (`POST /api/v1/client/config`): feature
 * flags resolved for this caller. As in the Python SDK's
 * `ClientConfigResponse`, unknown fields are ignored and a missing (or
 * mistyped) field takes its default.
 */
import type { JsonValue } from '../core/json.js';

/** The client configuration, camelCase, with the Python SDK's defaults. */
export interface ClientConfig {
  /** Exchange the key for a JWT at `auth/token` and send that as `X-API-Key`. Default false. */
  pjwtAuthEnabled: boolean;
  /** Where the credential comes from: `api_key` or `credential_cmd`. Default `api_key`. */
  credentialDefaultSource: string;
  /** Bytes of sampling requests dispatched at once. Default 10 MiB. */
  sampleDispatchBytesSemaphoreSize: number;
  /** Bytes of responses held in flight. Default 50 MiB. */
  inflightResponseBytesSemaphoreSize: number;
  /** Send forward/backward chunks in parallel. Default true. */
  parallelFwdbwdChunks: boolean;
  /** zstd-compress protobuf forward/backward bodies. Default false. */
  protoCompressFwdbwd: boolean;
  /** Datums per forward/backward chunk at most. Default 1024. */
  fwdbwdMaxChunkLen: number;
  /** Estimated bytes per forward/backward chunk at most. Default 5 000 000. */
  fwdbwdMaxChunkBytesCount: number;
  /** Estimated bytes of forward/backward requests dispatched at once. Default 50 000 000. */
  fwdbwdDispatchBytesSemaphoreSize: number;
  /** Seconds a job paused by its billing status (HTTP 402) keeps retrying before it fails. Default 3600. */
  billingExceptionMaxPauseDurationSec: number;
  /** Send sampling requests without retries. Default false. */
  sampleNoRetries: boolean;
  /** Detect sampling requests that make no progress. Default true. */
  sampleEnableStuckDetection: boolean;
  /** Sampling requests in flight at most. Default 2000. */
  sampleMaxConcurrentRequests: number;
  /** A transport choice of the Python SDK. Default true. */
  usePyqwestTransport: boolean;
  /** Create training clients from a checkpoint with one load_weights request. Default false. */
  createModelViaLoadWeights: boolean;
}

/** The defaults of every field, frozen: what a server that sends `{}` means. */
export const DEFAULT_CLIENT_CONFIG: Readonly<ClientConfig> = Object.freeze({
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

/** `pjwtAuthEnabled` → `pjwt_auth_enabled`. */
function wireName(field: string): string {
  return field.replace(/[A-Z]/g, (letter) => `_${letter.toLowerCase()}`);
}

/**
 * The client configuration in a response body, or undefined when the body
 * is not a JSON object. Each field of the right type (a boolean, an integer,
 * a string) is taken; any other value, null included, leaves the default.
 */
export function parseClientConfig(body: JsonValue): ClientConfig | undefined {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return undefined;
  const config: Record<string, unknown> = { ...DEFAULT_CLIENT_CONFIG };
  for (const [field, fallback] of Object.entries(DEFAULT_CLIENT_CONFIG)) {
    const value = Object.hasOwn(body, wireName(field)) ? body[wireName(field)] : undefined;
    const fits = typeof fallback === 'number' ? Number.isInteger(value) : typeof value === typeof fallback;
    if (fits) config[field] = value;
  }
  return config as unknown as ClientConfig;
}
