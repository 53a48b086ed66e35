/**
 * Test doubles of the Tinker protocol tests: a loopback server that answers
 * from a script and records every request, a clock the test advances by
 * hand (the layer's own waits go through it; the HTTP exchanges are real),
 * a `TinkerApi` built from both, and a recorder of the package's channels.
 */
import diagnostics from 'node:diagnostics_channel';
import { type IncomingHttpHeaders, type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach } from 'vitest';
import type { Clock } from '../src/core/clock.js';
import { CHANNELS } from '../src/host/channels.js';
import { SafeLogger } from '../src/host/logger.js';
import { TinkerApi, type TinkerApiOptions } from '../src/tinker/api.js';
import { recordingLogger } from './helpers.js';

/** The key of every test: searched for in every error, log line and payload. */
export const KEY = 'tml-SECRET-key-0123456789abcdef';

/** A request the server received. */
export interface Received {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  /** The body parsed as JSON, or the raw text when it is not JSON. */
  body: unknown;
}

/** How the server answers one request. */
export type Answer =
  | { status?: number; headers?: Record<string, string>; json?: unknown; text?: string; bytes?: Buffer }
  /** Destroys the socket without an answer: a connection error. */
  | { reset: true }
  /** Never answers. */
  | { hang: true };

const servers: Server[] = [];
const cleanups: (() => void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) cleanup();
  await Promise.all(
    servers.splice(0).map((server) => {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    }),
  );
});

/** Registers something to undo after the test. */
export function onCleanup(cleanup: () => void): void {
  cleanups.push(cleanup);
}

/**
 * A loopback server on port 0 that answers `script(request, n)` (n counts requests to that path from 0) and records every request,
 * and in `abandoned` every request left hanging whose connection the client closed.
 */
export async function serve(script: (request: Received, n: number) => Answer) {
  const received: Received[] = [];
  const abandoned: Received[] = [];
  const counts = new Map<string, number>();
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      let body: unknown = text;
      try {
        body = JSON.parse(text);
      } catch {
        // Kept as text.
      }
      const request: Received = { method: req.method ?? '', path: req.url ?? '', headers: req.headers, body };
      received.push(request);
      const n = counts.get(request.path) ?? 0;
      counts.set(request.path, n + 1);
      const answer = script(request, n);
      if ('reset' in answer) {
        req.socket.destroy();
        return;
      }
      if ('hang' in answer) {
        // The client gave up on it (aborted, timed out): recorded, so a test can prove an abort reached the wire.
        res.on('close', () => abandoned.push(request));
        return;
      }
      const payload = answer.bytes ?? (answer.text !== undefined ? answer.text : JSON.stringify(answer.json ?? {}));
      res.writeHead(answer.status ?? 200, { 'content-type': 'application/json', ...answer.headers }).end(payload);
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { baseUrl, received, abandoned, to: (path: string) => received.filter((r) => r.path === path) };
}

/** A timer of the manual clock. */
export interface ManualTimer {
  ms: number;
  at: number;
  fn: () => void;
  unrefd: boolean;
  cleared: boolean;
  fired: boolean;
  unref(): ManualTimer;
  ref(): ManualTimer;
}

/** A clock whose time moves only when the test says; its timers have `unref`, and record whether it was called. */
export class ManualClock implements Clock {
  nowMs = Date.UTC(2026, 0, 1);
  readonly timers: ManualTimer[] = [];
  #waiters: ((timer: ManualTimer) => void)[] = [];
  #seen = 0;

  now(): number {
    return this.nowMs;
  }

  setTimeout(fn: () => void, ms: number): unknown {
    const timer: ManualTimer = {
      ms,
      at: this.nowMs + ms,
      fn,
      unrefd: false,
      cleared: false,
      fired: false,
      unref() {
        timer.unrefd = true;
        return timer;
      },
      ref() {
        timer.unrefd = false;
        return timer;
      },
    };
    this.timers.push(timer);
    this.#waiters.shift()?.(timer);
    return timer;
  }

  clearTimeout(handle: unknown): void {
    (handle as ManualTimer).cleared = true;
  }

  /** Timers neither fired nor cleared. */
  get pending(): ManualTimer[] {
    return this.timers.filter((t) => !t.fired && !t.cleared);
  }

  /** The next live timer set after those already taken by `nextTimer` (at once when one is waiting); cleared and fired ones are skipped. */
  nextTimer(): Promise<ManualTimer> {
    while (this.#seen < this.timers.length) {
      const next = this.timers[this.#seen++] as ManualTimer;
      if (!next.cleared && !next.fired) return Promise.resolve(next);
    }
    return new Promise((resolve) =>
      this.#waiters.push((timer) => {
        this.#seen++;
        resolve(timer);
      }),
    );
  }

  /** Moves time forward by `ms`, firing each due timer in order. */
  advance(ms: number): void {
    const until = this.nowMs + ms;
    for (;;) {
      const due = this.pending.filter((t) => t.at <= until).sort((a, b) => a.at - b.at)[0];
      if (due === undefined) break;
      this.nowMs = Math.max(this.nowMs, due.at);
      due.fired = true;
      due.fn();
    }
    this.nowMs = until;
  }

  /** Moves time to `timer` and fires it (and any timer due before it). */
  fire(timer: ManualTimer): void {
    this.advance(Math.max(0, timer.at - this.nowMs));
  }
}

/** A `TinkerApi` against `baseUrl`, on a manual clock, logging to a recording logger, jitter 0. */
export function makeApi(baseUrl: string, overrides: Partial<TinkerApiOptions> = {}) {
  const clock = new ManualClock();
  const logged = recordingLogger();
  const api = new TinkerApi({
    config: { apiKey: KEY, baseUrl },
    sdkVersion: '0.1.0',
    log: new SafeLogger(logged.logger, {}),
    clock,
    random: () => 0,
    ...overrides,
  });
  onCleanup(() => api.close());
  return { api, clock, logged };
}

/** Every message on every `tinker:*` channel, with its channel, while the test runs. */
export function recordChannels() {
  const messages: { channel: string; payload: Record<string, unknown> }[] = [];
  for (const channel of Object.values(CHANNELS)) {
    const listener = (payload: unknown) => messages.push({ channel, payload: payload as Record<string, unknown> });
    diagnostics.subscribe(channel, listener);
    onCleanup(() => diagnostics.unsubscribe(channel, listener));
  }
  return { messages, on: (channel: string) => messages.filter((m) => m.channel === channel).map((m) => m.payload) };
}

/** A JWT (unsigned: the layer does not verify) whose `exp` is `expSec`, with a recognisable signature part. */
export function makeJwt(expSec: number, marker = 'SIGNATUREpart'): string {
  const part = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${part({ alg: 'HS256', typ: 'JWT' })}.${part({ sub: 'user', exp: expSec })}.${marker}${Math.random().toString(36).slice(2)}`;
}

/** What an awaited promise rejected with; fails the test when it resolves. */
export async function rejectionOf(promise: Promise<unknown>): Promise<Error & Record<string, unknown>> {
  try {
    await promise;
  } catch (error) {
    return error as Error & Record<string, unknown>;
  }
  throw new Error('expected a rejection, but the promise resolved');
}
