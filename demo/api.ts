/**
 * A loopback stand-in for a few Tinker API endpoints, for the demo's
 * instrumented HTTP calls: each answers after a short, fixed delay, so the
 * request durations the channels report are visible and plausible.
 */
import { type IncomingMessage, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A running stand-in API. */
export interface StandInApi {
  /** `http://127.0.0.1:PORT`. */
  url: string;
  close(): Promise<void>;
}

interface Route {
  delayMs: number;
  status: number;
  body: unknown;
}

/** Every route answers with JSON after `delayMs`; anything else is a 404 naming the path. */
const ROUTES: Record<string, Route> = {
  'GET /api/v1/healthz': { delayMs: 5, status: 200, body: { status: 'ok' } },
  'POST /api/v1/forward_backward': { delayMs: 40, status: 200, body: { request_id: 'req-fb-1', loss: 0.37 } },
  'POST /api/v1/optim_step': { delayMs: 25, status: 200, body: { request_id: 'req-os-1' } },
  'POST /api/v1/sample': { delayMs: 60, status: 200, body: { request_id: 'req-sa-1', tokens: 128 } },
  // Slower than the demo client's timeout, so one call ends in a timeout.
  'POST /api/v1/save_weights': { delayMs: 600, status: 200, body: { request_id: 'req-sw-1' } },
};

/** Starts the stand-in API on 127.0.0.1 with a free port. */
export async function startStandInApi(): Promise<StandInApi> {
  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    // The body is not needed, but it must be read for the connection to be reused.
    request.resume();
    request.on('end', () => {
      const path = new URL(request.url ?? '/', 'http://127.0.0.1').pathname;
      const route = ROUTES[`${request.method ?? 'GET'} ${path}`] ?? { delayMs: 10, status: 404, body: { error: `no such resource: ${path}` } };
      const timer = setTimeout(() => {
        if (response.destroyed) return;
        response.writeHead(route.status, { 'content-type': 'application/json' }).end(JSON.stringify(route.body));
      }, route.delayMs);
      response.on('close', () => clearTimeout(timer));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
