/**
 * Bounded model checking of the real session machine: every reachable state
 * of the machine composed with its world (`session-system.ts`), with the
 * invariants asserted in each state and on each step, liveness checked over
 * the whole graph, and a proof that every edge of the machine's static graph
 * is taken by some path.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { type AnyTransitionDefinition, createMachine } from 'xstate';
import { type AdjacencyMap, type AdjacencyValue, getAdjacencyMap, getShortestPaths, getSimplePaths, toDirectedGraph } from 'xstate/graph';
import { sessionMachine } from '../machines/session.machine.js';
import {
  CLOSE_TIMEOUT_MS,
  MODEL_INPUT,
  SESSION_BOUNDS,
  type SessionBounds,
  type SessionModelEvent,
  type SessionSystemState,
  sessionEnabledEvents,
  sessionStateKey,
  sessionStateName,
  sessionStateViolation,
  sessionStepViolation,
  sessionSystemLogic,
} from './session-system.js';

type Machine = typeof sessionMachine;
type Adjacency = AdjacencyMap<SessionSystemState, SessionModelEvent>;

interface Exploration {
  adjacency: Adjacency;
  states: number;
  transitions: number;
  taken: Set<AnyTransitionDefinition>;
  violations: string[];
}

const serializeEvent = (event: SessionModelEvent) => JSON.stringify(event) as never;

function explore(machine: Machine, bounds: SessionBounds): Exploration {
  const taken = new Set<AnyTransitionDefinition>();
  const logic = sessionSystemLogic(machine, (transitions) => transitions.forEach((t) => taken.add(t)));
  const adjacency = getAdjacencyMap(logic, {
    events: (state) => sessionEnabledEvents(state, bounds),
    serializeState: sessionStateKey,
    serializeEvent,
    limit: 500_000,
    // A state that breaks an invariant is reported, not expanded.
    stopWhen: (state) => sessionStateViolation(state) !== undefined,
  });
  const violations: string[] = [];
  let transitions = 0;
  for (const [key, { state, transitions: next }] of entries(adjacency)) {
    const bad = sessionStateViolation(state);
    if (bad) violations.push(`${bad} in ${key}`);
    for (const { event, state: after } of Object.values(next)) {
      transitions++;
      const badStep = sessionStepViolation(state, event, after);
      if (badStep) violations.push(`${badStep}: ${key} --${JSON.stringify(event)}--> ${sessionStateKey(after)}`);
    }
  }
  violations.push(...liveness(adjacency));
  return { adjacency, states: Object.keys(adjacency).length, transitions, taken, violations };
}

const isDeadline = (event: SessionModelEvent) => event.type === 'timer' && event.id.startsWith('xstate.after.closeDeadline.');

/**
 * From every state the session can end (closed or failed); and once it is
 * closing, the deadline alone ends it in `closed`, whatever the drain, the
 * heartbeat or the futures do.
 */
function liveness(adjacency: Adjacency): string[] {
  const ended = (s: SessionSystemState) => ['closed', 'failed'].includes(sessionStateName(s.machine.value));
  const canEnd = backwardsFrom(adjacency, ended, () => true);
  const byDeadline = backwardsFrom(adjacency, (s) => sessionStateName(s.machine.value) === 'closed', isDeadline);
  const found: string[] = [];
  for (const [key, { state }] of entries(adjacency)) {
    if (!canEnd.has(key)) found.push(`cannot end from ${key}`);
    else if (sessionStateName(state.machine.value) === 'closing' && !byDeadline.has(key)) found.push(`close needs more than its deadline to end from ${key}`);
  }
  return found;
}

function backwardsFrom(adjacency: Adjacency, goal: (state: SessionSystemState) => boolean, allowed: (event: SessionModelEvent) => boolean): Set<string> {
  const predecessors = new Map<string, string[]>();
  for (const [key, { transitions }] of entries(adjacency)) {
    for (const { event, state } of Object.values(transitions)) {
      if (!allowed(event)) continue;
      const target = sessionStateKey(state);
      predecessors.set(target, [...(predecessors.get(target) ?? []), key]);
    }
  }
  const reached = new Set(
    entries(adjacency)
      .filter(([, { state }]) => goal(state))
      .map(([key]) => key),
  );
  const frontier = [...reached];
  while (frontier.length > 0) {
    for (const previous of predecessors.get(frontier.pop()!) ?? []) {
      if (!reached.has(previous)) {
        reached.add(previous);
        frontier.push(previous);
      }
    }
  }
  return reached;
}

function entries(adjacency: Adjacency): [string, AdjacencyValue<SessionSystemState, SessionModelEvent>][] {
  return Object.entries(adjacency) as [string, AdjacencyValue<SessionSystemState, SessionModelEvent>][];
}

function staticEdges(machine: Machine) {
  const edges: { id: string; transition: AnyTransitionDefinition }[] = [];
  const walk = (node: ReturnType<typeof toDirectedGraph>) => {
    for (const edge of node.edges) edges.push({ id: `${edge.source.id} --${edge.label.text}--> ${edge.target.id}`, transition: edge.transition });
    node.children.forEach(walk);
  };
  walk(toDirectedGraph(machine));
  return edges;
}

function uncovered(machine: Machine, taken: Set<AnyTransitionDefinition>): string[] {
  return staticEdges(machine)
    .filter((edge) => !taken.has(edge.transition))
    .map((edge) => edge.id);
}

/** The machine with its definition changed by `change` (a planted bug), its implementations kept. */
function planted(change: (states: Record<string, Record<string, unknown>>) => void): Machine {
  const original = sessionMachine.config as unknown as { states: Record<string, Record<string, unknown>> };
  const states = Object.fromEntries(Object.entries(original.states).map(([key, value]) => [key, { ...value }]));
  change(states);
  return createMachine({ ...(original as object), states } as never, sessionMachine.implementations as never) as unknown as Machine;
}

describe('bounded model check of the session machine', () => {
  let result: Exploration;
  beforeAll(() => {
    const started = performance.now();
    result = explore(sessionMachine, SESSION_BOUNDS);
    console.log(`session model check: ${result.states} states, ${result.transitions} transitions in ${Math.round(performance.now() - started)} ms`);
  }, 120_000);

  it('holds every invariant in every reachable state, on every step, and ends from everywhere (3 futures, 3 closes or signals, 2 fatal captures)', () => {
    // Enough to show the exploration really branched: heartbeats, failing, futures, fatal captures and closes interleave.
    expect(result.states).toBeGreaterThan(700);
    expect(result.violations.slice(0, 5)).toEqual([]);
  });

  it('reaches every state of the machine, failing included, and closes from creating, ok, failing and closing', () => {
    const reached = new Set(entries(result.adjacency).map(([, { state }]) => sessionStateName(state.machine.value)));
    expect([...reached].sort()).toEqual(['active.failing', 'active.ok', 'closed', 'closing', 'creating', 'failed']);
    const closedFrom = new Set<string>();
    for (const [, { state, transitions }] of entries(result.adjacency)) {
      for (const { event, state: after } of Object.values(transitions)) {
        if ((event.type === 'close' || event.type === 'signal') && sessionStateName(after.machine.value) !== sessionStateName(state.machine.value)) {
          closedFrom.add(sessionStateName(state.machine.value));
        }
      }
    }
    expect([...closedFrom].sort()).toEqual(['active.failing', 'active.ok', 'creating']);
  });

  it('takes every edge of the machine’s static graph on some path', () => {
    const edges = staticEdges(sessionMachine);
    console.log(`session graph coverage: ${edges.length - uncovered(sessionMachine, result.taken).length}/${edges.length} edges`);
    expect(edges.length).toBe(16);
    expect(uncovered(sessionMachine, result.taken)).toEqual([]);
  });

  it('closes with the deadline close() asked for, and with the default one on a signal', () => {
    const deadlines = new Set<string>();
    for (const [, { state }] of entries(result.adjacency)) {
      if (sessionStateName(state.machine.value) !== 'closing') continue;
      const timer = Object.values(state.world.timers).find((t) => t.event.startsWith('xstate.after.closeDeadline.'));
      deadlines.add(`${state.world.closes}:${timer?.delayMs}`);
    }
    expect([...deadlines].some((d) => d.endsWith(`:${CLOSE_TIMEOUT_MS}`))).toBe(true);
    expect([...deadlines].some((d) => d.endsWith(`:${MODEL_INPUT.closeTimeoutMs}`))).toBe(true);
    expect([...deadlines].every((d) => d.endsWith(`:${CLOSE_TIMEOUT_MS}`) || d.endsWith(`:${MODEL_INPUT.closeTimeoutMs}`))).toBe(true);
  });

  it('gives a shortest path to every reachable state, each step of which keeps the invariants', () => {
    const small: SessionBounds = { maxFutures: 1, maxCloses: 1, maxFatals: 1 };
    const paths = getShortestPaths(sessionSystemLogic(), {
      events: (s) => sessionEnabledEvents(s, small),
      serializeState: sessionStateKey,
      serializeEvent,
    });
    expect(paths.length).toBeGreaterThan(50);
    for (const path of paths) {
      let previous: SessionSystemState | undefined;
      for (const step of path.steps) {
        expect(sessionStateViolation(step.state)).toBeUndefined();
        if (previous) expect(sessionStepViolation(previous, step.event, step.state)).toBeUndefined();
        previous = step.state;
      }
    }
  });

  it('ends every simple path to closed with exactly one SESSION_END when the reporter started, and nothing left running', () => {
    // Futures multiply the paths without reaching new states of the machine; the exhaustive check above covers them.
    const tiny: SessionBounds = { maxFutures: 0, maxCloses: 1, maxFatals: 1 };
    const paths = getSimplePaths(sessionSystemLogic(), {
      events: (s) => sessionEnabledEvents(s, tiny),
      serializeState: sessionStateKey,
      serializeEvent,
      toState: (s) => sessionStateName(s.machine.value) === 'closed',
    });
    console.log(`simple paths to closed (tiny bounds): ${paths.length}`);
    expect(paths.length).toBeGreaterThan(100);
    for (const path of paths) {
      const { world, machine } = path.state;
      expect(world.sessionEnds).toBe(world.reporter === 'none' ? 0 : 1);
      expect([world.timers, Object.keys(machine.children), world.futuresInFlight]).toEqual([{}, [], 0]);
    }
  });
});

describe('planted machine bugs are caught by the model check', () => {
  const small: SessionBounds = { maxFutures: 1, maxCloses: 1, maxFatals: 1 };
  const violationsOf = (machine: Machine) => explore(machine, small).violations.join('\n');

  it('catches a heartbeat left scheduled when active ends', () => {
    const broken = planted((states) => {
      states.active = { ...states.active, exit: [] };
    });
    expect(violationsOf(broken)).toMatch(/a heartbeat (scheduled|in flight) in closing/);
  });

  it('catches heartbeats that stop after a failure', () => {
    const broken = sessionMachine.provide({ actions: { scheduleBeat: () => undefined } });
    expect(violationsOf(broken)).toMatch(/the heartbeats stopped by themselves/);
  });

  it('catches a close that does not stop the reporter, so no SESSION_END is sent', () => {
    const broken = planted((states) => {
      states.closing = { ...states.closing, entry: ['abortFutures'] };
    });
    expect(violationsOf(broken)).toMatch(/closed without SESSION_END/);
  });

  it('catches a close without a deadline, which only the drain could end', () => {
    const broken = planted((states) => {
      states.closing = { ...states.closing, after: {} };
    });
    const found = violationsOf(broken);
    expect(found).toMatch(/closing without its deadline/);
  });

  it('catches futures left polling after the close', () => {
    const broken = planted((states) => {
      states.closing = { ...states.closing, entry: [{ type: 'stopReporter', params: { timeoutMs: 7 } }] };
    });
    expect(violationsOf(broken)).toMatch(/closing with futures still polling/);
  });

  it('catches a session that fails back to ok without a successful beat', () => {
    const broken = planted((states) => {
      const active = states.active as { states: Record<string, Record<string, unknown>> };
      const failing = active.states.failing!;
      states.active = {
        ...active,
        states: {
          ...active.states,
          failing: { ...failing, on: { ...(failing.on as object), HEARTBEAT_FAILED: { target: 'ok', actions: ['beatAnswered', 'scheduleBeat'] } } },
        },
      };
    });
    expect(violationsOf(broken)).toMatch(/back to ok without a success/);
  });
});
