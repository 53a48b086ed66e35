/**
 * Bounded model checking of the real lifecycle machine: every reachable state
 * of the machine composed with its world, under small bounds, with the
 * invariants asserted in each state and on each transition, and a proof that
 * every edge of the machine's static graph is taken by some path.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { type AnyTransitionDefinition, createMachine } from 'xstate';
import { type AdjacencyMap, type AdjacencyValue, getAdjacencyMap, getShortestPaths, getSimplePaths, toDirectedGraph } from 'xstate/graph';
import { reporterMachine } from '../machines/reporter.machine.js';
import {
  type Bounds,
  type ModelEvent,
  SMALL_BOUNDS,
  type SystemState,
  enabledEvents,
  modelMachine,
  stateKey,
  stateName,
  stateViolation,
  stepViolation,
  systemLogic,
} from './system.js';

type Machine = typeof reporterMachine;

interface Exploration {
  adjacency: AdjacencyMap<SystemState, ModelEvent>;
  states: number;
  transitions: number;
  taken: Set<AnyTransitionDefinition>;
  violations: string[];
}

function explore(machine: Machine, bounds: Bounds): Exploration {
  const taken = new Set<AnyTransitionDefinition>();
  const logic = systemLogic(machine, bounds, (transitions) => transitions.forEach((t) => taken.add(t)));
  const adjacency = getAdjacencyMap(logic, {
    events: (state) => enabledEvents(state, bounds),
    serializeState: stateKey,
    serializeEvent: (event) => JSON.stringify(event) as never,
    limit: 2_000_000,
    // A state that breaks an invariant is reported, not expanded: a planted
    // bug such as unbounded retries would otherwise never stop growing.
    stopWhen: (state) => stateViolation(state, bounds) !== undefined,
  });
  const violations: string[] = [];
  let transitions = 0;
  for (const [key, { state, transitions: next }] of entries(adjacency)) {
    const bad = stateViolation(state, bounds);
    if (bad) violations.push(`${bad} in ${key}`);
    for (const [event, { state: after }] of Object.entries(next)) {
      transitions++;
      const badStep = stepViolation(state, after);
      if (badStep) violations.push(`${badStep}: ${key} --${event}--> ${stateKey(after)}`);
    }
  }
  violations.push(...liveness(adjacency));
  return { adjacency, states: Object.keys(adjacency).length, transitions, taken, violations };
}

/**
 * From every state, the session can end; and once stop() has been called,
 * it ends through the server's answers alone, without needing the deadline.
 */
function liveness(adjacency: AdjacencyMap<SystemState, ModelEvent>): string[] {
  const canEnd = backwardsFrom(
    adjacency,
    (s) => stateName(s.machine.value) === 'ended',
    () => true,
  );
  const drainsAlone = backwardsFrom(
    adjacency,
    (s) => stateName(s.machine.value) === 'ended',
    (event) => event.type !== 'deadline',
  );
  const found: string[] = [];
  for (const [key, { state }] of entries(adjacency)) {
    if (!canEnd.has(key)) found.push(`cannot end from ${key}`);
    else if (state.world.stopCalled && !drainsAlone.has(key)) found.push(`stop needs the deadline to end from ${key}`);
  }
  return found;
}

function backwardsFrom(
  adjacency: AdjacencyMap<SystemState, ModelEvent>,
  goal: (state: SystemState) => boolean,
  allowed: (event: ModelEvent) => boolean,
): Set<string> {
  const predecessors = new Map<string, string[]>();
  for (const [key, { transitions }] of entries(adjacency)) {
    for (const { event, state } of Object.values(transitions)) {
      if (!allowed(event)) continue;
      const target = stateKey(state);
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

function entries(adjacency: AdjacencyMap<SystemState, ModelEvent>): [string, AdjacencyValue<SystemState, ModelEvent>][] {
  return Object.entries(adjacency) as [string, AdjacencyValue<SystemState, ModelEvent>][];
}

function staticEdges(machine: Machine) {
  const edges: { id: string; label: string; transition: AnyTransitionDefinition }[] = [];
  const walk = (node: ReturnType<typeof toDirectedGraph>) => {
    for (const edge of node.edges)
      edges.push({ id: `${edge.source.id} --${edge.label.text}--> ${edge.target.id}`, label: edge.label.text, transition: edge.transition });
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

/**
 * Under Stryker each machine mutant reruns this suite, so the exhaustive
 * check there allows two logs instead of four; `npm test` always runs the
 * bounds named in the test.
 */
const MUTATION_RUN = process.env.STRYKER_MUTATOR_WORKER !== undefined;
const PROOF_BOUNDS: Bounds = MUTATION_RUN ? { ...SMALL_BOUNDS, maxLogs: 2 } : SMALL_BOUNDS;

describe('bounded model check of the lifecycle machine', () => {
  const machine = modelMachine(PROOF_BOUNDS);
  let result: Exploration;
  beforeAll(() => {
    const started = performance.now();
    result = explore(machine, PROOF_BOUNDS);
    console.log(`bounded model check took ${Math.round(performance.now() - started)} ms`);
  }, 120_000);

  it('holds every invariant in every reachable state and on every transition (exhaustive for maxQueueSize 4, maxBatchSize 2, maxRetries 2, flushThreshold 3, 4 logs)', () => {
    console.log(`bounded model check: ${result.states} states, ${result.transitions} transitions explored`);
    expect(result.states).toBeGreaterThan(MUTATION_RUN ? 100 : 20_000);
    expect(result.violations.slice(0, 5)).toEqual([]);
  });

  it('takes every edge of the machine’s static graph on some path', () => {
    const edges = staticEdges(machine);
    console.log(`graph coverage: ${edges.length - uncovered(machine, result.taken).length}/${edges.length} edges`);
    expect(uncovered(machine, result.taken)).toEqual([]);
  });

  it('reports an edge that no path takes', () => {
    const config = reporterMachine.config as unknown as { states: Record<string, { on?: Record<string, unknown> }> };
    const withDeadEdge = createMachine(
      {
        ...(reporterMachine.config as object),
        states: { ...config.states, idle: { ...config.states.idle, on: { ...config.states.idle!.on, THRESHOLD: { target: 'sending' } } } },
      } as never,
      reporterMachine.implementations as never,
    ) as unknown as Machine;
    const planted = modelMachine(SMALL_BOUNDS);
    const broken = withDeadEdge.provide({ guards: planted.implementations.guards });
    const small = { ...SMALL_BOUNDS, maxLogs: 2 };
    expect(uncovered(broken, explore(broken, small).taken)).toEqual(['reporter.idle --THRESHOLD--> reporter.sending']);
  });

  it('gives a shortest path to every reachable state, each step of which keeps the invariants', () => {
    const small: Bounds = { ...SMALL_BOUNDS, maxLogs: 2 };
    const logic = systemLogic(modelMachine(small), small);
    const paths = getShortestPaths(logic, {
      events: (s) => enabledEvents(s, small),
      serializeState: stateKey,
      serializeEvent: (e) => JSON.stringify(e) as never,
    });
    expect(paths.length).toBeGreaterThan(100);
    for (const path of paths) {
      let previous: SystemState | undefined;
      for (const step of path.steps) {
        expect(stateViolation(step.state, small)).toBeUndefined();
        if (previous) expect(stepViolation(previous, step.state)).toBeUndefined();
        previous = step.state;
      }
    }
  });

  it('keeps the invariants along every simple path of a tiny configuration', () => {
    const tiny: Bounds = { maxQueueSize: 2, maxBatchSize: 1, maxRetries: 1, flushThreshold: 2, maxLogs: 1 };
    const logic = systemLogic(modelMachine(tiny), tiny);
    const paths = getSimplePaths(logic, {
      events: (s) => enabledEvents(s, tiny).filter((e) => e.type !== 'fatal' && e.type !== 'flush'),
      serializeState: stateKey,
      serializeEvent: (e) => JSON.stringify(e) as never,
      toState: (s) => stateName(s.machine.value) === 'ended',
    });
    console.log(`simple paths to ended (tiny bounds): ${paths.length}`);
    expect(paths.length).toBeGreaterThan(10);
    for (const path of paths) {
      for (const step of path.steps) expect(stateViolation(step.state, tiny)).toBeUndefined();
      expect(path.state.world.flush).toBe(path.state.world.push);
    }
  });
});

describe('planted machine bugs are caught by the model check', () => {
  const small: Bounds = { ...SMALL_BOUNDS, maxLogs: 3 };
  const plant = (guards: Record<string, (...args: never[]) => boolean>) => modelMachine(small).provide({ guards });

  it('catches retrying without a bound', () => {
    const broken = plant({ canRetry: ({ event }: { event: { type: string; kind?: string } }) => event.type === 'FAIL' && event.kind === 'retryable' });
    expect(explore(broken, { ...small, maxLogs: 1 }).violations.join('\n')).toMatch(/more attempts than maxRetries/);
  });

  it('catches events left behind when the machine ignores the queue', () => {
    const broken = plant({ hasPending: () => false });
    expect(explore(broken, small).violations.join('\n')).toMatch(/left behind|without a batch|without a queue/);
  });

  it('catches a stop that only the deadline can finish', () => {
    const broken = plant({ isStopping: () => false });
    expect(explore(broken, small).violations.join('\n')).toMatch(/stop needs the deadline/);
  });
});
