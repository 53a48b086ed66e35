/**
 * The demo's view of the two lifecycle machines, the session's and its
 * reporter's. The reporter publishes its transitions on
 * `tinker:telemetry:state`; the session machine has no channel, so its
 * transitions are read from the inspection events that
 * `createSession({ telemetry: { inspect } })` hands over for both machines.
 */
import type { InspectionEvent } from 'xstate';
import type { InspectObserver } from '../src/index.js';

/** One change of a machine's state, named as the diagrams and the terminal name it. */
export interface MachineTransition {
  /** The machine's id: `session` or `reporter`. */
  machine: string;
  /** The dotted state left, e.g. `active.ok`; empty on the machine's first snapshot. */
  from: string;
  /** The dotted state entered. */
  to: string;
  /** The XState event that caused it, e.g. `CLOSE`, `xstate.done.actor.createSession`. */
  event: string;
  /** The `sessionId` in the machine's context, when it holds a non-empty one: the session machine's, once the server has issued it. */
  sessionId: string | undefined;
}

/** `{ active: 'ok' }` → `active.ok`, the names the graphs use. */
export function dottedState(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value !== 'object' || value === null) return String(value);
  const [key, child] = Object.entries(value as Record<string, unknown>)[0] ?? ['', undefined];
  return child === undefined ? key : `${key}.${dottedState(child)}`;
}

/**
 * XState's internal event names as the diagrams label them: a delayed
 * transition `xstate.after.<delay>.<state>` is `after <delay>` (`after 500ms`
 * for a number), an invoked actor's completion and failure
 * `xstate.done.actor.<id>` and `xstate.error.actor.<id>` are `done <id>` and
 * `error <id>`; other events keep their name.
 */
export function eventLabel(event: string): string {
  const delay = /^xstate\.after\.([^.]+)\./.exec(event)?.[1];
  if (delay !== undefined) return /^\d+$/.test(delay) ? `after ${delay}ms` : `after ${delay}`;
  const actor = /^xstate\.(done|error)\.actor\.(.+)$/.exec(event);
  if (actor !== null) return `${actor[1]} ${actor[2]}`;
  return event;
}

/**
 * An inspection observer that calls `onTransition` for each change of state
 * of a root machine (not of the actors it invokes), and for its first
 * snapshot. Snapshots that leave the state as it was (a heartbeat's BEAT, a
 * LOG while batching) are not reported. Never throws: the session and the
 * reporter ignore a throwing observer, and a demo should not rely on that.
 */
export function machineTransitions(onTransition: (transition: MachineTransition) => void): (event: InspectionEvent) => void {
  const last = new Map<string, string>();
  return (event) => {
    try {
      if (event.type !== '@xstate.snapshot' || event.actorRef.sessionId !== event.rootId) return;
      const machine = machineId((event.actorRef as { src?: unknown }).src);
      if (machine === undefined) return;
      const snapshot = event.snapshot as { value?: unknown; context?: { sessionId?: unknown } };
      const to = dottedState(snapshot.value);
      const from = last.get(event.rootId);
      if (from === to) return;
      last.set(event.rootId, to);
      const sessionId = snapshot.context?.sessionId;
      onTransition({
        machine,
        from: from ?? '',
        to,
        event: event.event.type,
        sessionId: typeof sessionId === 'string' && sessionId !== '' ? sessionId : undefined,
      });
    } catch {
      // A demo's observer is not worth breaking a machine over.
    }
  };
}

/** The id of the machine behind an actor: the logic's `id` (`session`, `reporter`); undefined for other logic. */
function machineId(src: unknown): string | undefined {
  const id = typeof src === 'object' && src !== null ? (src as { id?: unknown }).id : undefined;
  return typeof id === 'string' ? id : undefined;
}

/** One observer that hands each inspection event to every observer given, undefined ones skipped; one that throws does not keep the event from the others. */
export function fanOut(...observers: (InspectObserver | undefined)[]): InspectObserver {
  const present = observers.filter((observer) => observer !== undefined);
  return (event: InspectionEvent) => {
    for (const observer of present) {
      try {
        if (typeof observer === 'function') observer(event);
        else observer.next?.(event);
      } catch {
        // As the session and the reporter do: an observer cannot break what it watches.
      }
    }
  };
}
