/**
 * The Stately inspector hookup shared by the demo (`--inspect`) and
 * `examples/inspect/websocket.ts`: the relay of `@statelyai/inspect/server`
 * (an HTTP page that embeds the Stately inspector, and a WebSocket server
 * that passes inspection events on to it), and a WebSocket inspector
 * connected to it, whose `inspect` goes to `startReporter({ inspect })`.
 *
 * The trap it steps around: the WebSocket inspector of @statelyai/inspect
 * 0.7.2 reconnects every 5 s, on a timer that holds the process, whenever its
 * socket fails, and its `stop()` does not cancel that timer; so a process
 * whose inspector cannot reach a relay never exits. Here the relay listens
 * before the inspector is started (`autoStart: false`), both in this process,
 * and the shutdown goes in order: `reporter.stop()`, then `disconnect()`,
 * then `close()`, which also arms a last, unref'd exit timer for whatever
 * still holds the process.
 */
import { createServer } from 'node:net';
import { createWebSocketInspector } from '@statelyai/inspect';
import { createInspectorServer } from '@statelyai/inspect/server';
import type { InspectObserver } from '../src/index.js';

/** The port the relay of `@statelyai/inspect/server` listens on when given none. */
export const DEFAULT_INSPECTOR_PORT = 8080;

/** How long `close()` lets whatever still holds the process finish before it exits anyway, in ms. */
const LAST_RESORT_EXIT_MS = 2_000;

/** The relay's port cannot be taken: in use, or not allowed; `code` is the system's error code. */
export class InspectorPortError extends Error {
  override readonly name = 'InspectorPortError';

  constructor(
    /** The port asked for. */
    readonly port: number,
    /** `EADDRINUSE` or `EACCES`. */
    readonly code: string,
  ) {
    super(code === 'EADDRINUSE' ? `port ${port} is in use` : `port ${port} cannot be opened (${code})`);
  }
}

/** Options of `startStatelyInspector`. */
export interface StatelyInspectorOptions {
  /** Port of the relay, on every interface of the machine (the package has no host option), 1..65535. Default: 8080. */
  port?: number;
  /** Open the inspector page in the default browser. Default: false. */
  open?: boolean;
}

/** A running relay with a WebSocket inspector connected to it. */
export interface StatelyInspector {
  /** The relay's port. */
  readonly port: number;
  /** `ws://localhost:PORT`: the inspector sends here, and pages listen here. */
  readonly socketUrl: string;
  /** `http://localhost:PORT`: the page that embeds the Stately inspector (its UI loads from stately.ai). */
  readonly pageUrl: string;
  /** The observer to pass to `startReporter({ inspect })`. */
  readonly inspect: InspectObserver;
  /** Lets the last inspection events out, then closes the inspector's WebSocket. Call it after `reporter.stop()`; calling it again does nothing. */
  disconnect(): Promise<void>;
  /**
   * Stops the relay (disconnecting first if that was not done). A page still
   * connected to the relay, or an inspector socket that failed, would keep
   * the process alive: should anything still hold it 2 s later, it says so on
   * stderr and exits with `process.exitCode`. Calling it again does nothing.
   */
  close(): Promise<void>;
}

/**
 * Starts the relay on `port` and a WebSocket inspector connected to it.
 * Rejects with an `InspectorPortError` when the port is taken, before
 * anything is started.
 */
export async function startStatelyInspector(options: StatelyInspectorOptions = {}): Promise<StatelyInspector> {
  const port = options.port ?? DEFAULT_INSPECTOR_PORT;
  if (!Number.isInteger(port) || port < 1 || port > 65_535) {
    throw new TypeError(`Expected \`port\` to be a whole number in 1..65535, got \`${String(port)}\` (${typeof port})`);
  }
  // The relay has no error handler of its own: a busy port would crash the
  // process with an unhandled 'error' event, so ask first.
  await probePort(port);
  // Without a host, listen() binds synchronously, so the relay accepts
  // connections by the time the inspector below first tries to connect.
  const relay = createInspectorServer({ port, autoOpen: options.open ?? false });
  const socketUrl = `ws://localhost:${port}`;
  // `url` is required by the package's types; `autoStart: false` keeps the first connection attempt until the relay listens.
  const inspector = createWebSocketInspector({ url: socketUrl, autoStart: false });
  inspector.start();

  let disconnected: Promise<void> | undefined;
  let closed: Promise<void> | undefined;
  const disconnect = () =>
    (disconnected ??= (async () => {
      // The inspector hands each event on from a 0 ms timer; the last ones
      // (the final `ended` snapshot) were queued before this one, so they go
      // out before the socket closes.
      await new Promise((resolve) => setTimeout(resolve, 0));
      inspector.stop();
    })());
  const close = () =>
    (closed ??= (async () => {
      await disconnect();
      relay.stop();
      setTimeout(() => {
        process.stderr.write('the inspector relay or socket is still open; exiting anyway\n');
        process.exit(process.exitCode ?? 0);
      }, LAST_RESORT_EXIT_MS).unref();
    })());
  return { port, socketUrl, pageUrl: `http://localhost:${port}`, inspect: inspector.inspect, disconnect, close };
}

/** Resolves when `port` can be listened on as the relay will (every interface); rejects with an InspectorPortError when it cannot. */
function probePort(port: number): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const probe = createServer();
    probe.once('error', (error: NodeJS.ErrnoException) => {
      reject(error.code === 'EADDRINUSE' || error.code === 'EACCES' ? new InspectorPortError(port, error.code) : error);
    });
    probe.listen(port, () => probe.close(() => resolve()));
  });
}
