/**
 * Recovery of a crashed reporter's journal by the next spool on the
 * directory: what is written, in whose name, what is left alone while its
 * owner or its recoverer lives, and what a second crash during recovery does.
 */
import * as fs from 'node:fs';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SafeLogger } from '../src/host/logger.js';
import { Spool, type SpoolFs, type SpoolOptions } from '../src/io/spool.js';
import type { WireBody } from '../src/core/wire.js';
import { recordingLogger } from './helpers.js';
import { keyRecordingLog } from './spool-helpers.js';

const ME = 4242;
const DEAD = 1111;
const OWNER = `${DEAD}-0000dead`;
const HEADER = '{"session_id":"crashed","platform":"unix/linux","sdk_version":"0.1.0","process_uuid":"p"}';

const line = (i: number) =>
  `{"event":"GENERIC_EVENT","event_id":"id-${i}","event_session_index":${i},"severity":"INFO","timestamp":"2026-01-02T03:04:05.678Z","event_name":"e","event_data":{}}`;
const body = (indices: number[], session = 'crashed') =>
  `${HEADER.replace('"crashed"', JSON.stringify(session)).slice(0, -1)},"events":[${indices.map(line).join(',')}]}`;

let dir: string;
let log: ReturnType<typeof recordingLogger>;
let alive: Set<number>;

function spool(overrides: Partial<SpoolOptions> = {}): Spool {
  const spool = new Spool({
    dir,
    maxSpoolBytes: 1 << 20,
    logger: new SafeLogger(log.logger, {}),
    now: () => 1_767_323_045_678,
    onEvicted: () => undefined,
    pid: ME,
    isAlive: (pid) => alive.has(pid),
    ...overrides,
  });
  spool.scan();
  return spool;
}

/** Plants a journal of `owner` (claimed by `claimer`, if given) holding events `indices` and the acknowledgements `acks`. */
function journal(indices: number[], acks: number[][] = [], owner = OWNER, claimer?: string): string {
  const name = claimer === undefined ? `${owner}.journal` : `${owner}.journal.claimed-${claimer}`;
  writeFileSync(join(dir, name), `${HEADER}\n${indices.map(line).join('\n')}\n${acks.map((a) => `${JSON.stringify(a)}\n`).join('')}`);
  return name;
}

/** Plants a batch file claimed by `owner` holding events `indices` of `session`. */
function claimed(indices: number[], session = 'crashed', owner = OWNER, key = '11111111-1111-4111-8111-111111111111'): string {
  const text = body(indices, session);
  const name = `001767323000000-000000000-${key}-${indices.length}-${Buffer.byteLength(text)}.batch.claimed-${owner}`;
  writeFileSync(join(dir, name), text);
  return name;
}

const files = () => readdirSync(dir).sort();
/** The event indices of every ready batch file, file by file, oldest first. */
const readyIndices = () =>
  files()
    .filter((f) => f.endsWith('.batch'))
    .map((f) => (JSON.parse(readFileSync(join(dir, f), 'utf8')) as WireBody).events.map((e) => e.event_session_index));
/** Claims everything the spool found and gives the indices of each batch, in the order it resends them. */
function resent(s: Spool): number[][] {
  const out: number[][] = [];
  for (let batch = s.claimNext(); batch !== undefined; batch = s.claimNext())
    out.push((JSON.parse(batch.body) as WireBody).events.map((e) => e.event_session_index));
  return out;
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'spool-recovery-'));
  log = recordingLogger();
  alive = new Set([ME]);
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('recovering a crashed reporter', () => {
  it('writes the events no file holds as batches, releases the files it claimed, deletes the journal, and counts and logs it', () => {
    journal([0, 1, 2, 3, 4, 5, 6], [[0]]);
    claimed([1, 2]);
    const s = spool();
    expect(s.recovered).toBe(4);
    expect(files().every((f) => f.endsWith('.batch'))).toBe(true);
    expect(readyIndices().sort()).toEqual([
      [1, 2],
      [3, 4, 5, 6],
    ]);
    expect(s.hasReplay()).toBe(true);
    expect(resent(s).flat().sort()).toEqual([1, 2, 3, 4, 5, 6]);
    expect(log.records.map((r) => [r.level, r.msg])).toEqual([
      ['info', 'Telemetry recovered 4 unsent events of session crashed, whose process ended without stopping'],
    ]);
    expect(log.records[0]?.obj).toEqual({ sessionId: 'crashed', events: 4 });
  });

  it('writes a body the server would take, under the crashed session, that the spool reads back as sound', () => {
    journal([0, 1]);
    const s = spool();
    const [batch] = [s.claimNext()];
    expect(batch?.events).toBe(2);
    expect(batch?.body).toBe(body([0, 1]));
    expect(s.corrupt).toBe(0);
  });

  it('writes no batch and logs nothing when every event was acknowledged or is in a file', () => {
    journal([0, 1, 2], [[0, 2]]);
    claimed([1]);
    const s = spool();
    expect(s.recovered).toBe(0);
    expect(readyIndices()).toEqual([[1]]);
    expect(log.records).toEqual([]);
  });

  it('splits what it writes by maxBatchSize', () => {
    journal([0, 1, 2, 3, 4]);
    spool({ maxBatchSize: 2 });
    expect(readyIndices().sort()).toEqual([[0, 1], [2, 3], [4]]);
  });

  it('splits what it writes by maxBatchBytes, a body of exactly the limit fitting', () => {
    journal([0, 1, 2]);
    const two = Buffer.byteLength(body([0, 1]));
    spool({ maxBatchBytes: two });
    expect(readyIndices().sort()).toEqual([[0, 1], [2]]);
  });

  it('starts each batch afresh: a second body of exactly the limit fits too', () => {
    journal([0, 1, 2, 3]);
    spool({ maxBatchBytes: Buffer.byteLength(body([0, 1])) });
    expect(readyIndices().sort()).toEqual([
      [0, 1],
      [2, 3],
    ]);
  });

  it('splits one byte under a body, and still writes an event that alone is over the limit', () => {
    journal([0, 1, 2]);
    spool({ maxBatchBytes: Buffer.byteLength(body([0, 1])) - 1 });
    expect(readyIndices().sort()).toEqual([[0], [1], [2]]);
    rmSync(dir, { recursive: true });
    fs.mkdirSync(dir);
    journal([0, 1]);
    spool({ maxBatchBytes: 10 });
    expect(readyIndices().sort()).toEqual([[0], [1]]);
  });

  it('subtracts only files of the same session: a resend the owner had claimed is released whole, not taken from the journal', () => {
    journal([0, 1, 2]);
    claimed([0, 1], 'older-session');
    const s = spool();
    expect(s.recovered).toBe(3);
    expect(readyIndices().sort()).toEqual([
      [0, 1],
      [0, 1, 2],
    ]);
  });

  it('subtracts only the well-formed events of a claimed file: one that lost its type is recovered from the journal', () => {
    journal([0, 1]);
    const odd = claimed([0, 1]);
    writeFileSync(join(dir, odd), body([0, 1]).replace('"event":"GENERIC_EVENT",', ''));
    // The first event of the file lost its type; the second is sound and so is subtracted.
    const s = spool();
    expect(s.recovered).toBe(1);
    expect(readyIndices().sort()).toEqual([[0], [0, 1]]);
  });

  it('touches no ready file and no other owner’s claim while recovering', () => {
    const ready = `001700000000000-000000000-33333333-3333-4333-8333-333333333333-1-${Buffer.byteLength(body([7]))}.batch`;
    writeFileSync(join(dir, ready), body([7]));
    alive.add(6666);
    const other = claimed([8], 'crashed', '6666-00000006');
    journal([0]);
    spool();
    expect(files()).toContain(ready);
    expect(files()).toContain(other);
    expect(readFileSync(join(dir, ready), 'utf8')).toBe(body([7]));
  });

  it('releases a claimed file it cannot read as JSON without subtracting anything, for claimNext to move aside', () => {
    journal([0, 1]);
    const bad = claimed([0]);
    writeFileSync(join(dir, bad), '{"session_id":');
    const s = spool();
    expect(s.recovered).toBe(2);
    expect(resent(s)).toEqual([[0, 1]]);
    expect(s.corrupt).toBe(1);
  });

  it('leaves alone the journal and the claimed files of a live owner', () => {
    alive.add(DEAD);
    const names = [journal([0, 1]), claimed([0])].sort();
    const s = spool();
    expect(files()).toEqual(names);
    expect(s.hasReplay()).toBe(false);
    expect(s.recovered).toBe(0);
  });

  it('leaves alone a journal another live process is recovering, and the crashed owner’s files with it', () => {
    const names = [journal([0, 1], [], OWNER, '7777-00000007'), claimed([0])].sort();
    alive.add(7777);
    const s = spool();
    expect(files()).toEqual(names);
    expect(s.hasReplay()).toBe(false);
  });

  it('takes up a recovery whose recoverer died: files it wrote in the owner’s name are subtracted like the owner’s', () => {
    // The first recoverer wrote [2, 3] in the owner's name and died before acknowledging them.
    journal([0, 1, 2, 3, 4], [], OWNER, '8888-00000008');
    claimed([0, 1]);
    claimed([2, 3], 'crashed', OWNER, '22222222-2222-4222-8222-222222222222');
    const s = spool();
    expect(s.recovered).toBe(1);
    expect(readyIndices().sort()).toEqual([[0, 1], [2, 3], [4]]);
    expect(files().some((f) => f.includes('.journal'))).toBe(false);
  });

  it('releases the claimed files of a dead owner without a journal, as before journals', () => {
    const other = claimed([0], 'crashed', '3333-00000003');
    const s = spool();
    expect(files()).toEqual([other.slice(0, other.lastIndexOf('.claimed-'))]);
    expect(s.hasReplay()).toBe(true);
  });

  it('removes a dead reporter’s unfinished rewrite of its journal, and keeps a live one’s', () => {
    writeFileSync(join(dir, `${OWNER}.journal.tmp`), 'partial');
    writeFileSync(join(dir, `${ME}-0000beef.journal.tmp`), 'partial');
    spool();
    expect(files()).toEqual([`${ME}-0000beef.journal.tmp`]);
  });

  it('deletes an empty journal (a crash before its header) and releases the owner’s files', () => {
    writeFileSync(join(dir, `${OWNER}.journal`), '');
    claimed([0]);
    const s = spool();
    expect(s.recovered).toBe(0);
    expect(readyIndices()).toEqual([[0]]);
    expect(files()).toHaveLength(1);
  });

  it('moves a corrupt journal aside, counts and logs it, and still releases the owner’s files', () => {
    writeFileSync(join(dir, `${OWNER}.journal`), `${HEADER}\n${line(0)}\nnot json\n${line(1)}\n`);
    claimed([0]);
    const s = spool();
    expect(s.corrupt).toBe(1);
    expect(s.recovered).toBe(0);
    expect(files().filter((f) => !f.endsWith('.batch'))).toEqual([`${OWNER}.journal.corrupt`]);
    expect(readyIndices()).toEqual([[0]]);
    expect(log.records.map((r) => [r.level, r.msg])).toEqual([
      ['warn', `Telemetry journal ${OWNER}.journal is corrupt (line 3 is neither an event nor an acknowledgement); moved aside as ${OWNER}.journal.corrupt`],
    ]);
    expect(log.records[0]?.obj).toEqual({
      file: expect.stringMatching(new RegExp(`^${OWNER}\\.journal\\.claimed-${ME}-[0-9a-f]{8}$`)) as string,
      problem: 'line 3 is neither an event nor an acknowledgement',
    });
  });

  it('counts the events of a recovered batch that cannot fit in maxSpoolBytes as evicted, and finishes the recovery', () => {
    journal([0, 1, 2, 3]);
    const evicted: number[] = [];
    const one = Buffer.byteLength(body([0]));
    const s = spool({ maxBatchSize: 2, maxSpoolBytes: one + 60, onEvicted: (n) => evicted.push(n) });
    // Each batch of two is too large for the bound, so none is written, and both are counted.
    expect(evicted).toEqual([4]);
    expect(s.recovered).toBe(0);
    expect(files()).toEqual([]);
  });

  it('evicts older ready files to make room for what it recovers, counting their events', () => {
    const old = `001700000000000-000000000-33333333-3333-4333-8333-333333333333-1-${Buffer.byteLength(body([9], 'older'))}.batch`;
    writeFileSync(join(dir, old), body([9], 'older'));
    journal([0]);
    const evicted: number[] = [];
    const s = spool({ maxSpoolBytes: Buffer.byteLength(body([0])) + 10, onEvicted: (n) => evicted.push(n) });
    expect(evicted).toEqual([1]);
    expect(s.recovered).toBe(1);
    expect(readyIndices()).toEqual([[0]]);
  });

  describe('when a write fails', () => {
    const eio = () => Object.assign(new Error('EIO: i/o error'), { code: 'EIO' });

    it('stops at the failed batch, keeps the journal claimed by this process and the owner’s files locked, and never throws', () => {
      journal([0, 1, 2, 3]);
      claimed([0]);
      let opens = 0;
      const failing = {
        ...fs,
        openSync: (p: fs.PathLike, flags: fs.OpenMode) =>
          String(p).includes('.tmp-') && ++opens === 2
            ? (() => {
                throw eio();
              })()
            : fs.openSync(p, flags),
      } as SpoolFs;
      const s = spool({ maxBatchSize: 2, fs: failing });
      expect(s.errors).toBe(1);
      expect(s.recovered).toBe(0);
      expect(s.hasReplay()).toBe(false);
      const journalName = files().find((f) => f.includes('.journal'));
      expect(journalName).toMatch(new RegExp(`^${OWNER}\\.journal\\.claimed-${ME}-[0-9a-f]{8}$`));
      // The batch [1, 2] was written in the owner's name and acknowledged; [3] was not written.
      expect(readFileSync(join(dir, journalName!), 'utf8').endsWith('[1,2]\n')).toBe(true);
      expect(
        files()
          .filter((f) => f.includes('.batch'))
          .every((f) => f.endsWith(`.claimed-${OWNER}`)),
      ).toBe(true);

      // After this process dies, the next one finishes the recovery without repeating [1, 2].
      alive.delete(ME);
      const next = spool({ pid: 5555 });
      alive.add(5555);
      expect(next.recovered).toBe(1);
      expect(readyIndices().sort()).toEqual([[0], [1, 2], [3]]);
    });

    it('stops when the acknowledgement cannot be appended, and the next recovery subtracts the batch it wrote', () => {
      journal([0, 1]);
      const failing = {
        ...fs,
        appendFileSync: () => {
          throw eio();
        },
      } as unknown as SpoolFs;
      const s = spool({ fs: failing });
      expect(s.errors).toBe(1);
      expect(s.hasReplay()).toBe(false);
      expect(log.records.map((r) => r.msg)).toEqual([`Telemetry spool journal failed in ${dir} (EIO); undelivered batches may not be kept`]);
      alive.delete(ME);
      spool({ pid: 5555 });
      expect(readyIndices()).toEqual([[0, 1]]);
    });

    it('leaves the journal claimed when it cannot be read', () => {
      journal([0]);
      const failing = {
        ...fs,
        readFileSync: () => {
          throw eio();
        },
      } as SpoolFs;
      const s = spool({ fs: failing });
      expect(s.errors).toBe(1);
      expect(files()).toEqual([expect.stringMatching(new RegExp(`^${OWNER}\\.journal\\.claimed-${ME}-`)) as string]);
      expect(log.records.map((r) => r.msg)).toEqual([`Telemetry spool read failed in ${dir} (EIO); undelivered batches may not be kept`]);
    });
  });

  it('opens this reporter’s journal in the spool directory, named after its claims', () => {
    const s = spool();
    const opened = s.openJournal(HEADER, () => line(0));
    expect(opened).toBeDefined();
    const [name] = files();
    expect(name).toMatch(new RegExp(`^${ME}-[0-9a-f]{8}\\.journal$`));
    expect(readFileSync(join(dir, name!), 'utf8')).toBe(`${HEADER}\n`);
    opened!.close();
    expect(existsSync(join(dir, name!))).toBe(false);
  });

  /** Node's fs, but a journal cannot be created (EACCES). */
  const journalUnopenable = {
    ...fs,
    openSync: (p: fs.PathLike, flags: fs.OpenMode) =>
      String(p).endsWith('.journal')
        ? (() => {
            throw Object.assign(new Error('EACCES'), { code: 'EACCES' });
          })()
        : fs.openSync(p, flags),
  } as SpoolFs;

  it('counts and logs once a journal it cannot open, and goes on without one', () => {
    const s = spool({ fs: journalUnopenable });
    expect(s.openJournal(HEADER, () => line(0))).toBeUndefined();
    expect(s.openJournal(HEADER, () => line(0))).toBeUndefined();
    expect(s.errors).toBe(2);
    expect(log.records.map((r) => r.msg)).toEqual([
      `Telemetry spool journal failed in ${dir} (EACCES); undelivered batches may not be kept`,
      'Telemetry journal is off for this session; a crash would lose its queued events',
    ]);
    expect(log.records[1]?.obj).toEqual({ dir });
  });

  it('says that the journal is off under the warn-once key spool:journal-off, after the failure’s own key', () => {
    const keyed = keyRecordingLog(log);
    const s = spool({ fs: journalUnopenable, logger: keyed.logger });
    expect(s.openJournal(HEADER, () => line(0))).toBeUndefined();
    expect(keyed.keys).toEqual(['spool:journal:EACCES', 'spool:journal-off']);
  });
});
