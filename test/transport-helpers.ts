/**
 * What the tests of the HTTP transports share: every transport, so that one
 * behaviour table runs against each (`describe.each(TRANSPORTS)`), a
 * loopback server on port 0 that counts and keeps its sockets, and the
 * clean-up of servers and transports after each test.
 */
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { afterEach } from 'vitest';
import type { TelemetryRequest, Transport } from '../src/core/ports.js';
import type { HttpTransportOptions } from '../src/io/http-transport.js';
import { createNodeTransport } from '../src/io/node-transport.js';
import { createGotTransport } from '../src/io/transport.js';
import { createUndiciTransport } from '../src/io/undici-transport.js';

/** Every HTTP transport, by name, for `describe.each(TRANSPORTS)('$name transport', …)`. */
export const TRANSPORTS: { name: string; create: (options: HttpTransportOptions) => Transport }[] = [
  { name: 'got', create: createGotTransport },
  { name: 'undici', create: createUndiciTransport },
  { name: 'node:http', create: createNodeTransport },
];

/** The transports that read (and cut) the answer themselves, with their own timer and connection: undici's and the default, `node:http`. */
export const OWN_TRANSPORTS = TRANSPORTS.filter(({ name }) => name !== 'got');

const servers: Server[] = [];
const transports: Transport[] = [];
afterEach(async () => {
  for (const transport of transports.splice(0)) transport.close?.();
  await Promise.all(
    servers.splice(0).map((server) => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(resolve));
    }),
  );
});

/** Keeps `transport` to be closed after the test, and returns it. */
export function track(transport: Transport): Transport {
  transports.push(transport);
  return transport;
}

/** A loopback server. */
export interface Loopback {
  server: Server;
  /** `http://127.0.0.1:<port>/api/v1/telemetry` */
  endpoint: string;
  /** The sockets the server accepted, in order. */
  sockets: Socket[];
}

/** A loopback server on 127.0.0.1, port 0, calling `handler` with each request and its body once the body has arrived; closed after the test. */
export async function listen(handler: (req: IncomingMessage, res: ServerResponse, body: string) => void): Promise<Loopback> {
  const sockets: Socket[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => handler(req, res, body));
  });
  server.on('connection', (socket: Socket) => sockets.push(socket));
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/v1/telemetry`, sockets };
}

/** A port nothing listens on: a server's, closed. */
export async function deadPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** A request of one batch, with a signal that never aborts unless given one. */
export const request = (overrides: Partial<TelemetryRequest> = {}): TelemetryRequest => ({
  body: '{"events":[]}',
  idempotencyKey: 'key-1',
  signal: new AbortController().signal,
  ...overrides,
});
