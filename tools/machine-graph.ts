/**
 * Reads the graph of an XState v5 machine from its definition (the state
 * nodes under `machine.root`), so the lifecycle diagram is derived from the
 * machine itself and cannot drift from it. Nothing here is listed by hand.
 *
 * Conventions, all deterministic:
 * - A state's id is its dotted path from the root: `idle`, `draining.sending`.
 *   The root itself is not a state of the graph; a transition declared on the
 *   root has `source` equal to the machine id (`graph.id`).
 * - States come in document order (parents before children). Transitions come
 *   per state in that order, and per state in the order XState normalises
 *   them: `on` (as written), `onDone`, the invocations' `onDone` / `onError` /
 *   `onSnapshot`, `after`, then `always`.
 * - Events are shown as declared (`LOG`, `*`), delays by name or in ms
 *   (`after flushInterval`, `after 500ms`), eventless transitions as
 *   `always`, a state's own completion as `done`, and an invocation's
 *   completion, error and snapshots as `done sendBatch`, `error sendBatch`,
 *   `snapshot sendBatch`.
 * - Guards render as expressions: `and`/`or`/`not` become `&&`, `||`, `!`,
 *   with parentheses where a nested combinator would otherwise read wrongly;
 *   `stateIn` becomes `in(…)`; an inline function shows its name, or `inline`.
 * - Actions show their name; built-ins show what they do: `raise TICK`,
 *   `sendTo watcher NOTE`, `emit DONE`, `cancel timer`, `stopChild beat`.
 * - A state's entry and exit actions are listed on the state, without the
 *   timers XState adds for its delayed transitions.
 */
import type { AnyStateMachine, AnyStateNode } from 'xstate';

// The Mermaid rendering lives beside this file; it is part of this module's interface.
export { toMermaid, transitionLabel } from './machine-mermaid.js';

/** One state of the graph. */
export interface GraphState {
  /** The dotted path from the root, e.g. `idle`, `draining`, `draining.sending`. */
  id: string;
  /** The id of the parent state; undefined for a top-level state. */
  parent: string | undefined;
  /** Entered when its parent is entered: the parent's initial child, or any region of a parallel parent. */
  initial: boolean;
  /** A final state (`type: 'final'`). */
  final: boolean;
  /** Has child states (compound or parallel). */
  compound: boolean;
  /** The actions run on entering it, by name as in `GraphTransition.actions`; the timers of its delayed transitions are left out (they are the `after …` transitions). */
  entry: string[];
  /** The actions run on leaving it, likewise without the cancelling of its own delayed transitions. */
  exit: string[];
}

/** One transition of the graph. A transition with several targets appears once per target. */
export interface GraphTransition {
  /** The id of the state that declares it, or the machine id for a transition declared on the root. */
  source: string;
  /** The id of the target state; undefined for a targetless transition (the state is neither exited nor re-entered). */
  target: string | undefined;
  /** `LOG`; `after flushInterval` (or `after 500ms`) for a delayed transition; `always` for an eventless one. */
  event: string;
  /** The guard as an expression, e.g. `hasPending && (flushRequested || atThreshold)`; undefined when unguarded. */
  guard: string | undefined;
  /** The actions in execution order, by name; built-ins as what they do (`raise TICK`). */
  actions: string[];
  /** `reenter: true`: the source is exited and entered again even when the target is itself or a descendant. */
  reenter: boolean;
}

/** The states and transitions of a machine. */
export interface MachineGraph {
  /** The machine id. */
  id: string;
  /** Every state below the root, parents before children, in definition order. */
  states: GraphState[];
  /** Every transition, grouped by source in the order of `states` (root transitions first). */
  transitions: GraphTransition[];
}

/**
 * Extracts the graph of `machine` from its state nodes. Pure: it reads the
 * definition and never starts the machine. Throws a TypeError naming the
 * problem when `machine` is not an XState v5 machine, or when a top-level
 * state is named like the machine (the root's transitions would be ambiguous).
 */
export function machineGraph(machine: AnyStateMachine): MachineGraph {
  const root = (machine as { root?: unknown } | null | undefined)?.root as AnyStateNode | undefined;
  if (root === undefined || typeof root !== 'object' || !(root.transitions instanceof Map) || typeof root.states !== 'object') {
    throw new TypeError(`Expected an XState v5 machine (with a \`root\` state node), got ${describe(machine)}`);
  }
  if (Object.hasOwn(root.states, machine.id)) {
    throw new TypeError(`Expected no top-level state named like the machine (\`${machine.id}\`): root transitions use the machine id as their source`);
  }

  const states: GraphState[] = [];
  const transitions: GraphTransition[] = [];
  const visit = (node: AnyStateNode): void => {
    const source = node === root ? machine.id : pathId(node);
    if (node !== root) {
      const parent = node.parent!;
      states.push({
        id: source,
        parent: parent === root ? undefined : pathId(parent),
        initial: parent.type === 'parallel' || (parent.type === 'compound' && isInitialChild(parent, node)),
        final: node.type === 'final',
        compound: Object.keys(node.states).length > 0,
        entry: ownActions(node.entry),
        exit: ownActions(node.exit),
      });
    }
    const definitions = [...[...node.transitions.values()].flat(), ...(node.always ?? [])];
    const alwaysFrom = definitions.length - (node.always?.length ?? 0);
    definitions.forEach((definition, i) => {
      const event = i >= alwaysFrom ? 'always' : eventLabel(node, definition as DefinitionShape);
      const guard = definition.guard === undefined ? undefined : guardLabel(definition.guard, false);
      const actions = definition.actions.map(actionLabel);
      const targets =
        definition.target === undefined || definition.target.length === 0 ? [undefined] : definition.target.map((t) => (t === root ? machine.id : pathId(t)));
      for (const target of targets) transitions.push({ source, target, event, guard, actions, reenter: definition.reenter });
    });
    for (const child of Object.values(node.states)) visit(child);
  };
  visit(root);
  return { id: machine.id, states, transitions };
}

type DefinitionShape = { eventType: string; delay?: unknown };

/**
 * The labels of a state's entry or exit actions. XState adds to them the
 * raise that starts each delayed transition's timer and the cancel that
 * stops it, both under an id `xstate.after.…`: those are drawn as the
 * `after …` transitions already, so they are left out here.
 */
function ownActions(actions: readonly unknown[]): string[] {
  return actions.filter((action) => !isDelayedTransitionTimer(action)).map(actionLabel);
}

function isDelayedTransitionTimer(action: unknown): boolean {
  if (typeof action !== 'function') return false;
  const { type, id, sendId } = action as { type?: unknown; id?: unknown; sendId?: unknown };
  const timerId = type === 'xstate.raise' ? id : type === 'xstate.cancel' ? sendId : undefined;
  return typeof timerId === 'string' && timerId.startsWith('xstate.after.');
}

function pathId(node: AnyStateNode): string {
  return node.path.join('.');
}

function isInitialChild(parent: AnyStateNode, child: AnyStateNode): boolean {
  return parent.initial.target.some((t: AnyStateNode) => t === child || isAncestor(child, t));
}

function isAncestor(ancestor: AnyStateNode, node: AnyStateNode): boolean {
  for (let n = node.parent; n !== undefined; n = n.parent) if (n === ancestor) return true;
  return false;
}

/** The event of a transition as a reader would name it (see the file comment). */
function eventLabel(node: AnyStateNode, definition: DefinitionShape): string {
  if (definition.delay !== undefined) {
    const delay = definition.delay;
    if (typeof delay === 'number') return `after ${delay}ms`;
    if (typeof delay === 'string') return `after ${delay}`;
    return `after ${functionName(delay) ?? 'inline delay'}`;
  }
  const type = definition.eventType;
  if (type === `xstate.done.state.${node.id}`) return 'done';
  for (const [prefix, label] of [
    ['xstate.done.actor.', 'done'],
    ['xstate.error.actor.', 'error'],
    ['xstate.snapshot.', 'snapshot'],
  ] as const) {
    if (!type.startsWith(prefix)) continue;
    const invokeId = type.slice(prefix.length);
    const invoked = node.invoke.find((i) => i.id === invokeId);
    if (invoked !== undefined) return `${label} ${typeof invoked.src === 'string' ? invoked.src : invoked.id}`;
  }
  return type;
}

type GuardShape = string | { type: string } | (((...args: never[]) => unknown) & { check?: { name?: string }; guards?: unknown[]; stateValue?: unknown });

/** A guard as an expression; `nested` asks for parentheses around a combinator of several guards. */
function guardLabel(guard: unknown, nested: boolean): string {
  const g = guard as GuardShape;
  if (typeof g === 'string') return g;
  if (typeof g === 'object' && g !== null && typeof g.type === 'string') return g.type;
  if (typeof g === 'function') {
    const kind = combinator(g);
    if (kind === 'not') return `!${guardLabel(g.guards?.[0], true)}`;
    if (kind === 'stateIn') return `in(${typeof g.stateValue === 'string' ? g.stateValue : JSON.stringify(g.stateValue)})`;
    if (kind === 'and' || kind === 'or') {
      const parts = (g.guards ?? []).map((inner) => guardLabel(inner, true));
      if (parts.length === 0) return kind === 'and' ? 'true' : 'false';
      if (parts.length === 1) return parts[0]!;
      const joined = parts.join(kind === 'and' ? ' && ' : ' || ');
      return nested ? `(${joined})` : joined;
    }
    return functionName(g, ['guard']) ?? 'inline';
  }
  throw new TypeError(`Expected a guard (a name, a { type } object or a function), got ${describe(guard)}`);
}

/** XState's higher-order guards carry their `check` function; its name tells which one it is. */
function combinator(g: { check?: { name?: string }; name: string }): 'and' | 'or' | 'not' | 'stateIn' | undefined {
  if (typeof g.check !== 'function') return undefined;
  const byCheck: Record<string, 'and' | 'or' | 'not' | 'stateIn'> = { checkAnd: 'and', checkOr: 'or', checkNot: 'not', checkStateIn: 'stateIn' };
  return byCheck[g.check.name ?? ''] ?? (['and', 'or', 'not', 'stateIn'].includes(g.name) ? (g.name as 'and' | 'or' | 'not' | 'stateIn') : undefined);
}

type ActionShape =
  | string
  | { type: string }
  | (((...args: never[]) => unknown) & { type?: string; event?: unknown; to?: unknown; delay?: unknown; sendId?: unknown; src?: unknown; actorRef?: unknown });

/** An action by name; XState's built-in action creators by what they do. */
function actionLabel(action: unknown): string {
  const a = action as ActionShape;
  if (typeof a === 'string') return a;
  if (typeof a === 'object' && a !== null && typeof a.type === 'string') return a.type;
  if (typeof a === 'function') {
    if (typeof a.type !== 'string' || !a.type.startsWith('xstate.')) return functionName(a, ['actions']) ?? 'inline';
    const kind = a.type.slice('xstate.'.length);
    const delay =
      a.delay === undefined ? '' : typeof a.delay === 'number' ? ` after ${a.delay}ms` : typeof a.delay === 'string' ? ` after ${a.delay}` : ' after a delay';
    switch (kind) {
      case 'raise':
      case 'emit':
        return `${kind} ${eventName(a.event)}${delay}`;
      case 'sendTo':
        return `sendTo ${typeof a.to === 'string' ? a.to : actorName(a.to)} ${eventName(a.event)}${delay}`;
      case 'cancel':
        return typeof a.sendId === 'string' ? `cancel ${a.sendId}` : 'cancel';
      case 'spawnChild':
        return typeof a.src === 'string' ? `spawnChild ${a.src}` : 'spawnChild';
      case 'stopChild':
        return typeof a.actorRef === 'string' ? `stopChild ${a.actorRef}` : 'stopChild';
      default:
        return kind;
    }
  }
  throw new TypeError(`Expected an action (a name, a { type } object or a function), got ${describe(action)}`);
}

function eventName(event: unknown): string {
  if (typeof event === 'object' && event !== null && typeof (event as { type?: unknown }).type === 'string') return (event as { type: string }).type;
  return 'dynamic event';
}

function actorName(to: unknown): string {
  if (typeof to === 'object' && to !== null && typeof (to as { id?: unknown }).id === 'string') return (to as { id: string }).id;
  return 'dynamic actor';
}

/** A function's own name, unless it is anonymous or only named after the property it was written in. */
function functionName(fn: unknown, propertyNames: readonly string[] = []): string | undefined {
  const name = typeof fn === 'function' ? fn.name : '';
  return name === '' || propertyNames.includes(name) ? undefined : name;
}

function describe(value: unknown): string {
  if (value === null) return '`null`';
  if (typeof value === 'function') return 'a function';
  if (typeof value === 'object') return `an object with keys ${Object.keys(value).slice(0, 5).join(', ') || '(none)'}`;
  const primitive = value as string | number | boolean | bigint | symbol | undefined;
  return `\`${String(primitive)}\` (${typeof value})`;
}
