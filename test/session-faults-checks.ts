/**
 * The checks every session fault test ends with (`expectCleanRun`), and the
 * recorders they read: each `X-API-Key` value the process sent (so the JWTs
 * are known) and each message published on the queue and future channels.
 */
import diagnostics from 'node:diagnostics_channel';
import type { ClientRequest } from 'node:http';
import { expect } from 'vitest';
import { CHANNELS, FUTURE_CHANNELS, QUEUE_CHANNELS } from '../src/host/channels.js';
import type { FakeTinker, TelemetryEvent } from '../src/testing.js';

/** The key of these tests: no 8-character piece of it occurs in anything the library says about itself, so any piece found is a leak. */
export const API_KEY = 'tml-7Qz2Kw9Vb4Rx8Lp3Nt6Hm5Jd1Fs0Gc';

/** Every value of `X-API-Key` this process sent over HTTP (read from Node's `http.client.request.start` channel), so the JWTs the fake issued are known. */
const sentCredentials = new Set<string>();
const onRequest = (message: unknown) => {
  const value = (message as { request: ClientRequest }).request.getHeader('x-api-key');
  if (typeof value === 'string') sentCredentials.add(value);
};

/** One published message on a queue or future channel. */
interface Published {
  channel: string;
  payload: Record<string, unknown>;
}
const published: Published[] = [];
const listeners = [...QUEUE_CHANNELS, ...FUTURE_CHANNELS].map((channel) => {
  const listener = (payload: unknown) => published.push({ channel, payload: payload as Record<string, unknown> });
  return { channel, listener };
});

/** Starts recording, from nothing: called before each test. */
export function startRecording(): void {
  sentCredentials.clear();
  published.length = 0;
  diagnostics.subscribe('http.client.request.start', onRequest);
  for (const { channel, listener } of listeners) diagnostics.subscribe(channel, listener);
}

/** Stops recording: called after each test. */
export function stopRecording(): void {
  diagnostics.unsubscribe('http.client.request.start', onRequest);
  for (const { channel, listener } of listeners) diagnostics.unsubscribe(channel, listener);
}

/** What `expectCleanRun` reads of a test's run. */
export interface CheckedRun {
  fake: FakeTinker;
  /** The session's log, as text. */
  log: { text(): string };
  /** Errors the test saw. */
  errors: unknown[];
}

/** The queue and future events the backend received, as `[event_name, event_data, severity]`. */
export function forwardedFutureEvents(fake: FakeTinker): [string, unknown, string][] {
  return fake.telemetry.events.flatMap((event: TelemetryEvent) =>
    event.event === 'GENERIC_EVENT' && /^tinker\.(queue|future)\./.test(String(event.event_name))
      ? [[String(event.event_name), event.event_data, String(event.severity)] as [string, unknown, string]]
      : [],
  );
}

/** Every piece of `secret` `length` characters long. */
function fragments(secret: string, length = 8): string[] {
  return Array.from({ length: Math.max(0, secret.length - length + 1) }, (_, i) => secret.slice(i, i + length));
}

/** An error and its causes as text: name, code, message of each. */
function errorText(error: unknown): string {
  const parts: string[] = [];
  for (let at: unknown = error, depth = 0; at !== undefined && at !== null && depth < 5; depth++) {
    const { name, code, message } = at as { name?: unknown; code?: unknown; message?: unknown };
    parts.push(`${String(name)} ${String(code)} ${String(message)}`);
    at = (at as { cause?: unknown }).cause;
  }
  return parts.join('\n');
}

/**
 * The checks every fault test ends with, once its session is closed (or never existed):
 * - every request body passed the fake's strict validation;
 * - every telemetry batch carries the id the server issued (`sessionId`; none without a session);
 * - every message the session published on the queue and future channels reached the backend,
 *   in order, as a GENERIC_EVENT named after its channel (`:` → `.`), `event_data` split into
 *   measurements (`queueDepth`, `elapsedMs`) and metadata (the rest, without `sessionId`),
 *   at ERROR for the future channels and INFO for the queue's;
 * - no telemetry event, log line or error the test saw holds any 8-character piece of the key
 *   or of a JWT the session sent.
 */
export function expectCleanRun(world: CheckedRun, sessionId: string | undefined): void {
  const { fake } = world;
  expect(fake.violations, 'every body passed the strict validation').toEqual([]);
  if (sessionId === undefined) {
    expect(fake.telemetry.batches, 'no telemetry without a session').toEqual([]);
  } else {
    expect(fake.sessions.map((s) => s.sessionId)).toContain(sessionId);
    expect(
      fake.telemetry.batches.map((batch) => batch.session_id),
      'every batch carries the server-issued id',
    ).toEqual(fake.telemetry.batches.map(() => sessionId));
  }

  const expected = published
    .filter(({ payload }) => sessionId !== undefined && payload.sessionId === sessionId)
    .map(({ channel, payload }): [string, unknown, string] => {
      const measurements: Record<string, unknown> = {};
      const metadata: Record<string, unknown> = {};
      for (const [key, value] of Object.entries(payload)) {
        if (key === 'sessionId') continue;
        if (key === 'queueDepth' || key === 'elapsedMs') measurements[key] = value;
        else metadata[key] = value;
      }
      return [channel.replaceAll(':', '.'), { measurements, metadata }, channel === CHANNELS.queueStateChange ? 'INFO' : 'ERROR'];
    });
  expect(forwardedFutureEvents(fake), 'the queue and future telemetry reached the backend as published').toEqual(expected);

  const secrets = [API_KEY, ...[...sentCredentials].filter((credential) => credential !== API_KEY)];
  const said = [JSON.stringify(fake.telemetry.events), world.log.text(), ...world.errors.map(errorText)].join('\n');
  for (const secret of secrets) {
    const leaked = fragments(secret).filter((piece) => said.includes(piece));
    expect(leaked, `no piece of ${secret === API_KEY ? 'the key' : 'a JWT'} in telemetry, logs or errors`).toEqual([]);
  }
}

/** The JWTs the session sent as `X-API-Key` in this test. */
export function sentJwts(): string[] {
  return [...sentCredentials].filter((credential) => credential !== API_KEY);
}

/** The forwarded queue and future events as `[name, metadata]`, after checking that each measures `queueDepth` (queue) or `elapsedMs` (futures) and nothing else. */
export function futureEvents(fake: FakeTinker): [string, unknown][] {
  return forwardedFutureEvents(fake).map(([name, data]) => {
    const { measurements, metadata } = data as { measurements: Record<string, number>; metadata: unknown };
    expect(Object.keys(measurements)).toEqual([name.startsWith('tinker.queue.') ? 'queueDepth' : 'elapsedMs']);
    return [name, metadata];
  });
}
