/**
 * Hostile shapes passed to `log()`: each snapshot is bounded in chars and
 * values whatever the shape, never copies more than it keeps, never pins a
 * larger string, and keeps `__proto__` keys all the way to the wire.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { REDACTED } from '../src/core/redact.js';
import {
  BUDGET_MARKER,
  DEFAULT_SNAPSHOT_CHARS,
  type JsonObject,
  type JsonValue,
  RESERVE_CHARS,
  SERIALIZE_LIMITS,
  lastSnapshotChars,
  toEventData,
  toJsonSafe,
} from '../src/core/serialize.js';
import { TEST_CONFIG, eventsOf, startTestReporter, stopNow } from './helpers.js';

const { maxArrayLength, maxDepth, maxKeys, maxNodes, maxStringLength } = SERIALIZE_LIMITS;

/** Values in a JSON tree, markers included. */
function countValues(value: JsonValue): number {
  if (Array.isArray(value)) return value.reduce<number>((sum, item) => sum + countValues(item), 1);
  if (value !== null && typeof value === 'object') return Object.values(value).reduce<number>((sum, item) => sum + countValues(item), 1);
  return 1;
}

/** Asserts that `out`'s JSON is what the snapshot counted, within the default budget and using most of it. */
function expectFillsDefaultBudget(out: JsonValue): void {
  // The count first: a snapshot past the budget may be too large to stringify.
  expect(lastSnapshotChars()).toBeLessThanOrEqual(DEFAULT_SNAPSHOT_CHARS);
  const chars = JSON.stringify(out).length;
  expect(lastSnapshotChars()).toBe(chars);
  expect(chars).toBeGreaterThan(DEFAULT_SNAPSHOT_CHARS - RESERVE_CHARS - 1100);
}

describe('shapes that fan out', () => {
  it('keeps a fan-out of a million 1000-char strings to about maxChars, with the marker in each array it left', () => {
    const row = Array<string>(1000).fill('x'.repeat(1000));
    const out = toEventData({ rows: Array<string[]>(1000).fill(row) }) as { rows: JsonValue[][] };
    expectFillsDefaultBudget(out);
    expect(out.rows).toHaveLength(2);
    expect(out.rows[1]).toBe(BUDGET_MARKER);
    const first = out.rows[0] as string[];
    expect(first.at(-1)).toBe(BUDGET_MARKER);
    // Whole strings while they fit, then cut ones, then the marker.
    expect(first.slice(0, 64)).toEqual(row.slice(0, 64));
    expect(first[64]).toMatch(/^x+…\[truncated \d+ chars\]$/);
  });

  it('bounds a DAG of 100⁴ shared leaves by the chars, and by maxNodes when chars are no bound', () => {
    let dag: unknown = 1;
    for (let i = 0; i < 4; i++) dag = Array<unknown>(100).fill(dag);
    expectFillsDefaultBudget(toJsonSafe(dag));
    // With chars to spare, exactly maxNodes values are visited, and each of the four open arrays gets the marker.
    const out = toJsonSafe(dag, 10 ** 9) as JsonValue[];
    expect(countValues(out)).toBe(maxNodes + 4);
    expect(out.at(-1)).toBe(BUDGET_MARKER);
  });

  it('still copies a shared reference at each place it appears', () => {
    const shared = { n: [1, 2] };
    const out = toJsonSafe([shared, shared, { again: shared }]) as JsonValue[];
    expect(out).toEqual([{ n: [1, 2] }, { n: [1, 2] }, { again: { n: [1, 2] } }]);
    expect(out[0]).not.toBe(out[1]);
  });
});

describe('Maps and Sets', () => {
  /** A Map whose entries() counts what is read from it. */
  class CountingMap<K, V> extends Map<K, V> {
    reads = 0;
    override entries(): MapIterator<[K, V]> {
      const inner = super.entries();
      const next = (): IteratorResult<[K, V]> => {
        this.reads++;
        return inner.next();
      };
      return Object.assign(Object.create(inner) as MapIterator<[K, V]>, { next });
    }
  }

  // 300 times the limit: what is read is counted, so the size proves nothing more past that (the bench times 3 million).
  it('reads at most maxArrayLength entries of a Map of 300,000, and reports the rest by its size', () => {
    const map = new CountingMap<number, number>();
    for (let i = 0; i < 300_000; i++) map.set(i, i);
    const out = toJsonSafe(map) as JsonValue[];
    expect(map.reads).toBeLessThanOrEqual(maxArrayLength + 1);
    expect(out).toHaveLength(maxArrayLength + 1);
    expect(out[0]).toEqual([0, 0]);
    expect(out[maxArrayLength - 1]).toEqual([999, 999]);
    expect(out.at(-1)).toBe(`…${300_000 - maxArrayLength} more items`);
  });

  it('reads a Set through its iterator only as far as it keeps, and stops a Map whose iterator ends early', () => {
    let reads = 0;
    const set = new Set(Array.from({ length: 200_000 }, (_, i) => i));
    const values = set.values.bind(set);
    set.values = () => {
      const inner = values();
      return Object.assign(Object.create(inner) as SetIterator<number>, { next: () => (reads++, inner.next()) });
    };
    const out = toJsonSafe(set) as JsonValue[];
    expect(reads).toBeLessThanOrEqual(maxArrayLength + 1);
    expect(out.at(-1)).toBe(`…${200_000 - maxArrayLength} more items`);

    // A size that claims more than the iterator gives: what it gives, and no "more items".
    const liar = new Map([['a', 1]]);
    Object.defineProperty(liar, 'size', { value: 5 });
    expect(toJsonSafe(liar)).toEqual([['a', 1]]);
  });

  it('writes a Map whose iterator throws as Unserializable, and takes back what it had counted', () => {
    const failing = new Map([
      [1, 'a'],
      [2, 'b'],
    ]);
    let reads = 0;
    const next = (): IteratorResult<[number, string]> => {
      if (reads++ > 0) throw new Error('iterator failed');
      return { done: false, value: [1, 'a'.repeat(100)] };
    };
    failing.entries = () =>
      ({
        next,
        [Symbol.iterator]() {
          return this;
        },
      }) as unknown as MapIterator<[number, string]>;
    const out = toJsonSafe({ map: failing });
    expect(out).toEqual({ map: '[Unserializable: iterator failed]' });
    expect(lastSnapshotChars()).toBe(JSON.stringify(out).length);
  });
});

describe('code that runs while the snapshot is taken', () => {
  it('bounds getters that return a fresh object on every read, by values and by chars', () => {
    let reads = 0;
    const fresh = (): object => {
      const node: Record<string, unknown> = {};
      for (let i = 0; i < 10; i++) Object.defineProperty(node, `g${i}`, { enumerable: true, get: () => (reads++, fresh()) });
      return node;
    };
    const out = toEventData(fresh());
    expectFillsDefaultBudget(out);
    expect(reads).toBeLessThanOrEqual(maxNodes);
    reads = 0;
    toEventData(fresh(), 10 ** 9);
    expect(reads).toBeLessThanOrEqual(maxNodes);
  });

  it('bounds what toJSON returns, however large, and calls it once', () => {
    let calls = 0;
    const huge = { toJSON: () => (calls++, { rows: Array<string[]>(1_000_000).fill(Array<string>(1000).fill('y'.repeat(1000))) }) };
    const out = toEventData(huge);
    expect(calls).toBe(1);
    expectFillsDefaultBudget(out);
  });

  it('writes a Proxy whose traps throw as Unserializable, naming the trap, and keeps its siblings', () => {
    const trap = (name: string) => () => {
      throw new Error(`${name} trap`);
    };
    const out = toJsonSafe([
      new Proxy({}, { getPrototypeOf: trap('getPrototypeOf') }),
      new Proxy({}, { ownKeys: trap('ownKeys') }),
      new Proxy({ a: 1 }, { get: trap('get') }),
      new Proxy({ a: 1 }, { getOwnPropertyDescriptor: trap('getOwnPropertyDescriptor') }),
      new Proxy([1, 2], { get: trap('array get') }),
      'sibling',
    ]);
    expect(out).toEqual([
      '[Unserializable: getPrototypeOf trap]',
      '[Unserializable: ownKeys trap]',
      '[Unserializable: get trap]',
      '[Unserializable: getOwnPropertyDescriptor trap]',
      // Reading its length already throws.
      '[Unserializable: array get trap]',
      'sibling',
    ]);
    expect(lastSnapshotChars()).toBe(JSON.stringify(out).length);
  });
});

describe('large inputs', () => {
  it('cuts nesting 100 000 levels deep (built without recursion) at maxDepth', () => {
    let objects: unknown = 'bottom';
    let arrays: unknown = 'bottom';
    for (let i = 0; i < 100_000; i++) {
      objects = { d: objects };
      arrays = [arrays];
    }
    let out = toJsonSafe(objects);
    for (let i = 0; i < maxDepth; i++) out = (out as JsonObject).d as JsonValue;
    expect(out).toBe('[Object]');
    let list = toJsonSafe(arrays);
    for (let i = 0; i < maxDepth; i++) list = (list as JsonValue[])[0] as JsonValue;
    expect(list).toBe('[Array]');
  });

  it('keeps the first maxArrayLength of an array of 100,000 numbers', () => {
    const numbers = Array.from({ length: 100_000 }, (_, i) => i);
    expect(toJsonSafe(numbers)).toEqual([...numbers.slice(0, maxArrayLength), `…${100_000 - maxArrayLength} more items`]);
  });

  it('keeps the first maxKeys of an object of 100,000 keys', () => {
    const wide: Record<string, number> = {};
    for (let i = 0; i < 100_000; i++) wide[`k${i}`] = i;
    const out = toJsonSafe(wide) as JsonObject;
    expect(Object.keys(out)).toHaveLength(maxKeys + 1);
    expect(out.k255).toBe(255);
    expect(out['…']).toBe(`${100_000 - maxKeys} more keys`);
  });

  it('cuts a 5 MB string to maxStringLength, redacting a key that straddles the cut', () => {
    const huge = Buffer.alloc(5_000_000, 'z').toString('latin1');
    expect(toJsonSafe(huge)).toBe(`${'z'.repeat(maxStringLength)}…[truncated ${5_000_000 - maxStringLength} chars]`);
    const key = TEST_CONFIG.apiKey;
    const straddling = `${huge.slice(0, maxStringLength - 5)}${key}${huge}`;
    const out = toJsonSafe(straddling, DEFAULT_SNAPSHOT_CHARS, key) as string;
    expect(out.startsWith(`${'z'.repeat(maxStringLength - 5)}${REDACTED}…[truncated `)).toBe(true);
    expect(out).not.toContain(key.slice(0, 5));
  });
});

describe('strings sliced from larger ones', () => {
  it('keeps no reference to the parent of a string it keeps whole or cuts', () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const PARENT_CHARS = 4 * 2 ** 20;
    const heapAfter = (keep: (parent: string) => unknown): number => {
      gc();
      const before = process.memoryUsage().heapUsed;
      const kept: unknown[] = [];
      for (let i = 0; i < 20; i++) kept.push(keep(`${i}`.padEnd(PARENT_CHARS, 'p')));
      gc();
      const grown = process.memoryUsage().heapUsed - before;
      expect(kept).toHaveLength(20);
      return grown / 2 ** 20;
    };
    // The measurement can see a pinned parent: keeping the slices themselves holds 20 × 4 MiB.
    expect(heapAfter((parent) => [parent.slice(0, 100), parent.slice(0, 40_000)])).toBeGreaterThan(60);
    // A preview kept whole, a long string kept whole, and one cut: none holds its parent.
    expect(heapAfter((parent) => toEventData({ preview: parent.slice(0, 100), long: parent.slice(0, 30_000), cut: parent.slice(0, 40_000) }))).toBeLessThan(16);
  });
});

describe('__proto__ keys', () => {
  const parsed = () => JSON.parse('{"__proto__":{"polluted":true},"plain":1,"tail":"__proto__"}') as object;

  it('keeps an own __proto__ key as data, not as the prototype', () => {
    const out = toJsonSafe(parsed()) as JsonObject;
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
    expect(Object.hasOwn(out, '__proto__')).toBe(true);
    expect(JSON.stringify(out)).toBe('{"__proto__":{"polluted":true},"plain":1,"tail":"__proto__"}');
    expect(lastSnapshotChars()).toBe(JSON.stringify(out).length);
    const inError = new Error('e');
    inError.stack = undefined;
    for (const [key, value] of Object.entries(parsed())) Object.defineProperty(inError, key, { value, enumerable: true });
    expect(JSON.stringify(toJsonSafe(inError))).toBe('{"name":"Error","message":"e","__proto__":{"polluted":true},"plain":1,"tail":"__proto__"}');
  });

  describe('on the wire', () => {
    beforeEach(() => {
      vi.useFakeTimers();
    });
    afterEach(() => {
      vi.useRealTimers();
    });

    async function sent(log: (reporter: ReturnType<typeof startTestReporter>['reporter']) => void, overrides = {}): Promise<Record<string, unknown>[]> {
      const { reporter, wire } = startTestReporter(overrides, () => ({ kind: 'ok', status: 200 }));
      log(reporter);
      await stopNow(reporter);
      return eventsOf(wire.sent).filter((event) => event.event === 'GENERIC_EVENT') as unknown as Record<string, unknown>[];
    }

    it('reaches the body as sent, as redacted and as cut to maxEventBytes', async () => {
      const [plain, redacted, cut] = await sent(
        (reporter) => {
          reporter.log('plain', parsed());
          reporter.log('redacted', { ...{ secret: TEST_CONFIG.apiKey }, inner: parsed() });
          // Two-byte characters: the snapshot's budget counts code units, so the encoder's byte cap cuts after it.
          reporter.log('cut', Object.assign(parsed(), { blob: 'é'.repeat(5000) }));
        },
        { maxEventBytes: 1024 },
      );
      expect(Object.hasOwn(plain!.event_data as object, '__proto__')).toBe(true);
      expect(plain!.event_data).toEqual(JSON.parse('{"__proto__":{"polluted":true},"plain":1,"tail":"__proto__"}'));
      const inner = (redacted!.event_data as { secret: string; inner: object }).inner;
      expect((redacted!.event_data as { secret: string }).secret).toBe(REDACTED);
      expect(Object.hasOwn(inner, '__proto__')).toBe(true);
      expect(Object.hasOwn(cut!.event_data as object, '__proto__')).toBe(true);
      expect((cut!.event_data as Record<string, unknown>)['…']).toMatchObject({ truncated: true });
    });
  });
});

describe('a hostile event sent by a reporter', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('delivers the fan-out within maxEventBytes instead of failing to encode it', async () => {
    const { reporter, wire } = startTestReporter({}, () => ({ kind: 'ok', status: 200 }));
    const row = Array<string>(1000).fill('x'.repeat(1000));
    expect(reporter.log('fanout', { rows: Array<string[]>(1000).fill(row) })).toBe(true);
    expect(reporter.log('after', { ok: true })).toBe(true);
    await stopNow(reporter);
    const events = eventsOf(wire.sent).filter((event) => event.event === 'GENERIC_EVENT') as unknown as Record<string, unknown>[];
    expect(events.map((event) => event.event_name)).toEqual(['fanout', 'after']);
    expect(Buffer.byteLength(JSON.stringify(events[0]))).toBeLessThanOrEqual(65_536);
    expect(reporter.stats()).toMatchObject({ deliveredCounter: 4, queueSize: 0, inFlight: 0 });
  });
});
