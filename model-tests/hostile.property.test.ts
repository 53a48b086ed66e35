/**
 * fast-check runs of a real reporter fed hostile input: DAGs of shared
 * references, wide Maps and Sets, long strings and strings sliced from a
 * larger one, deep nesting, getters, toJSON and Proxy traps that throw,
 * AggregateError, `__proto__` keys, and names and severities that are not
 * strings. After every call: it returned a boolean without throwing; the
 * event was delivered within maxEventBytes and maxBatchBytes, or counted as
 * dropped; pushCounter = flushCounter + queueSize + inFlight; and an
 * ordinary event logged next is delivered. Sizes are modest so a run takes
 * a few seconds; the huge cases are unit tests (test/serialize.hostile.test.ts).
 */
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { TelemetryReporter } from '../src/reporter.js';
import type { WireBody } from '../src/core/wire.js';
import { startTestReporter, stopNow } from '../test/helpers.js';
import { fcRuns } from '../test/fc-runs.js';

const seed = Number(process.env.FC_SEED ?? Date.now() % 2 ** 31);
console.log(`hostile.property FC_SEED=${seed}`);

const MAX_EVENT_BYTES = 4096;
const MAX_BATCH_BYTES = 8192;

/** One parent that slices are taken from: as long as a large response body. */
const PARENT = Array.from({ length: 20_000 }, (_, i) => `line ${i} of a large body;`).join('');

const leaf = fc.oneof(
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.constant(undefined),
  fc.string({ maxLength: 20 }),
  fc.bigInt(),
  fc.constant(Symbol('s')),
);

/** The same object or array at every place of a wide, deep DAG. */
const dag = fc.tuple(leaf, fc.integer({ min: 1, max: 5 }), fc.integer({ min: 1, max: 40 }), fc.boolean()).map(([bottom, depth, width, asObject]) => {
  let node: unknown = bottom;
  for (let level = 0; level < depth; level++) {
    node = asObject ? Object.fromEntries(Array.from({ length: width }, (_, i) => [`k${i}`, node])) : Array<unknown>(width).fill(node);
  }
  return node;
});

const wideCollection = fc.tuple(fc.integer({ min: 0, max: 5000 }), fc.boolean(), fc.oneof(leaf, dag)).map(([size, isMap, value]) => {
  const items = Array.from({ length: size }, (_, i) => i);
  return isMap ? new Map(items.map((i) => [i, value])) : new Set(items.map((i) => (i % 2 === 0 ? i : `${i}`)));
});

const longString = fc.oneof(
  fc.integer({ min: 0, max: 100_000 }).map((length) => 'x'.repeat(length)),
  fc.tuple(fc.nat(PARENT.length), fc.integer({ min: 0, max: 60_000 })).map(([start, length]) => PARENT.slice(start, start + length)),
);

const deep = fc.tuple(fc.integer({ min: 1, max: 3000 }), fc.boolean()).map(([depth, asArray]) => {
  let node: unknown = 'bottom';
  for (let i = 0; i < depth; i++) node = asArray ? [node] : { d: node };
  return node;
});

const thrower = (message: string) => () => {
  throw new Error(message);
};

const throwing = fc.constantFrom<() => unknown>(
  () => ({
    get boom() {
      return thrower('getter')();
    },
    fine: 1,
  }),
  () => ({ toJSON: thrower('toJSON') }),
  () => ({ toJSON: () => ({ toJSON: thrower('second toJSON') }) }),
  () => new Proxy({}, { ownKeys: thrower('ownKeys') }),
  () => new Proxy({}, { getPrototypeOf: thrower('getPrototypeOf') }),
  () => new Proxy({ a: 1 }, { get: thrower('get') }),
  () => new Proxy([1, 2], { get: thrower('array get') }),
  () => {
    const revocable = Proxy.revocable({}, {});
    revocable.revoke();
    return revocable.proxy;
  },
  () => {
    // A getter that returns a fresh object, itself with such a getter, on every read.
    const fresh = (): object => ({
      get next() {
        return fresh();
      },
    });
    return fresh();
  },
  () => Object.defineProperty(new Error('message'), 'name', { get: thrower('name') }),
  () => new Map<unknown, unknown>([[1, 2]]).set('self', new Proxy({}, { ownKeys: thrower('in a Map') })),
);

const aggregate = fc
  .tuple(fc.array(fc.string({ maxLength: 30 }), { maxLength: 5 }), fc.boolean(), fc.option(fc.integer({ min: 400, max: 599 })))
  .map(([messages, cyclic, status]) => {
    const error = new AggregateError(
      messages.map((m) => new Error(m)),
      'several failed',
    );
    if (cyclic) Object.assign(error, { cause: error });
    if (status !== null) Object.assign(error, { status });
    return error;
  });

const protoKeys = fc
  .tuple(fc.jsonValue({ maxDepth: 2 }), fc.jsonValue({ maxDepth: 2 }))
  .map(([inner, other]) => JSON.parse(`{"__proto__":${JSON.stringify(inner)},"other":${JSON.stringify(other)}}`) as unknown);

/** A value as a function that makes it: fast-check inspects what it generates, and a revoked Proxy throws at any look. */
type Make = () => unknown;
const made = (arbitrary: fc.Arbitrary<unknown>): fc.Arbitrary<Make> => arbitrary.map((value) => () => value);

const hostileData = fc.oneof(
  made(leaf),
  made(dag),
  made(wideCollection),
  made(longString),
  made(deep),
  throwing,
  made(aggregate),
  made(protoKeys),
  fc.constant(() => undefined),
);

const validName = fc.string({ minLength: 1, maxLength: 40 });
/** Names and severities that are not strings, including ones that cannot even be turned into one. */
const notAString = fc.constantFrom<() => unknown>(
  () => Object.create(null),
  () => ({ toString: thrower('toString') }),
  () => 42,
  () => Symbol('severity'),
  () => null,
  () => ({}),
);
const validSeverity = made(fc.constantFrom('debug', 'info', 'WARNING', 'Error', 'critical', undefined));

const call = fc.record({
  method: fc.constantFrom('log' as const, 'logException' as const),
  name: fc.oneof({ weight: 4, arbitrary: made(validName) }, { weight: 1, arbitrary: notAString }),
  severity: fc.oneof({ weight: 4, arbitrary: validSeverity }, { weight: 1, arbitrary: notAString }),
  data: hostileData,
});

/** Every event the sink received, with its session index. */
function sentEvents(sent: readonly WireBody[]): Record<string, unknown>[] {
  return sent.flatMap((body) => body.events) as unknown as Record<string, unknown>[];
}

function droppedTotal(reporter: TelemetryReporter): number {
  return Object.values(reporter.stats().dropped).reduce((sum, n) => sum + n, 0);
}

function expectIdentity(reporter: TelemetryReporter): void {
  const s = reporter.stats();
  expect(s.pushCounter, 'pushCounter = flushCounter + queueSize + inFlight').toBe(s.flushCounter + s.queueSize + s.inFlight);
}

describe('a reporter fed hostile input', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('returns a boolean without throwing, delivers within the caps or counts the drop, and goes on delivering', async () => {
    await fc.assert(
      fc.asyncProperty(call, async ({ method, name: makeName, severity: makeSeverity, data: makeData }) => {
        const [name, severity, data] = [makeName(), makeSeverity(), makeData()];
        const { reporter, wire } = startTestReporter({ maxEventBytes: MAX_EVENT_BYTES, maxBatchBytes: MAX_BATCH_BYTES }, () => ({ kind: 'ok', status: 200 }));
        try {
          const index = reporter.stats().pushCounter;
          const droppedBefore = droppedTotal(reporter);
          const invalidBefore = reporter.stats().dropped.invalid;
          let accepted: unknown;
          let thrown: unknown;
          try {
            accepted = method === 'log' ? reporter.log(name as string, data, severity as 'info') : reporter.logException(data, severity as 'error');
          } catch (error) {
            thrown = error;
          }
          expect(thrown).toBeUndefined();
          expect(typeof accepted).toBe('boolean');
          expectIdentity(reporter);

          const invalidName = method === 'log' && (typeof name !== 'string' || name.length === 0);
          const invalidSeverity = severity !== undefined && typeof severity !== 'string';
          if (invalidName || invalidSeverity) {
            expect(accepted).toBe(false);
            expect(reporter.stats().dropped.invalid, 'a name or severity that is not a string is counted as invalid').toBe(invalidBefore + 1);
          }

          await reporter.flush({ sync: true });
          expectIdentity(reporter);
          const events = sentEvents(wire.sent);
          for (const body of wire.sent) expect(Buffer.byteLength(JSON.stringify(body))).toBeLessThanOrEqual(MAX_BATCH_BYTES);
          for (const event of events) expect(Buffer.byteLength(JSON.stringify(event))).toBeLessThanOrEqual(MAX_EVENT_BYTES);
          const delivered = events.filter((event) => event.event_session_index === index);
          // Accepted: delivered once, or given up and counted; refused: counted.
          if (accepted === true) expect(delivered.length + droppedTotal(reporter) - droppedBefore).toBe(1);
          else expect(droppedTotal(reporter)).toBe(droppedBefore + 1);

          expect(reporter.log('ordinary', { step: 1 })).toBe(true);
          await reporter.flush({ sync: true });
          expect(sentEvents(wire.sent).filter((event) => event.event_name === 'ordinary')).toHaveLength(1);
          expectIdentity(reporter);
        } finally {
          await stopNow(reporter);
        }
      }),
      { seed, numRuns: fcRuns(300) },
    );
  });
});
