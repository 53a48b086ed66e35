/**
 * The budget of one snapshot: at most `maxChars` of JSON and `maxNodes`
 * values, counted as the copy is built, with a marker where the walk
 * stopped; `lastSnapshotChars()` reports the count of the top-level call.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { REDACTED } from '../src/core/redact.js';
import { CUT_RESERVE } from '../src/core/snapshot-budget.js';
import {
  BUDGET_MARKER,
  DEFAULT_SNAPSHOT_CHARS,
  type JsonValue,
  RESERVE_CHARS,
  SERIALIZE_LIMITS,
  lastSnapshotChars,
  toEventData,
  toJsonSafe,
} from '../src/core/serialize.js';
import { fcRuns } from './fc-runs.js';

const seed = Number(process.env.FC_SEED ?? Date.now() % 2 ** 31);
console.log(`serialize.budget FC_SEED=${seed}`);

const { maxNodes, maxStringLength } = SERIALIZE_LIMITS;
const KEY = 'tml-0123456789abcdefghijklmnop';

/** Values in a JSON tree, markers included: the root, and every item and property value below it. */
function countValues(value: JsonValue): number {
  if (Array.isArray(value)) return value.reduce<number>((sum, item) => sum + countValues(item), 1);
  if (value !== null && typeof value === 'object') return Object.values(value).reduce<number>((sum, item) => sum + countValues(item), 1);
  return 1;
}

/** JSON values whose strings and keys need no escape, so that their JSON length is what the snapshot counts. */
const plainJson = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.integer(),
    fc.integer({ min: -1_000_000, max: 1_000_000 }).map((n) => n / 1000),
    fc.boolean(),
    fc.constant(null),
    fc.string({ unit: fc.constantFrom('a', 'Z', '0', ' ', 'é', '…', '-'), maxLength: 40 }),
    fc.array(tie('value'), { maxLength: 6 }),
    fc.dictionary(fc.string({ unit: fc.constantFrom('k', 'y', '_', '1'), maxLength: 6 }), tie('value'), { maxKeys: 6 }),
  ),
})).value;

describe('the defaults', () => {
  it('takes 65 536 chars and 50 000 values per snapshot, and keeps 408 chars back for markers', () => {
    expect(DEFAULT_SNAPSHOT_CHARS).toBe(65_536);
    expect(maxNodes).toBe(50_000);
    expect(RESERVE_CHARS).toBe(408);
    expect(BUDGET_MARKER).toBe('…[snapshot budget exhausted]');
  });

  it('uses DEFAULT_SNAPSHOT_CHARS when maxChars is not given', () => {
    const wide = Array.from({ length: 40 }, () => 'w'.repeat(2000));
    expect(toJsonSafe(wide)).toEqual(toJsonSafe(wide, DEFAULT_SNAPSHOT_CHARS));
    expect(toJsonSafe(wide, DEFAULT_SNAPSHOT_CHARS + 1000)).not.toEqual(toJsonSafe(wide));
  });
});

describe('the char budget', () => {
  // Each zero takes two chars, itself and the comma or bracket after it; the array one more for `[`.
  it('keeps an array that fits exactly, and ends one char short in the marker', () => {
    const zeros = Array.from({ length: 1000 }, () => 0);
    const exact = RESERVE_CHARS + 2 * zeros.length;
    expect(toJsonSafe(zeros, exact)).toEqual(zeros);
    expect(lastSnapshotChars()).toBe(1 + 2 * zeros.length);
    const short = toJsonSafe(zeros, exact - 1) as JsonValue[];
    expect(short).toEqual([...zeros.slice(1), BUDGET_MARKER]);
  });

  it('keeps a string that fits exactly, and cuts one a char longer to the room left less 40', () => {
    const text = 'x'.repeat(5000);
    const exact = RESERVE_CHARS + text.length + 2;
    expect(toJsonSafe(text, exact)).toBe(text);
    expect(lastSnapshotChars()).toBe(text.length + 2);
    expect(toJsonSafe(text, exact - 1)).toBe(`${'x'.repeat(text.length - 41)}…[truncated 41 chars]`);
  });

  it('leaves out a key that does not fit, never cutting it, and marks the object', () => {
    const key = 'k'.repeat(3000);
    // `{`, the key, its quotes and colon, `0` and `}`.
    const exact = RESERVE_CHARS + key.length + 5;
    expect(toJsonSafe({ [key]: 0 }, exact)).toEqual({ [key]: 0 });
    expect(lastSnapshotChars()).toBe(key.length + 6);
    expect(toJsonSafe({ [key]: 0 }, exact - 1)).toEqual({ '…': BUDGET_MARKER });
  });

  it('marks every array and object the walk left unfinished, and nothing it finished', () => {
    const zeros = Array.from({ length: 100 }, () => 0);
    // `{"a":[` and 100 zeros take 207 chars, `"b":[` 6 more; 300 leave room for 44 zeros of b.
    const out = toJsonSafe({ a: zeros, b: zeros, c: 1 }, RESERVE_CHARS + 300);
    expect(out).toEqual({ a: zeros, b: [...zeros.slice(0, 44), BUDGET_MARKER], '…': BUDGET_MARKER });
  });

  it('counts toEventData\'s {"value":…} wrapper in what it reports', () => {
    const zeros = Array.from({ length: 100 }, () => 0);
    const exact = RESERVE_CHARS + 2 * zeros.length;
    expect(toEventData(zeros, exact)).toEqual({ value: zeros });
    expect(lastSnapshotChars()).toBe(JSON.stringify({ value: zeros }).length);
    expect(toEventData(zeros, exact - 1)).toEqual({ value: [...zeros.slice(1), BUDGET_MARKER] });
  });

  it('counts a maxChars that is not a positive number as 0, keeping only the top value cut to a marker', () => {
    // A numeric string, even one that would leave room, is not a number.
    for (const maxChars of [0, -5, Number.NaN, '100' as unknown as number, '100000' as unknown as number]) {
      expect(toJsonSafe([1, 2], maxChars)).toEqual([BUDGET_MARKER]);
      expect(toJsonSafe('text', maxChars)).toBe('…[truncated 4 chars]');
    }
  });

  it('keeps the per-string limit when the budget has room for more', () => {
    const text = 'y'.repeat(maxStringLength + 7);
    expect(toJsonSafe(text, RESERVE_CHARS + 2 * maxStringLength)).toBe(`${'y'.repeat(maxStringLength)}…[truncated 7 chars]`);
  });

  it('keeps the per-string limit when the room left is exactly maxStringLength', () => {
    const text = 'y'.repeat(maxStringLength + 100);
    // The room left for a string at the top: maxChars less the reserve and its quotes.
    expect(toJsonSafe(text, RESERVE_CHARS + 2 + maxStringLength)).toBe(`${'y'.repeat(maxStringLength)}…[truncated 100 chars]`);
  });

  it('stops a Set where the budget runs out, with the marker, keeping its first values in order', () => {
    const values = Array.from({ length: 1000 }, (_, i) => 1000 + i);
    const out = toJsonSafe(new Set(values), 1024) as JsonValue[];
    expect(out.at(-1)).toBe(BUDGET_MARKER);
    expect(out.slice(0, -1)).toEqual(values.slice(0, out.length - 1));
    expect(JSON.stringify(out).length).toBeLessThanOrEqual(1024);
  });

  it("stops in an Error's fields where the budget runs out, with the marker, leaving the rest out", () => {
    const error = new Error('m'.repeat(580));
    error.stack = 's'.repeat(2000);
    // `{"name":"Error","message":"m…m"` takes 609 of the 616 chars 1024 leaves: `,"stack":` does not fit.
    expect(toJsonSafe(error, 1024)).toStrictEqual({ name: 'Error', message: 'm'.repeat(580), '…': BUDGET_MARKER });
  });

  it('counts exactly the JSON length of data without escapes, and stays within maxChars', () => {
    fc.assert(
      fc.property(plainJson, fc.integer({ min: 1024, max: 4000 }), (value, maxChars) => {
        const out = toEventData(value, maxChars);
        const json = JSON.stringify(out);
        expect(lastSnapshotChars()).toBe(json.length);
        expect(json.length).toBeLessThanOrEqual(maxChars);
      }),
      { seed, numRuns: fcRuns(300) },
    );
  });

  it('stays within maxChars for any value, escapes aside', () => {
    const anything = fc.anything({
      withMap: true,
      withSet: true,
      withDate: true,
      withBigInt: true,
      withTypedArray: true,
      withNullPrototype: true,
      withSparseArray: true,
      maxDepth: 4,
    });
    fc.assert(
      fc.property(fc.array(anything, { maxLength: 30 }), fc.integer({ min: 1024, max: 3000 }), (value, maxChars) => {
        toEventData(value, maxChars);
        expect(lastSnapshotChars()).toBeLessThanOrEqual(maxChars);
      }),
      { seed, numRuns: fcRuns(300) },
    );
  });
});

describe('an Error past the budget', () => {
  it('stops in its own properties with the marker, within maxChars, and leaves out those holding undefined', () => {
    const error = Object.assign(new Error('boom'), { stack: 'Error: boom at here', gone: undefined });
    for (let i = 0; i < 100; i++) Object.assign(error, { [`k${i}`]: 'v'.repeat(100) });
    const out = toJsonSafe(error, 2048) as Record<string, unknown>;
    expect(out['…']).toBe(BUDGET_MARKER);
    expect(Object.keys(out)).not.toContain('gone');
    expect(Object.keys(out).slice(0, 4)).toEqual(['name', 'message', 'stack', 'k0']);
    expect(lastSnapshotChars()).toBe(JSON.stringify(out).length);
    expect(lastSnapshotChars()).toBeLessThanOrEqual(2048);
  });
});

describe('the count lastSnapshotChars reports', () => {
  /** `error` with a stack of one line, which needs no escape. */
  const plainStack = (error: Error): Error => Object.assign(error, { stack: `${error.name}: ${error.message} at here` });
  const keys = (count: number, value: (i: number) => unknown) => Object.fromEntries(Array.from({ length: count }, (_, i) => [`k${i}`, value(i)]));

  it.each([
    ['undefined in an array', [undefined, 1]],
    [
      'a Map',
      new Map<unknown, unknown>([
        ['a', 1],
        ['b', [2, 'two']],
      ]),
    ],
    ['a Set', new Set([1, 'x', null])],
    ['an empty Set', new Set()],
    ['a Set over maxArrayLength', new Set(Array.from({ length: 1005 }, (_, i) => i))],
    ['an array over maxArrayLength', Array.from({ length: 1005 }, () => 0)],
    ['an Error', plainStack(new Error('boom'))],
    ['an Error without a stack', Object.assign(new Error('bare'), { stack: undefined })],
    ['an Error with a cause', plainStack(new Error('outer', { cause: plainStack(new TypeError('inner')) }))],
    ['an Error with as many own properties as fields', Object.assign(plainStack(new Error('boom')), { code: 'E_X', errno: 4, syscall: 'read' })],
    ['an Error with own properties holding undefined', Object.assign(plainStack(new Error('boom')), { a: undefined, code: 'E_X', b: undefined })],
    [
      'an Error over maxKeys',
      Object.assign(
        plainStack(new Error('boom')),
        keys(300, (i) => i),
      ),
    ],
    ['an object with properties holding undefined', { a: undefined, b: 1, c: undefined }],
    ['an object over maxKeys, one of its kept keys defined', keys(300, (i) => (i === 0 ? 1 : undefined))],
    ['an object over maxKeys', keys(300, (i) => i)],
  ])('is the JSON length of %s', (_name, value) => {
    const out = toJsonSafe(value);
    expect(lastSnapshotChars()).toBe(JSON.stringify(out).length);
  });
});

describe('numbers', () => {
  it('counts each number by its JSON length (see numberChars), −0 as the 0 it is written as', () => {
    expect(toJsonSafe([-0, 12, -7, 0.25, 2 ** 31, 1e21, 0.1 + 0.2])).toEqual([0, 12, -7, 0.25, 2 ** 31, 1e21, 0.1 + 0.2]);
    expect(lastSnapshotChars()).toBe(JSON.stringify([0, 12, -7, 0.25, 2 ** 31, 1e21, 0.1 + 0.2]).length);
    toJsonSafe(0.1 + 0.7);
    expect(lastSnapshotChars()).toBe('0.7999999999999999'.length + 1);
  });
});

describe('the node budget', () => {
  it('visits exactly maxNodes values, then marks each array it left', () => {
    // 1 + 60 × 1001 values; with chars to spare, the values run out in the 50th row.
    const rows = Array.from({ length: 60 }, () => Array.from({ length: 1000 }, () => 0));
    const out = toJsonSafe(rows, 10 ** 9) as JsonValue[][];
    expect(countValues(out)).toBe(maxNodes + 2);
    expect(out).toHaveLength(50 + 1);
    expect(out.at(-1)).toBe(BUDGET_MARKER);
    // 49 rows of 1001 values and the root leave 50 000 − 1 − 49 049 = 950: the 50th row and 949 zeros.
    expect(out[49]).toEqual([...Array.from({ length: 949 }, () => 0), BUDGET_MARKER]);
  });

  it('counts a property that holds undefined as a visit, though it writes nothing', () => {
    const empty = Object.fromEntries(Array.from({ length: 256 }, (_, i) => [`k${i}`, undefined]));
    const out = toJsonSafe(
      Array.from({ length: 300 }, () => empty),
      10 ** 9,
    ) as JsonValue[];
    // Each object is 1 visit and 256 reads: after the root, 49 999 = 194 × 257 + 141.
    expect(out).toEqual([...Array.from({ length: 194 }, () => ({})), { '…': BUDGET_MARKER }, BUDGET_MARKER]);
  });
});

describe('lastSnapshotChars', () => {
  it('reports the top-level call, not a snapshot taken inside it by a getter', () => {
    let inner: JsonValue = null;
    let innerChars = 0;
    const data = {
      get logs() {
        inner = toEventData({ nested: 'n'.repeat(100) }, 1024);
        innerChars = lastSnapshotChars();
        return 'x';
      },
      after: 'a'.repeat(2000),
    };
    const out = toEventData(data, 4000);
    expect(innerChars).toBe(JSON.stringify(inner).length);
    // The inner call's smaller budget did not leak into the outer one: `after` is whole.
    expect(out).toEqual({ logs: 'x', after: 'a'.repeat(2000) });
    expect(lastSnapshotChars()).toBe(JSON.stringify(out).length);
  });

  it('gives the outer budget back after each of several snapshots taken inside it, nested ones included', () => {
    const inner: JsonValue[] = [];
    const getter = () => {
      // A snapshot inside a snapshot inside the outer one.
      inner.push(
        toEventData(
          {
            deeper: {
              get again() {
                return toJsonSafe('m'.repeat(50), 1024);
              },
            },
          },
          1024,
        ),
      );
      return 'x';
    };
    const data = {
      get first() {
        return getter();
      },
      middle: 'b'.repeat(1500),
      get second() {
        return getter();
      },
      after: 'a'.repeat(2000),
    };
    const out = toEventData(data, 4000);
    expect(inner).toEqual([{ deeper: { again: 'm'.repeat(50) } }, { deeper: { again: 'm'.repeat(50) } }]);
    // Neither inner budget of 1024 leaked into the outer one, whose 4000 hold every field whole.
    expect(out).toEqual({ first: 'x', middle: 'b'.repeat(1500), second: 'x', after: 'a'.repeat(2000) });
    expect(lastSnapshotChars()).toBe(JSON.stringify(out).length);
  });

  it('reports {} for nothing as 2 chars', () => {
    toEventData(undefined);
    expect(lastSnapshotChars()).toBe(2);
    toEventData(null);
    expect(lastSnapshotChars()).toBe(2);
  });
});

describe('redaction before the cut', () => {
  /** Whether `json`, once every whole key is redacted (as the encoder does), still holds 8 or more chars of the key. */
  function holdsFragment(json: string): boolean {
    const rest = json.split(KEY).join(REDACTED);
    for (let i = 0; i + 8 <= KEY.length; i++) if (rest.includes(KEY.slice(i, i + 8))) return true;
    return false;
  }

  it('leaves no fragment of the key, at any offset and any cut, by the per-string limit or the budget', () => {
    // The room a string at the top has under the budget: maxChars less the reserve and its quotes.
    const roomOf = (maxChars: number) => maxChars - RESERVE_CHARS - 2;
    const cases = fc.oneof(
      // The key from 40 chars before the per-string cut to 5 after it.
      fc.record({ maxChars: fc.constant(3 * maxStringLength), offset: fc.integer({ min: maxStringLength - 40, max: maxStringLength + 5 }) }),
      // The key from 40 chars before the budget's cut (the room less CUT_RESERVE) to 5 after it.
      fc.integer({ min: 1024, max: maxStringLength }).chain((maxChars) => {
        const cut = roomOf(maxChars) - CUT_RESERVE;
        return fc.record({ maxChars: fc.constant(maxChars), offset: fc.integer({ min: Math.max(0, cut - 40), max: cut + 5 }) });
      }),
      // Anywhere.
      fc.record({ maxChars: fc.integer({ min: 1024, max: 3 * maxStringLength }), offset: fc.integer({ min: 0, max: maxStringLength + 40 }) }),
    );
    fc.assert(
      fc.property(cases, fc.integer({ min: 100, max: 200 }), fc.integer({ min: 0, max: 2000 }), ({ maxChars, offset }, after, pad) => {
        const text = `${'a'.repeat(offset)}${KEY}${'b'.repeat(after)}`;
        expect(holdsFragment(JSON.stringify(toJsonSafe(text, maxChars, KEY)))).toBe(false);
        expect(holdsFragment(JSON.stringify(toEventData({ pad: 'p'.repeat(pad), text, list: [text] }, maxChars, KEY)))).toBe(false);
      }),
      { seed, numRuns: fcRuns(400) },
    );
  });

  it('redacts a key that straddles the per-string cut to the end of the string, and marks nothing as cut', () => {
    const text = `${'a'.repeat(maxStringLength - 5)}${KEY}`;
    expect(toJsonSafe(text, 3 * maxStringLength, KEY)).toBe(`${'a'.repeat(maxStringLength - 5)}${REDACTED}`);
  });

  it('leaves a string it keeps whole, even one of exactly maxStringLength, to be redacted at send time', () => {
    const text = `${KEY}${'a'.repeat(maxStringLength - KEY.length)}`;
    expect(toJsonSafe(text, 3 * maxStringLength, KEY)).toBe(text);
  });

  it('redacts nothing from a cut string when no secret is given, or one that is not a string', () => {
    // Any text shows it; this one also tells the default `''` apart from the text Stryker's string mutant puts there.
    const text = 'Stryker was here!'.repeat(2000);
    const head = `${text.slice(0, maxStringLength)}…[truncated ${text.length - maxStringLength} chars]`;
    const room = 3 * maxStringLength;
    expect(toJsonSafe(text, room)).toBe(head);
    expect(toEventData(text, room)).toEqual({ value: head });
    for (const secret of [42, null, undefined]) expect(toJsonSafe(text, room, secret as unknown as string)).toBe(head);
  });

  it('redacts a key that straddles the budget cut instead of keeping its head', () => {
    const text = `${'a'.repeat(600)}${KEY}${'b'.repeat(600)}`;
    // The room left for the string is 620 chars, so the cut falls 20 chars into the key.
    const out = toJsonSafe(text, RESERVE_CHARS + 2 + 620 + 40, KEY);
    expect(out).toBe(`${'a'.repeat(600)}${REDACTED}…[truncated 600 chars]`);
    expect(toJsonSafe(text, RESERVE_CHARS + 2 + 620 + 40)).toBe(`${'a'.repeat(600)}${KEY.slice(0, 20)}…[truncated ${600 + KEY.length - 20} chars]`);
  });
});

describe('toJSON', () => {
  it('is called once: what it returns is mapped without calling its own toJSON, as JSON.stringify does', () => {
    let calls = 0;
    const chain = (): object => ({ level: calls, toJSON: () => (calls++, chain()) });
    const out = toJsonSafe(chain());
    expect(calls).toBe(1);
    expect(out).toEqual({ level: 1, toJSON: '[Function toJSON]' });
    expect(JSON.parse(JSON.stringify(chain()))).toEqual({ level: 2 });
  });
});
