/**
 * Where the reporter sends and with which key, and whether telemetry is on.
 */
import { ERROR_CODES, invalidType, outOfRange, unknownOption } from './internal/validate.js';

/** The Tinker production endpoint's base: `https://tinker.thinkingmachines.dev/services/tinker-prod`. */
export const DEFAULT_BASE_URL = 'https://tinker.thinkingmachines.dev/services/tinker-prod';

/** Input of `createConfig`; every field is optional. */
export interface ConfigInput {
  /** The Tinker API key. Default: `TINKER_API_KEY`. Required one way or the other, even when telemetry is disabled. */
  apiKey?: string;
  /** The API's base URL, http or https. Default: `TINKER_BASE_URL`, then `DEFAULT_BASE_URL`. */
  baseUrl?: string;
  /** Turns telemetry on or off, above `TINKER_TELEMETRY`; `false` makes `startReporter` return null. Default: unset (the environment decides). */
  telemetryEnabled?: boolean;
}

/** A validated, frozen configuration. The API key is not enumerable, so it never shows in JSON or `util.inspect`. */
export interface Config {
  /** The API key, sent only as `X-API-Key`. */
  readonly apiKey: string;
  /** The base URL, without a trailing slash. */
  readonly baseUrl: string;
  /** `ConfigInput.telemetryEnabled`, or undefined. */
  readonly telemetryEnabled: boolean | undefined;
  /** `${baseUrl}/api/v1/telemetry`. */
  readonly telemetryEndpoint: string;
}

const CONFIG_KEYS = ['apiKey', 'baseUrl', 'telemetryEnabled'] as const;

/**
 * Validates and freezes a configuration. Throws an Error (code
 * `ERR_TINKER_TELEMETRY_MISSING_API_KEY`) naming `TINKER_API_KEY` when there
 * is no key, a TypeError for a wrong type or unknown field, and a RangeError
 * for a URL that is not http(s). It throws the same way when telemetry is
 * disabled (`telemetryEnabled: false` or `TINKER_TELEMETRY=0`): the switch is
 * read later, by `startReporter`, so a bad setup fails at once either way.
 */
export function createConfig(input: ConfigInput = {}): Config {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) throw invalidType('config input', 'an object', input);
  for (const key of Object.keys(input)) {
    if (!(CONFIG_KEYS as readonly string[]).includes(key)) throw unknownOption('createConfig', key, CONFIG_KEYS);
  }
  const apiKey = input.apiKey ?? process.env.TINKER_API_KEY;
  if (apiKey !== undefined && typeof apiKey !== 'string') throw invalidType('apiKey', 'a string', apiKey, true);
  if (apiKey === undefined || apiKey.trim() === '') {
    throw Object.assign(
      new Error('No Tinker API key: pass `apiKey` to createConfig() or set the TINKER_API_KEY environment variable'),
      { code: ERROR_CODES.missingApiKey },
    );
  }
  const baseUrl = normalizeBaseUrl(input.baseUrl ?? process.env.TINKER_BASE_URL ?? DEFAULT_BASE_URL);
  const telemetryEnabled = input.telemetryEnabled;
  if (telemetryEnabled !== undefined && typeof telemetryEnabled !== 'boolean') throw invalidType('telemetryEnabled', 'a boolean', telemetryEnabled);

  const config = { baseUrl, telemetryEnabled, telemetryEndpoint: `${baseUrl}/api/v1/telemetry` } as Config;
  Object.defineProperty(config, 'apiKey', { value: apiKey, enumerable: false });
  return Object.freeze(config);
}

function normalizeBaseUrl(value: unknown): string {
  const expected = 'an http(s) URL without query or fragment';
  if (typeof value !== 'string') throw invalidType('baseUrl', expected, value);
  let url: URL;
  try {
    url = new URL(value.trim());
  } catch {
    throw outOfRange('baseUrl', expected, value);
  }
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.search !== '' || url.hash !== '' || url.username !== '' || url.password !== '') {
    throw outOfRange('baseUrl', expected, value);
  }
  return url.href.replace(/\/+$/, '');
}

const ENABLED = new Set(['1', 'true', 'yes', 'on']);
const DISABLED = new Set(['0', 'false', 'no', 'off']);
const warnedValues = new Set<string>();

/**
 * Reads `TINKER_TELEMETRY` (trimmed, any case): unset, `1`, `true`, `yes`,
 * `on` → enabled; `0`, `false`, `no`, `off` → disabled; any other value,
 * empty included → disabled, with a warning naming the value, once per
 * process for each distinct value.
 */
export function telemetryEnabledFromEnv(env: NodeJS.ProcessEnv, warn: (message: string) => void): boolean {
  const raw = env.TINKER_TELEMETRY;
  if (raw === undefined) return true;
  const value = raw.trim().toLowerCase();
  if (ENABLED.has(value)) return true;
  if (DISABLED.has(value)) return false;
  if (!warnedValues.has(raw)) {
    warnedValues.add(raw);
    warn(`TINKER_TELEMETRY=${JSON.stringify(raw)} is not recognised, so telemetry is disabled; use 1/true/yes/on or 0/false/no/off`);
  }
  return false;
}

/** `enabled` if boolean, else `config.telemetryEnabled` if boolean, else the environment. */
export function resolveEnabled(enabled: boolean | undefined, config: Config, env: NodeJS.ProcessEnv, warn: (message: string) => void): boolean {
  if (typeof enabled === 'boolean') return enabled;
  if (typeof config.telemetryEnabled === 'boolean') return config.telemetryEnabled;
  return telemetryEnabledFromEnv(env, warn);
}
