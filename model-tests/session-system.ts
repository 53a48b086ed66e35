/**
 * The real session machine composed with a small model of the world it runs
 * in: the timers it has scheduled (by id, with their delay), the reporter
 * (not started, running, or with SESSION_END queued), and the futures being
 * polled. The machine's named actions are applied to this world, and its
 * built-in actions (a delayed raise, a cancel) schedule and cancel the
 * world's timers; its children (the invoked start-up and close actors, the
 * spawned heartbeat) are read from its snapshot. A state of the composition
 * is the machine's state value, context and children plus the whole world,
 * so nothing is merged away when it is the state key of xstate's graph
 * utilities.
 *
 * What the outside does is a model event: an actor answering, a timer
 * firing (in any order: the model does not order time, which only adds
 * behaviours), a call of the façade (`close()`, a future, a fatal capture)
 * or a process signal.
 */
import { type ActorLogic, type AnyTransitionDefinition, type EventObject, type SnapshotFrom, getMicrosteps, initialTransition } from 'xstate';
import { HEARTBEAT_CHILD_ID, type SessionMachineInput, sessionMachine } from '../machines/session.machine.js';

/** Limits that keep the explored space finite. */
export interface SessionBounds {
  /** Futures a path may start. */
  maxFutures: number;
  /** close() and signal calls a path may make, together. */
  maxCloses: number;
  /** Fatal captures a path may report. */
  maxFatals: number;
}

export const SESSION_BOUNDS: SessionBounds = { maxFutures: 3, maxCloses: 3, maxFatals: 2 };

/** The machine's input in the model; the close deadline of a CLOSE differs from the default so the two can be told apart. */
export const MODEL_INPUT: SessionMachineInput = { heartbeatIntervalMs: 10, heartbeatWarnAfterMs: 100, closeTimeoutMs: 30 };
export const CLOSE_TIMEOUT_MS = 7;

/** A timer the machine scheduled: the event it will raise, and after how long. */
export interface PendingTimer {
  event: string;
  delayMs: number;
}

export interface SessionWorld {
  /** Pending timers by id, the way the machine's clock holds them. */
  timers: Record<string, PendingTimer>;
  reporter: 'none' | 'running' | 'ended';
  /** SESSION_END events queued by the reporter: by its fatal path or by its stop. */
  sessionEnds: number;
  startReporterCalls: number;
  stopReporterCalls: number;
  futuresStarted: number;
  futuresInFlight: number;
  futuresAborted: number;
  closes: number;
  fatals: number;
  /** warnFailing ran during the last step. */
  warned: boolean;
}

export type SessionModelEvent =
  | { type: 'created' }
  | { type: 'createFailed' }
  | { type: 'close' }
  | { type: 'signal' }
  | { type: 'fatal' }
  | { type: 'timer'; id: string }
  | { type: 'beatOk' }
  | { type: 'beatFailed' }
  | { type: 'futureStarted' }
  | { type: 'futureSettled' }
  | { type: 'drained' }
  | { type: 'closeFailed' };

type Machine = typeof sessionMachine;
type MachineSnapshot = SnapshotFrom<Machine>;

/** A state of the composition; an xstate snapshot so the graph utilities accept it. */
export interface SessionSystemState {
  status: 'active';
  output: undefined;
  error: undefined;
  machine: MachineSnapshot;
  world: SessionWorld;
}

const system = (machine: MachineSnapshot, world: SessionWorld): SessionSystemState => ({
  status: 'active',
  output: undefined,
  error: undefined,
  machine,
  world,
});

/** A state value as one string: `active.failing`. */
export function sessionStateName(value: unknown): string {
  if (typeof value === 'string') return value;
  const [key, child] = Object.entries(value as Record<string, unknown>)[0] ?? ['', undefined];
  return `${key}.${sessionStateName(child)}`;
}

const children = (state: SessionSystemState): string[] => Object.keys(state.machine.children).sort();

/** Everything that tells two states apart. */
export function sessionStateKey(state: SessionSystemState): string {
  const { context } = state.machine;
  const w = state.world;
  return JSON.stringify([
    sessionStateName(state.machine.value),
    context.closeTimeoutMs,
    context.fatal,
    context.sessionId,
    context.error === undefined ? null : JSON.stringify(context.error),
    children(state),
    Object.entries(w.timers).sort(([a], [b]) => a.localeCompare(b)),
    w.reporter,
    w.sessionEnds,
    w.startReporterCalls,
    w.stopReporterCalls,
    w.futuresStarted,
    w.futuresInFlight,
    w.futuresAborted,
    w.closes,
    w.fatals,
    w.warned,
  ]);
}

const isFinal = (name: string) => name === 'closed' || name === 'failed';

/** The events that can happen in `state`, given what is running and what the façade allows. */
export function sessionEnabledEvents(state: SessionSystemState, bounds: SessionBounds): SessionModelEvent[] {
  const name = sessionStateName(state.machine.value);
  if (isFinal(name)) return [];
  const w = state.world;
  const running = new Set(children(state));
  const events: SessionModelEvent[] = [];
  if (running.has('createSession')) events.push({ type: 'created' }, { type: 'createFailed' });
  if (running.has(HEARTBEAT_CHILD_ID)) events.push({ type: 'beatOk' }, { type: 'beatFailed' });
  if (running.has('closeSession')) events.push({ type: 'drained' }, { type: 'closeFailed' });
  for (const id of Object.keys(w.timers).sort()) events.push({ type: 'timer', id });
  if (w.closes < bounds.maxCloses) events.push({ type: 'close' }, { type: 'signal' });
  // Only a running reporter can report a fatal error (the façade hooks the process once it has started one).
  if (w.reporter !== 'none' && w.fatals < bounds.maxFatals) events.push({ type: 'fatal' });
  // The façade refuses a future unless the session is active.
  if (name.startsWith('active') && w.futuresStarted < bounds.maxFutures) events.push({ type: 'futureStarted' });
  if (w.futuresInFlight > 0) events.push({ type: 'futureSettled' });
  return events;
}

/** What the outside does to the world for a model event, and which machine event follows. */
function effects(w: SessionWorld, event: SessionModelEvent): EventObject[] {
  switch (event.type) {
    case 'created':
      return [{ type: 'xstate.done.actor.createSession', output: { sessionId: 'sid' } } as EventObject];
    case 'createFailed':
      return [{ type: 'xstate.error.actor.createSession', error: 'start-up failed' } as EventObject];
    case 'close':
      w.closes++;
      return [{ type: 'CLOSE', timeoutMs: CLOSE_TIMEOUT_MS } as EventObject];
    case 'signal':
      w.closes++;
      return [{ type: 'SIGNAL' }];
    case 'fatal':
      w.fatals++;
      // The reporter's fatal path queues SESSION_END itself, once.
      endReporterSession(w);
      return [{ type: 'FATAL' }];
    case 'timer': {
      const timer = w.timers[event.id];
      delete w.timers[event.id];
      return timer === undefined ? [] : [{ type: timer.event }];
    }
    case 'beatOk':
      return [{ type: 'HEARTBEAT_OK' }];
    case 'beatFailed':
      return [{ type: 'HEARTBEAT_FAILED' }];
    case 'futureStarted':
      w.futuresStarted++;
      w.futuresInFlight++;
      return [];
    case 'futureSettled':
      w.futuresInFlight--;
      return [];
    case 'drained':
      return [{ type: 'xstate.done.actor.closeSession' }];
    case 'closeFailed':
      return [{ type: 'xstate.error.actor.closeSession', error: 'drain failed' } as EventObject];
  }
}

function endReporterSession(w: SessionWorld): void {
  if (w.reporter !== 'running') return;
  w.reporter = 'ended';
  w.sessionEnds++;
}

/** Applies one action of a microstep to the world. */
function apply(w: SessionWorld, action: { type: string; params?: unknown }): void {
  const params = action.params as { id?: string; delay?: number; event?: EventObject; sendId?: string } | undefined;
  switch (action.type) {
    case 'xstate.raise':
      if (params?.delay !== undefined && params.id !== undefined && params.event !== undefined) {
        w.timers[params.id] = { event: params.event.type, delayMs: params.delay };
      }
      break;
    case 'xstate.cancel':
      if (params?.sendId !== undefined) delete w.timers[params.sendId];
      break;
    case 'startReporter':
      w.startReporterCalls++;
      if (w.reporter === 'none') w.reporter = 'running';
      break;
    case 'stopReporter':
      w.stopReporterCalls++;
      endReporterSession(w);
      break;
    case 'abortFutures':
      w.futuresAborted += w.futuresInFlight;
      w.futuresInFlight = 0;
      break;
    case 'warnFailing':
      w.warned = true;
      break;
  }
}

function cloneWorld(w: SessionWorld): SessionWorld {
  return { ...w, timers: { ...w.timers }, warned: false };
}

/**
 * The composition as xstate actor logic, so `getAdjacencyMap` and
 * `getShortestPaths` can walk it. `onTransitions` hears every transition
 * definition of the machine that a step takes (for the coverage proof).
 */
export function sessionSystemLogic(
  machine: Machine = sessionMachine,
  onTransitions: (taken: AnyTransitionDefinition[]) => void = () => undefined,
): ActorLogic<SessionSystemState, SessionModelEvent> {
  const step = (state: SessionSystemState, event: SessionModelEvent): SessionSystemState => {
    const w = cloneWorld(state.world);
    let snapshot = state.machine;
    for (const machineEvent of effects(w, event)) {
      onTransitions(machine.getTransitionData(snapshot, machineEvent as never));
      for (const [after, actions] of getMicrosteps(machine, snapshot, machineEvent as never)) {
        for (const action of actions) apply(w, action);
        snapshot = after;
      }
    }
    return system(snapshot, w);
  };
  return {
    config: undefined,
    transition: step,
    getInitialSnapshot: () => {
      const w: SessionWorld = {
        timers: {},
        reporter: 'none',
        sessionEnds: 0,
        startReporterCalls: 0,
        stopReporterCalls: 0,
        futuresStarted: 0,
        futuresInFlight: 0,
        futuresAborted: 0,
        closes: 0,
        fatals: 0,
        warned: false,
      };
      const [initial, actions] = initialTransition(machine, MODEL_INPUT);
      for (const action of actions) apply(w, action);
      return system(initial, w);
    },
  } as unknown as ActorLogic<SessionSystemState, SessionModelEvent>;
}

/** A violated invariant, or undefined. Checked in every reachable state. */
export function sessionStateViolation(state: SessionSystemState): string | undefined {
  const name = sessionStateName(state.machine.value);
  const w = state.world;
  const running = new Set(children(state));
  const timers = Object.entries(w.timers);
  const active = name.startsWith('active');
  const beatScheduled = timers.some(([, t]) => t.event === 'BEAT');
  const beating = running.has(HEARTBEAT_CHILD_ID);
  if (beating && !active) return `a heartbeat in flight in ${name}`;
  if (beatScheduled && !active) return `a heartbeat scheduled in ${name}`;
  if (active && beating === beatScheduled) return beating ? 'a beat scheduled while one is in flight' : 'the heartbeats stopped by themselves';
  if (timers.filter(([, t]) => t.event === 'BEAT').length > 1) return 'two beats scheduled';
  const warnTimer = timers.some(([, t]) => t.event.startsWith('xstate.after.heartbeatWarnAfter.'));
  if (warnTimer !== (name === 'active.ok')) return `the failing timer ${warnTimer ? 'runs' : 'is missing'} in ${name}`;
  if (running.has('createSession') !== (name === 'creating')) return `start-up ${running.has('createSession') ? 'runs' : 'is missing'} in ${name}`;
  if (running.has('closeSession') !== (name === 'closing')) return `the drain ${running.has('closeSession') ? 'runs' : 'is missing'} in ${name}`;
  if (name === 'closing') {
    const deadline = timers.find(([, t]) => t.event.startsWith('xstate.after.closeDeadline.'));
    if (deadline === undefined) return 'closing without its deadline';
    if (deadline[1].delayMs !== state.machine.context.closeTimeoutMs)
      return `the close deadline is ${deadline[1].delayMs} ms, not the ${state.machine.context.closeTimeoutMs} asked for`;
  }
  if (isFinal(name) && (timers.length > 0 || running.size > 0)) return `${name} with ${timers.map(([id]) => id).join(', ')} ${[...running].join(', ')} left`;
  if (w.sessionEnds > 1) return 'more than one SESSION_END';
  if (w.startReporterCalls > 1 || w.stopReporterCalls > 1) return 'the reporter started or stopped twice';
  if (w.stopReporterCalls > 0 && w.startReporterCalls === 0) return 'a reporter stopped that never started';
  if (name === 'closed' && w.reporter !== 'none' && w.sessionEnds !== 1) return 'closed without SESSION_END';
  if (name === 'failed' && w.reporter !== 'none') return 'a reporter started for a session that failed to start';
  if ((name === 'closing' || isFinal(name)) && w.futuresInFlight > 0) return `${name} with futures still polling`;
  return undefined;
}

/** A violated step invariant, or undefined. Checked on every (state, event, next state). */
export function sessionStepViolation(before: SessionSystemState, event: SessionModelEvent, after: SessionSystemState): string | undefined {
  const from = sessionStateName(before.machine.value);
  const to = sessionStateName(after.machine.value);
  if (isFinal(from) && to !== from) return `left ${from}`;
  if (after.world.warned && to !== 'active.failing') return `warned in ${to}`;
  if (event.type === 'beatFailed' && !(from.startsWith('active') && to.startsWith('active'))) return `a failed heartbeat moved ${from} to ${to}`;
  if ((event.type === 'close' || event.type === 'signal') && from !== 'closing' && to !== 'closing' && to !== 'closed') return `close left the session ${to}`;
  if (to === 'active.ok' && from === 'active.failing' && event.type !== 'beatOk') return 'back to ok without a success';
  return undefined;
}
