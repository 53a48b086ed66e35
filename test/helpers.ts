/** Shared test doubles: a logger that records, and a transport the test answers by hand. */
import type { SendResult, TelemetryRequest, Transport } from '../src/transport.js';
import type { WireBody } from '../src/wire.js';

export interface LogRecord {
  level: 'warn' | 'info' | 'error' | 'debug';
  obj: object;
  msg: string | undefined;
}

/** A pino-compatible logger that keeps every record. */
export function recordingLogger() {
  const records: LogRecord[] = [];
  type Logger = Record<LogRecord['level'], (obj: object, msg?: string) => void> & { child(bindings: object): Logger };
  const make = (bindings: object): Logger => {
    const at = (level: LogRecord['level']) => (obj: object, msg?: string) => {
      records.push({ level, obj: { ...bindings, ...obj }, msg });
    };
    return { warn: at('warn'), info: at('info'), error: at('error'), debug: at('debug'), child: (more) => make({ ...bindings, ...more }) };
  };
  const logger = make({});
  return { logger, records, text: () => records.map((r) => `${r.level} ${r.msg ?? ''} ${safeJson(r.obj)}`).join('\n') };
}

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value, (_key, v: unknown) => (v instanceof Error ? { name: v.name, message: v.message } : v));
  } catch {
    return String(value);
  }
}

export interface PendingSend {
  request: TelemetryRequest;
  body: WireBody;
  respond(result: SendResult): void;
}

/**
 * A transport under the test's control: each send waits until the test
 * answers it (or answers at once with `autoRespond`).
 */
export function manualTransport(autoRespond?: (body: WireBody, n: number) => SendResult | undefined) {
  const pending: PendingSend[] = [];
  const sent: WireBody[] = [];
  let closed = 0;
  let always: SendResult | undefined;
  const transport: Transport = {
    send(request) {
      const body = JSON.parse(request.body) as WireBody;
      sent.push(body);
      const auto = always ?? autoRespond?.(body, sent.length);
      if (auto !== undefined) return Promise.resolve(auto);
      return new Promise<SendResult>((resolve) => {
        const entry: PendingSend = { request, body, respond: resolve };
        pending.push(entry);
        request.signal.addEventListener('abort', () => resolve({ kind: 'retryable', reason: 'aborted' }));
      });
    },
    close() {
      closed++;
    },
  };
  return {
    transport,
    pending,
    sent,
    closed: () => closed,
    /** Answers every waiting send, and every later one, with `result` (default 200). */
    answerAll(result: SendResult = { kind: 'ok', status: 200 }) {
      always = result;
      for (const entry of pending.splice(0)) entry.respond(result);
    },
    /** Answers the oldest unanswered send. */
    answer(result: SendResult) {
      const next = pending.shift();
      if (next === undefined) throw new Error('no send is waiting');
      next.respond(result);
      return next;
    },
  };
}

/** Every event the sink received, flattened, in arrival order. */
export function eventsOf(bodies: readonly WireBody[]) {
  return bodies.flatMap((b) => b.events);
}

/** Lets pending promise callbacks run (no timers involved). */
export async function settle(times = 5): Promise<void> {
  for (let i = 0; i < times; i++) await Promise.resolve();
}
