// The live view of `npm run demo`: draws each lifecycle machine (the
// session's and its reporter's) with diagram.js, then follows the run over
// Server-Sent Events, highlighting the current state of each, and shows the
// reporter's counters, batches and a feed of what happened. Plain browser
// JavaScript, no dependencies.

import { createMachinePanel, eventLabel, html } from './diagram.js';

const RECENT_BATCHES = 20;
const RECENT_ACTIVITY = 24;

const byId = (id) => document.getElementById(id);

// ---------------------------------------------------------------------------
// Following the run

function createView(machines) {
  const panels = new Map();
  for (const machine of machines) panels.set(machine.id, createMachinePanel(machine, byId('diagrams')));
  let startedAtMs = Date.now();

  const since = (atMs) => `+${((atMs - startedAtMs) / 1000).toFixed(2)} s`;

  const setCounter = (name, value) => {
    const el = document.querySelector(`[data-counter="${name}"]`);
    if (!el) return;
    const text = String(value);
    if (el.textContent === text) return;
    el.textContent = text;
    // Restart the flash animation on every change.
    el.classList.remove('changed');
    void el.getBoundingClientRect();
    el.classList.add('changed');
  };

  const renderStats = (stats) => {
    for (const name of ['pushCounter', 'flushCounter', 'deliveredCounter', 'queueSize', 'inFlight']) setCounter(name, stats[name]);
    // One card per reason the reporter reports, so a new reason shows up without touching the page.
    const drops = byId('drops');
    for (const [reason, count] of Object.entries(stats.dropped)) {
      let card = drops.querySelector(`[data-reason="${reason}"]`);
      if (!card) {
        card = html('div', { class: 'drop', 'data-reason': reason });
        card.append(html('span', { class: 'value', 'data-counter': `dropped.${reason}` }, '0'), html('code', {}, reason));
        drops.append(card);
      }
      setCounter(`dropped.${reason}`, count);
      card.classList.toggle('nonzero', count > 0);
    }
    const holds = stats.pushCounter === stats.flushCounter + stats.queueSize + stats.inFlight;
    const identity = byId('identity');
    identity.textContent = `pushCounter ${stats.pushCounter} = flushCounter ${stats.flushCounter} + queueSize ${stats.queueSize} + inFlight ${stats.inFlight} ${holds ? '✓' : '✗'}`;
    identity.classList.toggle('broken', !holds);
  };

  const batchRow = (b) => {
    const row = html('tr', { class: b.ok ? 'ok' : b.next === 'dropped' ? 'dropped' : 'failed' });
    const then = b.ok ? 'delivered' : b.next === 'retry' ? `retry in ${b.delayMs ?? 0} ms` : b.next === 'split' ? 'split in two' : 'given up';
    row.append(
      html('td', { class: 'at' }, since(b.atMs)),
      html('td', { class: 'num' }, String(b.size)),
      html('td', { class: 'num' }, String(b.attempt)),
      html('td', {}, ''),
      html('td', {}, then),
      html('td', { class: 'num' }, `${b.durationMs.toFixed(1)} ms`),
    );
    row.children[3].append(html('span', { class: 'pill' }, b.outcome));
    return row;
  };
  const emptyRow = () => {
    const row = html('tr', { class: 'empty' });
    row.append(html('td', { colspan: 6 }, 'no batch yet'));
    return row;
  };
  const addBatch = (b) => {
    const body = byId('batches');
    body.querySelector('.empty')?.remove();
    body.prepend(batchRow(b));
    while (body.children.length > RECENT_BATCHES) body.lastElementChild.remove();
  };

  const addActivity = (atMs, kind, text) => {
    const list = byId('activity');
    const item = html('li', { class: `act-${kind}`, 'data-at': atMs });
    item.append(html('span', { class: 'at' }, since(atMs)), html('span', { class: 'what' }, text));
    // Newest first by the server's clock: coalesced drops arrive a little after what followed them.
    const after = [...list.children].find((li) => Number(li.getAttribute('data-at')) <= atMs);
    list.insertBefore(item, after ?? null);
    while (list.children.length > RECENT_ACTIVITY) list.lastElementChild.remove();
  };
  const transitionText = (t) => `${t.machine}: ${t.from || '(start)'} → ${t.to} on ${eventLabel(t.event)}`;
  const applyTransition = (t) => {
    const panel = panels.get(t.machine);
    panel?.setCurrent(t.to);
    panel?.markTaken(t.from, t.to, t.event);
  };
  const setSession = (sessionId) => {
    byId('session').textContent = sessionId ? `session ${sessionId}` : 'session: starting…';
  };

  const setPhase = (phase, text) => {
    document.body.dataset.phase = phase;
    byId('phase').textContent = text;
  };

  const showSummary = (summary) => {
    const droppedAfter = summary.dropped.retries_exhausted + summary.dropped.rejected + summary.dropped.shutdown + summary.dropped.internal_error;
    const values = {
      sessionId: summary.sessionId,
      accepted: String(summary.accepted),
      delivered: String(summary.delivered),
      droppedAfter: String(droppedAfter),
      balanced: summary.balanced ? 'delivered + dropped = accepted ✓' : 'do not balance ✗',
      drained: summary.drained ? 'drained before its deadline' : 'hit its deadline',
      heartbeats: summary.heartbeats === undefined ? 'not recorded (a real backend)' : String(summary.heartbeats),
      violations: summary.violations === undefined ? 'not recorded (a real backend)' : summary.violations === 0 ? '0 ✓' : `${summary.violations} ✗`,
    };
    for (const [name, value] of Object.entries(values)) document.querySelector(`[data-summary="${name}"]`).textContent = value;
    byId('summary').classList.toggle('unbalanced', !summary.balanced || (summary.violations ?? 0) > 0);
    byId('summary').hidden = false;
  };

  const finished = (summary) => {
    showSummary(summary);
    byId('step').textContent = 'The demo has finished: these are its final numbers.';
    setPhase('done', 'finished');
  };

  return {
    snapshot(s) {
      startedAtMs = s.startedAtMs;
      setSession(s.sessionId);
      byId('step').textContent = s.step ? `Now: ${s.step}` : '';
      byId('batches').replaceChildren();
      if (s.batches.length === 0) byId('batches').append(emptyRow());
      for (const b of s.batches) addBatch(b);
      byId('activity').replaceChildren();
      const merged = [
        ...s.transitions.map((t) => ({ atMs: t.atMs, kind: 'state', text: transitionText(t) })),
        ...s.drops.map((d) => ({ atMs: d.atMs, kind: 'drop', text: `dropped ${d.count}: ${d.reason}` })),
        ...s.notes.map((n) => ({ atMs: n.atMs, kind: `note act-${n.kind}`, text: n.text })),
      ].sort((p, q) => p.atMs - q.atMs);
      for (const entry of merged) addActivity(entry.atMs, entry.kind, entry.text);
      for (const [machine, state] of Object.entries(s.states)) {
        const panel = panels.get(machine);
        panel?.setCurrent(state);
        const last = s.lastTransitions[machine];
        if (last) panel?.markTaken(last.from, last.to, last.event);
      }
      if (s.stats) renderStats(s.stats);
      if (s.phase === 'done' && s.summary) finished(s.summary);
      else setPhase('running', 'running');
    },
    state(t) {
      applyTransition(t);
      addActivity(t.atMs, 'state', transitionText(t));
    },
    session({ sessionId }) {
      setSession(sessionId);
    },
    stats: renderStats,
    batch: addBatch,
    drop(d) {
      addActivity(d.atMs, 'drop', `dropped ${d.count}: ${d.reason}`);
    },
    note(n) {
      addActivity(n.atMs, `note act-${n.kind}`, n.text);
    },
    step({ title, atMs }) {
      byId('step').textContent = `Now: ${title}`;
      addActivity(atMs, 'step', title);
    },
    done({ stats, states, summary }) {
      if (stats) renderStats(stats);
      for (const [machine, state] of Object.entries(states)) panels.get(machine)?.setCurrent(state);
      finished(summary);
    },
    disconnected() {
      if (document.body.dataset.phase !== 'done') setPhase('disconnected', 'reconnecting…');
    },
  };
}

async function main() {
  let machines;
  try {
    const response = await fetch('/machines.json');
    if (!response.ok) throw new Error(`GET /machines.json answered ${response.status}`);
    ({ machines } = await response.json());
  } catch (error) {
    byId('diagram-error').textContent = `Cannot load the machine graphs: ${error.message}`;
    byId('diagram-error').hidden = false;
    return;
  }
  const view = createView(machines);
  const source = new EventSource('/events');
  const on = (type, handle) => source.addEventListener(type, (message) => handle(JSON.parse(message.data)));
  on('snapshot', view.snapshot);
  on('state', view.state);
  on('session', view.session);
  on('note', view.note);
  on('stats', view.stats);
  on('batch', view.batch);
  on('drop', view.drop);
  on('step', view.step);
  on('done', (data) => {
    view.done(data);
    // The demo exits after its hold; the page keeps the final state rather than retrying.
    source.close();
  });
  source.addEventListener('error', () => view.disconnected());
}

main();
