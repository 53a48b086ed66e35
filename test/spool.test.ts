/** The durable spool against a real temporary directory: atomic writes, claims, eviction, corrupt files and I/O errors. */
import * as fs from 'node:fs';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Spool, type SpoolFs, type SpoolOptions, parseSpooledBatch, processAlive } from '../src/io/spool.js';
import { recordingLogger } from './helpers.js';
import { KEY_A, KEY_B, KEY_C, storedBody, testSpoolOptions } from './spool-helpers.js';

const NAME = /^(\d{15})-(\d{9})-([0-9a-f-]{36})-(\d+)-(\d+)\.batch$/;

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

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'spool-test-'));
  clock = 1_767_323_045_678;
  evicted = [];
  log = recordingLogger();
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('Spool writes', () => {
  it('holds a batch as a claimed file named by time, sequence, key, events and bytes, holding the exact body', () => {
    const s = spool();
    const text = body(2);
    const file = s.hold(text, KEY_A, 2);
    const size = Buffer.byteLength(text);
    expect(file).toMatch(new RegExp(`^001767323045678-000000000-${KEY_A}-2-${size}\\.batch\\.claimed-4242-[0-9a-f]{8}$`));
    expect(files()).toEqual([file]);
    expect(readFileSync(join(dir, file!), 'utf8')).toBe(text);
    clock += 5;
    const second = s.hold(body(1), KEY_B, 1)!;
    expect(second.startsWith('001767323045683-000000001-')).toBe(true);
    expect(s.errors).toBe(0);
  });

  it('writes to a temporary file, sets its mode, syncs it, renames it into place and syncs the directory, in that order', () => {
    const calls: string[] = [];
    const traced = new Proxy(fs, {
      get(target, name: string) {
        const real = (target as unknown as Record<string, unknown>)[name];
        if (typeof real !== 'function') return real;
        return (...args: unknown[]) => {
          calls.push(
            `${name}(${args.map((a) => (typeof a === 'string' && a.startsWith(dir) ? a.replace(dir, '<dir>') : typeof a === 'string' && a.length > 2 ? 'string' : typeof a === 'string' ? a : typeof a)).join(', ')})`,
          );
          return (real as (...a: unknown[]) => unknown)(...args);
        };
      },
    }) as SpoolFs;
    const s = spool({ fs: traced });
    calls.length = 0;
    const file = s.keep(undefined, body(1), KEY_A, 1);
    expect(file).toBe(true);
    const [name] = files();
    const temp = calls[1]!.match(/openSync\(<dir>\/(.+), wx, number\)/)?.[1];
    expect(temp).toBe(`${name}.tmp-${temp!.slice(name!.length + 5)}`);
    expect(temp).toMatch(/\.batch\.tmp-4242-[0-9a-f]{8}$/);
    expect(calls).toEqual([
      'readdirSync(<dir>)',
      `openSync(<dir>/${temp}, wx, number)`,
      'fchmodSync(number, number)',
      'writeFileSync(number, string)',
      'fsyncSync(number)',
      'closeSync(number)',
      `renameSync(<dir>/${temp}, <dir>/${name})`,
      'openSync(<dir>, r)',
      'fsyncSync(number)',
      'closeSync(number)',
    ]);
  });

  it('keeps a held batch by releasing its claim, and removes a file once its batch has an outcome', () => {
    const s = spool();
    const held = s.hold(body(1), KEY_A, 1)!;
    expect(s.keep(held, 'ignored', KEY_A, 1)).toBe(true);
    expect(files()).toEqual([held.slice(0, held.indexOf('.claimed-'))]);
    const other = s.hold(body(1), KEY_B, 1)!;
    s.remove(other);
    s.remove(undefined);
    expect(files()).toHaveLength(1);
    expect(s.errors).toBe(0);
  });

  it('makes a missing directory, parents included', () => {
    const nested = join(dir, 'a', 'b');
    const s = spool({ dir: nested });
    expect(s.keep(undefined, body(1), KEY_A, 1)).toBe(true);
    expect(readdirSync(nested)).toHaveLength(1);
  });
});

describe('Spool replay', () => {
  it('resends what an earlier spool kept, oldest first, with its key, body and event count', () => {
    const first = spool();
    const older = body(2, 'old');
    first.keep(undefined, older, KEY_B, 2);
    clock += 1;
    first.keep(undefined, body(1, 'new'), KEY_A, 1);
    const next = spool();
    expect(next.hasReplay()).toBe(true);
    const a = next.claimNext()!;
    expect(a).toEqual({ file: expect.stringMatching(/\.batch\.claimed-4242-[0-9a-f]{8}$/) as string, body: older, idempotencyKey: KEY_B, events: 2 });
    expect(files()).toContain(a.file);
    expect(next.claimNext()?.idempotencyKey).toBe(KEY_A);
    expect(next.hasReplay()).toBe(false);
    expect(next.claimNext()).toBeUndefined();
    expect(first.hasReplay()).toBe(false);
  });

  it('lets two spools on one directory claim each file exactly once: a claim lost to the other is skipped, not an error', () => {
    const writer = spool();
    for (const [i, key] of [KEY_A, KEY_B, KEY_C].entries()) {
      clock += i;
      writer.keep(undefined, body(1, `s${i}`), key, 1);
    }
    const one = spool();
    const two = spool();
    const claimed = [one.claimNext(), two.claimNext(), one.claimNext(), two.claimNext()];
    expect(claimed.map((c) => c?.idempotencyKey)).toEqual([KEY_A, KEY_B, KEY_C, undefined]);
    expect(one.errors + two.errors).toBe(0);
    expect(files().filter((f) => f.endsWith('.batch'))).toEqual([]);
  });

  it('takes back claims and removes temporary files of dead processes, and leaves those of live ones', () => {
    const text = body(1);
    const name = (key: string) => `001767323045678-000000000-${key}-1-${Buffer.byteLength(text)}.batch`;
    writeFileSync(join(dir, `${name(KEY_A)}.claimed-999-abcd1234`), text);
    writeFileSync(join(dir, `${name(KEY_B)}.claimed-4242-abcd1234`), text);
    writeFileSync(join(dir, `${name(KEY_C)}.tmp-999-abcd1234`), text.slice(0, 10));
    writeFileSync(join(dir, `${name(KEY_C)}.tmp-4242-abcd1234`), text.slice(0, 10));
    writeFileSync(join(dir, 'notes.txt'), 'not ours');
    const s = spool();
    expect(files()).toEqual([name(KEY_A), `${name(KEY_B)}.claimed-4242-abcd1234`, `${name(KEY_C)}.tmp-4242-abcd1234`, 'notes.txt'].sort());
    expect(s.claimNext()?.idempotencyKey).toBe(KEY_A);
    expect(s.claimNext()).toBeUndefined();
  });

  it('knows a live process from a dead one', () => {
    const exited = spawnSync(process.execPath, ['-e', '']).pid;
    expect(processAlive(process.pid)).toBe(true);
    expect(processAlive(exited)).toBe(false);
    const text = body(1);
    writeFileSync(join(dir, `001767323045678-000000000-${KEY_A}-1-${Buffer.byteLength(text)}.batch.claimed-${exited}-abcd1234`), text);
    writeFileSync(join(dir, `001767323045678-000000000-${KEY_B}-1-${Buffer.byteLength(text)}.batch.claimed-${process.pid}-abcd1234`), text);
    const s = spool({ isAlive: undefined });
    expect(s.claimNext()?.idempotencyKey).toBe(KEY_A);
    expect(s.claimNext()).toBeUndefined();
  });
});

describe('Spool bound', () => {
  it('evicts the oldest ready files first, never claimed ones, and counts their events', () => {
    const text = body(1);
    const size = Buffer.byteLength(text);
    writeFileSync(join(dir, 'notes.txt'), 'x'.repeat(size * 10));
    writeFileSync(join(dir, 'garbage.batch.corrupt'), 'x'.repeat(size * 10));
    const s = spool({ maxSpoolBytes: size * 3 });
    const held = s.hold(text, KEY_A, 1)!;
    clock += 1;
    s.keep(undefined, body(2).slice(0, size), KEY_B, 2);
    clock += 1;
    s.keep(undefined, text, KEY_C, 1);
    expect(files()).toHaveLength(5);
    expect(evicted).toEqual([]);
    clock += 1;
    expect(s.keep(undefined, text, '44444444-4444-4444-8444-444444444444', 1)).toBe(true);
    expect(evicted).toEqual([2]);
    expect(files().map((f) => (NAME.test(f.replace(/\.claimed-.*$/, '')) ? f.slice(26, 62) : f))).toEqual([
      KEY_A,
      KEY_C,
      '44444444-4444-4444-8444-444444444444',
      'garbage.batch.corrupt',
      'notes.txt',
    ]);
    expect(files()).toContain(held);
    expect(log.records.filter((r) => /spool is full/.test(r.msg ?? ''))).toHaveLength(1);
    expect(s.keep(undefined, 'x'.repeat(2 * size), '55555555-5555-4555-8555-555555555555', 3)).toBe(true);
    expect(evicted).toEqual([2, 2]);
    expect(log.records.filter((r) => /spool is full/.test(r.msg ?? ''))).toHaveLength(1);
  });

  it('does not write a batch that cannot fit even after evicting every ready file', () => {
    const text = body(1);
    const size = Buffer.byteLength(text);
    const s = spool({ maxSpoolBytes: size * 2 - 1 });
    const held = s.hold(text, KEY_A, 1);
    expect(held).toBeDefined();
    expect(s.hold(text, KEY_C, 1)).toBeUndefined();
    expect(files().filter((f) => f.includes(KEY_C))).toEqual([]);
    expect(evicted).toEqual([]);
    expect(log.records.some((r) => r.msg === `Telemetry batch of ${size} bytes does not fit in the spool (maxSpoolBytes ${size * 2 - 1}); not spooled`)).toBe(
      true,
    );
    expect(s.keep(undefined, 'x'.repeat(size - 1), KEY_C, 1)).toBe(true);
  });

  it('keeps the ready files when a batch could not fit even with all of them gone, because of the claimed ones', () => {
    const text = body(1);
    const size = Buffer.byteLength(text);
    // One claimed and one ready file; a batch of twice the size cannot fit next to the claimed one, whatever is evicted.
    const s = spool({ maxSpoolBytes: size * 3 - 1 });
    expect(s.hold(text, KEY_A, 1)).toBeDefined();
    expect(s.keep(undefined, text, KEY_B, 1)).toBe(true);
    expect(s.keep(undefined, 'y'.repeat(2 * size), KEY_C, 2)).toBe(false);
    expect(evicted).toEqual([]);
    expect(files().filter((f) => f.includes(KEY_B))).toHaveLength(1);
  });

  it('fits a batch of exactly the bytes left', () => {
    const text = body(1);
    const size = Buffer.byteLength(text);
    const s = spool({ maxSpoolBytes: size * 2 });
    s.hold(text, KEY_A, 1);
    expect(s.hold(text, KEY_B, 1)).toBeDefined();
    expect(evicted).toEqual([]);
  });
});

describe('Spool corrupt files', () => {
  it('moves a corrupt file aside, counts it, warns with the problem, and goes on to the next one', () => {
    const good = body(1);
    const bad = '{"session_id":';
    const goodName = `001767323045679-000000000-${KEY_B}-1-${Buffer.byteLength(good)}.batch`;
    const badName = `001767323045678-000000000-${KEY_A}-1-${Buffer.byteLength(bad)}.batch`;
    writeFileSync(join(dir, badName), bad);
    writeFileSync(join(dir, goodName), good);
    const s = spool();
    expect(s.claimNext()?.body).toBe(good);
    expect(s.corrupt).toBe(1);
    expect(files()).toEqual([expect.stringMatching(/\.claimed-/) as string, `${badName}.corrupt`].sort());
    expect(readFileSync(join(dir, `${badName}.corrupt`), 'utf8')).toBe(bad);
    expect(log.records).toContainEqual({
      level: 'warn',
      obj: { file: badName, problem: 'not JSON' },
      msg: `Telemetry spool file ${badName} is corrupt (not JSON); moved aside as ${badName}.corrupt`,
    });
  });

  const valid = JSON.parse(body(2)) as Record<string, unknown> & { events: Record<string, unknown>[] };
  const variant = (change: (b: typeof valid) => unknown): string => {
    const copy = structuredClone(valid);
    const out = change(copy);
    return JSON.stringify(out === undefined ? copy : out);
  };
  const cases: [string, string, string][] = [
    ['a valid body', body(2), ''],
    ['not an object', variant(() => [1, 2]), 'not an object'],
    ['null', 'null', 'not an object'],
    ['an extra field', variant((b) => void (b.extra = 1)), 'fields are not events,platform,process_uuid,sdk_version,session_id'],
    ['a missing field', variant((b) => void delete b.platform), 'fields are not events,platform,process_uuid,sdk_version,session_id'],
    ['an empty session_id', variant((b) => void (b.session_id = '')), 'session_id is not a non-empty string'],
    ['a numeric session_id', variant((b) => void (b.session_id = 7)), 'session_id is not a non-empty string'],
    ['a numeric platform', variant((b) => void (b.platform = 7)), 'platform is not a non-empty string'],
    ['an empty sdk_version', variant((b) => void (b.sdk_version = '')), 'sdk_version is not a non-empty string'],
    ['an empty process_uuid', variant((b) => void (b.process_uuid = '')), 'process_uuid is not a non-empty string'],
    ['events not a list', variant((b) => void (b.events = { 0: 1, length: 2 } as never)), 'events is not a list of 2'],
    ['one event too few', variant((b) => void b.events.pop()), 'events is not a list of 2'],
    ['an event that is not an object', variant((b) => void (b.events[1] = 'x' as never)), 'an event lacks its type, id or index'],
    ['an event that is a list', variant((b) => void (b.events[1] = [] as never)), 'an event lacks its type, id or index'],
    ['an unknown event type', variant((b) => void (b.events[1]!.event = 'OTHER')), 'an event lacks its type, id or index'],
    ['an event without an id', variant((b) => void delete b.events[1]!.event_id), 'an event lacks its type, id or index'],
    ['a fractional index', variant((b) => void (b.events[1]!.event_session_index = 1.5)), 'an event lacks its type, id or index'],
  ];
  it.each(cases)('checks %s', (_label, text, problem) => {
    const name = `001767323045678-000000000-${KEY_A}-2-${Buffer.byteLength(text)}.batch`;
    expect(parseSpooledBatch(name, text)).toEqual(problem === '' ? { idempotencyKey: KEY_A, events: 2 } : { problem });
  });

  it('accepts every event type', () => {
    for (const type of ['SESSION_START', 'SESSION_END', 'UNHANDLED_EXCEPTION', 'GENERIC_EVENT']) {
      const text = variant((b) => void (b.events[0]!.event = type));
      expect(parseSpooledBatch(`001767323045678-000000000-${KEY_A}-2-${Buffer.byteLength(text)}.batch`, text)).toEqual({ idempotencyKey: KEY_A, events: 2 });
    }
  });

  it('checks the name and the size the name gives', () => {
    const text = body(2);
    expect(parseSpooledBatch('garbage.batch', text)).toEqual({ problem: 'not a spool file name' });
    expect(parseSpooledBatch(`001767323045678-000000000-${KEY_A}-2-${Buffer.byteLength(text) + 1}.batch`, text)).toEqual({
      problem: `${Buffer.byteLength(text)} bytes, the name says ${Buffer.byteLength(text) + 1}`,
    });
    const unicode = body(2).replace('"e"', '"é"');
    expect(parseSpooledBatch(`001767323045678-000000000-${KEY_A}-2-${unicode.length + 1}.batch`, unicode)).toEqual({ idempotencyKey: KEY_A, events: 2 });
  });
});

describe('Spool I/O errors', () => {
  function failing(operation: keyof SpoolFs, code: string, times = Infinity): SpoolFs {
    let left = times;
    return {
      ...fs,
      [operation]: (...args: unknown[]) => {
        if (left-- > 0) throw Object.assign(new Error(`${code}: injected`), { code });
        return (fs[operation] as (...a: unknown[]) => unknown)(...args);
      },
    };
  }

  it('counts a failed write, logs it once, and leaves no temporary file', () => {
    const s = spool({ fs: failing('writeFileSync', 'ENOSPC') });
    expect(s.hold(body(1), KEY_A, 1)).toBeUndefined();
    expect(s.keep(undefined, body(1), KEY_B, 1)).toBe(false);
    expect(s.errors).toBe(2);
    expect(files()).toEqual([]);
    const warnings = log.records.filter((r) => r.level === 'warn');
    expect(warnings).toEqual([
      {
        level: 'warn',
        obj: { dir, operation: 'write', code: 'ENOSPC' },
        msg: `Telemetry spool write failed in ${dir} (ENOSPC); undelivered batches may not be kept`,
      },
    ]);
  });

  /** `fs` with `operation` failing, counting the descriptors opened and closed. */
  function counting(operation: keyof SpoolFs, error: unknown) {
    const open = new Set<number>();
    let closes = 0;
    const wrapped = {
      ...fs,
      openSync: (path: fs.PathLike, flags: fs.OpenMode) => {
        const fd = fs.openSync(path, flags);
        open.add(fd);
        return fd;
      },
      closeSync: (fd: number) => {
        closes++;
        open.delete(fd);
        fs.closeSync(fd);
      },
      [operation]: () => {
        throw error;
      },
    } as SpoolFs;
    return { wrapped, open, closes: () => closes };
  }

  it('closes the temporary file and removes it when the write fails', () => {
    const io = counting('writeFileSync', Object.assign(new Error('no space'), { code: 'ENOSPC' }));
    expect(spool({ fs: io.wrapped }).hold(body(1), KEY_A, 1)).toBeUndefined();
    expect(io.open.size).toBe(0);
    expect(io.closes()).toBe(1);
    expect(files()).toEqual([]);
  });

  it('cleans up after a rename that fails, closing the file once', () => {
    const io = counting('renameSync', Object.assign(new Error('denied'), { code: 'EACCES' }));
    const s = spool({ fs: io.wrapped });
    expect(s.keep(undefined, body(1), KEY_A, 1)).toBe(false);
    expect(files()).toEqual([]);
    expect(s.errors).toBe(1);
    expect(io.closes()).toBe(1);
    expect(io.open.size).toBe(0);
  });

  it('names an error without a code as unknown', () => {
    const io = counting('writeFileSync', 'not an error');
    const s = spool({ fs: io.wrapped });
    s.hold(body(1), KEY_A, 1);
    expect(log.records.map((r) => r.msg)).toEqual([`Telemetry spool write failed in ${dir} (unknown); undelivered batches may not be kept`]);
  });

  it('counts a directory it cannot make or list, and then has nothing to resend', () => {
    const s = spool({ dir: join(dir, 'x'), fs: { ...failing('mkdirSync', 'EACCES'), readdirSync: failing('readdirSync', 'EACCES').readdirSync } });
    expect(s.errors).toBe(2);
    expect(s.hasReplay()).toBe(false);
    expect(s.keep(undefined, body(1), KEY_A, 1)).toBe(false);
    expect(s.errors).toBe(4);
    expect(log.records.map((r) => (r.obj as { operation?: string }).operation)).toEqual(['mkdir', 'readdir', 'write']);
  });

  it('counts failed claims, reads and deletes, but not a claim another process won', () => {
    spool().keep(undefined, body(1), KEY_A, 1);
    const denied = spool({ fs: failing('renameSync', 'EACCES') });
    expect(denied.claimNext()).toBeUndefined();
    expect(denied.errors).toBe(1);
    const unreadable = spool({ fs: failing('readFileSync', 'EIO') });
    expect(unreadable.claimNext()).toBeUndefined();
    expect(unreadable.errors).toBe(1);
    const stuck = spool({ fs: failing('unlinkSync', 'EBUSY') });
    stuck.remove(files()[0]);
    expect(stuck.errors).toBe(1);
    expect(files()).toHaveLength(1);
  });

  it('skips an eviction that fails and does not count it', () => {
    const text = body(1);
    const size = Buffer.byteLength(text);
    spool().keep(undefined, text, KEY_A, 1);
    const s = spool({ maxSpoolBytes: size, fs: failing('unlinkSync', 'EBUSY') });
    expect(s.keep(undefined, text, KEY_B, 1)).toBe(false);
    expect(evicted).toEqual([]);
    expect(s.errors).toBe(1);
  });

  it('ignores a directory that cannot be synced', () => {
    const real = fs.openSync;
    const noDirOpen = {
      ...fs,
      openSync: (path: fs.PathLike, flags: fs.OpenMode) =>
        path === dir
          ? (() => {
              throw Object.assign(new Error('EISDIR'), { code: 'EISDIR' });
            })()
          : real(path, flags),
    } as SpoolFs;
    const s = spool({ fs: noDirOpen });
    expect(s.keep(undefined, body(1), KEY_A, 1)).toBe(true);
    expect(s.errors).toBe(0);
    expect(files()).toHaveLength(1);
  });
});
