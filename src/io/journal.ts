/**
 * The journal: with `spoolDir`, every event a session accepts is also written
 * to a file, so a process that dies without stopping (SIGKILL, the OOM
 * killer, a fatal error past its deadline) leaves its unsent events for the
 * next reporter on the same directory (see `Spool`, which recovers them).
 *
 * One file per reporter, `<pid>-<token>.journal`, named after the owner of
 * its spool claims. Its lines:
 * 1. the header: the envelope of the session's bodies,
 *    `{"session_id":…,"platform":…,"sdk_version":…,"process_uuid":…}`;
 * 2. then, in order, an event (its wire JSON, an object) or an
 *    acknowledgement (a JSON array of `event_session_index` values): events
 *    that no longer need the journal because they were delivered, dropped and
 *    counted, or written to a spool batch file.
 *
 * Writes are grouped: what one synchronous run of the host accepts is written
 * by one `write` in a microtask, so `log()` stays a push, and the events are
 * in the file before the host's code runs again after an `await` or a
 * callback. The file is in the OS's cache, not synced: it survives the death
 * of the process, not of the machine. It is private to its owner (`FILE_MODE`).
 */
import type * as nodeFs from 'node:fs';
import type { JournalPort } from '../core/ports.js';
import { hasStringFields, isRecord, isStoredEvent } from './shape.js';
import type { QueuedEvent } from '../core/wire.js';

/** The file operations a journal uses; tests wrap them to inject faults. */
export type JournalFs = Pick<typeof nodeFs, 'openSync' | 'fchmodSync' | 'writeFileSync' | 'closeSync' | 'renameSync' | 'unlinkSync'>;

/**
 * The mode of every file the spool writes, journals included: read and
 * write for the owner only, as a batch holds whatever the host logged.
 * Set with `fchmod` after `open`, whose mode the umask narrows, so a file is
 * exactly 0600 whatever the umask.
 */
export const FILE_MODE = 0o600;

/** Options of a journal. */
export interface JournalOptions {
  /** The file; created, and must not exist. */
  path: string;
  /** The first line: the session's envelope as a JSON object, without a newline. */
  header: string;
  /** The JSON of an event (`encodeEvent`); called once per event, in the microtask that writes it. */
  encode(event: QueuedEvent): string;
  /** A write failed; the journal stops writing (see `Journal`). */
  onError(operation: string, error: unknown): void;
  fs: JournalFs;
  /** Bytes the file may reach before it is rewritten with only what is live (when that halves it at least). Default: 1 MiB. */
  compactBytes?: number;
}

const COMPACT_BYTES = 1024 * 1024;

/**
 * An open journal. Never throws: a failed write is reported once through
 * `onError` and turns the journal off (the events are still sent; only the
 * protection against a crash is lost).
 */
export class Journal implements JournalPort {
  readonly #options: JournalOptions;
  #fd: number | undefined;
  /** Events and acknowledgements not yet written, in order. */
  #pending: (QueuedEvent | readonly number[])[] = [];
  /** Events in the file and not acknowledged: index → line. */
  readonly #live = new Map<number, string>();
  #liveBytes = 0;
  #fileBytes: number;

  private constructor(options: JournalOptions, fd: number) {
    this.#options = options;
    this.#fd = fd;
    this.#fileBytes = Buffer.byteLength(options.header) + 1;
  }

  /** Creates the file and writes its header; undefined (after `onError`) when that fails. */
  static open(options: JournalOptions): Journal | undefined {
    let fd: number | undefined;
    try {
      fd = options.fs.openSync(options.path, 'wx', FILE_MODE);
      options.fs.fchmodSync(fd, FILE_MODE);
      options.fs.writeFileSync(fd, `${options.header}\n`);
      return new Journal(options, fd);
    } catch (error) {
      options.onError('journal', error);
      // Only a file this call created is removed: the path may be another reporter's journal.
      if (fd !== undefined) {
        quietly(() => options.fs.closeSync(fd as number));
        quietly(() => options.fs.unlinkSync(options.path));
      }
      return undefined;
    }
  }

  /** Events written and not acknowledged. */
  get live(): number {
    return this.#live.size;
  }

  /** Journals an accepted event, in the next microtask. */
  append(event: QueuedEvent): void {
    this.#add(event);
  }

  /** Marks events as no longer needing the journal, in the next microtask. */
  ack(events: readonly QueuedEvent[]): void {
    this.#add(events.map((event) => event.index));
  }

  /** Writes what is pending now. */
  flush(): void {
    const pending = this.#pending;
    this.#pending = [];
    let text = '';
    try {
      // Encoding runs here, in a microtask of the host's: nothing may escape it.
      for (const item of pending) text += this.#line(item);
      if (text === '') return;
      // Something is pending only while the file is open (#add refuses otherwise).
      this.#options.fs.writeFileSync(this.#fd as number, text);
    } catch (error) {
      this.#fail('journal', error);
      return;
    }
    this.#fileBytes += Buffer.byteLength(text);
    if (this.#fileBytes > (this.#options.compactBytes ?? COMPACT_BYTES) && this.#fileBytes > 2 * this.#liveBytes) this.#compact();
  }

  /**
   * Writes what is pending, closes the file and deletes it. Called once the
   * session has ended, when every event has its outcome: a journal left
   * behind, even one turned off by a failed write, would have them sent
   * again. Idempotent.
   */
  close(): void {
    this.flush();
    const fd = this.#fd;
    this.#fd = undefined;
    if (fd !== undefined) quietly(() => this.#options.fs.closeSync(fd));
    quietly(() => this.#options.fs.unlinkSync(this.#options.path));
  }

  #add(item: QueuedEvent | readonly number[]): void {
    if (this.#fd === undefined) return;
    if (this.#pending.push(item) === 1) queueMicrotask(() => this.flush());
  }

  #line(item: QueuedEvent | readonly number[]): string {
    if (!Array.isArray(item)) {
      const event = item as QueuedEvent;
      const line = this.#options.encode(event);
      this.#live.set(event.index, line);
      this.#liveBytes += Buffer.byteLength(line) + 1;
      return `${line}\n`;
    }
    const acked: number[] = [];
    for (const index of item as readonly number[]) {
      const line = this.#live.get(index);
      if (line === undefined) continue;
      this.#live.delete(index);
      this.#liveBytes -= Buffer.byteLength(line) + 1;
      acked.push(index);
    }
    return acked.length === 0 ? '' : `${JSON.stringify(acked)}\n`;
  }

  /** Rewrites the file with the header and the live events only: write a temporary file, then rename it over. */
  #compact(): void {
    const { fs, path, header } = this.#options;
    const temp = `${path}.tmp`;
    let text = `${header}\n`;
    for (const line of this.#live.values()) text += `${line}\n`;
    let fd: number | undefined;
    try {
      fd = fs.openSync(temp, 'w', FILE_MODE);
      // A temporary file left by a failed rewrite keeps its mode through open: set it.
      fs.fchmodSync(fd, FILE_MODE);
      fs.writeFileSync(fd, text);
      fs.renameSync(temp, path);
    } catch (error) {
      if (fd !== undefined) quietly(() => fs.closeSync(fd as number));
      quietly(() => fs.unlinkSync(temp));
      this.#fail('compact', error);
      return;
    }
    quietly(() => fs.closeSync(this.#fd as number));
    this.#fd = fd;
    this.#fileBytes = Buffer.byteLength(text);
  }

  /** Reports a failed write and turns the journal off; only called while the file is open. */
  #fail(operation: string, error: unknown): void {
    this.#options.onError(operation, error);
    const fd = this.#fd as number;
    this.#fd = undefined;
    this.#pending = [];
    quietly(() => this.#options.fs.closeSync(fd));
  }
}

/** What a journal file holds: its header and the events not acknowledged, in order; or what is wrong with it. */
export type ParsedJournal = { header: string; sessionId: string; live: Map<number, string> } | { problem: string };

const HEADER_FIELDS = 'platform,process_uuid,sdk_version,session_id';

/**
 * Reads a journal's text. A last line without its newline was cut short by
 * the crash (a write the process did not finish) and is ignored; any other
 * line that is not an event or an acknowledgement makes the file corrupt.
 * An empty file (a crash before the header was written) holds nothing.
 */
export function parseJournal(text: string): ParsedJournal {
  const lines = text.split('\n');
  lines.pop();
  const live = new Map<number, string>();
  const header = lines[0];
  if (header === undefined) return { header: '', sessionId: '', live };
  const envelope = parseLine(header);
  if (!isRecord(envelope) || !hasStringFields(envelope, HEADER_FIELDS)) {
    return { problem: 'line 1 is not a session header' };
  }
  for (let n = 1; n < lines.length; n++) {
    const line = lines[n] as string;
    const value = parseLine(line);
    if (Array.isArray(value) && value.every((index) => Number.isInteger(index))) {
      for (const index of value as number[]) live.delete(index);
    } else if (isStoredEvent(value)) {
      live.set(value.event_session_index, line);
    } else {
      return { problem: `line ${n + 1} is neither an event nor an acknowledgement` };
    }
  }
  return { header, sessionId: envelope.session_id as string, live };
}

function parseLine(line: string): unknown {
  try {
    return JSON.parse(line);
  } catch {
    return undefined;
  }
}

function quietly(action: () => void): void {
  try {
    action();
  } catch {
    // Best effort: closing or removing after a failure already reported.
  }
}
