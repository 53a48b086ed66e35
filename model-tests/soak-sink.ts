/**
 * The soak's loopback sink: node:http on 127.0.0.1 (port 0) that records
 * every request it receives and answers it with a seeded choice of faults.
 * It keeps, per idempotency key, the event ids, indices and types of the body
 * once (about 100 bytes per event), so its own memory stays small next to the
 * reporter's.
 */
import { createHash } from 'node:crypto';
import { type IncomingMessage, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/** How the sink answers one request. */
export type AnswerKind = 'ok' | 'slow_ok' | 'garbage_ok' | 'error_500' | 'error_503' | 'throttle_0s' | 'throttle_1s' | 'too_large' | 'reset' | 'hang';

/** Every answer kind, in the order the figures list them. */
export const ANSWER_KINDS: readonly AnswerKind[] = Object.freeze([
  'ok',
  'slow_ok',
  'garbage_ok',
  'error_500',
  'error_503',
  'throttle_0s',
  'throttle_1s',
  'too_large',
  'reset',
  'hang',
]);

/**
 * Relative odds of each answer after the first `ANSWER_KINDS.length`
 * requests. About 45 % of requests fail, so most batches see a fault and a
 * few run out of retries; hangs and `Retry-After: 1` are kept rare because
 * each costs a fifth of a second or a whole second of the single sending lane.
 */
export const ANSWER_WEIGHTS: Readonly<Record<AnswerKind, number>> = Object.freeze({
  ok: 40,
  slow_ok: 8,
  garbage_ok: 6,
  error_500: 8,
  error_503: 8,
  throttle_0s: 6,
  throttle_1s: 1,
  too_large: 6,
  reset: 8,
  hang: 5,
});

/** What the sink kept of one request body; shared by every request with the same idempotency key. */
export interface SinkBatch {
  /** sha-1 of the body text: every retry must send the very same bytes. */
  hash: string;
  ids: string[];
  indices: number[];
  types: string[];
}

/** One request as the sink saw it. */
export interface SinkRequest {
  /** Arrival order, from 0. */
  seq: number;
  /** The `X-Idempotency-Key` header. */
  key: string;
  /** Undefined when the body was not the wire format (a violation is recorded). */
  batch: SinkBatch | undefined;
  answer: AnswerKind;
  /** A 2xx whose bytes reached the socket ("2xx-answered"). */
  answered2xx: boolean;
  /** A slow answer whose client had already gone, so nothing was written. */
  late: boolean;
}

const WIRE_KEYS = ['events', 'platform', 'process_uuid', 'sdk_version', 'session_id'];
const EVENT_TYPES = new Set(['SESSION_START', 'SESSION_END', 'UNHANDLED_EXCEPTION', 'GENERIC_EVENT']);
const WIRE_SEVERITIES = new Set(['DEBUG', 'INFO', 'WARNING', 'ERROR', 'CRITICAL']);

/** A running sink. */
export interface ChaosSink {
  /** `http://127.0.0.1:PORT`, for `createConfig({ baseUrl })`. */
  url: string;
  /** Every request whose body arrived in full, in arrival order. */
  requests: SinkRequest[];
  /** What was wrong with the bodies (wire format, a key re-sent with another body); the first 20, then a line saying there were more. */
  problems: string[];
  /** Cancels pending slow answers, drops hanging ones, closes every connection and the server. */
  close(): Promise<void>;
}

/**
 * Starts the sink on 127.0.0.1 with a free port. `rand` decides the answers
 * (and garbage bytes and slow delays); `sessionId` and `maxBatchSize` are
 * what every body must respect.
 */
export async function startChaosSink(rand: () => number, sessionId: string, maxBatchSize: number): Promise<ChaosSink> {
  const requests: SinkRequest[] = [];
  const problems: string[] = [];
  const batches = new Map<string, SinkBatch>();
  const timers = new Set<NodeJS.Timeout>();
  const hanging = new Set<ServerResponse>();
  const firstKinds = shuffled(ANSWER_KINDS, rand);
  const totalWeight = ANSWER_KINDS.reduce((sum, kind) => sum + ANSWER_WEIGHTS[kind], 0);
  const problem = (text: string) => {
    if (problems.length < 20) problems.push(text);
    else if (problems.length === 20) problems.push('… and more problems, not listed');
  };

  const choose = (seq: number): AnswerKind => {
    const first = firstKinds[seq];
    if (first !== undefined) return first;
    let roll = rand() * totalWeight;
    for (const kind of ANSWER_KINDS) {
      roll -= ANSWER_WEIGHTS[kind];
      if (roll < 0) return kind;
    }
    return 'ok';
  };

  const intern = (key: string, text: string, seq: number): SinkBatch | undefined => {
    const hash = createHash('sha1').update(text).digest('hex');
    const known = batches.get(key);
    if (known !== undefined) {
      if (known.hash !== hash) problem(`request #${seq}: idempotency key ${key} was sent again with a different body`);
      return known;
    }
    const batch = parseBatch(text, sessionId, maxBatchSize, (why) => problem(`request #${seq}: ${why}`));
    if (batch !== undefined) batches.set(key, { ...batch, hash });
    return batches.get(key);
  };

  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    request.on('error', () => undefined);
    response.on('error', () => undefined);
    const header = request.headers['x-idempotency-key'];
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const seq = requests.length;
      const key = typeof header === 'string' ? header : '';
      if (key === '') problem(`request #${seq}: no X-Idempotency-Key header`);
      const record: SinkRequest = {
        seq,
        key,
        batch: intern(key, Buffer.concat(chunks).toString('utf8'), seq),
        answer: choose(seq),
        answered2xx: false,
        late: false,
      };
      requests.push(record);
      const answer = (status: number, body: string | Buffer, headers: Record<string, string> = {}) => {
        if (status >= 200 && status < 300) response.on('finish', () => (record.answered2xx = true));
        response.writeHead(status, { 'content-type': 'application/json', ...headers });
        response.end(body);
      };
      switch (record.answer) {
        case 'ok':
          return answer(200, '{"status":"accepted"}');
        case 'garbage_ok':
          return answer(200, Buffer.from(Array.from({ length: Math.floor(rand() * 512) }, () => Math.floor(rand() * 256))));
        case 'error_500':
          return answer(500, '{"error":"chaos"}');
        case 'error_503':
          return answer(503, '{"error":"chaos"}');
        case 'throttle_0s':
          return answer(429, '{"error":"slow down"}', { 'retry-after': '0' });
        case 'throttle_1s':
          return answer(429, '{"error":"slow down"}', { 'retry-after': '1' });
        case 'too_large':
          return answer(413, '{"error":"too large"}');
        case 'reset':
          request.socket.destroy();
          return;
        case 'hang':
          hanging.add(response);
          response.on('close', () => hanging.delete(response));
          return;
        case 'slow_ok': {
          const timer = setTimeout(
            () => {
              timers.delete(timer);
              // The client timed out and left: writing now would only fail.
              if (request.socket.destroyed) record.late = true;
              else answer(200, '{"status":"accepted"}');
            },
            40 + Math.floor(rand() * 80),
          );
          timers.add(timer);
          return;
        }
      }
    });
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    problems,
    close: () =>
      new Promise<void>((resolve) => {
        for (const timer of timers) clearTimeout(timer);
        timers.clear();
        for (const response of hanging) response.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Parses and validates one body against the wire format; reports what is wrong through `problem`. */
function parseBatch(text: string, sessionId: string, maxBatchSize: number, problem: (why: string) => void): Omit<SinkBatch, 'hash'> | undefined {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    problem('body is not JSON');
    return undefined;
  }
  if (typeof body !== 'object' || body === null) return void problem('body is not an object');
  const record = body as Record<string, unknown>;
  const keys = Object.keys(record).sort();
  if (keys.join() !== WIRE_KEYS.join()) problem(`top-level fields are ${keys.join(', ')}, expected ${WIRE_KEYS.join(', ')}`);
  if (record.session_id !== sessionId) problem(`session_id ${String(record.session_id)}, expected ${sessionId}`);
  const events = record.events;
  if (!Array.isArray(events) || events.length === 0 || events.length > maxBatchSize) {
    return void problem(`events must be an array of 1..${maxBatchSize}, got ${Array.isArray(events) ? `${events.length} events` : typeof events}`);
  }
  const out: Omit<SinkBatch, 'hash'> = { ids: [], indices: [], types: [] };
  for (const event of events as Record<string, unknown>[]) {
    const { event: type, event_id: id, event_session_index: index, severity, timestamp } = event;
    if (
      typeof type !== 'string' ||
      !EVENT_TYPES.has(type) ||
      typeof id !== 'string' ||
      !/^[0-9a-f-]{36}$/.test(id) ||
      typeof index !== 'number' ||
      !Number.isInteger(index) ||
      index < 0 ||
      typeof severity !== 'string' ||
      !WIRE_SEVERITIES.has(severity) ||
      typeof timestamp !== 'string' ||
      !timestamp.endsWith('Z')
    ) {
      problem(`malformed event ${JSON.stringify(event).slice(0, 200)}`);
      return undefined;
    }
    if (type === 'UNHANDLED_EXCEPTION' && (event.error_type !== 'RangeError' || !String(event.error_message).startsWith('soak:'))) {
      problem(`UNHANDLED_EXCEPTION carries error_type ${String(event.error_type)} / ${String(event.error_message)}, expected the producer's RangeError`);
    }
    if (type === 'SESSION_END' && typeof event.duration !== 'string') problem('SESSION_END without a duration');
    out.ids.push(id);
    out.indices.push(index);
    out.types.push(type);
  }
  return out;
}

function shuffled<T>(list: readonly T[], rand: () => number): T[] {
  const out = [...list];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}
