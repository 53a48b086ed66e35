/**
 * Drive the reporter's lifecycle machine by hand in a web page, watched in
 * the Stately inspector window (`createBrowserInspector`).
 *
 * The reporter itself is a Node library, but its machine is pure (no I/O, no
 * clock), so a page can run it: here the queue is a counter, and the server's
 * answers are buttons. Bundle this file for the browser, e.g.
 *
 *   npx esbuild examples/inspect/browser.ts --bundle --format=esm --outfile=inspect.js
 *
 * and load it from a page:
 *
 *   <button id="open">Open inspector</button> <button id="log">log()</button>
 *   <button id="ack">ACK</button> <button id="fail">503</button> <button id="stop">stop()</button>
 *   <script type="module">
 *     import * as demo from './inspect.js';
 *     for (const name of ['open', 'log', 'ack', 'fail', 'stop']) document.getElementById(name).onclick = demo[name];
 *   </script>
 *
 * The inspector opens in a new window, which browsers allow only from a user
 * action: hence `autoStart: false` and `open()` in a click handler. In a
 * renderer that has Node's APIs (Electron with node integration) the same
 * `inspector.inspect` goes to `startReporter({ inspect })`, as in
 * `websocket.ts`. This file is not meant to run in Node: there,
 * `createBrowserInspector` finds no `window` and returns an object with no
 * `inspect`.
 */
import { createBrowserInspector } from '@statelyai/inspect';
import { createActor, fromCallback } from 'xstate';
import { type ReporterMachineEvent, type SendBatchInput, reporterMachine } from '../../machines/reporter.machine.js';

const inspector = createBrowserInspector({ autoStart: false });

/** Events waiting in the pretend queue; a send takes them all. */
let queued = 0;
let opened = false;

const actor = createActor(
  reporterMachine.provide({
    actors: {
      sendBatch: fromCallback<ReporterMachineEvent, SendBatchInput>(() => {
        queued = 0;
        return undefined;
      }),
    },
    guards: {
      hasPending: () => queued > 0,
      atThreshold: () => queued >= 10,
      splitPending: () => false,
    },
  }),
  { input: { flushIntervalMs: 3_000, maxRetries: 2 }, inspect: inspector.inspect },
);

/** Opens the inspector window and starts the machine; call it from a click. */
export function open(): void {
  if (opened) return;
  opened = true;
  inspector.start();
  actor.start();
}

/** Like `reporter.log()`: the machine hears LOG when the queue becomes non-empty, and THRESHOLD at 10. */
export function log(): void {
  queued++;
  if (queued === 1) actor.send({ type: 'LOG' });
  if (queued === 10) actor.send({ type: 'THRESHOLD' });
}

/** The server accepted the batch in flight. */
export function ack(): void {
  actor.send({ type: 'ACK' });
}

/** The server answered 503: retried after a second while attempts remain. */
export function fail(): void {
  actor.send({ type: 'FAIL', kind: 'retryable', retryDelayMs: 1_000, batchSize: 1 });
}

/** Like `reporter.stop()`: drain, then end. */
export function stop(): void {
  actor.send({ type: 'STOP' });
}
