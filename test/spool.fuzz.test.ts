/**
 * Whatever lies in the spool directory, a reporter never throws: it resends
 * each sound file once, moves every other one aside as `.corrupt` unchanged,
 * and counts them; and it recovers from a crashed reporter's journal, cut
 * anywhere or with a bad line planted, exactly the events of its complete
 * lines, or moves it aside when a complete line is bad. The seed is FC_SEED
 * (pinned by CI), else the clock.
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createConfig } from '../src/config.js';
import { type TelemetryReporter, startReporter } from '../src/reporter.js';
import type { Transport } from '../src/core/ports.js';
import type { WireBody } from '../src/core/wire.js';
import { recordingLogger } from './helpers.js';

const seed = Number(process.env.FC_SEED ?? Date.now() % 2 ** 31);
console.log(`fast-check seed: ${seed} (set FC_SEED to replay)`);

const config = createConfig({ apiKey: 'sk-test-0123456789abcdef', baseUrl: 'http://127.0.0.1:9' });

function soundBody(session: string, n: number): string {
  const events = Array.from({ length: n }, (_, i) => ({
    event: 'GENERIC_EVENT',
    event_id: `${session}-${i}`,
    event_session_index: i,
    severity: 'INFO',
    timestamp: '2026-01-02T03:04:05.678Z',
    event_name: 'e',
    event_data: { i },
  }));
  return JSON.stringify({ session_id: session, platform: 'unix/linux', sdk_version: '0.1.0', process_uuid: 'p', events });
}

type Planted =
  | { kind: 'sound'; events: number }
  | { kind: 'bytes'; bytes: Uint8Array }
  | { kind: 'truncated'; cut: number }
  | { kind: 'shape'; value: unknown }
  | { kind: 'size'; extra: number };

const planted: fc.Arbitrary<Planted> = fc.oneof(
  fc.record({ kind: fc.constant('sound' as const), events: fc.integer({ min: 1, max: 4 }) }),
  fc.record({ kind: fc.constant('bytes' as const), bytes: fc.uint8Array({ maxLength: 200 }) }),
  fc.record({ kind: fc.constant('truncated' as const), cut: fc.integer({ min: 1, max: 150 }) }),
  fc.record({ kind: fc.constant('shape' as const), value: fc.jsonValue({ maxDepth: 3 }) }),
  fc.record({ kind: fc.constant('size' as const), extra: fc.integer({ min: 1, max: 50 }) }),
);

let dir: string;
beforeEach(() => {
  vi.useFakeTimers({ now: new Date('2026-01-02T03:04:05.678Z') });
});
afterEach(() => {
  vi.useRealTimers();
});

describe('spool fuzz', () => {
  it('resends sound files, moves every other one aside unchanged and counts it, and never throws', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(planted, { minLength: 1, maxLength: 6 }), async (plants) => {
        dir = mkdtempSync(join(tmpdir(), 'spool-fuzz-'));
        try {
          const expectedCorrupt = new Map<string, Buffer>();
          const soundSessions = new Map<string, string>();
          let soundEvents = 0;
          plants.forEach((plant, i) => {
            const key = `${String(i).padStart(8, '0')}-0000-4000-8000-000000000000`;
            const session = `old-${i}`;
            let content: Buffer;
            let events = 1;
            switch (plant.kind) {
              case 'sound':
                events = plant.events;
                content = Buffer.from(soundBody(session, events));
                break;
              case 'bytes':
                content = Buffer.from(plant.bytes);
                break;
              case 'truncated': {
                const whole = Buffer.from(soundBody(session, 1));
                content = whole.subarray(0, Math.max(0, whole.length - plant.cut));
                break;
              }
              case 'shape':
                content = Buffer.from(JSON.stringify(plant.value));
                break;
              case 'size':
                content = Buffer.from(soundBody(session, 1));
                break;
            }
            const size = content.length + (plant.kind === 'size' ? plant.extra : 0);
            const name = `${String(1_767_323_045_000 + i).padStart(15, '0')}-000000000-${key}-${events}-${size}.batch`;
            writeFileSync(join(dir, name), content);
            if (plant.kind === 'sound') {
              soundSessions.set(session, content.toString('utf8'));
              soundEvents += events;
            } else {
              expectedCorrupt.set(`${name}.corrupt`, content);
            }
          });

          const sent: string[] = [];
          const transport: Transport = {
            send: (request) => {
              sent.push(request.body);
              return Promise.resolve({ kind: 'ok', status: 200 });
            },
          };
          const log = recordingLogger();
          const reporter = startReporter({
            config,
            sessionId: 'new',
            enabled: true,
            attachEvents: false,
            drainOnExit: false,
            transport,
            logger: log.logger,
            spoolDir: dir,
          }) as TelemetryReporter;
          expect(await reporter.flush({ sync: true })).toBe(true);
          await vi.advanceTimersByTimeAsync(0);

          const s = reporter.stats();
          expect(s.spoolCorrupt).toBe(expectedCorrupt.size);
          expect(s.replayed).toBe(soundEvents);
          expect(s.spoolErrors).toBe(0);
          // A shape that happens to be sound JSON is impossible here: its name always says 1 event and its size is exact, yet no
          // generated JSON value has the five body fields, so each such file is corrupt.
          // The live reporter's own journal is there too, until it stops.
          expect(
            readdirSync(dir)
              .filter((f) => !f.endsWith('.journal'))
              .sort(),
          ).toEqual([...expectedCorrupt.keys()].sort());
          for (const [name, content] of expectedCorrupt) expect(readFileSync(join(dir, name)).equals(content)).toBe(true);
          const resent = sent.filter((body) => (JSON.parse(body) as WireBody).session_id !== 'new');
          expect(resent.sort()).toEqual([...soundSessions.values()].sort());
          expect(log.records.filter((r) => r.level === 'warn')).toHaveLength(expectedCorrupt.size);
          expect(log.records.filter((r) => r.level === 'error')).toEqual([]);
          await reporter.stop();
          expect(readdirSync(dir).sort()).toEqual([...expectedCorrupt.keys()].sort());
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      }),
      { seed, numRuns: 60 },
    );
  });

  it('recovers from a crashed reporter’s journal exactly the events of its complete lines, whatever the cut or the bad line', async () => {
    // Above the kernel's largest pid: a process that is surely dead.
    const owner = '2147483646-0000dead';
    const header = '{"session_id":"crashed","platform":"unix/linux","sdk_version":"0.1.0","process_uuid":"p"}';
    const eventLine = (i: number) =>
      JSON.stringify({
        event: 'GENERIC_EVENT',
        event_id: `crashed-${i}`,
        event_session_index: i,
        severity: 'INFO',
        timestamp: '2026-01-02T03:04:05.678Z',
        event_name: 'e',
        event_data: { i },
      });
    const journal = fc.record({
      events: fc.integer({ min: 0, max: 8 }),
      acked: fc.array(fc.integer({ min: 0, max: 8 }), { maxLength: 4 }),
      // A line no JSON parser accepts, planted before the event of this position.
      bad: fc.option(fc.record({ at: fc.integer({ min: 0, max: 8 }), text: fc.string({ maxLength: 20 }).map((t) => `~${t.replace(/\n/g, '')}`) }), {
        nil: undefined,
      }),
      cut: fc.option(fc.nat(), { nil: undefined }),
    });
    await fc.assert(
      fc.asyncProperty(journal, async ({ events, acked, bad, cut }) => {
        dir = mkdtempSync(join(tmpdir(), 'journal-fuzz-'));
        try {
          const lines = [header];
          for (let i = 0; i < events; i++) {
            if (bad?.at === i) lines.push(bad.text);
            lines.push(eventLine(i));
          }
          if (acked.length > 0) lines.push(JSON.stringify(acked));
          let text = lines.map((l) => `${l}\n`).join('');
          if (cut !== undefined) text = text.slice(0, cut % (text.length + 1));
          writeFileSync(join(dir, `${owner}.journal`), text);

          // The model: complete lines only; a complete bad line makes it corrupt; a cut header holds nothing.
          const complete = text.split('\n').slice(0, -1);
          const corrupt = complete.length > 0 && complete.slice(1).some((l) => l.startsWith('~'));
          const expected = new Set<number>();
          if (!corrupt) {
            for (const l of complete.slice(1)) {
              if (l.startsWith('[')) for (const i of JSON.parse(l) as number[]) expected.delete(i);
              else expected.add((JSON.parse(l) as { event_session_index: number }).event_session_index);
            }
          }

          const sent: WireBody[] = [];
          const transport: Transport = {
            send: (request) => {
              sent.push(JSON.parse(request.body) as WireBody);
              return Promise.resolve({ kind: 'ok', status: 200 });
            },
          };
          const log = recordingLogger();
          const reporter = startReporter({
            config,
            sessionId: 'new',
            enabled: true,
            attachEvents: false,
            drainOnExit: false,
            transport,
            logger: log.logger,
            spoolDir: dir,
            maxBatchSize: 3,
          }) as TelemetryReporter;
          expect(await reporter.flush({ sync: true })).toBe(true);
          await reporter.stop();

          const recovered = sent.filter((b) => b.session_id === 'crashed').flatMap((b) => b.events);
          expect(recovered.map((e) => e.event_session_index)).toEqual([...expected].sort((a, b) => a - b));
          expect(recovered.map((e) => e.event_id)).toEqual([...expected].sort((a, b) => a - b).map((i) => `crashed-${i}`));
          expect(reporter.stats()).toMatchObject({ recovered: expected.size, replayed: expected.size, spoolCorrupt: corrupt ? 1 : 0, spoolErrors: 0 });
          expect(readdirSync(dir)).toEqual(corrupt ? [`${owner}.journal.corrupt`] : []);
          if (corrupt) expect(readFileSync(join(dir, `${owner}.journal.corrupt`), 'utf8')).toBe(text);
          expect(log.records.filter((r) => r.level === 'error')).toEqual([]);
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      }),
      { seed, numRuns: 100 },
    );
  });
});
