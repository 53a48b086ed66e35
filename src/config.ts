/**
 * Where the reporter sends and with which key, and whether telemetry is on.
 */
import { invalidType, outOfRange, unknownOption } from './core/validate.js';

/** The Tinker production endpoint's base: `https://tinker.thinkingmachines.dev/services/tinker-prod`. */
export const DEFAULT_BASE_URL = 'https://tinker.thinkingmachines.dev/services/tinker-prod';

/** Input of `createConfig`; every field is optional. */
export interface ConfigInput {
  /**
   * The Tinker API key. Default: `TINKER_API_KEY`. Needed by `startReporter`
   * when telemetry is on and by `createHttpClient`, which throw without it;
   * not needed when telemetry is disabled. An empty or blank key counts as
   * none.
   */
  apiKey?: string;
  /** The API's base URL, http or https. Default: `TINKER_BASE_URL`, then `DEFAULT_BASE_URL`. */
  baseUrl?: string;
  /** Turns telemetry on or off, above `TINKER_TELEMETRY`; `false` makes `startReporter` return null. Default: unset (the environment decides). */
  telemetryEnabled?: boolean;
}

/** A validated, frozen configuration. The API key is not enumerable, so it never shows in JSON or `util.inspect`. */
export interface Config {
  /** The API key, sent only as `X-API-Key`; empty when none was given (see `ConfigInput.apiKey`). */
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
 * Validates and freezes a configuration. Throws a TypeError for a wrong type
 * or an unknown field, and a RangeError for a URL that is not http(s), even
 * when telemetry is disabled, so a bad setup fails at once either way. A
 * missing key is not an error here: whether telemetry is on is only known to
 * `startReporter` (its `enabled` option comes last), which throws without a
 * key when telemetry is on and returns null when it is off, as
 * `createHttpClient` throws without one; so `TINKER_TELEMETRY=0` needs no key.
 */
export function createConfig(input: ConfigInput = {}): Config {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) throw invalidType('config input', 'an object', input);
  for (const key of Object.keys(input)) {
    if (!(CONFIG_KEYS as readonly string[]).includes(key)) throw unknownOption('createConfig', key, CONFIG_KEYS);
  }
  const given = input.apiKey ?? process.env.TINKER_API_KEY;
  if (given !== undefined && typeof given !== 'string') throw invalidType('apiKey', 'a string', given, true);
  const apiKey = given === undefined || given.trim() === '' ? '' : given;
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
