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
 *
 * Every method is synchronous and never throws: the stop deadline spools from
 * inside a machine action, and a batch must be on disk before its request
 * leaves, or a crash during the send would lose it.
 */
import * as nodeFs from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { SafeLogger } from './internal/logger.js';

/** The file operations the spool uses; tests wrap them to inject faults. */
export type SpoolFs = Pick<
  typeof nodeFs,
  'mkdirSync' | 'readdirSync' | 'openSync' | 'writeFileSync' | 'fsyncSync' | 'closeSync' | 'renameSync' | 'readFileSync' | 'unlinkSync'
>;

/** Options of a spool. */
export interface SpoolOptions {
  /** The directory; made (with its parents) when missing. */
  dir: string;
  /** Bytes the spool's files (ready and claimed) may take in all; the oldest ready files are evicted to make room. */
  maxSpoolBytes: number;
  logger: SafeLogger;
  /** Epoch milliseconds, for file names. */
  now(): number;
  /** Files were evicted to make room; `events` is how many events they held. */
  onEvicted(events: number): void;
  /** Default: `process.pid`. */
  pid?: number;
  /** Whether a process is alive. Default: `process.kill(pid, 0)` succeeds or fails with EPERM. */
  isAlive?: (pid: number) => boolean;
  /** Default: `node:fs`. */
  fs?: SpoolFs;
}

/** A spooled batch claimed for resending. */
export interface SpooledBatch {
  /** The claimed file's name in the directory. */
  file: string;
  /** The exact body to send. */
  body: string;
  idempotencyKey: string;
  /** Events in the body. */
  events: number;
}

const BATCH_NAME = /^\d{15}-\d{9}-([0-9a-f-]{36})-(\d+)-(\d+)\.batch$/;
const SIZED_NAME = /^\d{15}-\d{9}-[0-9a-f-]{36}-(\d+)-(\d+)\.batch(\.claimed-\d+-[0-9a-f]+)?$/;
const OWNED_NAME = /^(.+\.batch)\.(claimed|tmp)-(\d+)-[0-9a-f]+$/;
const BODY_FIELDS = 'events,platform,process_uuid,sdk_version,session_id';
const EVENT_TYPES: readonly unknown[] = ['SESSION_START', 'SESSION_END', 'UNHANDLED_EXCEPTION', 'GENERIC_EVENT'];

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
  for (const event of list) {
    if (!isRecord(event) || !EVENT_TYPES.includes(event.event) || typeof event.event_id !== 'string' || !Number.isInteger(event.event_session_index)) {
      return 'an event lacks its type, id or index';
    }
  }
  return undefined;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A directory of undelivered batches, shared safely by any number of reporters and processes on one host. */
export class Spool {
  readonly #dir: string;
  readonly #options: SpoolOptions;
  readonly #fs: SpoolFs;
  /** `<pid>-<token>`: who owns a claim or a temporary file. */
  readonly #owner: string;
  /** Ready files found at start, oldest first, not yet claimed. */
  readonly #ready: string[];
  #seq = 0;
  /** Files moved aside as `.corrupt`. */
  corrupt = 0;
  /** I/O errors (each also logged once per operation and code). */
  errors = 0;

  constructor(options: SpoolOptions) {
    this.#options = options;
    this.#dir = options.dir;
    this.#fs = options.fs ?? nodeFs;
    this.#owner = `${options.pid ?? process.pid}-${randomBytes(4).toString('hex')}`;
    try {
      this.#fs.mkdirSync(this.#dir, { recursive: true });
    } catch (error) {
      this.#fail('mkdir', error);
    }
    this.#ready = this.#scan();
  }

  /** Ready files found at start remain to be claimed. */
  hasReplay(): boolean {
    return this.#ready.length > 0;
  }

  /**
   * Claims the oldest ready file found at start and reads it. A file another
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
      this.#options.logger.warn({ file: name, problem: parsed.problem }, `Telemetry spool file ${name} is corrupt (${parsed.problem}); moved aside as ${name}.corrupt`);
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

  /** Ready files, with dead processes' claims taken back and their temporary files removed. */
  #scan(): string[] {
    const ready: string[] = [];
    for (const name of this.#list()) {
      if (name.endsWith('.batch')) {
        ready.push(name);
        continue;
      }
      const owned = OWNED_NAME.exec(name);
      if (owned === null || (this.#options.isAlive ?? processAlive)(Number(owned[3]))) continue;
      const batch = owned[1] as string;
      if (owned[2] === 'tmp') this.remove(name);
      else if (this.#rename(name, batch)) ready.push(batch);
    }
    return ready.sort();
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
      this.#options.logger.warnOnce('spool:overflow', { dir: this.#dir, maxSpoolBytes: this.#options.maxSpoolBytes }, `Telemetry spool is full (maxSpoolBytes ${this.#options.maxSpoolBytes}); evicting the oldest batches`);
      this.#options.onEvicted(evicted);
    }
    return used + bytes <= this.#options.maxSpoolBytes || this.#tooLarge(bytes);
  }

  #tooLarge(bytes: number): false {
    this.#options.logger.warnOnce('spool:too_large', { dir: this.#dir, bytes }, `Telemetry batch of ${bytes} bytes does not fit in the spool (maxSpoolBytes ${this.#options.maxSpoolBytes}); not spooled`);
    return false;
  }

  /** Writes `body` to a temporary file, syncs it, and renames it to `file`: a crash never leaves a partial `file`. */
  #write(name: string, file: string, body: string): boolean {
    if (!this.#makeRoom(Buffer.byteLength(body))) return false;
    const fs = this.#fs;
    const temp = join(this.#dir, `${name}.tmp-${this.#owner}`);
    let fd: number | undefined;
    try {
      fd = fs.openSync(temp, 'wx');
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
