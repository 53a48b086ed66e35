/**
 * One message template for every validation error:
 * ``Expected `maxBatchSize` to be an integer ≥ 1, got `0` (number)``.
 */

/** Stable codes of the errors thrown for bad input. */
export const ERROR_CODES = Object.freeze({
  invalidOption: 'ERR_TINKER_TELEMETRY_INVALID_OPTION',
  outOfRange: 'ERR_TINKER_TELEMETRY_OPTION_OUT_OF_RANGE',
  unknownOption: 'ERR_TINKER_TELEMETRY_UNKNOWN_OPTION',
  missingApiKey: 'ERR_TINKER_TELEMETRY_MISSING_API_KEY',
} as const);

/** The value as the message shows it: strings quoted and cut, objects by kind, secrets hidden. */
export function renderValue(value: unknown, secret = false): string {
  if (secret) return '`[redacted]`';
  let shown: string;
  if (typeof value === 'string') shown = JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}…` : value);
  else if (typeof value === 'function') shown = '[function]';
  else if (Array.isArray(value)) shown = '[array]';
  else if (typeof value === 'object' && value !== null) shown = '[object]';
  // String() also shows a symbol, as `Symbol(description)`, where a template literal would throw.
  else shown = String(value);
  return `\`${shown}\``;
}

function typeLabel(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}

function message(name: string, expected: string, value: unknown, secret: boolean): string {
  return `Expected \`${name}\` to be ${expected}, got ${renderValue(value, secret)} (${typeLabel(value)})`;
}

/** A wrong type. */
export function invalidType(name: string, expected: string, value: unknown, secret = false): TypeError {
  return Object.assign(new TypeError(message(name, expected, value, secret)), { code: ERROR_CODES.invalidOption });
}

/** A value of the right type, out of range. */
export function outOfRange(name: string, expected: string, value: unknown, secret = false): RangeError {
  return Object.assign(new RangeError(message(name, expected, value, secret)), { code: ERROR_CODES.outOfRange });
}

/** An option name that is not known, with a suggestion when one is close. */
export function unknownOption(where: string, name: string, known: readonly string[]): TypeError {
  const suggestion = closest(name, known);
  const hint = suggestion === undefined ? '' : ` Did you mean \`${suggestion}\`?`;
  return Object.assign(new TypeError(`Unknown option \`${name}\` for ${where}.${hint} Known options: ${known.join(', ')}`), {
    code: ERROR_CODES.unknownOption,
  });
}

/** Checks a whole number within [min, max]; the error names `name`. */
export function integerInRange(name: string, value: unknown, min: number, max = 2 ** 31 - 1): number {
  const expected = max === 2 ** 31 - 1 ? `an integer ≥ ${min} (at most 2^31−1, the longest Node.js timer)` : `an integer from ${min} to ${max}`;
  if (typeof value !== 'number') throw invalidType(name, `an integer ≥ ${min}`, value);
  if (!Number.isInteger(value) || value < min || value > max) throw outOfRange(name, expected, value);
  return value;
}

function closest(name: string, known: readonly string[]): string | undefined {
  const lower = name.toLowerCase();
  let best: string | undefined;
  let bestDistance = 3;
  // A match but for case has distance 0, so the strict `<` already makes the first such candidate win.
  for (const candidate of known) {
    const distance = editDistance(lower, candidate.toLowerCase());
    if (distance < bestDistance) {
      bestDistance = distance;
      best = candidate;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length] ?? 3;
}

/** Whether `config` holds a key: a string that is not empty or blank. A hand-made config may hold anything. */
export function hasApiKey(config: { readonly apiKey: unknown }): boolean {
  return typeof config.apiKey === 'string' && config.apiKey.trim() !== '';
}

/**
 * The error for a missing key, code `ERR_TINKER_TELEMETRY_MISSING_API_KEY`,
 * thrown where the key is about to be used: `where` names the caller, and
 * `alternative` what else would do.
 */
export function missingApiKey(where: string, alternative = ''): Error {
  return Object.assign(
    new Error(`No Tinker API key for ${where}: pass \`apiKey\` to createConfig() or set the TINKER_API_KEY environment variable${alternative}`),
    { code: ERROR_CODES.missingApiKey },
  );
}
