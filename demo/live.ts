/**
 * The demo's live view: a `node:http` server on 127.0.0.1 that serves the
 * page under `demo/live/`, the graphs of the machines it draws as JSON
 * (`/machines.json`), and a stream of Server-Sent Events (`/events`) from
 * the feed in `live-feed.ts`: the session machine's transitions, handed in
 * by the demo, and, once the view follows the session's reporter, what the
 * channels of that session publish and the reporter's counters.
 *
 * Each page that connects first gets the feed's snapshot of the present, so
 * a page that connects late, or reconnects, starts from there rather than
 * from nothing.
 */
import { readFile } from 'node:fs/promises';
import { type IncomingMessage, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { MachineGraph } from '../tools/machine-graph.js';
import { type LiveSummary, type NoteKind, type ObservedReporter, createLiveFeed } from './live-feed.js';
import type { MachineTransition } from './machines.js';

export type { LiveSummary, NoteKind, ObservedReporter } from './live-feed.js';

/** A machine the page draws. */
export interface LiveMachine {
  /** The machine's id, e.g. `session`; transitions name it. */
  id: string;
  /** The heading of its diagram. */
  title: string;
  /** Its graph, read from its definition. */
  graph: MachineGraph;
}

/** Options of `startLiveView`. */
export interface LiveViewOptions {
  /** The machines to draw, in this order. */
  machines: readonly LiveMachine[];
  /** Port on 127.0.0.1; 0 picks a free one. Default: 0. */
  port?: number;
}

/** A running live view. */
export interface LiveView {
  /** `http://127.0.0.1:PORT/`. */
  readonly url: string;
  /** A transition of a machine that has no channel (the session's), e.g. from its inspection events. */
  transition(transition: MachineTransition): void;
  /** Follows `reporter` from now on: the `reporter` machine's transitions, the batches and drops of its session, and its counters. Later calls do nothing. */
  follow(reporter: ObservedReporter): void;
  /** Adds a line to the activity feed, e.g. what reached the backend (heartbeats, queue changes and failed futures are noted by the view itself). */
  note(kind: NoteKind, text: string): void;
  /** Announces the step the demo is in, e.g. `fault stretch`. */
  step(title: string): void;
  /** Sends fresh counters; call it after work that publishes nothing (a burst of `log()`). */
  sample(): void;
  /** Sends the final counters and the summary; the page then shows the run as done. */
  finish(summary: LiveSummary): void;
  /** Ends every event stream and closes the server. */
  close(): Promise<void>;
}

const STATIC_FILES: Record<string, { file: string; type: string }> = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/index.html': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/live.css': { file: 'live.css', type: 'text/css; charset=utf-8' },
  '/live.js': { file: 'live.js', type: 'text/javascript; charset=utf-8' },
  '/diagram.js': { file: 'diagram.js', type: 'text/javascript; charset=utf-8' },
};

/** Everything the page loads comes from this server: the policy makes a stray external asset fail loudly. */
const SECURITY_HEADERS = {
  'content-security-policy': "default-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'cache-control': 'no-store',
};

/**
 * Starts the live view on 127.0.0.1 and resolves once it listens. Throws a
 * RangeError for a port outside 0–65535.
 */
export async function startLiveView(options: LiveViewOptions): Promise<LiveView> {
  const port = options.port ?? 0;
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    throw new RangeError(`Expected \`port\` to be an integer in 0–65535, got \`${String(port)}\` (${typeof port})`);
  }
  const assets = new Map<string, Buffer>();
  for (const { file } of Object.values(STATIC_FILES)) {
    if (!assets.has(file)) assets.set(file, await readFile(new URL(`./live/${file}`, import.meta.url)));
  }
  const machinesJson = JSON.stringify({ machines: options.machines });

  const clients = new Set<ServerResponse>();
  const feed = createLiveFeed(
    (type, data) => {
      const frame = `event: ${type}\ndata: ${JSON.stringify(data)}\n\n`;
      for (const client of clients) client.write(frame);
    },
    () => clients.size > 0,
  );

  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    const path = new URL(request.url ?? '/', 'http://127.0.0.1').pathname;
    if (request.method !== 'GET') {
      response.writeHead(405, { allow: 'GET' }).end();
      return;
    }
    if (path === '/events') {
      response.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', connection: 'keep-alive', ...SECURITY_HEADERS });
      // A reconnecting page retries after a second rather than the browser's default three.
      response.write('retry: 1000\n\n');
      response.write(`event: snapshot\ndata: ${JSON.stringify(feed.snapshot())}\n\n`);
      clients.add(response);
      request.on('close', () => clients.delete(response));
      return;
    }
    if (path === '/machines.json') {
      response.writeHead(200, { 'content-type': 'application/json; charset=utf-8', ...SECURITY_HEADERS }).end(machinesJson);
      return;
    }
    const entry = STATIC_FILES[path];
    if (entry === undefined) {
      response.writeHead(404, { 'content-type': 'text/plain; charset=utf-8', ...SECURITY_HEADERS }).end('not found\n');
      return;
    }
    response.writeHead(200, { 'content-type': entry.type, ...SECURITY_HEADERS }).end(assets.get(entry.file));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port: boundPort } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${boundPort}/`,
    transition: (transition) => feed.transition(transition),
    follow: (reporter) => feed.follow(reporter),
    note: (kind, text) => feed.note(kind, text),
    step: (title) => feed.step(title),
    sample: () => feed.sample(),
    finish: (summary) => feed.finish(summary),
    close() {
      feed.dispose();
      for (const client of clients) client.end();
      clients.clear();
      return new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      });
    },
  };
}
