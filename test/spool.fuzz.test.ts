/**
 * Whatever lies in the spool directory, a reporter never throws: it resends
 * each sound file once, moves every other one aside as `.corrupt` unchanged,
 * and counts them. The seed is FC_SEED (pinned by CI), else the clock.
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createConfig } from '../src/config.js';
import { type TelemetryReporter, startReporter } from '../src/reporter.js';
import type { Transport } from '../src/transport.js';
import type { WireBody } from '../src/wire.js';
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

type Planted = { kind: 'sound'; events: number } | { kind: 'bytes'; bytes: Uint8Array } | { kind: 'truncated'; cut: number } | { kind: 'shape'; value: unknown } | { kind: 'size'; extra: number };

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
          const reporter = startReporter({ config, sessionId: 'new', enabled: true, attachEvents: false, drainOnExit: false, transport, logger: log.logger, spoolDir: dir }) as TelemetryReporter;
          expect(await reporter.flush({ sync: true })).toBe(true);
          await vi.advanceTimersByTimeAsync(0);

          const s = reporter.stats();
          expect(s.spoolCorrupt).toBe(expectedCorrupt.size);
          expect(s.replayed).toBe(soundEvents);
          expect(s.spoolErrors).toBe(0);
          // A shape that happens to be sound JSON is impossible here: its name always says 1 event and its size is exact, yet no
          // generated JSON value has the five body fields, so each such file is corrupt.
          // The live reporter's own journal is there too, until it stops.
          expect(readdirSync(dir).filter((f) => !f.endsWith('.journal')).sort()).toEqual([...expectedCorrupt.keys()].sort());
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
});
