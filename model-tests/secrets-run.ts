/**
 * One run of the end-to-end secrets property (`secrets.e2e.property.test.ts`):
 * a sink on 127.0.0.1 that records every body and answers as the run says, a
 * real reporter (`startReporter`) on a simulated clock with `spoolDir` in a
 * fresh temporary directory, a driver that steps the reporter through its
 * sends and retries without waiting on real time, and what each place the
 * key must never reach holds at the end.
 */
import diagnostics from 'node:diagnostics_channel';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { InspectionEvent } from 'xstate';
import { expect } from 'vitest';
import { createConfig } from '../src/config.js';
import { TELEMETRY_CHANNELS } from '../src/host/channels.js';
import { attachLogger, detachLogger } from '../src/host/debug-logger.js';
import { createGotTransport } from '../src/io/transport.js';
import { type TelemetryReporter, startReporter } from '../src/reporter.js';
import type { SendResult, Transport } from '../src/core/ports.js';
import { recordingLogger } from '../test/helpers.js';
import { SimulatedClock, settle } from './harness.js';

/** The session of every run; a forwarded channel message names it. */
export const SESSION = 'secrets-e2e';

/** How the sink answers: every request 200, the first 503 and the rest 200, or every request 503. */
export type SinkMode = 'ok' | 'fail-once' | 'fail';

/** One run's inputs. */
export interface Run {
  key: string;
  /** The string that carries the key. */
  text: string;
  maxEventBytes: number;
  mode: SinkMode;
  /** False: `maxSpoolBytes` is 1, so nothing fits in the spool and a batch whose retries are exhausted is dropped, with its warning. */
  spoolRoom: boolean;
  /** 0–5: picks among the ways an input can be given. */
  variant: number;
}

/** How a run hands its text to the reporter. */
export interface Delivery {
  /** Hands `text` to the reporter. */
  give?(reporter: TelemetryReporter, text: string, run: Run): void;
  /** Every failed send of the got transport, wrapped, ends in this instead: a result, or a throw. */
  failure?(text: string): SendResult;
  /** What `stop()` is called with. Default: 60 000. */
  stopWith?(text: string): unknown;
  /** The reporter forwards the queue channel, and `attachLogger` writes every channel to the run's logger. */
  forwards?: boolean;
}

/** Everything one run left where the key must not be, each as one text. */
export interface Sinks {
  /** Every request body the sink received. */
  bodies: string;
  /** Every log record: level, message and the record's JSON. */
  logs: string;
  /** The spool's files, names and bytes, once the first send has its answer (the batch held for its retry, the journal). */
  spoolMidSession: string;
  /** The spool's files once `stop()` has resolved. */
  spoolAfterStop: string;
  /** Every `tinker:telemetry:*` payload, as JSON. */
  channels: string;
  /** `stats()`, as JSON. */
  stats: string;
}

/** A node:http server on 127.0.0.1 that records every body and answers as `mode` says. */
export interface TelemetrySink {
  readonly base: string;
  mode: SinkMode;
  bodies: string[];
  close(): Promise<void>;
}

/** Starts a `TelemetrySink` on port 0. */
export async function startTelemetrySink(): Promise<TelemetrySink> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      sink.bodies.push(Buffer.concat(chunks).toString('utf8'));
      const fail = sink.mode === 'fail' || (sink.mode === 'fail-once' && sink.bodies.length === 1);
      res.writeHead(fail ? 503 : 200).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const sink: TelemetrySink = {
    base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    mode: 'ok',
    bodies: [],
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  return sink;
}

/** Every file of the spool directory, its name and its bytes. */
const spoolText = (dir: string) =>
  readdirSync(dir)
    .map((file) => `${file}\n${readFileSync(join(dir, file), 'utf8')}`)
    .join('\n');

/**
 * Runs `delivery` with `run` through a reporter configured with
 * `reporterKey` (the key itself, or another for a control run) that sends to
 * `sink`: gives it the text and one more event, sends, reads the spool once
 * the first send has its answer, stops on the simulated clock, and returns
 * what every sink holds. Always stops the reporter and removes the directory.
 */
export async function runOnce(sink: TelemetrySink, delivery: Delivery, run: Run, reporterKey: string): Promise<Sinks> {
  sink.mode = run.mode;
  sink.bodies = [];
  const dir = mkdtempSync(join(tmpdir(), 'secrets-e2e-'));
  const clock = new SimulatedClock();
  const log = recordingLogger();
  const config = createConfig({ apiKey: reporterKey, baseUrl: sink.base });
  const channels: string[] = [];
  const hear = (message: unknown) => channels.push(JSON.stringify(message));
  for (const name of TELEMETRY_CHANNELS) diagnostics.subscribe(name, hear);
  const debugId = delivery.forwards === true ? attachLogger({ logger: log.logger, apiKey: reporterKey }) : undefined;
  let transport: Transport | undefined;
  const { failure } = delivery;
  if (failure !== undefined) {
    const got = createGotTransport({ endpoint: config.telemetryEndpoint, apiKey: reporterKey, userAgent: SESSION, httpTimeoutMs: 60_000 });
    transport = {
      send: async (request) => {
        const result = await got.send(request);
        return result.kind === 'ok' ? result : failure(run.text);
      },
      close: () => got.close?.(),
    };
  }
  // Each step of the machine wakes the driver: a send ends when its HTTP answer arrives, not at a time the test can set.
  let wake = () => undefined as void;
  const reporter = startReporter({
    config,
    sessionId: SESSION,
    enabled: true,
    attachEvents: delivery.forwards === true,
    events: ['tinker:queue:state_change'],
    drainOnExit: false,
    flushIntervalMs: 0,
    flushTimeoutMs: 60_000,
    maxRetries: 1,
    retryBaseDelayMs: 100,
    random: () => 0.5,
    clock,
    logger: log.logger,
    maxEventBytes: run.maxEventBytes,
    spoolDir: dir,
    ...(run.spoolRoom ? {} : { maxSpoolBytes: 1 }),
    ...(transport === undefined ? {} : { transport }),
    inspect: (event: InspectionEvent) => {
      if (event.type === '@xstate.snapshot') wake();
    },
  }) as TelemetryReporter;
  const whileSending = async () => {
    for (;;) {
      await settle();
      if (!JSON.stringify(reporter.stats().state).includes('sending')) return;
      await new Promise<void>((resolve) => (wake = resolve));
    }
  };
  let during = '';
  let done = false;
  try {
    delivery.give?.(reporter, run.text, run);
    reporter.log('after', { n: 2 });
    void reporter.flush();
    await whileSending();
    // With a failing sink the batch waits for its retry: held in a claimed file, its events in the journal.
    during = spoolText(dir);
    const stopped = reporter.stop((delivery.stopWith?.(run.text) ?? 60_000) as number);
    void stopped.then(() => (done = true));
    for (let step = 0; step < 40 && !done; step++) {
      await whileSending();
      await clock.advance(1_000);
    }
  } finally {
    if (!done) {
      void reporter.stop(1);
      await clock.advance(120_000);
    }
    for (const name of TELEMETRY_CHANNELS) diagnostics.unsubscribe(name, hear);
    if (debugId !== undefined) detachLogger(debugId);
  }
  const after = spoolText(dir);
  rmSync(dir, { recursive: true, force: true });
  expect(done, 'stop() resolved on the simulated clock').toBe(true);
  return {
    bodies: sink.bodies.join('\n'),
    logs: log.text(),
    spoolMidSession: during,
    spoolAfterStop: after,
    channels: channels.join('\n'),
    stats: JSON.stringify(reporter.stats()),
  };
}
