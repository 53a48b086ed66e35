/**
 * The durable spool: batches that could not be delivered, kept on disk as
 * the exact JSON body to resend, for the next reporter that starts with the
 * same directory.
 *
 * File names carry everything but the body, so the bound is enforced from a
 * directory listing alone and nothing is parsed before it is claimed:
 *
 * - `<ms:15>-<seq:9>-<idempotency key>-<events>-<bytes>.batch`: ready to resend;
 *   names sort oldest first.
 * - `….batch.claimed-<pid>-<token>`: taken by one reporter, which sends it
 *   (a claim is a rename, so two processes never both take a file).
 * - `….batch.tmp-<pid>-<token>`: a write in progress; never read, and removed
 *   once its process is dead.
 * - `….batch.corrupt`: failed its checks; left for a person to look at.
 * - `<pid>-<token>.journal`: the journal of a live or crashed reporter (see
 *   `Journal`); `….journal.claimed-<pid>-<token>` while one recovers it,
 *   `….journal.tmp` while it is rewritten, `….journal.corrupt` when it
 *   failed its checks.
 *
 * The spool is private: a directory it makes is 0700, and every file it
 * writes is 0600 (`FILE_MODE`), whatever the umask; a `.corrupt` rename keeps
 * the file's mode.
 *
 * A reporter that dies without stopping leaves its journal and the batch
 * files it claimed. The first reporter to start after it claims the journal,
 * writes the events no file holds as batches (in the dead owner's name, and
 * acknowledged in the journal one by one, so a second crash there repeats
 * nothing), then releases all of them for resending and deletes the journal.
 * Until then nobody else touches that owner's files.
 *
 * Every method is synchronous and never throws: the stop deadline spools from
 * inside a machine action, and a batch must be on disk before its request
 * leaves, or a crash during the send would lose it.
 */
import * as nodeFs from 'node:fs';
import { randomBytes, randomUUID } from 'node:crypto';
import { join } from 'node:path';
import type { Log, SpoolPort, SpooledBatch } from '../core/ports.js';
import { isRecord, isStoredEvent } from './shape.js';
import { FILE_MODE, Journal, parseJournal } from './journal.js';
import { type QueuedEvent, bodyJson } from '../core/wire.js';

/** The file operations the spool uses; tests wrap them to inject faults. */
export type SpoolFs = Pick<
  typeof nodeFs,
  | 'mkdirSync'
  | 'chmodSync'
  | 'statSync'
  | 'readdirSync'
  | 'openSync'
  | 'fchmodSync'
  | 'writeFileSync'
  | 'appendFileSync'
  | 'fsyncSync'
  | 'closeSync'
  | 'renameSync'
  | 'readFileSync'
  | 'unlinkSync'
>;

/** The mode of a spool directory this process creates: only its owner may list it or add files to it. */
const DIR_MODE = 0o700;

/** Options of a spool. */
export interface SpoolOptions {
  /**
   * The directory; made (with its parents) when missing, with mode 0700. One
   * that exists is left as it is, with a warning when other users can list it.
   */
  dir: string;
  /** Bytes the spool's files (ready and claimed) may take in all; the oldest ready files are evicted to make room. */
  maxSpoolBytes: number;
  logger: Log;
  /** Epoch milliseconds, for file names. */
  now(): number;
  /** Files were evicted to make room; `events` is how many events they held. */
  onEvicted(events: number): void;
  /** Events per batch written from a crashed reporter's journal at most. Default: no limit. */
  maxBatchSize?: number;
  /** UTF-8 bytes per body written from a crashed reporter's journal at most (one event may exceed it). Default: no limit. */
  maxBatchBytes?: number;
  /** Default: `process.pid`. */
  pid?: number;
  /** Whether a process is alive. Default: `process.kill(pid, 0)` succeeds or fails with EPERM. */
  isAlive?: (pid: number) => boolean;
  /** Default: `node:fs`. */
  fs?: SpoolFs;
}

/** A spooled batch claimed for resending. */

const BATCH_NAME = /^\d{15}-\d{9}-([0-9a-f-]{36})-(\d+)-(\d+)\.batch$/;
const SIZED_NAME = /^\d{15}-\d{9}-[0-9a-f-]{36}-(\d+)-(\d+)\.batch(\.claimed-\d+-[0-9a-f]+)?$/;
const OWNED_NAME = /^(.+\.batch)\.(claimed|tmp)-((\d+)-[0-9a-f]+)$/;
/** A journal: its writer (`<pid>-<token>`), and who claimed it to recover it, if anyone. */
const JOURNAL_NAME = /^((\d+)-[0-9a-f]+)\.journal(?:\.claimed-(\d+)-[0-9a-f]+)?$/;
const JOURNAL_TEMP = /^(\d+)-[0-9a-f]+\.journal\.tmp$/;
const BODY_FIELDS = 'events,platform,process_uuid,sdk_version,session_id';

/** Whether `pid` names a live process; EPERM means it exists but belongs to someone else. */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Checks a spooled file: its name, its size against the name, and that the
 * body is a telemetry body holding as many events as the name says. Returns
 * the batch's key and event count, or what is wrong.
 */
export function parseSpooledBatch(name: string, body: string): { idempotencyKey: string; events: number } | { problem: string } {
  const match = BATCH_NAME.exec(name);
  if (match === null) return { problem: 'not a spool file name' };
  const [, idempotencyKey, events, bytes] = match as unknown as [string, string, string, string];
  const size = Buffer.byteLength(body);
  if (size !== Number(bytes)) return { problem: `${size} bytes, the name says ${bytes}` };
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    return { problem: 'not JSON' };
  }
  const problem = bodyProblem(value, Number(events));
  return problem === undefined ? { idempotencyKey, events: Number(events) } : { problem };
}

function bodyProblem(value: unknown, events: number): string | undefined {
  if (!isRecord(value)) return 'not an object';
  if (Object.keys(value).sort().join(',') !== BODY_FIELDS) return `fields are not ${BODY_FIELDS}`;
  for (const field of ['session_id', 'platform', 'sdk_version', 'process_uuid']) {
    if (typeof value[field] !== 'string' || value[field] === '') return `${field} is not a non-empty string`;
  }
  const list = value.events;
  if (!Array.isArray(list) || list.length !== events) return `events is not a list of ${events}`;
  if (!list.every(isStoredEvent)) return 'an event lacks its type, id or index';
  return undefined;
}

/** A directory of undelivered batches, shared safely by any number of reporters and processes on one host. */
export class Spool implements SpoolPort {
  readonly #dir: string;
  readonly #options: SpoolOptions;
  readonly #fs: SpoolFs;
  /** `<pid>-<token>`: who owns a claim or a temporary file. */
  readonly #owner: string;
  /** Ready files found by `scan()`, oldest first, not yet claimed. */
  readonly #ready: string[] = [];
  #seq = 0;
  /** Files moved aside as `.corrupt`. */
  corrupt = 0;
  /** I/O errors (each also logged once per operation and code). */
  errors = 0;
  /** Events found unsent in crashed reporters' journals and written here as batches to resend. */
  recovered = 0;

  constructor(options: SpoolOptions) {
    this.#options = options;
    this.#dir = options.dir;
    this.#fs = options.fs ?? nodeFs;
    this.#owner = `${options.pid ?? process.pid}-${randomBytes(4).toString('hex')}`;
    let made: string | undefined;
    try {
      made = this.#fs.mkdirSync(this.#dir, { recursive: true, mode: DIR_MODE });
    } catch (error) {
      this.#fail('mkdir', error);
      return;
    }
    if (made !== undefined) this.#chmod();
    else this.#checkPrivate();
  }

  /** Makes the directory this process created exactly 0700: the umask narrows mkdir's mode, and may take the owner's bits. */
  #chmod(): void {
    try {
      this.#fs.chmodSync(this.#dir, DIR_MODE);
    } catch (error) {
      this.#fail('chmod', error);
    }
  }

  /**
   * Warns when a directory that already existed is open to other users. It
   * is left as it is: it may be shared on purpose, or not ours to change (a
   * `spoolDir` of `/tmp` must not become 0700). Its files are 0600 all the
   * same; what others could do is list them, or, given write access, add
   * batches that this reporter would then send with its API key.
   */
  #checkPrivate(): void {
    // Windows has no such bits: its modes say nothing about other users.
    if (process.platform === 'win32') return;
    let mode: number;
    try {
      mode = this.#fs.statSync(this.#dir).mode & 0o777;
    } catch (error) {
      this.#fail('stat', error);
      return;
    }
    if ((mode & 0o077) === 0) return;
    const shown = `0${mode.toString(8).padStart(3, '0')}`;
    const risk = (mode & 0o022) !== 0 ? 'other users can add files to it, which would be sent with your API key' : 'other users can list its files';
    this.#options.logger.warn({ dir: this.#dir, mode: shown }, `Telemetry spool directory ${this.#dir} is not private (mode ${shown}): ${risk}; make it 0700`);
  }

  /**
   * Reads the directory, once, before the first `claimNext()`: recovers the
   * journals of reporters that died without stopping, takes back their
   * claims, and lists the ready files to resend. It can evict files to make
   * room for what it recovers (`onEvicted`), so the owner calls it once it
   * can count them.
   */
  scan(): void {
    this.#ready.push(...this.#scan());
  }

  /** Ready files found by `scan()` remain to be claimed. */
  hasReplay(): boolean {
    return this.#ready.length > 0;
  }

  /**
   * Claims the oldest ready file found by `scan()` and reads it. A file another
   * process claimed first is skipped; a corrupt one is moved aside and
   * counted. Undefined when none is left.
   */
  claimNext(): SpooledBatch | undefined {
    for (let name = this.#ready.shift(); name !== undefined; name = this.#ready.shift()) {
      const file = `${name}.claimed-${this.#owner}`;
      if (!this.#rename(name, file)) continue;
      let body: string;
      try {
        body = this.#fs.readFileSync(join(this.#dir, file), 'utf8');
      } catch (error) {
        this.#fail('read', error);
        continue;
      }
      const parsed = parseSpooledBatch(name, body);
      if ('idempotencyKey' in parsed) return { file, body, idempotencyKey: parsed.idempotencyKey, events: parsed.events };
      this.corrupt++;
      this.#rename(file, `${name}.corrupt`);
      this.#options.logger.warn(
        { file: name, problem: parsed.problem },
        `Telemetry spool file ${name} is corrupt (${parsed.problem}); moved aside as ${name}.corrupt`,
      );
    }
    return undefined;
  }

  /**
   * Writes a batch about to be sent as a file claimed by this reporter, so
   * that a crash during the send leaves it for a later one. Returns the file
   * name, or undefined when it could not be written.
   */
  hold(body: string, idempotencyKey: string, events: number): string | undefined {
    const name = this.#name(body, idempotencyKey, events);
    const file = `${name}.claimed-${this.#owner}`;
    return this.#write(name, file, body) ? file : undefined;
  }

  /**
   * Leaves a batch for a later reporter: releases the claim on `file`, or,
   * without one, writes the body as a ready file. Returns whether it is on disk.
   */
  keep(file: string | undefined, body: string, idempotencyKey: string, events: number): boolean {
    if (file !== undefined) return this.#rename(file, file.slice(0, file.lastIndexOf('.claimed-')));
    const name = this.#name(body, idempotencyKey, events);
    return this.#write(name, name, body);
  }

  /** Deletes a claimed file whose batch has an outcome (delivered or rejected); nothing without one. */
  remove(file: string | undefined): void {
    if (file === undefined) return;
    try {
      this.#fs.unlinkSync(join(this.#dir, file));
    } catch (error) {
      this.#fail('unlink', error);
    }
  }

  #name(body: string, idempotencyKey: string, events: number): string {
    const stamp = String(this.#options.now()).padStart(15, '0');
    const seq = String(this.#seq++ % 1e9).padStart(9, '0');
    return `${stamp}-${seq}-${idempotencyKey}-${events}-${Buffer.byteLength(body)}.batch`;
  }

  /**
   * Opens this reporter's journal, headed by the session's envelope; undefined
   * (counted and logged) when it cannot be created.
   */
  openJournal(header: string, encode: (event: QueuedEvent) => string): Journal | undefined {
    return Journal.open({
      path: join(this.#dir, `${this.#owner}.journal`),
      header,
      encode,
      fs: this.#fs,
      onError: (operation, error) => {
        this.#fail(operation, error);
        this.#options.logger.warnOnce(
          'spool:journal-off',
          { dir: this.#dir },
          'Telemetry journal is off for this session; a crash would lose its queued events',
        );
      },
    });
  }

  /**
   * Ready files, with dead processes' journals recovered, their claims taken
   * back and their temporary files removed.
   */
  #scan(): string[] {
    const names = this.#list();
    const ready: string[] = [];
    // A dead owner's claimed files belong to its journal's recovery, whoever does it, and wait for it.
    const journaled = new Set<string>();
    for (const name of names) {
      const journal = JOURNAL_NAME.exec(name);
      if (journal === null) continue;
      const owner = journal[1] as string;
      journaled.add(owner);
      if (this.#alive(Number(journal[3] ?? journal[2]))) continue;
      const claimed = `${owner}.journal.claimed-${this.#owner}`;
      if (this.#rename(name, claimed)) this.#recover(owner, claimed, ready);
    }
    for (const name of names) {
      if (name.endsWith('.batch')) {
        ready.push(name);
        continue;
      }
      const temp = JOURNAL_TEMP.exec(name);
      if (temp !== null && !this.#alive(Number(temp[1]))) this.remove(name);
      const owned = OWNED_NAME.exec(name);
      if (owned === null || journaled.has(owned[3] as string) || this.#alive(Number(owned[4]))) continue;
      const batch = owned[1] as string;
      if (owned[2] === 'tmp') this.remove(name);
      else if (this.#rename(name, batch)) ready.push(batch);
    }
    return ready.sort();
  }

  #alive(pid: number): boolean {
    return (this.#options.isAlive ?? processAlive)(pid);
  }

  /**
   * Recovers the journal of `owner`, a reporter that died without stopping,
   * claimed by this one as `file`: its events that no batch file holds are
   * written as batch files claimed in `owner`'s name, each acknowledged in
   * the journal as it is written; then every file `owner` claimed is released
   * into `ready` and the journal deleted. Stops at the first failed write,
   * leaving the journal claimed by this process, to be taken up after it ends.
   */
  #recover(owner: string, file: string, ready: string[]): void {
    let text: string;
    try {
      text = this.#fs.readFileSync(join(this.#dir, file), 'utf8');
    } catch (error) {
      this.#fail('read', error);
      return;
    }
    const journal = parseJournal(text);
    const claims = this.#list().filter((name) => name.endsWith(`.batch.claimed-${owner}`));
    if ('problem' in journal) {
      this.corrupt++;
      this.#rename(file, `${owner}.journal.corrupt`);
      this.#options.logger.warn(
        { file, problem: journal.problem },
        `Telemetry journal ${owner}.journal is corrupt (${journal.problem}); moved aside as ${owner}.journal.corrupt`,
      );
    } else {
      for (const claim of claims) this.#settledBy(claim, journal.sessionId, journal.live);
      let recovered = 0;
      let overflow = 0;
      for (const [indices, body] of this.#batches(journal.header, journal.live)) {
        const name = this.#name(body, randomUUID(), indices.length);
        // A batch that cannot fit is lost to the bound like an evicted one; an I/O error leaves it for later.
        const fits = this.#makeRoom(Buffer.byteLength(body));
        if (fits && !this.#writeFile(name, `${name}.claimed-${owner}`, body)) return;
        try {
          this.#fs.appendFileSync(join(this.#dir, file), `${JSON.stringify(indices)}\n`);
        } catch (error) {
          this.#fail('journal', error);
          return;
        }
        if (fits) {
          claims.push(`${name}.claimed-${owner}`);
          recovered += indices.length;
        } else {
          overflow += indices.length;
        }
      }
      this.recovered += recovered;
      if (overflow > 0) this.#options.onEvicted(overflow);
      if (recovered > 0) {
        this.#options.logger.info(
          { sessionId: journal.sessionId, events: recovered },
          `Telemetry recovered ${recovered} unsent events of session ${journal.sessionId}, whose process ended without stopping`,
        );
      }
      this.remove(file);
    }
    for (const claim of claims) {
      const batch = claim.slice(0, claim.lastIndexOf('.claimed-'));
      if (this.#rename(claim, batch)) ready.push(batch);
    }
  }

  /** Removes from `live` the events of `sessionId` that the claimed batch file `claim` holds. */
  #settledBy(claim: string, sessionId: string, live: Map<number, string>): void {
    try {
      const body: unknown = JSON.parse(this.#fs.readFileSync(join(this.#dir, claim), 'utf8'));
      if (!isRecord(body) || body.session_id !== sessionId || !Array.isArray(body.events)) return;
      for (const event of body.events) if (isStoredEvent(event)) live.delete(event.event_session_index);
    } catch {
      // Unreadable or not JSON: released all the same, and claimNext() moves it aside as corrupt.
    }
  }

  /** The live events as bodies within the batch limits, in order, each with the indices it holds. */
  *#batches(header: string, live: Map<number, string>): Generator<[number[], string]> {
    const maxSize = this.#options.maxBatchSize ?? Infinity;
    const maxBytes = this.#options.maxBatchBytes ?? Infinity;
    // Each event adds its JSON and a comma; the empty body has no comma to spare.
    const start = Buffer.byteLength(bodyJson(header, [])) - 1;
    let indices: number[] = [];
    let lines: string[] = [];
    let bytes = start;
    for (const [index, line] of live) {
      const size = Buffer.byteLength(line) + 1;
      if (indices.length > 0 && (indices.length >= maxSize || bytes + size > maxBytes)) {
        yield [indices, bodyJson(header, lines)];
        indices = [];
        lines = [];
        bytes = start;
      }
      indices.push(index);
      lines.push(line);
      bytes += size;
    }
    if (indices.length > 0) yield [indices, bodyJson(header, lines)];
  }

  #list(): string[] {
    try {
      return this.#fs.readdirSync(this.#dir);
    } catch (error) {
      this.#fail('readdir', error);
      return [];
    }
  }

  /** Evicts the oldest ready files until `bytes` more fit; false when they cannot. */
  #makeRoom(bytes: number): boolean {
    let used = 0;
    let claimed = 0;
    const evictable: string[] = [];
    for (const name of this.#list()) {
      const sized = SIZED_NAME.exec(name);
      if (sized === null) continue;
      used += Number(sized[2]);
      if (sized[3] === undefined) evictable.push(name);
      else claimed += Number(sized[2]);
    }
    // A batch that would not fit even with every ready file gone must not cost
    // those files: it keeps its own fate, and they stay.
    if (claimed + bytes > this.#options.maxSpoolBytes) return this.#tooLarge(bytes);
    let evicted = 0;
    for (const name of evictable.sort()) {
      if (used + bytes <= this.#options.maxSpoolBytes) break;
      try {
        this.#fs.unlinkSync(join(this.#dir, name));
      } catch (error) {
        this.#fail('unlink', error);
        continue;
      }
      const sized = SIZED_NAME.exec(name) as RegExpExecArray;
      used -= Number(sized[2]);
      evicted += Number(sized[1]);
    }
    if (evicted > 0) {
      this.#options.logger.warnOnce(
        'spool:overflow',
        { dir: this.#dir, maxSpoolBytes: this.#options.maxSpoolBytes },
        `Telemetry spool is full (maxSpoolBytes ${this.#options.maxSpoolBytes}); evicting the oldest batches`,
      );
      this.#options.onEvicted(evicted);
    }
    return used + bytes <= this.#options.maxSpoolBytes || this.#tooLarge(bytes);
  }

  #tooLarge(bytes: number): false {
    this.#options.logger.warnOnce(
      'spool:too_large',
      { dir: this.#dir, bytes },
      `Telemetry batch of ${bytes} bytes does not fit in the spool (maxSpoolBytes ${this.#options.maxSpoolBytes}); not spooled`,
    );
    return false;
  }

  /** Writes `body` to a temporary file, syncs it, and renames it to `file`: a crash never leaves a partial `file`. */
  #write(name: string, file: string, body: string): boolean {
    return this.#makeRoom(Buffer.byteLength(body)) && this.#writeFile(name, file, body);
  }

  /** `#write` without the bound. */
  #writeFile(name: string, file: string, body: string): boolean {
    const fs = this.#fs;
    const temp = join(this.#dir, `${name}.tmp-${this.#owner}`);
    let fd: number | undefined;
    try {
      fd = fs.openSync(temp, 'wx', FILE_MODE);
      fs.fchmodSync(fd, FILE_MODE);
      fs.writeFileSync(fd, body);
      fs.fsyncSync(fd);
      fs.closeSync(fd);
      fd = undefined;
      fs.renameSync(temp, join(this.#dir, file));
    } catch (error) {
      this.#fail('write', error);
      if (fd !== undefined) this.#quietly(() => fs.closeSync(fd as number));
      this.#quietly(() => fs.unlinkSync(temp));
      return false;
    }
    // The rename is durable once the directory is synced. Some platforms
    // (Windows) cannot open a directory; the rename is still atomic there.
    this.#quietly(() => {
      const dirFd = fs.openSync(this.#dir, 'r');
      try {
        fs.fsyncSync(dirFd);
      } finally {
        fs.closeSync(dirFd);
      }
    });
    return true;
  }

  /** Renames within the directory; false when it failed (ENOENT: another process took the file first, not an error). */
  #rename(from: string, to: string): boolean {
    try {
      this.#fs.renameSync(join(this.#dir, from), join(this.#dir, to));
      return true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') this.#fail('rename', error);
      return false;
    }
  }

  #quietly(action: () => void): void {
    try {
      action();
    } catch {
      // Best effort: cleanup after a failure already counted, or a directory sync the platform lacks.
    }
  }

  #fail(operation: string, error: unknown): void {
    this.errors++;
    const code = (error as NodeJS.ErrnoException | undefined)?.code ?? 'unknown';
    this.#options.logger.warnOnce(
      `spool:${operation}:${code}`,
      { dir: this.#dir, operation, code },
      `Telemetry spool ${operation} failed in ${this.#dir} (${code}); undelivered batches may not be kept`,
    );
  }
}
