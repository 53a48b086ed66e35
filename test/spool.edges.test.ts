/** The spool's defaults, its ordering and its bound at the exact edges, and the exact warnings it gives. */
import * as fs from 'node:fs';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { SafeLogger } from '../src/host/logger.js';
import { Spool, type SpoolFs, type SpoolOptions, parseSpooledBatch, processAlive } from '../src/io/spool.js';
import { recordingLogger } from './helpers.js';
import { KEY_A, KEY_B, KEY_C, KEY_D, keyRecordingLog, storedBody, testSpoolOptions } from './spool-helpers.js';

const body = storedBody;

let dir: string;
let clock: number;
let evicted: number[];
let log: ReturnType<typeof recordingLogger>;

function spool(overrides: Partial<SpoolOptions> = {}): Spool {
  const spool = new Spool({ ...testSpoolOptions(dir, log, () => clock, evicted), ...overrides });
  spool.scan();
  return spool;
}

const files = () => readdirSync(dir).sort();
const keyOf = (file: string) => file.slice(26, 62);

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'spool-edges-'));
  clock = 1_767_323_045_678;
  evicted = [];
  log = recordingLogger();
});
afterEach(() => {
  vi.restoreAllMocks();
  rmSync(dir, { recursive: true, force: true });
});

describe('Spool defaults', () => {
  it('names its claims and temporary files after this process when no pid is given', () => {
    const opened: string[] = [];
    const traced = { ...fs, openSync: (path: fs.PathLike, flags: fs.OpenMode) => (opened.push(String(path)), fs.openSync(path, flags)) } as SpoolFs;
    const s = spool({ pid: undefined, fs: traced });
    const file = s.hold(body(1), KEY_A, 1)!;
    expect(file).toMatch(new RegExp(`\\.batch\\.claimed-${process.pid}-[0-9a-f]{8}$`));
    expect(opened[0]).toMatch(new RegExp(`\\.batch\\.tmp-${process.pid}-[0-9a-f]{8}$`));
  });

  it('uses node:fs when no fs is given', () => {
    const s = new Spool({ dir, maxSpoolBytes: 1 << 20, logger: new SafeLogger(log.logger, {}), now: () => clock, onEvicted: () => undefined });
    expect(s.keep(undefined, body(1), KEY_A, 1)).toBe(true);
    expect(files()).toHaveLength(1);
    expect(s.errors).toBe(0);
  });

  it('takes a process that exists but may not be signalled (EPERM) for a live one, and any other failure for a dead one', () => {
    const kill = vi.spyOn(process, 'kill');
    kill.mockImplementation(() => {
      throw Object.assign(new Error('operation not permitted'), { code: 'EPERM' });
    });
    expect(processAlive(1)).toBe(true);
    kill.mockImplementation(() => {
      throw Object.assign(new Error('no such process'), { code: 'ESRCH' });
    });
    expect(processAlive(1)).toBe(false);
    kill.mockImplementation(() => true);
    expect(processAlive(1)).toBe(true);
    expect(kill).toHaveBeenLastCalledWith(1, 0);
  });
});

describe('Spool replay order', () => {
  it('resends oldest first whatever order the directory lists, taken-back claims included', () => {
    const text = body(1);
    const name = (ms: number, key: string) => `${String(ms).padStart(15, '0')}-000000000-${key}-1-${Buffer.byteLength(text)}.batch`;
    writeFileSync(join(dir, name(3, KEY_C)), text);
    writeFileSync(join(dir, `${name(1, KEY_A)}.claimed-999-abcd1234`), text);
    writeFileSync(join(dir, name(4, KEY_D)), text);
    writeFileSync(join(dir, name(2, KEY_B)), text);
    // Newest first, the taken-back claim last: the spool must sort, not trust the listing.
    const listing = [name(4, KEY_D), name(3, KEY_C), name(2, KEY_B), `${name(1, KEY_A)}.claimed-999-abcd1234`];
    let first = true;
    const reversed = {
      ...fs,
      readdirSync: (path: fs.PathLike) => {
        if (!first) return fs.readdirSync(path);
        first = false;
        return listing;
      },
    } as unknown as SpoolFs;
    const s = spool({ fs: reversed });
    const keys = [s.claimNext(), s.claimNext(), s.claimNext(), s.claimNext(), s.claimNext()].map((c) => c?.idempotencyKey);
    expect(keys).toEqual([KEY_A, KEY_B, KEY_C, KEY_D, undefined]);
  });
});

describe('Spool bound at its edges', () => {
  it('evicts only as many of the oldest files as the new one needs, and counts the claimed bytes without evicting them', () => {
    const text = body(1);
    const size = Buffer.byteLength(text);
    const s = spool({ maxSpoolBytes: size * 4 });
    const held = s.hold(text, KEY_A, 1)!;
    clock += 1;
    s.keep(undefined, text, KEY_B, 1);
    clock += 1;
    s.keep(undefined, text, KEY_C, 1);
    clock += 1;
    s.keep(undefined, text, KEY_D, 1);
    expect(evicted).toEqual([]);
    // Full to the byte: one more evicts exactly the oldest ready file, never the claimed one.
    clock += 1;
    expect(s.keep(undefined, text, '55555555-5555-4555-8555-555555555555', 1)).toBe(true);
    expect(evicted).toEqual([1]);
    expect(files()).toContain(held);
    expect(files().map(keyOf)).toEqual([KEY_A, KEY_C, KEY_D, '55555555-5555-4555-8555-555555555555']);
  });

  it('evicts two files for one batch that needs the room of both, and adds their events', () => {
    const small = body(1);
    const size = Buffer.byteLength(small);
    const s = spool({ maxSpoolBytes: size * 3 });
    s.keep(undefined, small, KEY_A, 3);
    clock += 1;
    s.keep(undefined, small, KEY_B, 4);
    clock += 1;
    s.keep(undefined, small, KEY_C, 5);
    clock += 1;
    expect(s.keep(undefined, 'x'.repeat(size * 2), KEY_D, 9)).toBe(true);
    expect(evicted).toEqual([7]);
    expect(files().map(keyOf)).toEqual([KEY_C, KEY_D]);
  });

  it('warns once when full, naming the directory and the bound, and once when a batch can never fit, naming its size', () => {
    const text = body(1);
    const size = Buffer.byteLength(text);
    const max = size * 2;
    const s = spool({ maxSpoolBytes: max });
    s.keep(undefined, text, KEY_A, 1);
    clock += 1;
    s.keep(undefined, text, KEY_B, 1);
    clock += 1;
    s.keep(undefined, text, KEY_C, 1);
    expect(s.keep(undefined, 'x'.repeat(max + 1), KEY_D, 1)).toBe(false);
    expect(s.keep(undefined, 'x'.repeat(max + 2), KEY_D, 1)).toBe(false);
    expect(log.records).toEqual([
      { level: 'warn', obj: { dir, maxSpoolBytes: max }, msg: `Telemetry spool is full (maxSpoolBytes ${max}); evicting the oldest batches` },
      { level: 'warn', obj: { dir, bytes: max + 1 }, msg: `Telemetry batch of ${max + 1} bytes does not fit in the spool (maxSpoolBytes ${max}); not spooled` },
    ]);
    // A batch that could never fit evicts nothing: the two newest files stay.
    expect(evicted).toEqual([1]);
    expect(files().map(keyOf)).toEqual([KEY_B, KEY_C]);
  });

  it('gives its full and never-fits warnings the warn-once keys spool:overflow and spool:too_large', () => {
    const text = body(1);
    const max = Buffer.byteLength(text);
    const keyed = keyRecordingLog(log);
    const s = spool({ maxSpoolBytes: max, logger: keyed.logger });
    s.keep(undefined, text, KEY_A, 1);
    clock += 1;
    s.keep(undefined, text, KEY_B, 1);
    s.keep(undefined, 'x'.repeat(max + 1), KEY_C, 1);
    // The keys are the port's names for these warnings: the ones a shared logger deduplicates and could rearm.
    expect(keyed.keys).toEqual(['spool:overflow', 'spool:too_large']);
  });

  it('evicts the oldest first whatever order the directory lists', () => {
    const text = body(1);
    const size = Buffer.byteLength(text);
    const s = spool({
      maxSpoolBytes: size * 3,
      fs: { ...fs, readdirSync: (path: fs.PathLike) => fs.readdirSync(path).sort().reverse() } as unknown as SpoolFs,
    });
    s.keep(undefined, text, KEY_A, 1);
    clock += 1;
    s.keep(undefined, text, KEY_B, 2);
    clock += 1;
    s.keep(undefined, text, KEY_C, 3);
    clock += 1;
    expect(s.keep(undefined, text, KEY_D, 4)).toBe(true);
    expect(evicted).toEqual([1]);
    expect(files().map(keyOf)).toEqual([KEY_B, KEY_C, KEY_D]);
  });

  it('ignores files that are not its own when it measures the directory', () => {
    const text = body(1);
    const size = Buffer.byteLength(text);
    writeFileSync(join(dir, `000000000000001-000000000-${KEY_A}-1-${size}.batch.corrupt`), 'x'.repeat(size));
    writeFileSync(join(dir, `000000000000001-000000000-${KEY_B}-1-${size}.batch.tmp-4242-abcd1234`), 'x'.repeat(size));
    const s = spool({ maxSpoolBytes: size });
    expect(s.keep(undefined, text, KEY_C, 1)).toBe(true);
    expect(evicted).toEqual([]);
  });
});

describe('Spool failures without a code', () => {
  it.each([
    ['undefined', undefined],
    ['null', null],
  ])('names a thrown %s as unknown, counts it and does not throw', (_label, thrown) => {
    const s = spool({
      fs: {
        ...fs,
        writeFileSync: () => {
          throw thrown;
        },
      },
    });
    expect(s.keep(undefined, body(1), KEY_A, 1)).toBe(false);
    expect(s.errors).toBe(1);
    expect(log.records).toEqual([
      {
        level: 'warn',
        obj: { dir, operation: 'write', code: 'unknown' },
        msg: `Telemetry spool write failed in ${dir} (unknown); undelivered batches may not be kept`,
      },
    ]);
  });

  it('warns once per operation and code, and counts every failure', () => {
    const s = spool({
      fs: {
        ...fs,
        writeFileSync: () => {
          throw Object.assign(new Error('full'), { code: 'ENOSPC' });
        },
      },
    });
    s.keep(undefined, body(1), KEY_A, 1);
    s.keep(undefined, body(1), KEY_B, 1);
    expect(s.errors).toBe(2);
    expect(log.records).toHaveLength(1);
  });
});

describe('Spool failures name their operation', () => {
  const failing = (operation: keyof SpoolFs, code: string): SpoolFs => ({
    ...fs,
    [operation]: () => {
      throw Object.assign(new Error(`${code}: injected`), { code });
    },
  });
  const warning = (operation: string, code: string) => ({
    level: 'warn',
    obj: { dir, operation, code },
    msg: `Telemetry spool ${operation} failed in ${dir} (${code}); undelivered batches may not be kept`,
  });

  it('a claim that cannot be renamed is a rename failure', () => {
    spool().keep(undefined, body(1), KEY_A, 1);
    const s = spool({ fs: failing('renameSync', 'EACCES') });
    expect(s.claimNext()).toBeUndefined();
    expect(log.records).toEqual([warning('rename', 'EACCES')]);
  });

  it('a claimed file that cannot be read is a read failure', () => {
    spool().keep(undefined, body(1), KEY_A, 1);
    const s = spool({ fs: failing('readFileSync', 'EIO') });
    expect(s.claimNext()).toBeUndefined();
    expect(log.records).toEqual([warning('read', 'EIO')]);
  });

  it('a file that cannot be removed, after its outcome or to make room, is an unlink failure', () => {
    const text = body(1);
    spool().keep(undefined, text, KEY_A, 1);
    const s = spool({ fs: failing('unlinkSync', 'EBUSY') });
    s.remove(files()[0]);
    expect(log.records).toEqual([warning('unlink', 'EBUSY')]);
    log.records.length = 0;
    const full = spool({ maxSpoolBytes: Buffer.byteLength(text), fs: failing('unlinkSync', 'EPERM') });
    expect(full.keep(undefined, text, KEY_B, 1)).toBe(false);
    expect(log.records[0]).toEqual(warning('unlink', 'EPERM'));
  });
});

describe('parseSpooledBatch on bodies that are not objects', () => {
  it.each(['7', '"text"', 'true'])('finds %s not an object', (text) => {
    expect(parseSpooledBatch(`001767323045678-000000000-${KEY_A}-1-${Buffer.byteLength(text)}.batch`, text)).toEqual({ problem: 'not an object' });
  });
});
