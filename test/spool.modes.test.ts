/**
 * The spool is private: a directory it makes is 0700, every file it writes
 * 0600, whatever the process umask; a directory that already existed is left
 * alone, with a warning when other users can reach it.
 */
import * as fs from 'node:fs';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Journal } from '../src/io/journal.js';
import { Spool } from '../src/io/spool.js';
import { QueuedEvent, encodeEvent } from '../src/core/wire.js';
import { recordingLogger } from './helpers.js';
import { KEY_A, KEY_B, storedBody, testSpoolOptions } from './spool-helpers.js';

let root: string;
let umask: number;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'spool-modes-'));
  umask = process.umask();
});
afterEach(() => {
  setUmask(umask);
  rmSync(root, { recursive: true, force: true });
});

/** Whether this process may set its umask: a worker thread may not (the mutation gate runs the tests in workers). */
const umaskSettable = (() => {
  try {
    process.umask(process.umask());
    return true;
  } catch {
    return false;
  }
})();
let simulatedMask = 0;

/**
 * Sets the umask the spool's files are created under: the process's own
 * where it can be set; in a worker, the same mask applied to the modes the
 * spool asks its fs for, which is what the kernel does with a umask (on top
 * of the process's own, so a mask more open than that is not simulated).
 */
function setUmask(mask: number): void {
  if (umaskSettable) process.umask(mask);
  else simulatedMask = mask;
}

/** The fs the spool and journal are given: Node's, with the simulated umask applied where the process's cannot be set. */
function maskedFs(): typeof fs {
  if (umaskSettable) return { ...fs };
  const mask = (mode: unknown) => (typeof mode === 'number' ? mode & ~simulatedMask : mode);
  return {
    ...fs,
    mkdirSync: ((path: fs.PathLike, options?: fs.MakeDirectoryOptions) =>
      fs.mkdirSync(path, { ...options, mode: mask(options?.mode) as number })) as typeof fs.mkdirSync,
    openSync: ((path: fs.PathLike, flags: fs.OpenMode, mode?: fs.Mode) => fs.openSync(path, flags, mask(mode) as fs.Mode)) as typeof fs.openSync,
  };
}

const modeOf = (path: string) => statSync(path).mode & 0o777;
/** Each entry of `dir` with its mode, in octal, sorted by name. */
const modes = (dir: string) =>
  readdirSync(dir)
    .sort()
    .map((name) => [name.replace(/\d{15}-\d{9}-.*?\.batch/, '<batch>').replace(/-[0-9a-f]{8}/, '-<token>'), modeOf(join(dir, name)).toString(8)]);

const header = JSON.stringify({ session_id: 's-1', platform: 'unix/linux', sdk_version: '0.1.0', process_uuid: 'p' });
const event = (index: number) => new QueuedEvent('GENERIC_EVENT', index, 'INFO', 0, 'e', {}, undefined, undefined);

describe('Spool file modes', () => {
  it.each([
    ['000', 0o000],
    ['022', 0o022],
    ['077', 0o077],
    ['277', 0o277],
  ])('makes the directory 0700 and every file 0600 under umask %s', (_shown, mask) => {
    setUmask(mask);
    const dir = join(root, 'made', 'spool');
    const log = recordingLogger();
    const spool = new Spool({ ...testSpoolOptions(dir, log, () => 1_767_323_045_678, []), fs: maskedFs() });
    spool.scan();
    expect(spool.keep(undefined, storedBody(1), KEY_A, 1)).toBe(true);
    expect(spool.hold(storedBody(2), KEY_B, 2)).toBeDefined();
    const journal = spool.openJournal(header, (e) => encodeEvent(e, { sessionId: 's-1', maxEventBytes: 65_536 }));
    journal?.append(event(0));
    journal?.flush();
    expect(modeOf(dir).toString(8)).toBe('700');
    expect(modes(dir)).toEqual([
      ['<batch>', '600'],
      ['<batch>.claimed-4242-<token>', '600'],
      ['4242-<token>.journal', '600'],
    ]);
    expect(log.records).toEqual([]);
    expect(spool.errors).toBe(0);
    journal?.close();
  });

  it('writes the rewritten journal 0600 too, even over a leftover temporary file of another mode', () => {
    setUmask(0o000);
    const dir = join(root, 'journal');
    mkdirSync(dir, { mode: 0o700 });
    const path = join(dir, '4242-0000abcd.journal');
    writeFileSync(`${path}.tmp`, 'left over', { mode: 0o666 });
    const errors: string[] = [];
    const journal = Journal.open({
      path,
      header,
      encode: (e) => encodeEvent(e, { sessionId: 's-1', maxEventBytes: 65_536 }),
      onError: (operation) => errors.push(operation),
      fs: maskedFs(),
      compactBytes: 1,
    })!;
    journal.append(event(0));
    journal.append(event(1));
    journal.flush();
    journal.ack([event(0)]);
    journal.flush();
    expect(errors).toEqual([]);
    // Compaction renamed the temporary file over the journal: that file, 0600, is what is left.
    expect(readdirSync(dir)).toEqual(['4242-0000abcd.journal']);
    expect(modeOf(path).toString(8)).toBe('600');
    journal.close();
  });

  it('keeps the 0600 of a file it wrote when it moves the file aside as corrupt', () => {
    setUmask(0o022);
    const dir = join(root, 'corrupt');
    const log = recordingLogger();
    const first = new Spool({ ...testSpoolOptions(dir, log, () => 1_767_323_045_678, []), fs: maskedFs() });
    first.keep(undefined, storedBody(1), KEY_A, 1);
    const [name] = readdirSync(dir);
    // Same size, not JSON, written in place: the file keeps its mode.
    writeFileSync(join(dir, name!), 'x'.repeat(storedBody(1).length));
    expect(modeOf(join(dir, name!)).toString(8)).toBe('600');
    const second = new Spool({ ...testSpoolOptions(dir, log, () => 1_767_323_045_678, []), fs: maskedFs() });
    second.scan();
    expect(second.claimNext()).toBeUndefined();
    expect(second.corrupt).toBe(1);
    expect(modes(dir)).toEqual([['<batch>.corrupt', '600']]);
  });
});

describe('Spool on a directory it makes', () => {
  it('counts a directory it made but cannot make 0700 as a spool error, logged once', () => {
    const dir = join(root, 'unchmoddable');
    const log = recordingLogger();
    const spool = new Spool({
      ...testSpoolOptions(dir, log, () => 0, []),
      fs: {
        ...fs,
        chmodSync: () => {
          throw Object.assign(new Error('EPERM'), { code: 'EPERM' });
        },
      },
    });
    expect(spool.errors).toBe(1);
    expect(log.records).toEqual([
      {
        level: 'warn',
        obj: { dir, operation: 'chmod', code: 'EPERM' },
        msg: `Telemetry spool chmod failed in ${dir} (EPERM); undelivered batches may not be kept`,
      },
    ]);
  });
});

describe('Spool on a directory that already exists', () => {
  const start = (dir: string) => {
    const log = recordingLogger();
    const spool = new Spool({ ...testSpoolOptions(dir, log, () => 1_767_323_045_678, []), fs: maskedFs() });
    return { spool, log };
  };

  it.each([
    [0o755, '0755', 'other users can list its files'],
    [0o750, '0750', 'other users can list its files'],
    [0o701, '0701', 'other users can list its files'],
    [0o770, '0770', 'other users can add files to it, which would be sent with your API key'],
    [0o702, '0702', 'other users can add files to it, which would be sent with your API key'],
    [0o1777, '0777', 'other users can add files to it, which would be sent with your API key'],
  ])('leaves a directory of mode %s as it is, and warns that it is not private', (mode, shown, risk) => {
    const dir = join(root, 'existing');
    mkdirSync(dir);
    chmodSync(dir, mode);
    const { spool, log } = start(dir);
    expect(statSync(dir).mode & 0o7777).toBe(mode);
    expect(log.records).toEqual([
      { level: 'warn', obj: { dir, mode: shown }, msg: `Telemetry spool directory ${dir} is not private (mode ${shown}): ${risk}; make it 0700` },
    ]);
    // Its files are private all the same.
    spool.keep(undefined, storedBody(1), KEY_A, 1);
    expect(modes(dir)).toEqual([['<batch>', '600']]);
  });

  it('says nothing about a directory only its owner can reach', () => {
    const dir = join(root, 'private');
    mkdirSync(dir);
    chmodSync(dir, 0o700);
    expect(start(dir).log.records).toEqual([]);
    chmodSync(dir, 0o500);
    expect(start(dir).log.records).toEqual([]);
    chmodSync(dir, 0o700);
  });

  it('shows a mode without owner bits in four octal digits', () => {
    const dir = join(root, 'ownerless');
    mkdirSync(dir);
    const log = recordingLogger();
    // Reported, not applied: a real 0070 directory would shut out a test that does not run as root.
    const statSync = ((path: fs.PathLike) => ({ ...fs.statSync(path), mode: fs.constants.S_IFDIR | 0o070 })) as typeof fs.statSync;
    new Spool({ ...testSpoolOptions(dir, log, () => 0, []), fs: { ...fs, statSync } });
    expect(log.records.map((r) => r.obj)).toEqual([{ dir, mode: '0070' }]);
  });

  it('says nothing on Windows, whose modes do not describe other users', () => {
    const dir = join(root, 'windows');
    mkdirSync(dir);
    chmodSync(dir, 0o777);
    const platform = Object.getOwnPropertyDescriptor(process, 'platform')!;
    Object.defineProperty(process, 'platform', { ...platform, value: 'win32' });
    try {
      expect(start(dir).log.records).toEqual([]);
    } finally {
      Object.defineProperty(process, 'platform', platform);
    }
    // The same directory elsewhere is warned about: the silence above is the platform's.
    expect(start(dir).log.records).toHaveLength(1);
  });

  it('counts a directory it cannot stat as a spool error, logged once', () => {
    const dir = join(root, 'unstatable');
    mkdirSync(dir);
    const log = recordingLogger();
    const spool = new Spool({
      ...testSpoolOptions(dir, log, () => 0, []),
      fs: {
        ...fs,
        statSync: () => {
          throw Object.assign(new Error('EACCES'), { code: 'EACCES' });
        },
      },
    });
    expect(spool.errors).toBe(1);
    expect(log.records).toEqual([
      {
        level: 'warn',
        obj: { dir, operation: 'stat', code: 'EACCES' },
        msg: `Telemetry spool stat failed in ${dir} (EACCES); undelivered batches may not be kept`,
      },
    ]);
  });
});
