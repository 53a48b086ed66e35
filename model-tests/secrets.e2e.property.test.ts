/**
 * Property, end to end: wherever the API key sits in a string that a real
 * reporter is given through any public input, and wherever a limit cuts that
 * string, no 8-character fragment of the key reaches a request body, a log
 * record, a file of the spool (the journal and the batch files, mid-session
 * and after `stop()`), a `tinker:telemetry:*` channel payload or `stats()`.
 *
 * Each run (`secrets-run.ts`) starts a reporter with `startReporter` on a
 * simulated clock, sending through got to a `node:http` server on 127.0.0.1
 * that answers 200, 503 once or 503 always, with `spoolDir` in a fresh
 * temporary directory: a batch is held on disk while it is sent, then
 * delivered, spooled when its retries are exhausted, or dropped when the
 * spool has no room. Where a
 * failure's reason must carry the key, a transport wraps the got one and
 * turns each failed answer into that failure. The key (`tml-`, capitals and
 * digits) and the text around it (no capitals, digits, `t`, `m` or `l`) share
 * no 8-character piece, so any fragment found came from the key. Offsets are
 * drawn near each cut the string meets on its way: the snapshot's per-string
 * and budget cuts, the event name's, an exception's 4,096 and 8,192, a
 * traceback's 65,536, a failure reason's 300, a warning quote's 60, and the
 * cut to `maxEventBytes` at send time.
 */
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { publishQueueStateChange } from '../src/host/channels.js';
import { fcRuns } from '../test/fc-runs.js';
import { type Delivery, type Run, SESSION, type SinkMode, type TelemetrySink, runOnce, startTelemetrySink } from './secrets-run.js';

const seed = Number(process.env.FC_SEED ?? Date.now() % 2 ** 31);
console.log(`secrets.e2e.property FC_SEED=${seed}`);
/** Every case is a reporter, sockets and files: a few under the mutation gate, where each surviving mutant reruns them. */
const options = { seed, numRuns: fcRuns(25, 4) };

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

/** One public input that can carry the key, how a run gives it, and the cuts a string given through it meets. */
interface Carrier extends Delivery {
  readonly name: string;
  /** Where a string given through it is cut, for a `maxEventBytes` of `max`: the offsets of the key are drawn around these. */
  cuts(max: number): Cut[];
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

let sink: TelemetrySink;
beforeEach(async () => {
  sink = await startTelemetrySink();
});
afterEach(async () => {
  await sink.close();
});

describe('the API key, given to a real reporter through any public input, at any offset and across any cut', () => {
  for (const carrier of CARRIERS) {
    it(`leaves no fragment in a request body, a log record, the spool, a channel payload or stats() when it is in ${carrier.name}`, async () => {
      await fc.assert(
        fc.asyncProperty(runArb(carrier), async (run) => {
          const sinks = await runOnce(sink, carrier, run, run.key);
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
      const sinks = await runOnce(sink, carrier, run, 'tml-SOMEOTHERKEY00000000');
      expect(fragmentsIn(Object.values(sinks).join('\n'), key)).not.toEqual([]);
    });
  }

  it('searches the journal and the held batch mid-session, and the spooled batches after stop(), when the sink fails', async () => {
    const sinks = await runOnce(sink, CARRIERS[0] as Carrier, run, 'tml-SOMEOTHERKEY00000000');
    expect(sinks.spoolMidSession).toMatch(/\.journal\n/);
    expect(sinks.spoolMidSession).toMatch(/\.batch\.claimed-\d+-[0-9a-f]+\n/);
    expect(sinks.spoolAfterStop).toMatch(/\.batch\n/);
    // Both batches (the events, then SESSION_END) were tried twice and spooled.
    expect(sinks.bodies.split('\n{').length).toBe(4);
    expect(JSON.parse(sinks.stats)).toMatchObject({ spooled: 4, deliveredCounter: 0 });
  });
});
