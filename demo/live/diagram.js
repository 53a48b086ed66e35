// The lifecycle diagrams of the live view: each machine's states and
// transitions, laid out from the graph the server derives from its
// definition, in a panel that highlights the current state and the arrow
// last taken. Plain browser JavaScript, no dependencies.

const SVG_NS = 'http://www.w3.org/2000/svg';

/** Sizes of the drawing, in SVG units. */
const LEAF_W = 116;
const LEAF_H = 46;
const GAP = 84; // between top-level boxes: room for self-loops and labels
const INNER_GAP = 64; // between children of a compound state
const PAD = 30; // inside a compound state, left and right: room for the initial arrow
const HEADER = 60; // above the children of a compound state: its name and the arcs between children
const FOOTER = 62; // below the children: back arcs and self-loops
const PORT_SPACING = 32; // between the ends of arrows on one side of a box

// ---------------------------------------------------------------------------
// Small DOM helpers

function svg(name, attrs = {}, parent = undefined) {
  const node = document.createElementNS(SVG_NS, name);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, String(value));
  if (parent) parent.appendChild(node);
  return node;
}

export function html(name, attrs = {}, text = undefined) {
  const node = document.createElement(name);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, String(value));
  if (text !== undefined) node.textContent = text;
  return node;
}

/** The last segment of a dotted state id: `draining.sending` → `sending`. */
const shortName = (id) => id.slice(id.lastIndexOf('.') + 1);

/** XState's internal events named as the graph names them: `after <delay>`, `done <actor>`, `error <actor>`. */
export function eventLabel(event) {
  const delay = /^xstate\.after\.([^.]+)\./.exec(event);
  if (delay) return /^\d+$/.test(delay[1]) ? `after ${delay[1]}ms` : `after ${delay[1]}`;
  const actor = /^xstate\.(done|error)\.actor\.(.+)$/.exec(event);
  if (actor) return `${actor[1]} ${actor[2]}`;
  return event;
}

// ---------------------------------------------------------------------------
// Layout: top-level states in a row, children inside their parent's box.

function layoutStates(graph, minWidths) {
  const childrenOf = new Map();
  for (const state of graph.states) {
    const key = state.parent ?? '';
    if (!childrenOf.has(key)) childrenOf.set(key, []);
    childrenOf.get(key).push(state);
  }
  const sizes = new Map();
  const measure = (state) => {
    const kids = childrenOf.get(state.id) ?? [];
    let size;
    if (kids.length === 0) size = { w: Math.max(LEAF_W, minWidths.get(state.id) ?? 0), h: LEAF_H };
    else {
      const inner = kids.map(measure);
      size = {
        w: Math.max(minWidths.get(state.id) ?? 0, PAD * 2 + inner.reduce((sum, s) => sum + s.w, 0) + INNER_GAP * (kids.length - 1)),
        h: HEADER + Math.max(...inner.map((s) => s.h)) + FOOTER,
      };
    }
    sizes.set(state.id, size);
    return size;
  };
  const top = childrenOf.get('') ?? [];
  top.forEach(measure);

  const boxes = new Map();
  const place = (state, x, y) => {
    const { w, h } = sizes.get(state.id);
    boxes.set(state.id, { id: state.id, state, x, y, w, h, cx: x + w / 2, cy: y + h / 2 });
    const kids = childrenOf.get(state.id) ?? [];
    let cursor = x + PAD;
    const rowH = Math.max(0, ...kids.map((k) => sizes.get(k.id).h));
    for (const kid of kids) {
      const size = sizes.get(kid.id);
      place(kid, cursor, y + HEADER + (rowH - size.h) / 2);
      cursor += size.w + INNER_GAP;
    }
  };
  const rowH = Math.max(...top.map((s) => sizes.get(s.id).h));
  let cursor = 0;
  for (const state of top) {
    const size = sizes.get(state.id);
    place(state, cursor, (rowH - size.h) / 2);
    cursor += size.w + GAP;
  }
  return { boxes, childrenOf, width: cursor - GAP, height: rowH };
}

/** Transitions with a target, merged per (source, target): one arrow, every event on its label. */
function mergeEdges(graph, boxes) {
  const edges = new Map();
  for (const t of graph.transitions) {
    if (t.target === undefined) continue;
    const global = !boxes.has(t.source);
    const key = `${global ? '*' : t.source}->${t.target}`;
    if (!edges.has(key)) edges.set(key, { key, source: global ? undefined : t.source, target: t.target, events: [], details: [], global });
    const edge = edges.get(key);
    if (!edge.events.includes(t.event)) edge.events.push(t.event);
    let detail = t.event;
    if (t.guard) detail += ` [${t.guard}]`;
    if (t.actions.length > 0) detail += ` / ${t.actions.join(', ')}`;
    if (t.reenter) detail += ' (re-enters)';
    edge.details.push(detail);
  }
  return [...edges.values()];
}

/** The ancestor of `id` that is a child of `ancestor` (undefined = the root). */
function childOfAncestor(id, ancestor, parentOf) {
  let node = id;
  while (parentOf.get(node) !== ancestor) node = parentOf.get(node);
  return node;
}

function commonParent(a, b, parentOf) {
  const chain = new Set();
  for (let n = parentOf.get(a); n !== undefined; n = parentOf.get(n)) chain.add(n);
  for (let n = parentOf.get(b); n !== undefined; n = parentOf.get(n)) if (chain.has(n)) return n;
  return undefined;
}

/** A point of the cubic Bézier p0 p1 p2 p3 at t. */
function bezierAt(p0, p1, p2, p3, t) {
  const u = 1 - t;
  const a = u * u * u,
    b = 3 * u * u * t,
    c = 3 * u * t * t,
    d = t * t * t;
  return { x: a * p0.x + b * p1.x + c * p2.x + d * p3.x, y: a * p0.y + b * p1.y + c * p2.y + d * p3.y };
}

/**
 * Each end of an edge takes a port on the top side (edges going right) or
 * the bottom side (edges going left) of its own box; a self-loop hangs below.
 * Returns the ports of each box side.
 */
function assignPorts(edges, boxes) {
  const sides = new Map();
  const port = (boxId, side, otherX, edge, end) => {
    const key = `${boxId}:${side}`;
    if (!sides.has(key)) sides.set(key, []);
    sides.get(key).push({ otherX, edge, end });
  };
  for (const edge of edges) {
    if (edge.global) continue;
    const a = boxes.get(edge.source);
    const b = boxes.get(edge.target);
    if (edge.source === edge.target) {
      edge.side = 'bottom';
      port(edge.source, 'bottom', a.cx, edge, 'loop');
      continue;
    }
    edge.side = b.cx > a.cx ? 'top' : 'bottom';
    port(edge.source, edge.side, b.cx, edge, 'from');
    port(edge.target, edge.side, a.cx, edge, 'to');
  }
  return sides;
}

/** Draws `graph` into the SVG element `root`; `prefix` keeps its marker ids apart from another diagram's on the page. */
function drawDiagram(graph, root, prefix) {
  const parentOf = new Map(graph.states.map((s) => [s.id, s.parent ?? undefined]));
  // Which side an end takes depends only on the order of the boxes, so a
  // first layout tells how many ports each box needs, and a second one
  // widens the busy boxes to give their ports room.
  const draft = layoutStates(graph, new Map());
  const minWidths = new Map();
  for (const [key, list] of assignPorts(mergeEdges(graph, draft.boxes), draft.boxes)) {
    const id = key.slice(0, key.lastIndexOf(':'));
    minWidths.set(id, Math.max(minWidths.get(id) ?? 0, PORT_SPACING * (list.length + 1)));
  }
  const { boxes } = layoutStates(graph, minWidths);
  const edges = mergeEdges(graph, boxes);
  const sides = assignPorts(edges, boxes);
  // Ports on a side are spread evenly, ordered by where the other end is, so arcs do not cross there.
  for (const [key, list] of sides) {
    const box = boxes.get(key.slice(0, key.lastIndexOf(':')));
    list.sort((p, q) => p.otherX - q.otherX);
    list.forEach((p, i) => {
      p.edge[`${p.end}X`] = box.x + (box.w * (i + 1)) / (list.length + 1);
    });
  }

  const defs = svg('defs', {}, root);
  const arrow = `url(#${prefix}-arrow)`;
  const arrowTaken = `url(#${prefix}-arrow-taken)`;
  for (const [id, cls] of [
    [`${prefix}-arrow`, 'arrowhead'],
    [`${prefix}-arrow-taken`, 'arrowhead taken'],
  ]) {
    const marker = svg('marker', { id, viewBox: '0 0 10 10', refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: 'auto-start-reverse' }, defs);
    svg('path', { d: 'M 0 0 L 10 5 L 0 10 z', class: cls }, marker);
  }

  const frame = svg('g', { class: 'frame' }, root);
  const statesLayer = svg('g', { class: 'states' }, root);
  const edgesLayer = svg('g', { class: 'edges' }, root);
  const labelsLayer = svg('g', { class: 'labels' }, root);

  // States, parents first so children paint over them.
  const stateGroups = new Map();
  for (const state of graph.states) {
    const box = boxes.get(state.id);
    const classes = ['state'];
    if (state.compound) classes.push('compound');
    if (state.final) classes.push('final');
    const group = svg('g', { class: classes.join(' '), 'data-state': state.id }, statesLayer);
    svg('title', {}, group).textContent = state.id;
    svg('rect', { x: box.x, y: box.y, width: box.w, height: box.h, rx: 12 }, group);
    if (state.final) svg('rect', { class: 'inner', x: box.x + 4, y: box.y + 4, width: box.w - 8, height: box.h - 8, rx: 9 }, group);
    const name = svg(
      'text',
      state.compound ? { x: box.x + 14, y: box.y + 20, class: 'name' } : { x: box.cx, y: box.cy + 5, class: 'name', 'text-anchor': 'middle' },
      group,
    );
    name.textContent = shortName(state.id);
    const internal = graph.transitions.filter((t) => t.source === state.id && t.target === undefined);
    if (internal.length > 0) {
      svg('title', {}, group).textContent =
        `${state.id}\nalso handles, without leaving: ${internal.map((t) => `${t.event}${t.guard ? ` [${t.guard}]` : ''} / ${t.actions.join(', ')}`).join('; ')}`;
    }
    stateGroups.set(state.id, group);
    // The initial child of a state, or the machine's initial state, gets a dot and an arrow into its left side.
    if (state.initial) {
      const x0 = box.x - (state.parent === undefined ? 34 : PAD - 6);
      svg('circle', { class: 'initial', cx: x0, cy: box.cy, r: 5 }, root);
      svg('path', { class: 'edge initial-edge', d: `M ${x0 + 5} ${box.cy} H ${box.x - 1}`, 'marker-end': arrow }, edgesLayer);
    }
  }

  const edgeGroups = new Map();
  let minY = 0;
  let maxY = Math.max(...[...boxes.values()].map((b) => b.y + b.h));
  let maxX = Math.max(...[...boxes.values()].map((b) => b.x + b.w));
  const label = (edge, x, y, anchor = 'middle') => {
    const group = svg('g', { class: 'edge-label', 'data-edge': edge.key }, labelsLayer);
    const text = svg('text', { x, y, 'text-anchor': anchor }, group);
    const lines = [];
    // Three or more events read better on two lines.
    if (edge.events.length > 2) lines.push(edge.events.slice(0, 2).join(' · '), edge.events.slice(2).join(' · '));
    else lines.push(edge.events.join(' · '));
    lines.forEach((line, i) => {
      const span = svg('tspan', { x, dy: i === 0 ? 0 : '1.15em' }, text);
      span.textContent = line;
    });
    if (lines.length > 1) text.setAttribute('y', String(y - 6));
    const bbox = text.getBBox();
    group.insertBefore(svg('rect', { x: bbox.x - 3, y: bbox.y - 1, width: bbox.width + 6, height: bbox.height + 2, rx: 3 }), text);
    minY = Math.min(minY, bbox.y);
    maxY = Math.max(maxY, bbox.y + bbox.height);
    maxX = Math.max(maxX, bbox.x + bbox.width);
    return group;
  };

  for (const edge of edges) {
    const group = svg('g', { class: 'edge-group', 'data-edge': edge.key }, edgesLayer);
    svg('title', {}, group).textContent = edge.details.join('\n');
    let d;
    let labelGroup;
    if (edge.global) {
      // A transition of the machine itself applies in every state: drawn from the frame.
      const b = boxes.get(edge.target);
      const fromX = maxX + 150;
      d = `M ${fromX} ${b.cy} H ${b.x + b.w + 1}`;
      labelGroup = label({ ...edge, events: [`${edge.events.join(' · ')}`] }, (fromX + b.x + b.w) / 2, b.cy - 8);
      const note = svg('text', { x: (fromX + b.x + b.w) / 2, y: b.cy + 17, 'text-anchor': 'middle', class: 'note' }, labelGroup);
      note.textContent = '(from any state)';
      maxX = Math.max(maxX, fromX);
    } else if (edge.source === edge.target) {
      const b = boxes.get(edge.source);
      const x = edge.loopX;
      const y = b.y + b.h;
      d = `M ${x - 10} ${y + 1} C ${x - 30} ${y + 42} ${x + 30} ${y + 42} ${x + 10} ${y + 2}`;
      labelGroup = label(edge, x, y + 48);
    } else {
      const a = boxes.get(edge.source);
      const b = boxes.get(edge.target);
      const top = edge.side === 'top';
      const yOf = (box) => (top ? box.y : box.y + box.h);
      // An end inside a compound state leaves it straight up or down first, so the arc runs outside its parent.
      const shared = commonParent(edge.source, edge.target, parentOf);
      const outerA = boxes.get(childOfAncestor(edge.source, shared, parentOf));
      const outerB = boxes.get(childOfAncestor(edge.target, shared, parentOf));
      const p0 = { x: edge.fromX, y: yOf(outerA) };
      const p3 = { x: edge.toX, y: yOf(outerB) };
      const dx = Math.abs(p3.x - p0.x);
      const lift = (shared === undefined ? 26 : 16) + dx * (shared === undefined ? 0.17 : 0.1);
      const controlY = top ? Math.min(p0.y, p3.y) - lift / 0.75 : Math.max(p0.y, p3.y) + lift / 0.75;
      const p1 = { x: p0.x, y: controlY };
      const p2 = { x: p3.x, y: controlY };
      const startStub = outerA === a ? '' : ` V ${p0.y}`;
      const start = `M ${p0.x} ${yOf(a) + (top ? 0 : 1)}${startStub}`;
      const endStub = outerB === b ? '' : ` V ${yOf(b) + (top ? -1 : 1)}`;
      d = `${start} C ${p1.x} ${p1.y} ${p2.x} ${p2.y} ${p3.x} ${outerB === b ? p3.y + (top ? -1 : 1) : p3.y}${endStub}`;
      const mid = bezierAt(p0, p1, p2, p3, 0.5);
      labelGroup = label(edge, mid.x, top ? mid.y - 5 : mid.y + 14);
    }
    svg('path', { class: 'edge', d, 'marker-end': arrow }, group);
    edgeGroups.set(edge.key, { group, labelGroup, edge });
  }

  // The frame stands for the machine itself, so a global transition has somewhere to start.
  const margin = 26;
  const frameX = -60;
  const frameY = minY - margin - 10;
  svg('rect', { x: frameX, y: frameY, width: maxX - frameX + 24, height: maxY - frameY + margin, rx: 16 }, frame);
  svg('text', { x: frameX + 14, y: frameY + 20, class: 'frame-name' }, frame).textContent = `machine “${graph.id}”`;
  root.setAttribute('viewBox', `${frameX - 4} ${frameY - 4} ${maxX - frameX + 32} ${maxY - frameY + margin + 8}`);

  return { stateGroups, edgeGroups, parentOf, edges, arrow, arrowTaken };
}

// ---------------------------------------------------------------------------
// A machine's panel

/**
 * One machine's panel: its heading, the state it is in, and its diagram,
 * appended to `container`. Returns what the run updates.
 */
export function createMachinePanel(machine, container) {
  const panel = html('section', { class: 'panel diagram-panel', 'data-machine-panel': machine.id });
  const heading = html('h2', {}, machine.title);
  const small = html('small', {}, 'drawn from the machine definition; now: ');
  const now = html('code', { class: 'machine-state', 'data-machine-state': machine.id }, 'not started');
  small.append(now);
  heading.append(small);
  const root = document.createElementNS(SVG_NS, 'svg');
  root.setAttribute('id', `diagram-${machine.id}`);
  root.setAttribute('data-machine', machine.id);
  root.setAttribute('role', 'img');
  root.setAttribute('aria-label', `The ${machine.id} machine; the current state is highlighted`);
  panel.append(heading, root);
  container.append(panel);
  // Drawn once attached: the labels are measured with getBBox().
  const diagram = drawDiagram(machine.graph, root, machine.id);
  let current;

  const setCurrent = (stateId) => {
    if (stateId === current || stateId === undefined) return;
    for (const group of root.querySelectorAll('.state.current, .state.active')) group.classList.remove('current', 'active');
    current = stateId;
    now.textContent = stateId;
    const group = diagram.stateGroups.get(stateId);
    if (!group) return;
    group.classList.add('current');
    for (let p = diagram.parentOf.get(stateId); p !== undefined; p = diagram.parentOf.get(p)) diagram.stateGroups.get(p)?.classList.add('active');
  };

  /** The arrow a transition took: the exact pair, else the nearest ancestors (an arrow into `active` enters `active.ok`). */
  const markTaken = (from, to, event) => {
    for (const el of root.querySelectorAll('.taken')) el.classList.remove('taken');
    for (const path of root.querySelectorAll('path.edge')) path.setAttribute('marker-end', diagram.arrow);
    const candidates = [];
    const ancestors = (id) => {
      const list = [];
      for (let n = id; n !== undefined; n = diagram.parentOf.get(n)) list.push(n);
      return list;
    };
    for (const f of ancestors(from)) for (const t of ancestors(to)) candidates.push(`${f}->${t}`);
    candidates.push(`*->${to}`);
    const label = eventLabel(event);
    const found = candidates.map((key) => diagram.edgeGroups.get(key)).filter((g) => g !== undefined);
    const hit = found.find((g) => g.edge.events.includes(label)) ?? found.find((g) => !g.edge.global);
    if (!hit) return;
    hit.group.classList.add('taken');
    hit.labelGroup.classList.add('taken');
    hit.group.querySelector('path.edge')?.setAttribute('marker-end', diagram.arrowTaken);
  };

  return { setCurrent, markTaken };
}
