/**
 * Property, end to end: wherever the API key sits in a string that a real
 * reporter is given through any public input, and wherever a limit cuts that
 * string, no 8-character fragment of the key reaches a request body, a log
 * record, a file of the spool (the journal and the batch files, mid-session
 * and after `stop()`), a `tinker:telemetry:*` channel payload or `stats()`.
 *
 * Each run starts a reporter with `startReporter` on a simulated clock,
 * sending through got to a `node:http` server on 127.0.0.1 that answers 200,
 * 503 once or 503 always, with `spoolDir` in a fresh temporary directory: a
 * batch is held on disk while it is sent, then delivered, spooled when its
 * retries are exhausted, or dropped when the spool has no room. Where a
 * failure's reason must carry the key, a transport wraps the got one and
 * turns each failed answer into that failure. The key (`tml-`, capitals and
 * digits) and the text around it (no capitals, digits, `t`, `m` or `l`) share
 * no 8-character piece, so any fragment found came from the key. Offsets are
 * drawn near each cut the string meets on its way: the snapshot's per-string
 * and budget cuts, the event name's, an exception's 4,096 and 8,192, a
 * traceback's 65,536, a failure reason's 300, a warning quote's 60, and the
 * cut to `maxEventBytes` at send time.
 */
import diagnostics from 'node:diagnostics_channel';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { InspectionEvent } from 'xstate';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createConfig } from '../src/config.js';
import { TELEMETRY_CHANNELS, publishQueueStateChange } from '../src/host/channels.js';
import { attachLogger, detachLogger } from '../src/host/debug-logger.js';
import { createGotTransport } from '../src/io/transport.js';
import { type TelemetryReporter, startReporter } from '../src/reporter.js';
import type { SendResult, Transport } from '../src/core/ports.js';
import { recordingLogger } from '../test/helpers.js';
import { fcRuns } from '../test/fc-runs.js';
import { SimulatedClock, settle } from './harness.js';

const seed = Number(process.env.FC_SEED ?? Date.now() % 2 ** 31);
console.log(`secrets.e2e.property FC_SEED=${seed}`);
/** Every case is a reporter, sockets and files: a few under the mutation gate, where each surviving mutant reruns them. */
const options = { seed, numRuns: fcRuns(25, 4) };
const SESSION = 'secrets-e2e';

/** Keys: `tml-` and 8 to 40 capitals and digits, self-overlapping ones (`tml-AAAA…`) included. */
const keyArb = fc.string({ unit: fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789'), minLength: 8, maxLength: 40 }).map((tail) => `tml-${tail}`);
/**
 * Text around the key: no capitals, digits, `t`, `m` or `l`, so it never
 * holds a fragment of the key; often only characters that take 2 to 4 bytes
 * in JSON, so that a text the snapshot keeps whole is cut at send time.
 */
const fillerArb = fc.oneof(
  fc.string({ unit: fc.constantFrom(...'abcdefghijknopqrsuvwxyz :/[]{}"\\\n\t…é', '😀'), minLength: 1, maxLength: 16 }),
  fc.string({ unit: fc.constantFrom(...'"\\\n…é', '😀'), minLength: 1, maxLength: 4 }),
);

/** `length` characters of `filler`, repeated. */
const pad = (filler: string, length: number) => filler.repeat(Math.ceil(length / filler.length)).slice(0, length);

/**
 * Where a limit cuts a string: after `at` UTF-16 code units (the cuts made
 * when a value is logged), or where its JSON reaches `at` UTF-8 bytes (the
 * cut to `maxEventBytes` at send time, which counts escapes and multi-byte
 * characters).
 */
interface Cut {
  at: number;
  unit: 'chars' | 'bytes';
}
const chars = (at: number): Cut => ({ at, unit: 'chars' });
const bytes = (at: number): Cut => ({ at, unit: 'bytes' });

/** The UTF-8 bytes `text` takes inside a JSON string. */
const jsonBytes = (text: string) => Buffer.byteLength(JSON.stringify(text)) - 2;

/** The fewest characters of `filler`, repeated, whose JSON takes `target` bytes or more. */
function charsForBytes(filler: string, target: number): number {
  let low = 0;
  let high = target;
  while (low < high) {
    const middle = Math.floor((low + high) / 2);
    if (jsonBytes(pad(filler, middle)) >= target) high = middle;
    else low = middle + 1;
  }
  return low;
}

/**
 * A text holding 1 to 3 copies of `key`, the first starting near the start,
 * anywhere, across one of `cuts` (it starts at least 8 characters before the
 * cut and ends after it), or near one; what follows the copies is short, or
 * up to `longest` characters.
 */
function textArb(key: string, cuts: readonly Cut[], longest: number): fc.Arbitrary<string> {
  const around = (cut: Cut, min: number, max: number) => fc.integer({ min: Math.max(0, min), max }).map((at): Cut => ({ at, unit: cut.unit }));
  const position = fc.oneof(
    { weight: 1, arbitrary: fc.nat(64).map(chars) },
    { weight: 1, arbitrary: fc.nat(Math.max(...cuts.map((cut) => cut.at)) + 64).map(chars) },
    // Across the cut with 8 characters or more of the key before it, where a cut made before the redaction would leave a fragment.
    ...cuts.map((cut) => ({ weight: 3, arbitrary: around(cut, cut.at - key.length + 1, cut.at - 8) })),
    ...cuts.map((cut) => ({ weight: 1, arbitrary: around(cut, cut.at - 64, cut.at + 8) })),
  );
  const after = fc.oneof({ weight: 3, arbitrary: fc.nat(300) }, { weight: 1, arbitrary: fc.nat(longest) });
  return fc
    .record({ filler: fillerArb, position, gaps: fc.array(fc.nat(40), { minLength: 1, maxLength: 3 }), after })
    .map(({ filler, position, gaps, after }) => {
      const offset = position.unit === 'chars' ? position.at : charsForBytes(filler, position.at);
      return pad(filler, offset) + gaps.map((gap, i) => (i === 0 ? key : pad(filler, gap) + key)).join('') + pad(filler, after);
    });
}

/** The 8-character fragments of `key` found in `text`. */
function fragmentsIn(text: string, key: string): string[] {
  const found: string[] = [];
  for (let i = 0; i + 8 <= key.length; i++) if (text.includes(key.slice(i, i + 8))) found.push(key.slice(i, i + 8));
  return found;
}

/** How the server answers: every request 200, the first 503 and the rest 200, or every request 503. */
type SinkMode = 'ok' | 'fail-once' | 'fail';

/** One public input that can carry the key, and the cuts a string given through it meets. */
interface Carrier {
  readonly name: string;
  /** Where a string given through it is cut, for a `maxEventBytes` of `max`: the offsets of the key are drawn around these. */
  cuts(max: number): Cut[];
  /** Hands `text` to the reporter; `run.variant` (0–5) picks among ways of doing it. */
  give?(reporter: TelemetryReporter, text: string, run: Run): void;
  /** Every failed send of the wrapped got transport ends in this instead: a result, or a throw. */
  failure?(text: string): SendResult;
  /** What `stop()` is called with. Default: 60 000. */
  stopWith?(text: string): unknown;
  /** The reporter forwards the queue channel, and `attachLogger` writes every channel to the same logger. */
  forwards?: boolean;
}

/**
 * Cuts a data string meets when logged: 32,768 per string, and the
 * snapshot's budget, which cuts it `before` code units short of
 * `maxEventBytes` (its reserve, and what the snapshot wrote first).
 */
const dataCuts = (before: number) => (max: number) => [chars(32_768), chars(max - before)];

/** The stacks that fill 7 of an AggregateError's 8 inner entries, so the 8th crosses the traceback's 65,536 characters near 8,158. */
const FULL_STACKS = Array.from({ length: 7 }, () => ({ stack: 'x'.repeat(8185) }));

/** Half of what an UNHANDLED_EXCEPTION of `max` bytes has room for: where the message is cut at send time. */
const half = (max: number) => Math.floor((max - 268) / 2);

const CARRIERS: readonly Carrier[] = [
  // A top-level string of event_data is also cut at send time, after the other fields, when the event is over `maxEventBytes`.
  { name: 'a data string', cuts: (max) => [...dataCuts(459)(max), bytes(max - 708)], give: (r, text) => r.log('event', { text }) },
  // A nested value over `maxEventBytes` at send time is dropped whole with its top-level key, not cut.
  { name: 'a nested data string', cuts: dataCuts(472), give: (r, text) => r.log('event', { outer: { list: [1, text] } }) },
  // A key dropped at send time is listed in the marker, cut to 40 bytes of JSON: about 15 of its own and
  // `…[truncated N chars]`. The snapshot keeps `pad` and the key whole, but `pad` takes 3 bytes a character, so
  // the event is over `maxEventBytes` at send time: `pad` is cut, and the key dropped and listed.
  {
    name: 'a data key',
    cuts: () => [bytes(15)],
    give: (r, text, run) => r.log('event', { pad: '…'.repeat(Math.max(0, run.maxEventBytes - 440 - text.length)), [text]: 1 }),
  },
  // Cut to `maxEventBytes` when logged, and at send time to what the event's other fields leave.
  { name: 'an event name', cuts: (max) => [chars(max), bytes(max - 219)], give: (r, text) => r.log(text, { n: 1 }) },
  // The message is cut at 4,096, the stack (`Error: ` and the message) at 8,192, and at send time each gets half the room.
  {
    name: 'an exception message',
    cuts: (max) => [chars(4096), chars(8185), bytes(half(max)), bytes(half(max) - 6)],
    give: (r, text) => r.logException(new Error(text)),
  },
  { name: 'a stack', cuts: (max) => [chars(8192), bytes(max - 248)], give: (r, text) => r.logException(Object.assign(new Error('failed'), { stack: text })) },
  {
    name: 'an AggregateError inner error',
    // An entry is cut at 8,192 (an Error's stack starts `Error: `, an object's entry `Object: `), the 8th after 7 full
    // ones at what the traceback's 65,536 leave, and the traceback at send time (roughly).
    cuts: (max) => [chars(8192), chars(8185), chars(8184), chars(8158), bytes(max - 300)],
    give: (r, text, { variant }) => {
      const inner = [new Error(text), { stack: text }, { message: text }][variant % 3];
      const errors = variant >= 3 ? [...FULL_STACKS, inner] : [new Error('first'), inner];
      r.logException(Object.assign(new AggregateError(errors, 'all failed'), { stack: 'AggregateError: all failed' }));
    },
  },
  {
    name: "a user error's message and body",
    // Cut at 4,096 each, then by the budget of the snapshot of the user_error's data.
    cuts: (max) => [chars(4096), chars(max - 483)],
    give: (r, text) => r.logException(Object.assign(new Error(text), { status: 401, body: text })),
  },
  { name: "a transport failure's reason", cuts: () => [chars(300)], failure: (text) => ({ kind: 'retryable', reason: text }) },
  {
    name: "a transport's rejection",
    cuts: () => [chars(300)],
    failure: (text) => {
      throw Object.assign(new Error('send failed'), { name: text });
    },
  },
  {
    name: 'a channel message, forwarded and written by attachLogger',
    cuts: dataCuts(561),
    forwards: true,
    give: (_r, text) => publishQueueStateChange({ sessionId: SESSION, requestId: 'request-1', queueDepth: 1, from: 'queued', to: 'running', reason: text }),
  },
  { name: 'a refused severity, quoted in a warning', cuts: () => [chars(60)], give: (r, text) => r.log('event', {}, text as 'info') },
  { name: 'a refused stop() timeout, quoted in a warning', cuts: () => [chars(60)], stopWith: (text) => text },
];

interface Sink {
  base: string;
  mode: SinkMode;
  bodies: string[];
}

let server: Server | undefined;
let sink: Sink;
beforeEach(async () => {
  sink = { base: '', mode: 'ok', bodies: [] };
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      sink.bodies.push(Buffer.concat(chunks).toString('utf8'));
      const fail = sink.mode === 'fail' || (sink.mode === 'fail-once' && sink.bodies.length === 1);
      res.writeHead(fail ? 503 : 200).end();
    });
  });
  await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
  sink.base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterEach(async () => {
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve));
  server = undefined;
});

/** One run's inputs. */
interface Run {
  key: string;
  text: string;
  maxEventBytes: number;
  mode: SinkMode;
  spoolRoom: boolean;
  variant: number;
}

/** Everything one run left where the key must not be, each as one text. */
interface Sinks {
  bodies: string;
  logs: string;
  /** The spool's files while the first batch waits for its retry or has been delivered. */
  spoolMidSession: string;
  /** The spool's files once `stop()` has resolved. */
  spoolAfterStop: string;
  channels: string;
  stats: string;
}

/** Every file of the spool directory, its name and its bytes. */
const spoolText = (dir: string) =>
  readdirSync(dir)
    .map((file) => `${file}\n${readFileSync(join(dir, file), 'utf8')}`)
    .join('\n');

/**
 * Runs `carrier` with `run` through a reporter configured with `reporterKey`
 * (the key itself, or another for the control runs): gives it the text,
 * sends, reads the spool while the batch waits for its retry, stops on the
 * simulated clock, and returns what every sink holds. Always stops the
 * reporter and removes the directory.
 */
async function runOnce(carrier: Carrier, run: Run, reporterKey: string): Promise<Sinks> {
  sink.mode = run.mode;
  sink.bodies = [];
  const dir = mkdtempSync(join(tmpdir(), 'secrets-e2e-'));
  const clock = new SimulatedClock();
  const log = recordingLogger();
  const config = createConfig({ apiKey: reporterKey, baseUrl: sink.base });
  const channels: string[] = [];
  const hear = (message: unknown) => channels.push(JSON.stringify(message));
  for (const name of TELEMETRY_CHANNELS) diagnostics.subscribe(name, hear);
  const debugId = carrier.forwards === true ? attachLogger({ logger: log.logger, apiKey: reporterKey }) : undefined;
  let transport: Transport | undefined;
  const { failure } = carrier;
  if (failure !== undefined) {
    const got = createGotTransport({ endpoint: config.telemetryEndpoint, apiKey: reporterKey, userAgent: SESSION, httpTimeoutMs: 60_000 });
    transport = {
      send: async (request) => {
        const result = await got.send(request);
        return result.kind === 'ok' ? result : failure(run.text);
      },
      close: () => got.close?.(),
    };
  }
  // Each step of the machine wakes the driver: a send ends when its HTTP answer arrives, not at a time the test can set.
  let wake = () => undefined as void;
  const reporter = startReporter({
    config,
    sessionId: SESSION,
    enabled: true,
    attachEvents: carrier.forwards === true,
    events: ['tinker:queue:state_change'],
    drainOnExit: false,
    flushIntervalMs: 0,
    flushTimeoutMs: 60_000,
    maxRetries: 1,
    retryBaseDelayMs: 100,
    random: () => 0.5,
    clock,
    logger: log.logger,
    maxEventBytes: run.maxEventBytes,
    spoolDir: dir,
    ...(run.spoolRoom ? {} : { maxSpoolBytes: 1 }),
    ...(transport === undefined ? {} : { transport }),
    inspect: (event: InspectionEvent) => {
      if (event.type === '@xstate.snapshot') wake();
    },
  }) as TelemetryReporter;
  const whileSending = async () => {
    for (;;) {
      await settle();
      if (!JSON.stringify(reporter.stats().state).includes('sending')) return;
      await new Promise<void>((resolve) => (wake = resolve));
    }
  };
  let during = '';
  let done = false;
  try {
    carrier.give?.(reporter, run.text, run);
    reporter.log('after', { n: 2 });
    void reporter.flush();
    await whileSending();
    // With a failing sink the batch waits for its retry: held in a claimed file, its events in the journal.
    during = spoolText(dir);
    const stopped = reporter.stop((carrier.stopWith?.(run.text) ?? 60_000) as number);
    void stopped.then(() => (done = true));
    for (let step = 0; step < 40 && !done; step++) {
      await whileSending();
      await clock.advance(1_000);
    }
  } finally {
    if (!done) {
      void reporter.stop(1);
      await clock.advance(120_000);
    }
    for (const name of TELEMETRY_CHANNELS) diagnostics.unsubscribe(name, hear);
    if (debugId !== undefined) detachLogger(debugId);
  }
  const after = spoolText(dir);
  rmSync(dir, { recursive: true, force: true });
  expect(done, 'stop() resolved on the simulated clock').toBe(true);
  return {
    bodies: sink.bodies.join('\n'),
    logs: log.text(),
    spoolMidSession: during,
    spoolAfterStop: after,
    channels: channels.join('\n'),
    stats: JSON.stringify(reporter.stats()),
  };
}

const runArb = (carrier: Carrier): fc.Arbitrary<Run> =>
  fc
    .record({
      key: keyArb,
      maxEventBytes: fc.constantFrom(1024, 3000, 16_384, 65_536),
      // A failure's reason shows only when a send fails.
      mode: fc.constantFrom<SinkMode>(...(carrier.failure === undefined ? (['ok', 'fail-once', 'fail'] as const) : (['fail-once', 'fail'] as const))),
      spoolRoom: fc.boolean(),
      variant: fc.nat(5),
    })
    .chain((base) => textArb(base.key, carrier.cuts(base.maxEventBytes), base.maxEventBytes).map((text) => ({ ...base, text })));

describe('the API key, given to a real reporter through any public input, at any offset and across any cut', () => {
  for (const carrier of CARRIERS) {
    it(`leaves no fragment in a request body, a log record, the spool, a channel payload or stats() when it is in ${carrier.name}`, async () => {
      await fc.assert(
        fc.asyncProperty(runArb(carrier), async (run) => {
          const sinks = await runOnce(carrier, run, run.key);
          const leaks = Object.fromEntries(Object.entries(sinks).map(([where, text]) => [where, fragmentsIn(text, run.key)]));
          expect(leaks).toEqual({ bodies: [], logs: [], spoolMidSession: [], spoolAfterStop: [], channels: [], stats: [] });
        }),
        options,
      );
    }, 120_000);
  }
});

describe('the leak check', () => {
  const key = 'tml-CONTROL7F3A9C1E5B2D4F6A';
  const run: Run = { key, text: `${key} and after`, maxEventBytes: 65_536, mode: 'fail', spoolRoom: true, variant: 0 };

  for (const carrier of CARRIERS) {
    it(`finds the key that ${carrier.name} carries when the reporter was given another key`, async () => {
      const sinks = await runOnce(carrier, run, 'tml-SOMEOTHERKEY00000000');
      expect(fragmentsIn(Object.values(sinks).join('\n'), key)).not.toEqual([]);
    });
  }

  it('searches the journal and the held batch mid-session, and the spooled batches after stop(), when the sink fails', async () => {
    const sinks = await runOnce(CARRIERS[0] as Carrier, run, 'tml-SOMEOTHERKEY00000000');
    expect(sinks.spoolMidSession).toMatch(/\.journal\n/);
    expect(sinks.spoolMidSession).toMatch(/\.batch\.claimed-\d+-[0-9a-f]+\n/);
    expect(sinks.spoolAfterStop).toMatch(/\.batch\n/);
    // Both batches (the events, then SESSION_END) were tried twice and spooled.
    expect(sinks.bodies.split('\n{').length).toBe(4);
    expect(JSON.parse(sinks.stats)).toMatchObject({ spooled: 4, deliveredCounter: 0 });
  });
});
