/**
 * The demo's command line: its options, their help, and strict parsing, so
 * that a bad option stops the demo with one line that names it.
 */
import { parseArgs } from 'node:util';
import { DEFAULT_INSPECTOR_PORT } from './inspector.js';

/** The text of `--help`. */
export const HELP = `Usage: npm run demo -- [options]

Runs a Tinker session (createSession) against the fake Tinker API, started
in this process: start-up, heartbeats, a request paused for capacity, a
request that fails, the telemetry the fake received, then the session's
reporter under load and a fault stretch, and close(). It prints what both
machines do; a live view of the run is served on 127.0.0.1 unless --no-ui.
\`npm run inspect\` runs it with --inspect.

  --events N        events to log in the reporter's act, a whole number ≥ 0 (default 300)
  --fault-rate R    share of telemetry requests the fake fails with 503/429 during the fault stretch, 0..1 (default 0.6)
  --base-url URL    run the session against a real backend instead of the fake (needs TINKER_API_KEY;
                    the steps that script futures or read the fake's records are left out)
  --port P          port of the live view on 127.0.0.1, 0..65535; 0 picks a free one (default 0)
  --hold-ms MS      how long the live view stays up after the summary, in ms (default 1500)
  --inspect[=PORT]  attach the Stately inspector: its relay serves the inspector page and
                    WebSocket on PORT, 1..65535, on every interface (default ${DEFAULT_INSPECTOR_PORT})
  --no-ui           no live view: terminal output only, and no hold at the end
  --quiet           print only the addresses (live view, inspector) and the summary
  -h, --help        show this help
`;

/** Wrong command-line input: reported as one line, with exit status 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** The demo's options, parsed and checked. */
export interface DemoOptions {
  /** Print the help and do nothing else. */
  help: boolean;
  /** Events logged in the reporter's act: half in bursts, half during the fault stretch. Default: 300. */
  events: number;
  /** Share of telemetry requests the fake Tinker API fails during the fault stretch, 0..1. Default: 0.6. */
  faultRate: number;
  /** A real backend to run the session against instead of the fake Tinker API. Default: none (the fake). */
  baseUrl: string | undefined;
  /** Port of the live view on 127.0.0.1; 0 picks a free one. Default: 0. */
  port: number;
  /** Milliseconds the live view stays up after the summary. Default: 1500. */
  holdMs: number;
  /** Serve the live view (`--no-ui` turns it off). Default: true. */
  ui: boolean;
  /** Print only the addresses (live view, inspector) and the summary. Default: false. */
  quiet: boolean;
  /** Port of the Stately inspector relay when `--inspect` is given; `--inspect` alone means 8080. Default: undefined (no inspector). */
  inspectPort: number | undefined;
}

/** Parses the demo's arguments; throws a UsageError naming the option for any bad input. */
export function parseDemoArgs(args: string[]): DemoOptions {
  let values;
  try {
    ({ values } = parseArgs({
      args: withInspectDefault(args),
      strict: true,
      allowPositionals: false,
      options: {
        events: { type: 'string', default: '300' },
        'fault-rate': { type: 'string', default: '0.6' },
        'base-url': { type: 'string' },
        port: { type: 'string', default: '0' },
        'hold-ms': { type: 'string', default: '1500' },
        inspect: { type: 'string' },
        'no-ui': { type: 'boolean', default: false },
        quiet: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }));
  } catch (error) {
    throw new UsageError(describeParseError(error));
  }
  const baseUrl = values['base-url'];
  if (baseUrl !== undefined) {
    let url: URL | undefined;
    try {
      url = new URL(baseUrl);
    } catch {
      url = undefined;
    }
    if (url === undefined || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
      throw new UsageError(`Expected \`--base-url\` to be an http(s) URL, got \`${baseUrl}\``);
    }
  }
  return {
    help: values.help,
    events: wholeNumber('--events', values.events, 0, 10_000_000),
    faultRate: share('--fault-rate', values['fault-rate']),
    baseUrl,
    port: wholeNumber('--port', values.port, 0, 65_535),
    holdMs: wholeNumber('--hold-ms', values['hold-ms'], 0, 3_600_000),
    ui: !values['no-ui'],
    quiet: values.quiet,
    inspectPort: values.inspect === undefined ? undefined : wholeNumber('--inspect', values.inspect, 1, 65_535),
  };
}

/**
 * `--inspect` takes its port only as `--inspect=PORT`, as Node's own flag
 * does, which parseArgs cannot express: a bare `--inspect` becomes
 * `--inspect=<default>`, and a port written after it as a separate argument
 * is pointed at the `=` form.
 */
function withInspectDefault(args: string[]): string[] {
  const end = args.indexOf('--');
  const options = end === -1 ? args : args.slice(0, end);
  for (const [i, arg] of options.entries()) {
    const next = options[i + 1];
    if (arg === '--inspect' && next !== undefined && /^\d+$/.test(next)) {
      throw new UsageError(`Unexpected argument \`${next}\`: give the inspector's port as \`--inspect=${next}\``);
    }
  }
  return [...options.map((arg) => (arg === '--inspect' ? `--inspect=${DEFAULT_INSPECTOR_PORT}` : arg)), ...(end === -1 ? [] : args.slice(end))];
}

/** parseArgs' own messages suggest `--` tricks that do not apply here; name the option and stop. */
function describeParseError(error: unknown): string {
  const code = (error as { code?: unknown }).code;
  const message = error instanceof Error ? error.message : String(error);
  const quoted = /'([^']+)'/.exec(message)?.[1] ?? '';
  const option = quoted.split(' ')[0] ?? quoted;
  switch (code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
      return `Unknown option \`${option}\``;
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
      if (message.includes('does not take')) return `Expected \`${option}\` without a value`;
      if (message.includes('ambiguous')) return `Expected a value after \`${option}\`; write one that starts with - as \`${option}=<value>\``;
      return `Expected a value after \`${option}\``;
    case 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL':
      return `Unexpected argument \`${option}\`: every option starts with --`;
    default:
      return message;
  }
}

function wholeNumber(option: string, text: string, min: number, max: number): number {
  const value = /^\d+$/.test(text.trim()) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new UsageError(`Expected \`${option}\` to be a whole number in ${min}..${max}, got \`${text}\``);
  }
  return value;
}

function share(option: string, text: string): number {
  const value = text.trim() === '' ? Number.NaN : Number(text);
  if (!(value >= 0 && value <= 1)) throw new UsageError(`Expected \`${option}\` to be a number in 0..1, got \`${text}\``);
  return value;
}
