/**
 * What the model-based runs drive: a real reporter, a simulated clock, and a
 * server whose every answer the test chooses. The server side is either an
 * in-memory transport (fast, thousands of runs) or a real loopback HTTP
 * server behind the default got transport (slower, a few dozen runs).
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createConfig } from '../src/config.js';
import type { Clock } from '../src/core/clock.js';
import { SafeLogger } from '../src/host/logger.js';
import { resolveOptions, type ReporterOptions } from '../src/options.js';
import { type ReporterInternals, TelemetryReporter } from '../src/reporter.js';
import type { SendResult, TelemetryRequest, Transport } from '../src/core/ports.js';
import type { WireBody } from '../src/core/wire.js';

/** Lets every pending promise callback run: one turn of the event loop, no waiting on time. */
export const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** A clock whose time moves only when the test says so. */
export class SimulatedClock implements Clock {
  #now = 1_700_000_000_000;
  #nextId = 1;
  readonly #timers = new Map<number, { at: number; fn: () => void }>();

  now(): number {
    return this.#now;
  }

  setTimeout(fn: () => void, ms: number): unknown {
    const id = this.#nextId++;
    this.#timers.set(id, { at: this.#now + Math.max(0, ms), fn });
    return id;
  }

  clearTimeout(handle: unknown): void {
    this.#timers.delete(handle as number);
  }

  /** Timers not yet fired or cleared. */
  get pending(): number {
    return this.#timers.size;
  }

  /** Moves time forward by `ms`, firing due timers in order and letting their effects settle. */
  async advance(ms: number): Promise<void> {
    const target = this.#now + ms;
    for (;;) {
      let next: [number, { at: number; fn: () => void }] | undefined;
      for (const entry of this.#timers) if (entry[1].at <= target && (next === undefined || entry[1].at < next[1].at)) next = entry;
      if (next === undefined) break;
      this.#timers.delete(next[0]);
      this.#now = next[1].at;
      next[1].fn();
      await settle();
    }
    this.#now = target;
    await settle();
  }
}

/** How the test answers one request. `accept_then_fail`: the server keeps the events, then answers 503. */
export type Answer = 'ok' | '503' | '429' | '413' | '400' | 'reset' | 'hang' | 'accept_then_fail';
export const ANSWERS: readonly Answer[] = ['ok', '503', '429', '413', '400', 'reset', 'hang', 'accept_then_fail'];

export interface ReceivedRequest {
  body: WireBody;
  idempotencyKey: string;
  /** The server kept these events (a 2xx, or accept-then-fail). */
  kept: boolean;
  /** The test chose an answer (a hang is an answer that never completes). */
  answered: boolean;
  /** The request has not completed yet: not answered with a response, not aborted. */
  open: boolean;
  aborted: boolean;
}

/** The server side, as the commands see it. */
export interface TestServer {
  readonly requests: ReceivedRequest[];
  /** Answers the oldest request still waiting (hung requests are never answered). */
  answer(answer: Answer): Promise<void>;
  /** From now on, answers every request with 200 at once. */
  acceptEverything(): void;
  /** Waits until the reporter's sends have reached the server. */
  quiesce(reporter: TelemetryReporter): Promise<void>;
  /** Options that point the reporter at this server. */
  reporterOptions(): Partial<ReporterOptions>;
  close(): Promise<void>;
}

const API_KEY = 'sk-model-test-key';

/** A transport in memory: each send waits for the test's answer. */
export function memoryServer(): TestServer {
  const requests: ReceivedRequest[] = [];
  const waiting: { request: ReceivedRequest; resolve: (result: SendResult) => void }[] = [];
  let acceptAll = false;
  const transport: Transport = {
    send(request: TelemetryRequest) {
      const received: ReceivedRequest = {
        body: JSON.parse(request.body) as WireBody,
        idempotencyKey: request.idempotencyKey,
        kept: false,
        answered: false,
        open: true,
        aborted: false,
      };
      requests.push(received);
      if (acceptAll) {
        received.kept = received.answered = true;
        received.open = false;
        return Promise.resolve({ kind: 'ok', status: 200 });
      }
      return new Promise<SendResult>((resolve) => {
        waiting.push({ request: received, resolve });
        request.signal.addEventListener('abort', () => {
          received.aborted = true;
          received.open = false;
          resolve({ kind: 'retryable', reason: 'aborted' });
        });
      });
    },
  };
  const resultOf = (answer: Answer): SendResult | undefined => {
    switch (answer) {
      case 'ok':
        return { kind: 'ok', status: 200 };
      case '503':
      case 'accept_then_fail':
        return { kind: 'retryable', status: 503, reason: 'HTTP 503' };
      case '429':
        return { kind: 'retryable', status: 429, retryAfterMs: 2000, reason: 'HTTP 429' };
      case '413':
        return { kind: 'too_large', status: 413 };
      case '400':
        return { kind: 'rejected', status: 400 };
      case 'reset':
        return { kind: 'retryable', reason: 'ECONNRESET: socket hang up' };
      case 'hang':
        return undefined;
    }
  };
  return {
    requests,
    async answer(answer) {
      const next = waiting.find((w) => !w.request.answered && !w.request.aborted);
      if (next === undefined) return;
      const result = resultOf(answer);
      next.request.answered = true;
      if (result === undefined) return;
      next.request.open = false;
      next.request.kept = answer === 'ok' || answer === 'accept_then_fail';
      next.resolve(result);
      await settle();
    },
    acceptEverything() {
      acceptAll = true;
      for (const w of waiting) {
        if (w.request.answered || w.request.aborted) continue;
        w.request.answered = w.request.kept = true;
        w.request.open = false;
        w.resolve({ kind: 'ok', status: 200 });
      }
    },
    quiesce: () => settle(),
    reporterOptions: () => ({ transport, config: createConfig({ apiKey: API_KEY, baseUrl: 'http://127.0.0.1:9' }) }),
    close: async () => undefined,
  };
}

/** A real HTTP server on 127.0.0.1, port 0, holding each request until the test answers it. */
export async function httpServer(): Promise<TestServer> {
  const requests: ReceivedRequest[] = [];
  const waiting: { request: ReceivedRequest; req: IncomingMessage; res: ServerResponse }[] = [];
  let acceptAll = false;
  const server = createServer((req, res) => {
    let text = '';
    req.on('data', (chunk: Buffer) => (text += chunk.toString()));
    req.on('end', () => {
      const received: ReceivedRequest = {
        body: JSON.parse(text) as WireBody,
        idempotencyKey: String(req.headers['x-idempotency-key']),
        kept: false,
        answered: false,
        open: true,
        aborted: false,
      };
      requests.push(received);
      res.on('close', () => {
        if (received.open) received.aborted = true;
        received.open = false;
      });
      if (acceptAll) {
        received.kept = received.answered = true;
        res.end('{"status":"accepted"}');
      } else waiting.push({ request: received, req, res });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const reply = (w: (typeof waiting)[number], answer: Answer) => {
    w.request.answered = true;
    if (answer === 'hang') return;
    w.request.open = false;
    w.request.kept = answer === 'ok' || answer === 'accept_then_fail';
    switch (answer) {
      case 'ok':
        return void w.res.end('{"status":"accepted"}');
      case '503':
      case 'accept_then_fail':
        return void w.res.writeHead(503).end();
      case '429':
        return void w.res.writeHead(429, { 'retry-after': '2' }).end();
      case '413':
        return void w.res.writeHead(413).end();
      case '400':
        return void w.res.writeHead(400).end();
      case 'reset':
        return void w.req.socket.destroy();
    }
  };
  return {
    requests,
    async answer(answer) {
      const next = waiting.find((w) => !w.request.answered && w.request.open);
      if (next !== undefined) reply(next, answer);
    },
    acceptEverything() {
      acceptAll = true;
      for (const w of waiting) if (!w.request.answered && w.request.open) reply(w, 'ok');
    },
    async quiesce(reporter) {
      // A send is under way while the machine is in a sending state; wait
      // (in real time, bounded) until it has reached the server or ended.
      for (let i = 0; i < 1000; i++) {
        await settle();
        const sending = JSON.stringify(reporter.stats().state).includes('sending');
        if (!sending || requests.some((r) => r.open)) return;
        await new Promise((resolve) => setTimeout(resolve, 1));
      }
    },
    reporterOptions: () => ({ config: createConfig({ apiKey: API_KEY, baseUrl }), httpTimeoutMs: 60_000 }),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export interface Bounds {
  maxQueueSize: number;
  maxBatchSize: number;
  maxRetries: number;
  flushThreshold: number;
  flushIntervalMs: number;
  flushTimeoutMs: number;
}

export const RUN_BOUNDS: Bounds = { maxQueueSize: 6, maxBatchSize: 3, maxRetries: 2, flushThreshold: 4, flushIntervalMs: 1000, flushTimeoutMs: 5000 };

/** A reporter on the simulated clock, pointed at `server`, with `internals` for planted bugs. */
export function makeReporter(server: TestServer, clock: SimulatedClock, bounds: Bounds, internals: ReporterInternals = {}): TelemetryReporter {
  const options = resolveOptions({
    sessionId: 'model-session',
    enabled: true,
    attachEvents: false,
    retryBaseDelayMs: 100,
    random: () => 0.5,
    clock,
    logger: { warn() {}, info() {}, error() {}, debug() {} },
    ...bounds,
    ...server.reporterOptions(),
  });
  return new TelemetryReporter(options, new SafeLogger(options.logger, {}), internals);
}
