/**
 * A loopback stand-in for the Tinker backend's `/api/v1/telemetry`: it
 * accepts batches on 127.0.0.1 and remembers what arrived. Used by the
 * examples and the reporter's tests; the demo runs against the whole fake
 * Tinker API (`tinker-telemetry/testing`) instead.
 */
import { type IncomingMessage, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request the sink answered with a 2xx, as it arrived. */
export interface ReceivedBatch {
  receivedAtMs: number;
  idempotencyKey: string | undefined;
  body: { session_id: string; events: { event: string; event_id: string; event_session_index: number }[] };
}

/** Decides the answer to one request; default: 200 `{"status":"accepted"}`. */
export type Responder = (request: IncomingMessage, batch: ReceivedBatch) => { status: number; headers?: Record<string, string> };

/** A running sink. `respond` may be replaced while it runs. */
export interface Sink {
  url: string;
  batches: ReceivedBatch[];
  respond: Responder;
  close(): Promise<void>;
}

/** Starts a sink on 127.0.0.1 with a free port; `respond` decides each answer. */
export async function startSink(respond: Responder = () => ({ status: 200 })): Promise<Sink> {
  const sink: Sink = { url: '', batches: [], respond, close: async () => undefined };
  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      let body: ReceivedBatch['body'];
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as ReceivedBatch['body'];
      } catch {
        response.writeHead(400).end();
        return;
      }
      const key = request.headers['x-idempotency-key'];
      const batch: ReceivedBatch = { receivedAtMs: Date.now(), idempotencyKey: typeof key === 'string' ? key : undefined, body };
      const answer = sink.respond(request, batch);
      if (answer.status >= 200 && answer.status < 300) sink.batches.push(batch);
      response.writeHead(answer.status, { 'content-type': 'application/json', ...answer.headers });
      response.end(answer.status < 300 ? '{"status":"accepted"}' : '{"error":"demo fault"}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  sink.url = `http://127.0.0.1:${port}`;
  sink.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return sink;
}
