/**
 * The reporter's default transport, as the README states it: Node's own
 * `http.request` and `https.request`, over http and over https, trusting
 * only the certificates Node trusts (NODE_EXTRA_CA_CERTS included), so the
 * key goes to no server whose certificate fails.
 */
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createConfig } from '../src/config.js';
import { type TelemetryReporter, startReporter } from '../src/reporter.js';
import { killAll, runScript } from './child.js';
import { recordingLogger } from './helpers.js';
import { CERT, KEY } from './tls-cert.js';
import { listen } from './transport-helpers.js';

/** A cold tsx start and a TLS handshake on a busy machine, well inside the test timeout. */
const CHILD_TIMEOUT_MS = 15_000;

let server: Server | undefined;
let caDir: string | undefined;

afterEach(async () => {
  killAll();
  if (server !== undefined) {
    server.closeAllConnections();
    await new Promise((resolve) => server!.close(resolve));
    server = undefined;
  }
  if (caDir !== undefined) rmSync(caDir, { recursive: true, force: true });
  caDir = undefined;
});

/** An https sink on 127.0.0.1 with the self-signed certificate: the keys it got, and the events. */
async function httpsSink(): Promise<{ baseUrl: string; keys: (string | undefined)[]; events: string[] }> {
  const seen = { keys: [] as (string | undefined)[], events: [] as string[] };
  server = createServer({ key: KEY, cert: CERT }, (req, res) => {
    let body = '';
    req.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
    req.on('end', () => {
      seen.keys.push(req.headers['x-api-key'] as string | undefined);
      for (const event of (JSON.parse(body) as { events: { event: string; event_name?: string }[] }).events) seen.events.push(event.event_name ?? event.event);
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"accepted"}');
    });
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  return { baseUrl: `https://127.0.0.1:${(server.address() as AddressInfo).port}`, ...seen };
}

/** Runs the fixture against `baseUrl`; with `trust`, the sink's certificate is handed over in NODE_EXTRA_CA_CERTS. */
async function runFixture(baseUrl: string, trust: boolean) {
  const env: NodeJS.ProcessEnv = { ...process.env, TINKER_BASE_URL: baseUrl };
  delete env.NODE_EXTRA_CA_CERTS;
  if (trust) {
    caDir = mkdtempSync(join(tmpdir(), 'tinker-ca-'));
    env.NODE_EXTRA_CA_CERTS = join(caDir, 'ca.pem');
    writeFileSync(env.NODE_EXTRA_CA_CERTS, CERT);
  }
  const child = runScript('test/fixtures/https-default.ts', { env, timeoutMs: CHILD_TIMEOUT_MS });
  expect(await child.exited, child.stderr()).toEqual({ code: 0, signal: null });
  const [, drained, stats] = /stopped (\w+) (.*)/.exec(child.stdout())!;
  return { drained, stats: JSON.parse(stats!) as { deliveredCounter: number; dropped: Record<string, number> } };
}

describe('the default transport', () => {
  it('is node:http: the reporter’s batches go out as Node http requests when no transport is given, none through undici', async () => {
    const started: { host: string; path: string; method: string }[] = [];
    const onStart = (message: unknown) => {
      const { request } = message as { request: { getHeader(name: string): unknown; path: string; method: string } };
      started.push({ host: String(request.getHeader('host')), path: request.path, method: request.method });
    };
    let undiciRequests = 0;
    const onUndici = () => undiciRequests++;
    const batches: number[] = [];
    const { endpoint } = await listen((_req, res, body) => {
      batches.push((JSON.parse(body) as { events: unknown[] }).events.length);
      res.end('{"status":"accepted"}');
    });
    subscribe('http.client.request.start', onStart);
    subscribe('undici:request:create', onUndici);
    try {
      const config = createConfig({ apiKey: 'sk-default-transport', baseUrl: endpoint.replace('/api/v1/telemetry', '') });
      const reporter = startReporter({
        config,
        sessionId: 'default',
        enabled: true,
        attachEvents: false,
        logger: recordingLogger().logger,
      }) as TelemetryReporter;
      reporter.log('step', { i: 1 });
      expect(await reporter.stop(5000)).toBe(true);
    } finally {
      unsubscribe('http.client.request.start', onStart);
      unsubscribe('undici:request:create', onUndici);
    }
    const host = new URL(endpoint).host;
    expect(batches.length).toBeGreaterThan(0);
    // One Node request per batch the sink got, each a POST to the telemetry path.
    expect(started.filter((r) => r.host === host)).toEqual(batches.map(() => ({ host, path: '/api/v1/telemetry', method: 'POST' })));
    expect(undiciRequests).toBe(0);
  });

  it('delivers over https to a server whose certificate Node trusts (NODE_EXTRA_CA_CERTS)', async () => {
    const sink = await httpsSink();
    const { drained, stats } = await runFixture(sink.baseUrl, true);
    expect(drained).toBe('true');
    expect(stats.deliveredCounter).toBe(5);
    expect(sink.events).toEqual(['SESSION_START', 'over.https', 'over.https', 'over.https', 'SESSION_END']);
    expect(new Set(sink.keys)).toEqual(new Set(['sk-https-default-0123456789']));
  });

  it('sends nothing to a server whose certificate Node does not trust, and counts the events dropped', async () => {
    const sink = await httpsSink();
    const { drained, stats } = await runFixture(sink.baseUrl, false);
    // Drained: every event has its outcome, which is a counted drop, not a delivery.
    expect(drained).toBe('true');
    expect(stats.deliveredCounter).toBe(0);
    expect(stats.dropped.retries_exhausted).toBe(5);
    expect(sink.keys).toEqual([]);
  });
});
