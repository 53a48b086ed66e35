/**
 * The real lifecycle machine composed with a deliberately small model of the
 * world it runs in: counts for the queue, the batch in flight and the split
 * halves, and the reporter's counters. The machine's guards read this world
 * and its named actions are applied to it, so a state of the composition is
 * the machine's state value and context plus every counter, and nothing is
 * merged away when it is used as the state key of xstate's graph utilities.
 *
 * Timer and actor events are supplied by hand, depending on the state: the
 * flush-interval and backoff `after` events, and ACK/FAIL from `sendBatch`.
 */
import { type ActorLogic, type AnyTransitionDefinition, type EventObject, type SnapshotFrom, getMicrosteps, initialTransition } from 'xstate';
import { reporterMachine } from '../machines/reporter.machine.js';

/** The small bounds under which every reachable state is explored. */
export interface Bounds {
  maxQueueSize: number;
  maxBatchSize: number;
  maxRetries: number;
  flushThreshold: number;
  /** How many `log` calls a path may make, which keeps the space finite. */
  maxLogs: number;
}

export const SMALL_BOUNDS: Bounds = { maxQueueSize: 4, maxBatchSize: 2, maxRetries: 2, flushThreshold: 3, maxLogs: 4 };

export interface World {
  queue: number;
  current: number;
  carry: number[];
  push: number;
  flush: number;
  delivered: number;
  dropped: { queue_full: number; rejected: number; retries_exhausted: number; shutdown: number };
  sessionEnded: boolean;
  endsAccepted: number;
  logs: number;
  stopCalled: boolean;
  fatalCalled: boolean;
}

export type ModelEvent =
  | { type: 'log' }
  | { type: 'flush' }
  | { type: 'fatal' }
  | { type: 'stop' }
  | { type: 'deadline' }
  | { type: 'tick' }
  | { type: 'backoff' }
  | { type: 'ack' }
  | { type: 'fail'; kind: 'retryable' | 'rejected' | 'too_large' };

type Machine = typeof reporterMachine;
type MachineSnapshot = SnapshotFrom<Machine>;

/** A state of the composition; an xstate snapshot so the graph utilities accept it. */
export interface SystemState {
  status: 'active';
  output: undefined;
  error: undefined;
  machine: MachineSnapshot;
  world: World;
}

const system = (machine: MachineSnapshot, world: World): SystemState => ({ status: 'active', output: undefined, error: undefined, machine, world });

/** The world the guards of the machine being stepped read; set just before each step. */
let currentWorld: World | undefined;
const world = (): World => {
  if (currentWorld === undefined) throw new Error('no world is being stepped');
  return currentWorld;
};

/** The machine with its world-reading guards, before any test-specific override. */
export function modelMachine(bounds: Bounds): Machine {
  return reporterMachine.provide({
    guards: {
      hasPending: () => world().queue > 0 || world().carry.length > 0,
      atThreshold: () => world().queue >= bounds.flushThreshold,
      fullBatchWaits: () => world().queue >= bounds.maxBatchSize,
      splitPending: () => world().carry.length > 0,
    },
  });
}

/** A state value as one string: `draining.sending`. */
export function stateName(value: unknown): string {
  if (typeof value === 'string') return value;
  const [key, child] = Object.entries(value as Record<string, unknown>)[0] ?? ['', undefined];
  return `${key}.${stateName(child)}`;
}

/** Everything that tells two states apart. */
export function stateKey(state: SystemState): string {
  const { context } = state.machine;
  const w = state.world;
  return JSON.stringify([
    stateName(state.machine.value),
    context.attempt,
    context.stopping,
    context.flushRequested,
    w.queue,
    w.current,
    w.carry,
    w.push,
    w.flush,
    w.delivered,
    w.dropped,
    w.sessionEnded,
    w.endsAccepted,
    w.logs,
    w.stopCalled,
    w.fatalCalled,
  ]);
}

/** The events that can happen in `state`, timers and server answers included. */
export function enabledEvents(state: SystemState, bounds: Bounds): ModelEvent[] {
  const name = stateName(state.machine.value);
  if (name === 'ended') return [];
  const w = state.world;
  const events: ModelEvent[] = [{ type: 'flush' }];
  if (w.logs < bounds.maxLogs) events.push({ type: 'log' });
  if (!w.fatalCalled && !w.stopCalled) events.push({ type: 'fatal' });
  if (!w.stopCalled) events.push({ type: 'stop' });
  if (w.stopCalled) events.push({ type: 'deadline' });
  if (name === 'batching') events.push({ type: 'tick' });
  if (name === 'retrying' || name === 'draining.retrying') events.push({ type: 'backoff' });
  if (name === 'sending' || name === 'draining.sending') {
    events.push({ type: 'ack' }, { type: 'fail', kind: 'retryable' }, { type: 'fail', kind: 'rejected' }, { type: 'fail', kind: 'too_large' });
  }
  return events;
}

const AFTER_EVENTS: Record<string, string> = {
  batching: 'xstate.after.flushInterval.reporter.batching',
  retrying: 'xstate.after.retryBackoff.reporter.retrying',
  'draining.retrying': 'xstate.after.retryBackoff.reporter.draining.retrying',
};

/** What the reporter does to the world for a caller's call, and which machine events follow. */
function effects(w: World, event: ModelEvent, bounds: Bounds, state: string): EventObject[] {
  switch (event.type) {
    case 'log': {
      w.logs++;
      if (w.sessionEnded || w.queue >= bounds.maxQueueSize) return [];
      return accept(w, bounds);
    }
    case 'flush':
      return [{ type: 'FLUSH' }];
    case 'fatal':
      w.fatalCalled = true;
      return [...(w.sessionEnded || w.queue >= bounds.maxQueueSize ? [] : accept(w, bounds)), ...endSession(w, bounds), { type: 'FLUSH' }];
    case 'stop':
      w.stopCalled = true;
      return [...endSession(w, bounds), { type: 'STOP' }];
    case 'deadline':
      return [{ type: 'DEADLINE' }];
    case 'tick':
    case 'backoff':
      return [{ type: AFTER_EVENTS[state] ?? 'unknown' }];
    case 'ack':
      return [{ type: 'ACK' }];
    case 'fail':
      return [{ type: 'FAIL', kind: event.kind, retryDelayMs: 1, batchSize: w.current } as EventObject];
  }
}

function accept(w: World, bounds: Bounds): EventObject[] {
  w.queue++;
  w.push++;
  const signals: EventObject[] = [];
  if (w.queue === 1) signals.push({ type: 'LOG' });
  if (w.queue === bounds.flushThreshold) signals.push({ type: 'THRESHOLD' });
  return signals;
}

function endSession(w: World, bounds: Bounds): EventObject[] {
  if (w.sessionEnded) return [];
  w.sessionEnded = true;
  if (w.queue >= bounds.maxQueueSize) {
    w.queue--;
    w.flush++;
    w.dropped.queue_full++;
  }
  w.queue++;
  w.push++;
  w.endsAccepted++;
  return [];
}

/** Applies one of the machine's named actions to the world. */
function apply(w: World, action: { type: string; params?: unknown }): void {
  switch (action.type) {
    case 'deliverBatch':
      w.delivered += w.current;
      w.flush += w.current;
      w.current = 0;
      break;
    case 'dropBatch': {
      const reason = (action.params as { reason: 'rejected' | 'retries_exhausted' }).reason;
      w.dropped[reason] += w.current;
      w.flush += w.current;
      w.current = 0;
      break;
    }
    case 'splitBatch': {
      const first = Math.ceil(w.current / 2);
      w.carry.unshift(w.current - first);
      w.current = first;
      break;
    }
    case 'abandonAll': {
      const lost = w.current + w.queue + w.carry.reduce((a, b) => a + b, 0);
      w.dropped.shutdown += lost;
      w.flush += lost;
      w.current = 0;
      w.queue = 0;
      w.carry = [];
      break;
    }
  }
}

/** Entering a sending state starts `sendBatch`, which takes a batch when there is none. */
function takeBatchIfSending(w: World, state: string, bounds: Bounds): void {
  if ((state !== 'sending' && state !== 'draining.sending') || w.current > 0) return;
  const carried = w.carry.shift();
  if (carried !== undefined) {
    w.current = carried;
    return;
  }
  w.current = Math.min(w.queue, bounds.maxBatchSize);
  w.queue -= w.current;
}

function cloneWorld(w: World): World {
  return { ...w, carry: [...w.carry], dropped: { ...w.dropped } };
}

/**
 * The composition as xstate actor logic, so `getAdjacencyMap` and
 * `getShortestPaths` can walk it. `onTransitions` hears every transition
 * definition of the machine that a step takes (for the coverage proof).
 */
export function systemLogic(
  machine: Machine,
  bounds: Bounds,
  onTransitions: (taken: AnyTransitionDefinition[]) => void = () => undefined,
): ActorLogic<SystemState, ModelEvent> {
  const step = (state: SystemState, event: ModelEvent): SystemState => {
    const w = cloneWorld(state.world);
    let snapshot = state.machine;
    for (const machineEvent of effects(w, event, bounds, stateName(snapshot.value))) {
      currentWorld = w;
      const taken = machine.getTransitionData(snapshot, machineEvent as never);
      const micro = getMicrosteps(machine, snapshot, machineEvent as never);
      onTransitions(taken);
      let next = snapshot;
      for (const [after, actions] of micro) {
        for (const action of actions) {
          apply(w, action);
          // A raise without a delay is processed in the same macrostep: record what it takes too.
          const raised = (action as { type: string; params?: { event?: EventObject; delay?: number } }).params;
          if (action.type === 'xstate.raise' && raised?.delay === undefined && raised?.event !== undefined) {
            onTransitions(machine.getTransitionData(after, raised.event as never));
          }
        }
        next = after;
      }
      snapshot = next;
      takeBatchIfSending(w, stateName(snapshot.value), bounds);
      currentWorld = undefined;
    }
    return system(snapshot, w);
  };

  return {
    config: undefined,
    transition: step,
    getInitialSnapshot: () => {
      const w: World = {
        queue: 0,
        current: 0,
        carry: [],
        push: 0,
        flush: 0,
        delivered: 0,
        dropped: { queue_full: 0, rejected: 0, retries_exhausted: 0, shutdown: 0 },
        sessionEnded: false,
        endsAccepted: 0,
        logs: 0,
        stopCalled: false,
        fatalCalled: false,
      };
      currentWorld = w;
      const [initial] = initialTransition(machine, { flushIntervalMs: 100, maxRetries: bounds.maxRetries });
      // The reporter queues SESSION_START as it starts, like any accepted event.
      let snapshot = initial;
      for (const signal of accept(w, bounds)) snapshot = getMicrosteps(machine, snapshot, signal as never).at(-1)?.[0] ?? snapshot;
      currentWorld = undefined;
      return system(snapshot, w);
    },
  } as unknown as ActorLogic<SystemState, ModelEvent>;
}

/** A violated invariant, or undefined. Checked in every reachable state. */
export function stateViolation(state: SystemState, bounds: Bounds): string | undefined {
  const w = state.world;
  const name = stateName(state.machine.value);
  const carried = w.carry.reduce((a, b) => a + b, 0);
  const droppedAfter = w.dropped.queue_full + w.dropped.rejected + w.dropped.retries_exhausted + w.dropped.shutdown;
  if (w.push !== w.flush + w.queue + w.current + carried) return 'pushCounter ≠ flushCounter + queueSize + inFlight';
  if (w.flush > w.push) return 'flushCounter > pushCounter';
  if (w.flush !== w.delivered + droppedAfter) return 'an event reached an outcome without being counted';
  if (w.queue > bounds.maxQueueSize) return 'queueSize > maxQueueSize';
  if (w.current > bounds.maxBatchSize) return 'batch larger than maxBatchSize';
  if (w.endsAccepted > 1) return 'more than one SESSION_END';
  if ((w.stopCalled || w.fatalCalled) && w.endsAccepted !== 1) return 'no SESSION_END after stop or fatal';
  if (state.machine.context.attempt > bounds.maxRetries) return 'more attempts than maxRetries allows';
  const idleLike = name === 'idle' || name === 'ended';
  if (idleLike && (w.queue > 0 || w.current > 0 || carried > 0)) return `${name} with events left behind`;
  if (name === 'batching' && (w.current > 0 || carried > 0 || w.queue === 0)) return 'batching without a queue, or with a batch (or split half) in flight';
  if ((name.endsWith('sending') || name.endsWith('retrying')) && w.current === 0) return `${name} without a batch`;
  if (name === 'ended' && w.flush !== w.push) return 'ended with events unaccounted for';
  return undefined;
}

/** A violated step invariant, or undefined. Checked on every (state, event, next state). */
export function stepViolation(before: SystemState, after: SystemState): string | undefined {
  const a = before.world;
  const b = after.world;
  if (b.flush < a.flush || b.push < a.push || b.delivered < a.delivered) return 'a counter went backwards';
  if (a.sessionEnded && b.push !== a.push) return 'an event was accepted after SESSION_END';
  if (stateName(before.machine.value) === 'ended' && stateName(after.machine.value) !== 'ended') return 'left ended';
  return undefined;
}
