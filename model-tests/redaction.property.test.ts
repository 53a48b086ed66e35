/**
 * Property: wherever the API key sits in a text, and wherever that text is
 * cut, no 8-character fragment of the key survives: in `redactCut` at any
 * limit, in every field `describeException` and `findUserError` write, and
 * in `describeNetworkError`'s reason. The key and the text around it are
 * drawn from disjoint alphabets, so any fragment found comes from the key.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { describeException, findUserError } from '../src/core/exception.js';
import { redactCut } from '../src/core/redact.js';
import { describeNetworkError } from '../src/io/http-transport.js';
import { fcRuns } from '../test/fc-runs.js';

const seed = Number(process.env.FC_SEED ?? Date.now() % 2 ** 31);
console.log(`fast-check seed: ${seed} (set FC_SEED to replay)`);
const options = { seed, numRuns: fcRuns(300) };

/** Keys: `tml-` and 8 to 40 capitals and digits, self-overlapping ones (`tml-AAAA…`) included. */
const keyArb = fc.string({ unit: fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789'), minLength: 8, maxLength: 40 }).map((tail) => `tml-${tail}`);
/** Text around the key: no capitals or digits, so it can never hold a fragment of the key. */
const fillerArb = fc.string({ unit: fc.constantFrom(...'abcdefghijknopqrsuvwxyz :/[]{}"\\\n\t…é', '😀'), minLength: 1, maxLength: 16 });
/** Where the key starts: anywhere, and often just before one of the cuts (300, 4096, 8192, 32 768). */
const offsetArb = fc.oneof(fc.nat(70_000), fc.nat(64), ...[300, 4096, 8192, 32_768].map((cut) => fc.integer({ min: cut - 48, max: cut + 4 })));

/** `length` characters of `filler`, repeated. */
const pad = (filler: string, length: number) => filler.repeat(Math.ceil(length / filler.length)).slice(0, length);

/** Offsets that keep a text under the snapshot's own cut of 32 768 characters (its cut is covered by test/serialize.budget.test.ts). */
const shortOffsetArb = fc.oneof(fc.nat(64), fc.integer({ min: 4096 - 48, max: 4096 + 4 }), fc.nat(30_000));

/** A text holding 1 to 3 copies of the key, the first at an offset drawn from `offsets`, with filler between and after them. */
const textArb = (key: fc.Arbitrary<string>, offsets = offsetArb) =>
  fc
    .record({ key, filler: fillerArb, offset: offsets, gaps: fc.array(fc.nat(40), { minLength: 1, maxLength: 3 }), after: fc.nat(300) })
    .map(({ key, filler, offset, gaps, after }) => ({
      key,
      text: pad(filler, offset) + gaps.map((gap, i) => (i === 0 ? key : pad(filler, gap) + key)).join('') + pad(filler, after),
    }));

/** The 8-character fragments of `key` found in `text`. */
function fragmentsIn(text: string, key: string): string[] {
  const found: string[] = [];
  for (let i = 0; i + 8 <= key.length; i++) if (text.includes(key.slice(i, i + 8))) found.push(key.slice(i, i + 8));
  return found;
}

describe('redaction before every cut', () => {
  it('redactCut keeps no fragment of the key, at any limit', () => {
    fc.assert(
      fc.property(textArb(keyArb), fc.nat(72_000), ({ key, text }, limit) => {
        expect(fragmentsIn(redactCut(text, limit, key).kept, key)).toEqual([]);
      }),
      options,
    );
  });

  it('describeException writes no fragment of the key in its type, message or traceback, stacks, causes and inner errors included', () => {
    fc.assert(
      fc.property(
        keyArb.chain((key) =>
          fc.tuple(
            fc.constant(key),
            fc.array(
              textArb(fc.constant(key)).map((t) => t.text),
              { minLength: 6, maxLength: 6 },
            ),
          ),
        ),
        ([key, [name, message, stack, causeMessage, causeStack, innerStack]]) => {
          const inner = [{ stack: innerStack }, { message: causeMessage }];
          const cause = Object.assign(Object.create(null) as object, { name, message: causeMessage, errors: inner });
          const error = Object.assign(new Error(message), { stack, cause: { stack: causeStack, cause } });
          const named = Object.assign(Object.create(null) as object, { name, message });
          for (const fields of [
            describeException(error, key),
            describeException(named, key),
            describeException(message, key),
            describeException({ detail: message }, key),
          ]) {
            expect(fragmentsIn(`${fields.error_type}\n${fields.error_message}\n${fields.traceback ?? ''}`, key)).toEqual([]);
          }
        },
      ),
      options,
    );
  });

  it('findUserError writes no fragment of the key in its type, message or body', () => {
    const texts = (key: string) =>
      fc.tuple(textArb(fc.constant(key)), textArb(fc.constant(key)), textArb(fc.constant(key)), textArb(fc.constant(key), shortOffsetArb));
    fc.assert(
      fc.property(
        keyArb.chain((key) => fc.tuple(fc.constant(key), texts(key))),
        ([key, [name, message, body, short]]) => {
          for (const error of [
            Object.assign(new Error(message.text), { status: 401, body: body.text }),
            Object.assign(Object.create(null) as object, { name: name.text, message: message.text, response: { statusCode: 422, body: body.text } }),
            // An object body: its strings stay under the snapshot's own cut, whose redaction test/serialize.budget.test.ts covers.
            Object.assign(new Error(message.text), { status: 400, body: { [short.text]: short.text, list: [short.text] } }),
          ]) {
            const data = findUserError(error, key);
            expect(data).toBeDefined();
            expect(fragmentsIn(JSON.stringify(data), key)).toEqual([]);
          }
        },
      ),
      options,
    );
  });

  it('describeNetworkError writes no fragment of the key in its reason', () => {
    fc.assert(
      fc.property(textArb(keyArb), ({ key, text }) => {
        for (const error of [{ code: 'E_NET', message: text }, { name: text }, { code: text, message: text }]) {
          expect(fragmentsIn(describeNetworkError(error, key), key)).toEqual([]);
        }
      }),
      options,
    );
  });
});
