import { type AgentOptions, createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Transport } from '../src/core/ports.js';
import type { HttpTransportOptions } from '../src/io/http-transport.js';
import { createNodeTransport } from '../src/io/node-transport.js';
import { createGotTransport } from '../src/io/transport.js';
import { CERT, KEY } from './tls-cert.js';

// The transport takes no CA option, so its https Agent is handed this certificate as its CA; every
// other option of the Agent (keep-alive above all) is the transport's own.
vi.mock('node:https', async (importOriginal) => {
  const original = await importOriginal<typeof import('node:https')>();
  const { CERT } = await import('./tls-cert.js');
  class TrustingAgent extends original.Agent {
    constructor(options?: AgentOptions) {
      super({ ...options, ca: CERT });
    }
  }
  return { ...original, default: { ...original, Agent: TrustingAgent }, Agent: TrustingAgent };
});

let server: Server | undefined;
let transport: Transport | undefined;

afterEach(async () => {
  transport?.close?.();
  transport = undefined;
  if (server) {
    server.closeAllConnections();
    await new Promise((resolve) => server!.close(resolve));
    server = undefined;
  }
});

const OVER_HTTPS: { name: string; create: (options: HttpTransportOptions) => Transport }[] = [
  { name: 'got', create: createGotTransport },
  { name: 'node:http', create: createNodeTransport },
];

describe.each(OVER_HTTPS)('$name transport over https', ({ create }) => {
  it('reuses one keep-alive TLS connection for sequential sends, and close() releases it', async () => {
    const connections = { count: 0 };
    server = createServer({ key: KEY, cert: CERT }, (req, res) => {
      req.resume().on('end', () => res.end('{"status":"accepted"}'));
    });
    server.on('secureConnection', () => connections.count++);
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    const endpoint = `https://127.0.0.1:${(server.address() as AddressInfo).port}/api/v1/telemetry`;
    transport = create({ endpoint, apiKey: 'sk-https', userAgent: 'tinker-telemetry/test', httpTimeoutMs: 2000 });
    const request = () => ({ body: '{"events":[]}', idempotencyKey: 'key-1', signal: new AbortController().signal });

    for (let i = 0; i < 3; i++) expect(await transport.send(request())).toEqual({ kind: 'ok', status: 200 });
    expect(connections.count).toBe(1);

    transport.close?.();
    expect(await transport.send(request())).toEqual({ kind: 'ok', status: 200 });
    expect(connections.count).toBe(2);
  });
});
