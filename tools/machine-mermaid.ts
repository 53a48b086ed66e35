/**
 * Renders a machine graph (see `machine-graph.ts`) as a Mermaid
 * `stateDiagram-v2` that GitHub's renderer draws. Checked against the Mermaid
 * 11 and 12 renderers: their grammar ends a label at `:` or `;`, reads `<…>`
 * as markup, takes ids from `[A-Za-z0-9_]`, keeps ids global across
 * composite states, and keeps only one self-loop per state.
 */
import type { GraphState, GraphTransition, MachineGraph } from './machine-graph.js';

/**
 * Renders `graph` as a Mermaid `stateDiagram-v2`, as GitHub's renderer reads it.
 *
 * - Every state is a node titled with its own name; a compound state is a
 *   composite block with its initial child marked by `[*] -->`, and final
 *   states lead to `[*]`. Node ids are the dotted paths with `_` for `.`
 *   (Mermaid ids are global, so `draining.sending` cannot be `sending`).
 * - A transition with a target is an arrow labelled
 *   `EVENT [guard] / action, action`, with `(reenter)` when it re-enters.
 *   Transitions between the same two states share one arrow, one line each:
 *   Mermaid keeps only one self-loop per state, and fewer arrows read better.
 * - A targetless transition changes no state, so it is not an arrow: it is
 *   listed inside its state's box, as UML lists internal transitions, after
 *   the state's `entry / …` and `exit / …` actions. A state with children
 *   shows these lines in a note beside it instead: Mermaid drops a composite
 *   state that is given a description.
 * - A transition declared on the root (source = the machine id) applies in
 *   every state; rather than an arrow from each state, it is a note on its
 *   target, `EVENT in any state / actions` (on the first top-level state
 *   when it has no target).
 * - Parallel regions are separated by `--` inside their composite; a
 *   parallel root (Mermaid has no `--` at the top level) gets one initial
 *   arrow per region instead.
 * - Mermaid ends a label at `:` or `;` and reads `<…>` as markup, so those
 *   characters are replaced by look-alikes: U+2236 `∶`, U+037E (the Greek
 *   question mark, drawn as a semicolon), `‹` and `›`.
 */
export function toMermaid(graph: MachineGraph): string {
  const ids = mermaidIds(graph.states);
  const known = new Set(graph.states.map((s) => s.id));
  const childrenOf = (parent: string | undefined) => graph.states.filter((s) => s.parent === parent);
  const isRoot = (t: GraphTransition) => t.source === graph.id && !known.has(t.source);
  for (const t of graph.transitions) {
    for (const end of [isRoot(t) ? undefined : t.source, t.target]) {
      if (end !== undefined && !known.has(end))
        throw new TypeError(`Expected every transition to join states of the graph, got \`${end}\` in ${t.source} --${t.event}-->`);
    }
  }
  const rootNotes = new Map<string, string[]>();
  for (const t of graph.transitions.filter(isRoot)) {
    const at = t.target ?? childrenOf(undefined)[0]?.id;
    if (at === undefined) continue;
    const text = escapeLabel(
      `${t.event} in any state${t.guard === undefined ? '' : ` [${t.guard}]`}${t.actions.length > 0 ? ` / ${t.actions.join(', ')}` : ''}${t.reenter ? ' (reenter)' : ''}`,
    );
    rootNotes.set(at, [...(rootNotes.get(at) ?? []), text]);
  }

  const lines = ['stateDiagram-v2'];
  const emitBlock = (parent: string | undefined, indent: string): void => {
    const children = childrenOf(parent);
    const regions = children.filter((c) => c.initial);
    const parallel = parent !== undefined && regions.length > 1;
    for (const [i, child] of children.entries()) {
      const id = ids.get(child.id)!;
      if (parallel && i > 0) lines.push(`${indent}--`);
      // Declared with its name first: a state given descriptions would otherwise show the first description as its title.
      lines.push(`${indent}state "${escapeQuoted(lastSegment(child.id))}" as ${id}`);
      if (child.compound) {
        lines.push(`${indent}state ${id} {`);
        emitBlock(child.id, `${indent}  `);
        lines.push(`${indent}}`);
      }
      const own = [
        ...(child.entry.length > 0 ? [escapeLabel(`entry / ${child.entry.join(', ')}`)] : []),
        ...(child.exit.length > 0 ? [escapeLabel(`exit / ${child.exit.join(', ')}`)] : []),
        ...graph.transitions.filter((t) => !isRoot(t) && t.source === child.id && t.target === undefined).map(transitionLabel),
      ];
      // Mermaid drops a composite state given a description (it draws only its children), so a composite's own lines go in a note beside it.
      if (child.compound && own.length > 0) lines.push(`${indent}note right of ${id}`, ...own.map((line) => `${indent}  ${line}`), `${indent}end note`);
      else for (const line of own) lines.push(`${indent}${id} : ${line}`);
      for (const note of rootNotes.get(child.id) ?? []) lines.push(`${indent}note left of ${id} : ${note}`);
    }
    if (!parallel) for (const r of regions) lines.push(`${indent}[*] --> ${ids.get(r.id)!}`);
    for (const child of children) if (child.final) lines.push(`${indent}${ids.get(child.id)!} --> [*]`);
  };
  emitBlock(undefined, '  ');

  // Arrows come after every node is declared, so a reference never creates a
  // stray node at the wrong level.
  const arrows = new Map<string, string[]>();
  for (const t of graph.transitions) {
    if (isRoot(t) || t.target === undefined) continue;
    const key = `${ids.get(t.source)!} --> ${ids.get(t.target)!}`;
    arrows.set(key, [...(arrows.get(key) ?? []), transitionLabel(t)]);
  }
  for (const [key, labels] of arrows) lines.push(`  ${key} : ${labels.join('<br/>')}`);
  return `${lines.join('\n')}\n`;
}

/** `EVENT [guard] / action, action (reenter)`, escaped for a Mermaid label. */
export function transitionLabel(t: Pick<GraphTransition, 'event' | 'guard' | 'actions' | 'reenter'>): string {
  let label = t.event;
  if (t.guard !== undefined) label += ` [${t.guard}]`;
  if (t.actions.length > 0) label += ` / ${t.actions.join(', ')}`;
  if (t.reenter) label += ' (reenter)';
  return escapeLabel(label);
}

function escapeLabel(text: string): string {
  return text
    .replace(/:/g, '∶')
    .replace(/;/g, '\u037e')
    .replace(/</g, '‹')
    .replace(/>/g, '›')
    .replace(/[\r\n]+/g, ' ');
}

function escapeQuoted(text: string): string {
  return escapeLabel(text).replace(/"/g, '″');
}

function lastSegment(id: string): string {
  return id.slice(id.lastIndexOf('.') + 1);
}

/**
 * Mermaid's lexer reads `default…`, and the statement words below, as
 * keywords, and takes only `[A-Za-z0-9_]` reliably in ids; such names get a
 * prefix, and a collision gets a numeric suffix.
 */
function mermaidIds(states: readonly GraphState[]): Map<string, string> {
  const reserved = /^(state|note|class|classdef|direction|scale|hide|as|acctitle|accdescr|end|root)$|^default/i;
  const ids = new Map<string, string>();
  const taken = new Set<string>();
  for (const s of states) {
    let base = s.id.replace(/\./g, '_').replace(/[^A-Za-z0-9_]/g, '_');
    if (reserved.test(base) || /^[0-9_]/.test(base)) base = `state_${base}`;
    let id = base;
    for (let n = 2; taken.has(id.toLowerCase()); n++) id = `${base}_${n}`;
    taken.add(id.toLowerCase());
    ids.set(s.id, id);
  }
  return ids;
}
