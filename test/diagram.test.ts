import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { and, assign, cancel, emit, fromPromise, log, not, or, raise, sendTo, setup, spawnChild, stateIn, stopChild } from 'xstate';
import { reporterMachine } from '../machines/reporter.machine.js';
import { sessionMachine } from '../machines/session.machine.js';
import {
  DOCUMENTED_MACHINES,
  MACHINE_DOC_COMMAND,
  MACHINE_DOC_PATH,
  README_DIAGRAM_END,
  README_DIAGRAM_START,
  README_PATH,
  machineDocPage,
  machineSection,
  reporterReadmeDiagram,
  splitReadmeDiagram,
  withReadmeDiagram,
} from '../tools/machine-doc.js';
import { type GraphTransition, type MachineGraph, machineGraph, toMermaid } from '../tools/machine-graph.js';

/** A transition with the defaults of a plain `on: { EVENT: 'target' }`. */
function t(source: string, event: string, target: string | undefined, more: Partial<GraphTransition> = {}): GraphTransition {
  return { source, target, event, guard: undefined, actions: [], reenter: false, ...more };
}

describe('docs/machine.md', () => {
  it(`matches the reporter and session machines (run \`${MACHINE_DOC_COMMAND}\` when this fails)`, () => {
    let onDisk: string;
    try {
      onDisk = readFileSync(new URL(`../${MACHINE_DOC_PATH}`, import.meta.url), 'utf8');
    } catch (error) {
      throw new Error(`${MACHINE_DOC_PATH} is missing: run \`${MACHINE_DOC_COMMAND}\``, { cause: error });
    }
    expect(onDisk, `${MACHINE_DOC_PATH} is out of date: run \`${MACHINE_DOC_COMMAND}\` and commit the result`).toBe(machineDocPage());
  });

  it('is the same text on every run', () => {
    expect(machineDocPage()).toBe(machineDocPage());
  });

  it('holds one section per machine, reporter then session, each with its diagram and its transition table', () => {
    const page = machineDocPage();
    expect(DOCUMENTED_MACHINES.map((m) => [m.machine.id, m.sourcePath])).toEqual([
      ['reporter', 'machines/reporter.machine.ts'],
      ['session', 'machines/session.machine.ts'],
    ]);
    const reporterAt = page.indexOf('\n## The `reporter` machine\n');
    const sessionAt = page.indexOf('\n## The `session` machine\n');
    expect(reporterAt).toBeGreaterThan(0);
    expect(sessionAt).toBeGreaterThan(reporterAt);
    expect(page.slice(reporterAt + 1, sessionAt)).toBe(`${machineSection(machineGraph(reporterMachine), 'machines/reporter.machine.ts')}\n`);
    expect(page.slice(sessionAt + 1)).toBe(`${machineSection(machineGraph(sessionMachine), 'machines/session.machine.ts')}\n`);
    expect(page).toContain('- [The `session` machine](#the-session-machine): ');
    expect(page.match(/^```mermaid$/gm)).toHaveLength(2);
  });

  it('lists entry and exit actions in a table only for a machine that has some', () => {
    const reporter = machineSection(machineGraph(reporterMachine), 'r.ts');
    const session = machineSection(machineGraph(sessionMachine), 's.ts');
    expect(reporter).not.toContain('### Entry and exit actions');
    expect(session).toContain(
      [
        '| State | Entry | Exit |',
        '| --- | --- | --- |',
        '| `active` | `startReporter`, `scheduleBeat` | `cancel nextBeat`, `stopChild heartbeat` |',
        '| `active.failing` | `warnFailing` |  |',
        '| `closing` | `abortFutures`, `stopReporter` |  |',
      ].join('\n'),
    );
  });
});

describe('the diagram in README.md', () => {
  const mermaidBlockOf = (text: string) => /^```mermaid\n[\s\S]*?\n```$/m.exec(text)?.[0];

  it(`matches the reporter machine between its markers (run \`${MACHINE_DOC_COMMAND}\` when this fails)`, () => {
    const readme = readFileSync(new URL(`../${README_PATH}`, import.meta.url), 'utf8');
    // Missing or misplaced markers throw here, with a message that names them.
    const { current } = splitReadmeDiagram(readme);
    expect(current, `${README_PATH}'s lifecycle diagram is out of date: run \`${MACHINE_DOC_COMMAND}\` and commit the result`).toBe(reporterReadmeDiagram());
  });

  it('is the Mermaid block of docs/machine.md, and a line naming its source, its command and the page', () => {
    const block = mermaidBlockOf(reporterReadmeDiagram());
    expect(block).toBeDefined();
    expect(block).toBe(mermaidBlockOf(machineDocPage()));
    expect(reporterReadmeDiagram()).toBe(
      `${block}\n\nGenerated from \`machines/reporter.machine.ts\` by \`npm run diagram\`; every transition with its guard and actions is in [docs/machine.md](docs/machine.md).\n`,
    );
  });

  const readme = (inner: string) => `# Title\n\nIntro.\n\n${README_DIAGRAM_START}\n${inner}${README_DIAGRAM_END}\n\n## Next\n`;

  it('replaces only the text between the markers, and a second run changes nothing', () => {
    const once = withReadmeDiagram(readme('```mermaid\nstateDiagram-v2\n  old --> older\n```\n'), 'NEW\n');
    expect(once).toBe(readme('NEW\n'));
    expect(withReadmeDiagram(once, 'NEW\n')).toBe(once);
    expect(withReadmeDiagram(readme(''), 'NEW\n'), 'markers with nothing between them').toBe(readme('NEW\n'));
    expect(splitReadmeDiagram(readme('a\nb\n'))).toEqual({
      before: `# Title\n\nIntro.\n\n${README_DIAGRAM_START}\n`,
      current: 'a\nb\n',
      after: `${README_DIAGRAM_END}\n\n## Next\n`,
    });
  });

  it('refuses a README whose markers are missing, repeated or reversed, naming both markers', () => {
    const expected = `Expected README.md to hold the lines \`${README_DIAGRAM_START}\` and \`${README_DIAGRAM_END}\` once each, in that order, where the lifecycle diagram goes`;
    expect(() => withReadmeDiagram('# Title\n', 'NEW\n')).toThrow(`${expected}; found 0 start markers and 0 end markers`);
    expect(() => withReadmeDiagram(`${README_DIAGRAM_START}\nx\n`, 'NEW\n')).toThrow(`${expected}; found 1 start marker and 0 end markers`);
    expect(() => withReadmeDiagram(readme(`${README_DIAGRAM_START}\n`), 'NEW\n')).toThrow(`${expected}; found 2 start markers and 1 end marker`);
    expect(() => withReadmeDiagram(`${README_DIAGRAM_END}\nx\n${README_DIAGRAM_START}\n`, 'NEW\n')).toThrow(
      `${expected}; found the end marker (line 1) before the start marker (line 3)`,
    );
    // A marker quoted inside a sentence is not a marker line.
    expect(() => withReadmeDiagram(`Put \`${README_DIAGRAM_START}\` and \`${README_DIAGRAM_END}\` around it.\n`, 'NEW\n')).toThrow(/found 0 start markers/);
  });
});

describe('the reporter diagram', () => {
  const mermaid = toMermaid(machineGraph(reporterMachine));
  const labels = mermaid.split('\n').flatMap((line) => (line.includes(' : ') ? line.slice(line.indexOf(' : ') + 3).split('<br/>') : []));

  it('draws every state of the machine, nested states inside their parent', () => {
    // Read straight from the state nodes, without the extractor.
    const ids: string[] = [];
    const walk = (states: Record<string, { path: string[]; states: object }>) => {
      for (const node of Object.values(states)) {
        ids.push(node.path.join('.'));
        walk(node.states as typeof states);
      }
    };
    walk(reporterMachine.root.states);
    expect(ids).toEqual(expect.arrayContaining(['idle', 'batching', 'sending', 'retrying', 'draining', 'draining.sending', 'draining.retrying', 'ended']));
    for (const id of ids) {
      const key = id.split('.').at(-1)!;
      expect(mermaid, id).toContain(`state "${key}" as ${id.replace(/\./g, '_')}\n`);
    }
    const draining = mermaid.slice(mermaid.indexOf('state draining {'), mermaid.indexOf('\n  }\n'));
    expect(draining).toContain('state "sending" as draining_sending');
    expect(draining).toContain('state "retrying" as draining_retrying');
    expect(draining).toContain('[*] --> draining_sending');
    expect(mermaid).toContain('  [*] --> idle\n');
    expect(mermaid).toContain('  ended --> [*]\n');
  });

  it('names every event the machine handles, delays by their name', () => {
    const delayOf = (type: string) => type.match(/^xstate\.after\.([^.]+)\./)?.[1];
    expect(reporterMachine.events).toEqual(expect.arrayContaining(['LOG', 'TICK', 'THRESHOLD', 'FLUSH', 'ACK', 'FAIL', 'STOP', 'DEADLINE']));
    expect(reporterMachine.events.map(delayOf).filter(Boolean)).toEqual(expect.arrayContaining(['flushInterval', 'retryBackoff']));
    for (const type of reporterMachine.events) {
      const delay = delayOf(type);
      const shown = delay === undefined ? type : `after ${delay}`;
      expect(
        labels.some((label) => label === shown || label.startsWith(`${shown} `)),
        shown,
      ).toBe(true);
    }
  });

  it('shows every guard, action and delay the machine declares', () => {
    const { guards, actions, delays } = reporterMachine.implementations;
    for (const name of Object.keys(guards))
      expect(
        labels.some((l) => new RegExp(`\\[[^\\]]*\\b${name}\\b[^\\]]*\\]`).test(l)),
        `guard ${name}`,
      ).toBe(true);
    for (const name of Object.keys(actions))
      expect(
        labels.some((l) => new RegExp(`/ .*\\b${name}\\b`).test(l)),
        `action ${name}`,
      ).toBe(true);
    for (const name of Object.keys(delays))
      expect(
        labels.some((l) => l.startsWith(`after ${name}`)),
        `delay ${name}`,
      ).toBe(true);
    expect(labels).toContain('after flushInterval [flushTimerEnabled] / raise TICK');
    expect(labels).toContain('ACK [isStopping && hasPending] / deliverBatch, resetAttempt');
    expect(labels).toContain('ACK [hasPending && (flushRequested || atThreshold || fullBatchWaits || splitPending)] / deliverBatch, resetAttempt (reenter)');
  });

  it('shows the deadline, declared on the machine itself, as a note on `ended`', () => {
    expect(mermaid).toContain('  note left of ended : DEADLINE in any state / abandonAll\n');
  });
});

describe('the session diagram', () => {
  const mermaid = toMermaid(machineGraph(sessionMachine));
  const lines = mermaid.split('\n');
  // Labels of arrows and state lines, and the lines of notes.
  const labels = lines.flatMap((line, i) => {
    if (line.includes(' : ')) return line.slice(line.indexOf(' : ') + 3).split('<br/>');
    const opened = lines.slice(0, i).findLastIndex((l) => l.trim().startsWith('note right of '));
    const closed = lines.slice(0, i).findLastIndex((l) => l.trim() === 'end note');
    return opened > closed ? [line.trim()] : [];
  });

  it('draws every state, ok and failing inside active, and both final states', () => {
    expect(machineGraph(sessionMachine).states.map((s) => s.id)).toEqual(['creating', 'active', 'active.ok', 'active.failing', 'closing', 'closed', 'failed']);
    for (const [key, id] of [
      ['creating', 'creating'],
      ['active', 'active'],
      ['ok', 'active_ok'],
      ['failing', 'active_failing'],
      ['closing', 'closing'],
      ['closed', 'closed'],
      ['failed', 'failed'],
    ]) {
      expect(mermaid, id).toContain(`state "${key}" as ${id}\n`);
    }
    const active = mermaid.slice(mermaid.indexOf('state active {'), mermaid.indexOf('\n  }\n'));
    expect(active).toContain('[*] --> active_ok');
    expect(mermaid).toContain('  [*] --> creating\n');
    expect(mermaid).toContain('  closed --> [*]\n  failed --> [*]\n');
  });

  it('names every event the machine handles: actor outcomes by the actor, delays by their name', () => {
    const shownAs = (type: string) =>
      type.match(/^xstate\.after\.([^.]+)\./)?.[1]?.replace(/^/, 'after ') ??
      type
        .match(/^xstate\.(done|error)\.actor\.(.+)$/)
        ?.slice(1)
        .join(' ') ??
      type;
    expect(sessionMachine.events.map(shownAs)).toEqual(
      expect.arrayContaining([
        'CLOSE',
        'SIGNAL',
        'FATAL',
        'BEAT',
        'HEARTBEAT_OK',
        'HEARTBEAT_FAILED',
        'done createSession',
        'error createSession',
        'done closeSession',
        'error closeSession',
        'after heartbeatWarnAfter',
        'after closeDeadline',
      ]),
    );
    for (const type of sessionMachine.events) {
      const shown = shownAs(type);
      expect(
        labels.some((label) => label === shown || label.startsWith(`${shown} `)),
        shown,
      ).toBe(true);
    }
  });

  it('shows every action and delay the machine declares, entry and exit actions included', () => {
    const { actions, delays } = sessionMachine.implementations;
    expect(Object.keys(actions)).toEqual(
      expect.arrayContaining(['startReporter', 'warnFailing', 'abortFutures', 'stopReporter', 'scheduleBeat', 'beatAnswered']),
    );
    for (const name of Object.keys(actions))
      expect(
        labels.some((l) => new RegExp(`/ .*\\b${name}\\b`).test(l)),
        `action ${name}`,
      ).toBe(true);
    // heartbeatInterval is the delay of the raise that schedules each beat, so it shows where scheduleBeat is defined, not on an arrow.
    expect(Object.keys(delays).sort()).toEqual(['closeDeadline', 'heartbeatInterval', 'heartbeatWarnAfter']);
    expect(labels).toContain('after heartbeatWarnAfter');
    expect(labels).toContain('done closeSession');
    expect(labels).toContain('after closeDeadline');
  });

  it('shows what active does on entry and exit, and its own transitions, in a note, since Mermaid drops a composite given a description', () => {
    expect(mermaid).toContain(
      [
        '  note right of active',
        '    entry / startReporter, scheduleBeat',
        '    exit / cancel nextBeat, stopChild heartbeat',
        '    BEAT / spawnChild heartbeat',
        '    FATAL / markFatal',
        '  end note',
        '',
      ].join('\n'),
    );
    expect(lines.filter((l) => l.startsWith('  active : '))).toEqual([]);
    expect(mermaid).toContain('  closing : entry / abortFutures, stopReporter\n');
    expect(mermaid).toContain('    active_failing : entry / warnFailing\n');
  });

  it('closes from creating and from active, and ends closing by the drain or the deadline', () => {
    expect(mermaid).toContain('  creating --> closed : CLOSE<br/>SIGNAL\n');
    expect(mermaid).toContain('  active --> closing : CLOSE / setCloseTimeout<br/>SIGNAL\n');
    expect(mermaid).toContain('  closing --> closed : done closeSession<br/>error closeSession<br/>after closeDeadline\n');
    expect(mermaid).toContain('  active_ok --> active_failing : after heartbeatWarnAfter\n');
    expect(mermaid).toContain('  active_failing --> active_ok : HEARTBEAT_OK / beatAnswered, scheduleBeat\n');
  });
});

describe('machineGraph', () => {
  it('renders and/or/not/stateIn, parameterised, inline and named-function guards as expressions', () => {
    const machine = setup({
      guards: { a: () => true, b: () => true, c: () => true, withParams: (_args, _params: { n: number }) => true },
    }).createMachine({
      id: 'guards',
      initial: 'one',
      states: {
        one: {
          on: {
            GO: [
              { guard: and(['a', or(['b', 'c'])]), target: 'two' },
              { guard: or([and(['a', 'b']), not('c')]), target: 'two' },
              { guard: not(and(['a', 'b'])), target: 'two' },
              { guard: { type: 'withParams', params: { n: 1 } }, target: 'two' },
              { guard: stateIn('one'), target: 'two' },
              { guard: () => true, target: 'two' },
              {
                guard: function isReady() {
                  return true;
                },
                target: 'two',
              },
              { guard: and(['a']), target: 'two' },
              { target: 'two' },
            ],
          },
        },
        two: { type: 'final' },
      },
    });
    expect(machineGraph(machine).transitions.map((x) => x.guard)).toEqual([
      'a && (b || c)',
      '(a && b) || !c',
      '!(a && b)',
      'withParams',
      'in(one)',
      'inline',
      'isReady',
      'a',
      undefined,
    ]);
  });

  it('shows delays by name or in ms, raised events by what they raise, and root transitions with the machine id as source', () => {
    const machine = setup({
      delays: { backoff: () => 100 },
      guards: { enabled: () => true },
      actions: { tick: () => undefined },
    }).createMachine({
      id: 'timers',
      initial: 'waiting',
      on: {
        RESET: { target: '.waiting', reenter: true, actions: 'tick' },
        PING: { actions: 'tick' },
      },
      states: {
        waiting: {
          after: {
            backoff: [
              { guard: 'enabled', target: 'done' },
              { target: 'waiting', reenter: true },
            ],
            500: { actions: raise({ type: 'TICK' }) },
          },
          on: { TICK: { actions: ['tick', raise({ type: 'TOCK' }, { delay: 'backoff' })] } },
        },
        done: { type: 'final' },
      },
    });
    expect(machineGraph(machine)).toEqual<MachineGraph>({
      id: 'timers',
      states: [
        { id: 'waiting', parent: undefined, initial: true, final: false, compound: false, entry: [], exit: [] },
        { id: 'done', parent: undefined, initial: false, final: true, compound: false, entry: [], exit: [] },
      ],
      transitions: [
        t('timers', 'RESET', 'waiting', { actions: ['tick'], reenter: true }),
        t('timers', 'PING', undefined, { actions: ['tick'] }),
        t('waiting', 'TICK', undefined, { actions: ['tick', 'raise TOCK after backoff'] }),
        // JavaScript orders integer-like keys first, so XState sees `500` before `backoff`.
        t('waiting', 'after 500ms', undefined, { actions: ['raise TICK'] }),
        t('waiting', 'after backoff', 'done', { guard: 'enabled' }),
        t('waiting', 'after backoff', 'waiting', { reenter: true }),
      ],
    });
  });

  it('walks nested and parallel states, with completion, eventless and multi-target transitions', () => {
    const machine = setup({}).createMachine({
      id: 'nested',
      initial: 'outer',
      states: {
        outer: {
          initial: 'inner',
          states: {
            inner: {
              initial: 'leaf',
              states: {
                leaf: { on: { NEXT: 'end' } },
                end: { type: 'final' },
              },
              onDone: 'closing',
            },
            closing: { always: '#nested.finished' },
          },
        },
        both: {
          type: 'parallel',
          on: { RESET: { target: ['.left.l1', '.right.r1'] } },
          states: {
            left: { initial: 'l1', states: { l1: {} } },
            right: { initial: 'r1', states: { r1: {} } },
          },
        },
        finished: { type: 'final' },
      },
    });
    expect(machineGraph(machine)).toEqual<MachineGraph>({
      id: 'nested',
      states: [
        { id: 'outer', parent: undefined, initial: true, final: false, compound: true, entry: [], exit: [] },
        { id: 'outer.inner', parent: 'outer', initial: true, final: false, compound: true, entry: [], exit: [] },
        { id: 'outer.inner.leaf', parent: 'outer.inner', initial: true, final: false, compound: false, entry: [], exit: [] },
        { id: 'outer.inner.end', parent: 'outer.inner', initial: false, final: true, compound: false, entry: [], exit: [] },
        { id: 'outer.closing', parent: 'outer', initial: false, final: false, compound: false, entry: [], exit: [] },
        { id: 'both', parent: undefined, initial: false, final: false, compound: true, entry: [], exit: [] },
        { id: 'both.left', parent: 'both', initial: true, final: false, compound: true, entry: [], exit: [] },
        { id: 'both.left.l1', parent: 'both.left', initial: true, final: false, compound: false, entry: [], exit: [] },
        { id: 'both.right', parent: 'both', initial: true, final: false, compound: true, entry: [], exit: [] },
        { id: 'both.right.r1', parent: 'both.right', initial: true, final: false, compound: false, entry: [], exit: [] },
        { id: 'finished', parent: undefined, initial: false, final: true, compound: false, entry: [], exit: [] },
      ],
      transitions: [
        t('outer.inner', 'done', 'outer.closing'),
        t('outer.inner.leaf', 'NEXT', 'outer.inner.end'),
        t('outer.closing', 'always', 'finished'),
        t('both', 'RESET', 'both.left.l1'),
        t('both', 'RESET', 'both.right.r1'),
      ],
    });
  });

  it('names invocation outcomes after the invoked actor, and built-in actions by what they do', () => {
    const machine = setup({
      actors: { fetcher: fromPromise(async () => 1) },
      actions: { record: (_args, _params: { what: string }) => undefined },
    }).createMachine({
      id: 'invoking',
      initial: 'loading',
      states: {
        loading: {
          invoke: {
            src: 'fetcher',
            onDone: { target: 'ok', actions: [{ type: 'record', params: { what: 'ok' } }, assign({}), log('done')] },
            onError: {
              target: 'failed',
              actions: [emit({ type: 'FAILED' }), sendTo('watcher', { type: 'NOTE' }), cancel('timer'), spawnChild('fetcher'), () => undefined],
            },
          },
        },
        ok: { type: 'final' },
        failed: { type: 'final' },
      },
    });
    expect(machineGraph(machine).transitions).toEqual([
      t('loading', 'done fetcher', 'ok', { actions: ['record', 'assign', 'log'] }),
      t('loading', 'error fetcher', 'failed', { actions: ['emit FAILED', 'sendTo watcher NOTE', 'cancel timer', 'spawnChild fetcher', 'inline'] }),
    ]);
  });

  it('lists entry and exit actions on their state, without the timers of its delayed transitions', () => {
    const machine = setup({
      actors: { worker: fromPromise(async () => 1) },
      actions: { greet: () => undefined, wave: () => undefined },
      delays: { soon: () => 5 },
    }).createMachine({
      id: 'effects',
      initial: 'a',
      states: {
        a: {
          entry: ['greet', raise({ type: 'PING' }, { delay: 'soon', id: 'ping' }), spawnChild('worker', { id: 'w' })],
          exit: [cancel('ping'), stopChild('w'), 'wave'],
          after: { soon: 'b', 100: 'b' },
        },
        b: {},
      },
    });
    const [a, b] = machineGraph(machine).states;
    expect(a).toEqual({
      id: 'a',
      parent: undefined,
      initial: true,
      final: false,
      compound: false,
      entry: ['greet', 'raise PING after soon', 'spawnChild worker'],
      exit: ['cancel ping', 'stopChild w', 'wave'],
    });
    expect(b).toMatchObject({ entry: [], exit: [] });
  });

  it('keeps targetless and re-entering transitions apart', () => {
    const machine = setup({ actions: { count: () => undefined } }).createMachine({
      id: 'loops',
      initial: 'a',
      states: {
        a: {
          initial: 'a1',
          states: { a1: {} },
          on: {
            STAY: { actions: 'count' },
            AGAIN: { target: 'a', reenter: true },
            DOWN: { target: '.a1' },
            DOWN_AGAIN: { target: '.a1', reenter: true },
          },
        },
      },
    });
    expect(machineGraph(machine).transitions).toEqual([
      t('a', 'STAY', undefined, { actions: ['count'] }),
      t('a', 'AGAIN', 'a', { reenter: true }),
      t('a', 'DOWN', 'a.a1'),
      t('a', 'DOWN_AGAIN', 'a.a1', { reenter: true }),
    ]);
  });

  it('reads the definition only: the same machine gives the same graph, in definition order', () => {
    const first = machineGraph(reporterMachine);
    expect(machineGraph(reporterMachine)).toEqual(first);
    expect(first.states.map((s) => s.id)).toEqual(['idle', 'batching', 'sending', 'retrying', 'draining', 'draining.sending', 'draining.retrying', 'ended']);
    expect(first.transitions[0]).toEqual(t('reporter', 'DEADLINE', 'ended', { actions: ['abandonAll'] }));
    expect(first.transitions.filter((x) => x.source === 'idle').map((x) => `${x.event}→${x.target}`)).toEqual(['LOG→batching', 'STOP→draining', 'STOP→ended']);
  });

  it('refuses what is not an XState machine, and a top-level state named like the machine', () => {
    expect(() => machineGraph(null as never)).toThrow(/Expected an XState v5 machine \(with a `root` state node\), got `null`/);
    expect(() => machineGraph({ id: 'x' } as never)).toThrow(/Expected an XState v5 machine .*got an object with keys id/);
    const clash = setup({}).createMachine({ id: 'same', initial: 'same', states: { same: {} } });
    expect(() => machineGraph(clash)).toThrow(/no top-level state named like the machine \(`same`\)/);
  });
});

describe('toMermaid', () => {
  it('declares nested and parallel states, lists targetless transitions inside their state, and groups arrows', () => {
    const machine = setup({ actions: { note: () => undefined }, guards: { ok: () => true } }).createMachine({
      id: 'shapes',
      initial: 'default',
      on: { 'ns:ping': { actions: 'note' }, ABORT: { target: '.done' } },
      states: {
        default: {
          on: {
            GO: { target: 'wait-ing', guard: 'ok' },
            RETRY: { target: 'default', reenter: true },
            AGAIN: { target: 'default', reenter: true, actions: 'note' },
            STAY: { actions: 'note' },
          },
        },
        'wait-ing': {
          initial: 'inner',
          states: { inner: { on: { TICK: { actions: 'note' }, OUT: '#shapes.done' } } },
          on: { SPLIT: 'both' },
        },
        both: {
          type: 'parallel',
          states: {
            left: { on: { L: { actions: 'note' } } },
            right: {},
          },
          on: { DONE: 'done' },
        },
        done: { type: 'final' },
      },
    });
    expect(toMermaid(machineGraph(machine))).toBe(
      [
        'stateDiagram-v2',
        '  state "default" as state_default',
        '  state_default : STAY / note',
        '  note left of state_default : ns∶ping in any state / note',
        '  state "wait-ing" as wait_ing',
        '  state wait_ing {',
        '    state "inner" as wait_ing_inner',
        '    wait_ing_inner : TICK / note',
        '    [*] --> wait_ing_inner',
        '  }',
        '  state "both" as both',
        '  state both {',
        '    state "left" as both_left',
        '    both_left : L / note',
        '    --',
        '    state "right" as both_right',
        '  }',
        '  state "done" as done',
        '  note left of done : ABORT in any state',
        '  [*] --> state_default',
        '  done --> [*]',
        '  state_default --> wait_ing : GO [ok]',
        '  state_default --> state_default : RETRY (reenter)<br/>AGAIN / note (reenter)',
        '  wait_ing --> both : SPLIT',
        '  wait_ing_inner --> done : OUT',
        '  both --> done : DONE',
        '',
      ].join('\n'),
    );
  });

  it("puts entry and exit actions first among a simple state's lines, and a composite's own lines in a note", () => {
    const graph: MachineGraph = {
      id: 'm',
      states: [
        { id: 'a', parent: undefined, initial: true, final: false, compound: false, entry: ['x'], exit: ['y', 'z'] },
        { id: 'b', parent: undefined, initial: false, final: false, compound: true, entry: ['p'], exit: [] },
        { id: 'b.c', parent: 'b', initial: true, final: false, compound: false, entry: [], exit: [] },
      ],
      transitions: [t('a', 'STAY', undefined, { actions: ['w'] }), t('b', 'KEEP', undefined)],
    };
    expect(toMermaid(graph)).toBe(
      [
        'stateDiagram-v2',
        '  state "a" as a',
        '  a : entry / x',
        '  a : exit / y, z',
        '  a : STAY / w',
        '  state "b" as b',
        '  state b {',
        '    state "c" as b_c',
        '    [*] --> b_c',
        '  }',
        '  note right of b',
        '    entry / p',
        '    KEEP',
        '  end note',
        '  [*] --> a',
        '',
      ].join('\n'),
    );
  });

  it('replaces the characters that end or mark up a Mermaid label', () => {
    const graph: MachineGraph = {
      id: 'm',
      states: [{ id: 'a', parent: undefined, initial: true, final: false, compound: false, entry: [], exit: [] }],
      transitions: [t('a', 'x:y;z', 'a', { guard: 'p < q > r', actions: ['say "hi"\nthere'] })],
    };
    expect(toMermaid(graph)).toContain('  a --> a : x∶y\u037ez [p ‹ q › r] / say "hi" there\n');
  });

  it('refuses a transition to a state the graph does not have', () => {
    const graph: MachineGraph = {
      id: 'm',
      states: [{ id: 'a', parent: undefined, initial: true, final: false, compound: false, entry: [], exit: [] }],
      transitions: [t('a', 'GO', 'missing')],
    };
    expect(() => toMermaid(graph)).toThrow(/Expected every transition to join states of the graph, got `missing` in a --GO-->/);
  });
});
