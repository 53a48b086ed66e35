/** The journal on its own: what it writes and when, acknowledgements, compaction, failures, and how a journal's text is read back. */
import * as fs from 'node:fs';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Journal, type JournalFs, type JournalOptions, parseJournal } from '../src/io/journal.js';
import { QueuedEvent } from '../src/core/wire.js';

const HEADER = '{"session_id":"s-1","platform":"unix/linux","sdk_version":"0.1.0","process_uuid":"p"}';

/** A stored event line for index `i`, as `encodeEvent` would write it. */
const line = (i: number, pad = '') => `{"event":"GENERIC_EVENT","event_id":"id-${i}","event_session_index":${i},"event_name":"e${pad}"}`;
const event = (i: number) => new QueuedEvent('GENERIC_EVENT', i, 'INFO', 0, 'e', {}, undefined, undefined);

let dir: string;
let path: string;
let errors: [string, string][];
let writes: string[];
/** Descriptors opened through tracedFs and not closed yet. */
let openFds: Set<number>;
/** closeSync calls on something that was not an open descriptor. */
let badCloses: unknown[];

/** node:fs, with every write and descriptor recorded and, when `fail` says so, failing with EIO. */
function tracedFs(fail: (operation: string, path?: string) => boolean = () => false): JournalFs {
  const eio = () => Object.assign(new Error('EIO: i/o error'), { code: 'EIO' });
  return {
    ...fs,
    openSync: (p: fs.PathLike, flags: fs.OpenMode) => {
      if (fail('open', String(p))) throw eio();
      const fd = fs.openSync(p, flags);
      openFds.add(fd);
      return fd;
    },
    closeSync: (fd: number) => {
      if (!openFds.delete(fd)) badCloses.push(fd);
      fs.closeSync(fd);
    },
    writeFileSync: ((fd: number, text: string) => {
      if (fail('write', text)) throw eio();
      writes.push(text);
      fs.writeFileSync(fd, text);
    }) as typeof fs.writeFileSync,
    renameSync: (from: fs.PathLike, to: fs.PathLike) => {
      if (fail('rename')) throw eio();
      fs.renameSync(from, to);
    },
  };
}

function open(overrides: Partial<JournalOptions> = {}): Journal {
  const journal = Journal.open({
    path,
    header: HEADER,
    encode: (e) => line(e.index),
    onError: (operation, error) => errors.push([operation, (error as NodeJS.ErrnoException).code ?? '']),
    fs: tracedFs(),
    ...overrides,
  });
  if (journal === undefined) throw new Error('the journal did not open');
  return journal;
}

const text = () => readFileSync(path, 'utf8');
const microtask = () => new Promise<void>((resolve) => queueMicrotask(resolve));

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'journal-'));
  path = join(dir, '4242-0000abcd.journal');
  errors = [];
  writes = [];
  openFds = new Set();
  badCloses = [];
});
afterEach(() => {
  for (const fd of openFds) fs.closeSync(fd);
  rmSync(dir, { recursive: true, force: true });
});

/** Every descriptor the journal opened is closed, and it closed nothing else. */
function expectDescriptorsClosed(): void {
  expect(openFds.size).toBe(0);
  expect(badCloses).toEqual([]);
}

describe('Journal', () => {
  it('writes its header when opened, and refuses a file that already exists', () => {
    const journal = open();
    expect(text()).toBe(`${HEADER}\n`);
    expect(journal.live).toBe(0);
    expect(
      Journal.open({ path, header: HEADER, encode: () => '', onError: (op, e) => errors.push([op, (e as NodeJS.ErrnoException).code ?? '']), fs }),
    ).toBeUndefined();
    expect(errors).toEqual([['journal', 'EEXIST']]);
    expect(text()).toBe(`${HEADER}\n`);
  });

  it('leaves no file when its header cannot be written', () => {
    const journal = Journal.open({
      path,
      header: HEADER,
      encode: () => '',
      onError: (op, e) => errors.push([op, (e as NodeJS.ErrnoException).code ?? '']),
      fs: tracedFs((operation) => operation === 'write'),
    });
    expect(journal).toBeUndefined();
    expect(errors).toEqual([['journal', 'EIO']]);
    expect(readdirSync(dir)).toEqual([]);
    expectDescriptorsClosed();
  });

  it('writes what one synchronous run appended in one write, in the next microtask, and nothing before', async () => {
    const journal = open();
    writes = [];
    for (let i = 0; i < 5; i++) journal.append(event(i));
    expect(writes).toEqual([]);
    expect(text()).toBe(`${HEADER}\n`);
    await microtask();
    expect(writes).toEqual([[0, 1, 2, 3, 4].map((i) => `${line(i)}\n`).join('')]);
    expect(journal.live).toBe(5);
    journal.append(event(5));
    await microtask();
    expect(writes).toHaveLength(2);
    expect(text()).toBe(`${HEADER}\n${[0, 1, 2, 3, 4, 5].map((i) => `${line(i)}\n`).join('')}`);
  });

  it('acknowledges live events in order after their lines, and writes nothing for events it never wrote or already acknowledged', async () => {
    const journal = open();
    const events = [0, 1, 2, 3].map(event);
    for (const e of events) journal.append(e);
    journal.ack([events[1]!, events[3]!]);
    await microtask();
    expect(text()).toBe(`${HEADER}\n${line(0)}\n${line(1)}\n${line(2)}\n${line(3)}\n[1,3]\n`);
    expect(journal.live).toBe(2);
    writes = [];
    journal.ack([events[1]!, event(9)]);
    journal.ack([]);
    await microtask();
    expect(writes).toEqual([]);
    journal.ack([events[0]!, events[1]!, events[2]!]);
    await microtask();
    expect(text().endsWith('[1,3]\n[0,2]\n')).toBe(true);
    expect(journal.live).toBe(0);
  });

  it('writes what was pending, then closes and deletes its file on close; a second close and later appends do nothing', async () => {
    const journal = open();
    const e = event(0);
    journal.append(e);
    journal.ack([e]);
    writes = [];
    journal.close();
    expect(writes).toEqual([`${line(0)}\n[0]\n`]);
    expect(existsSync(path)).toBe(false);
    expectDescriptorsClosed();
    journal.close();
    journal.append(event(1));
    journal.ack([event(1)]);
    await microtask();
    expect(writes).toHaveLength(1);
    expect(readdirSync(dir)).toEqual([]);
    expect(errors).toEqual([]);
    expectDescriptorsClosed();
  });

  it('deletes its file on close even with events not acknowledged: the session has ended, and a journal left behind would send them again', async () => {
    const journal = open();
    journal.append(event(0));
    await microtask();
    expect(journal.live).toBe(1);
    journal.close();
    expect(readdirSync(dir)).toEqual([]);
    expectDescriptorsClosed();
  });

  it('turns itself off after a failed write: reported once, nothing written after, the file kept', async () => {
    let failing = true;
    const journal = open({ fs: tracedFs((operation, written) => failing && operation === 'write' && written !== `${HEADER}\n`) });
    journal.append(event(0));
    await microtask();
    expect(errors).toEqual([['journal', 'EIO']]);
    failing = false;
    journal.append(event(1));
    journal.ack([event(0)]);
    await microtask();
    expect(errors).toHaveLength(1);
    expect(text()).toBe(`${HEADER}\n`);
    expectDescriptorsClosed();
    // Closing a journal that failed still deletes it: its content is stale.
    journal.close();
    expect(errors).toHaveLength(1);
    expect(readdirSync(dir)).toEqual([]);
    expectDescriptorsClosed();
  });

  it('turns itself off, without throwing from its microtask, when encoding an event throws', async () => {
    const journal = open({
      encode: (e) => {
        if (e.index === 1) throw new Error('cannot encode');
        return line(e.index);
      },
    });
    journal.append(event(0));
    journal.append(event(1));
    await microtask();
    expect(errors).toEqual([['journal', '']]);
    expect(text()).toBe(`${HEADER}\n`);
    expectDescriptorsClosed();
    journal.append(event(2));
    await microtask();
    expect(errors).toHaveLength(1);
  });

  describe('compaction', () => {
    /** Appends events 0..n-1 with lines of `pad` extra characters, then acknowledges `acked`; returns the journal after its write. */
    async function filled(compactBytes: number, n: number, acked: number[], pad = 'x'.repeat(50)) {
      const journal = open({ compactBytes, encode: (e) => line(e.index, pad) });
      const events = Array.from({ length: n }, (_, i) => event(i));
      for (const e of events) journal.append(e);
      journal.ack(acked.map((i) => events[i]!));
      await microtask();
      return { journal, events };
    }
    const lineBytes = line(0, 'x'.repeat(50)).length + 1;

    it('rewrites the file with only the live events once it is over compactBytes and over twice what is live', async () => {
      const { journal, events } = await filled(100, 4, [0, 1, 2]);
      expect(text()).toBe(`${HEADER}\n${line(3, 'x'.repeat(50))}\n`);
      expect(readdirSync(dir)).toEqual(['4242-0000abcd.journal']);
      // It goes on appending to the new file.
      journal.append(event(4));
      journal.ack([events[3]!]);
      await microtask();
      expect(parseJournal(text())).toMatchObject({ live: new Map([[4, line(4, 'x'.repeat(50))]]) });
      // The old descriptor was closed when the rewrite took its place; the new one with the journal.
      expect(openFds.size).toBe(1);
      journal.close();
      expectDescriptorsClosed();
    });

    it('does not rewrite while live events take half the file or more', async () => {
      // Three events, one acknowledged: the file is header + 3 lines + "[0]\n", live is 2 lines. With a line of
      // exactly header + 4 bytes, the file is exactly twice what is live.
      const pad = 'x'.repeat(HEADER.length + 4 - line(0).length);
      expect(line(0, pad).length + 1).toBe(HEADER.length + 1 + '[0]\n'.length);
      await filled(1, 3, [0], pad);
      expect(text().split('\n')).toHaveLength(6);
      rmSync(path);
      // One byte longer a header, and the file is over twice what is live.
      const longer = open({ compactBytes: 1, header: `${HEADER} `, encode: (e) => line(e.index, pad) });
      const events = [0, 1, 2].map(event);
      for (const e of events) longer.append(e);
      longer.ack([events[0]!]);
      await microtask();
      expect(text()).toBe(`${HEADER} \n${line(1, pad)}\n${line(2, pad)}\n`);
    });

    it('does not rewrite a file of exactly compactBytes', async () => {
      const size = HEADER.length + 1 + 4 * lineBytes + '[0,1,2]\n'.length;
      await filled(size, 4, [0, 1, 2]);
      expect(Buffer.byteLength(text())).toBe(size);
      rmSync(path);
      await filled(size - 1, 4, [0, 1, 2]);
      expect(Buffer.byteLength(text())).toBe(HEADER.length + 1 + lineBytes);
    });

    /** Three events, two acknowledged, with compaction due at once and the rewrite failing where `fail` says. */
    async function failedRewrite(fail: Parameters<typeof tracedFs>[0]) {
      const journal = open({ compactBytes: 1, encode: (e) => line(e.index), fs: tracedFs(fail) });
      const events = [event(0), event(1), event(2)];
      for (const e of events) journal.append(e);
      journal.ack(events.slice(0, 2));
      await microtask();
      return { journal, events };
    }

    it('keeps the old file and turns itself off when the rewrite fails', async () => {
      const { journal, events } = await failedRewrite((operation) => operation === 'rename');
      expect(errors).toEqual([['compact', 'EIO']]);
      expect(readdirSync(dir)).toEqual(['4242-0000abcd.journal']);
      expect(parseJournal(text())).toMatchObject({ live: new Map([[2, line(2)]]) });
      expectDescriptorsClosed();
      journal.ack([events[2]!]);
      await microtask();
      expect(parseJournal(text())).toMatchObject({ live: new Map([[2, line(2)]]) });
    });

    it('reports a rewrite whose temporary file cannot be created, closing only what it opened', async () => {
      await failedRewrite((operation, p) => operation === 'open' && p?.endsWith('.tmp') === true);
      expect(errors).toEqual([['compact', 'EIO']]);
      expect(readdirSync(dir)).toEqual(['4242-0000abcd.journal']);
      expectDescriptorsClosed();
    });
  });
});

describe('parseJournal', () => {
  it('gives the events not acknowledged, in the order written', () => {
    const journal = `${HEADER}\n${line(0)}\n${line(1)}\n[0]\n${line(2)}\n[5]\n`;
    expect(parseJournal(journal)).toEqual({
      header: HEADER,
      sessionId: 's-1',
      live: new Map([
        [1, line(1)],
        [2, line(2)],
      ]),
    });
  });

  it('reads an empty file, or a header cut short, as holding nothing', () => {
    expect(parseJournal('')).toEqual({ header: '', sessionId: '', live: new Map() });
    expect(parseJournal(HEADER.slice(0, 20))).toEqual({ header: '', sessionId: '', live: new Map() });
  });

  it('ignores a last line cut short by the crash', () => {
    expect(parseJournal(`${HEADER}\n${line(0)}\n${line(1).slice(0, 30)}`)).toEqual({ header: HEADER, sessionId: 's-1', live: new Map([[0, line(0)]]) });
    expect(parseJournal(`${HEADER}\n${line(0)}\n[0`)).toEqual({ header: HEADER, sessionId: 's-1', live: new Map([[0, line(0)]]) });
  });

  it.each([
    ['not JSON', 'session'],
    ['an array', '["s-1"]'],
    ['a missing field', '{"session_id":"s-1","platform":"unix/linux","sdk_version":"0.1.0"}'],
    ['an extra field', '{"session_id":"s-1","platform":"unix/linux","sdk_version":"0.1.0","process_uuid":"p","events":[]}'],
    ['an empty field', '{"session_id":"","platform":"unix/linux","sdk_version":"0.1.0","process_uuid":"p"}'],
    ['a number for a string', '{"session_id":1,"platform":"unix/linux","sdk_version":"0.1.0","process_uuid":"p"}'],
  ])('calls a header with %s corrupt', (_what, header) => {
    expect(parseJournal(`${header}\n${line(0)}\n`)).toEqual({ problem: 'line 1 is not a session header' });
  });

  it.each([
    ['not JSON', '{"event"'],
    ['a number', '7'],
    ['null', 'null'],
    ['an acknowledgement of a non-integer', '[1.5]'],
    ['an acknowledgement of a string', '["0"]'],
    ['an acknowledgement with one bad index among good ones', '[0,1.5]'],
    ['an unknown event type', '{"event":"OTHER","event_id":"x","event_session_index":1}'],
    ['an event without an id', '{"event":"GENERIC_EVENT","event_session_index":1}'],
    ['an event with a fractional index', '{"event":"GENERIC_EVENT","event_id":"x","event_session_index":1.5}'],
  ])('calls a line with %s corrupt, naming the line', (_what, bad) => {
    expect(parseJournal(`${HEADER}\n${line(0)}\n${bad}\n${line(1)}\n`)).toEqual({ problem: 'line 3 is neither an event nor an acknowledgement' });
  });

  it('reads what a journal wrote', async () => {
    const journal = open();
    const events = [0, 1, 2].map(event);
    for (const e of events) journal.append(e);
    journal.ack([events[0]!]);
    await microtask();
    writeFileSync(join(dir, 'copy'), text());
    expect(parseJournal(readFileSync(join(dir, 'copy'), 'utf8'))).toEqual({
      header: HEADER,
      sessionId: 's-1',
      live: new Map([
        [1, line(1)],
        [2, line(2)],
      ]),
    });
  });
});
