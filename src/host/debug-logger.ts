/**
 * Debug logging as one more subscriber: `attachLogger` listens on every
 * `tinker:*` channel and writes what it hears to a pino logger. Nothing is
 * published, and nothing costs anything, while no logger is attached.
 */
import { randomUUID } from 'node:crypto';
import diagnostics from 'node:diagnostics_channel';
import { pino } from 'pino';
import { CHANNELS, type ChannelName } from './channels.js';
import { redactJson, redactText } from '../core/redact.js';
import { invalidType } from '../core/validate.js';
import type { LoggerLike } from '../core/ports.js';
import { toJsonSafe } from '../core/serialize.js';

/** Options of `attachLogger`. */
export interface AttachLoggerOptions {
  /** The pino level of the default logger. Default: `'info'`. Ignored when `logger` is given. */
  level?: 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent';
  /** Where to write, used through `child({ component: 'tinker-telemetry' })`. Default: pino on stderr at `level`. */
  logger?: LoggerLike;
  /**
   * The API key, replaced by `[redacted]` in every string and object key of
   * each record, at any depth, before the logger sees it: anyone may publish
   * on a `tinker:*` channel, and a key in a base URL or an error message
   * would otherwise be written out. Default: `TINKER_API_KEY`, read when
   * `attachLogger` is called; `''` redacts nothing.
   */
  apiKey?: string;
}

/** Levels of plain objects and arrays of a record walked; deeper ones are written `[Object]` or `[Array]`. */
const MAX_DEPTH = 8;

/** Channels whose messages are warnings: something failed or was lost. */
const WARN_CHANNELS = new Set<string>([CHANNELS.telemetryBatchFailed, CHANNELS.telemetryEventDropped, CHANNELS.httpRequestException]);
const attached = new Map<string, () => void>();

/**
 * Subscribes a logger to every `tinker:*` channel: warnings for failed
 * batches, dropped events and HTTP exceptions, info for everything else,
 * with `apiKey` redacted from each record. Throws a TypeError when `apiKey`
 * is not a string. Returns an id for `detachLogger`. It works whether telemetry is on or off;
 * with it off there is no reporter, so only the HTTP, queue and future
 * channels speak.
 */
export function attachLogger(options: AttachLoggerOptions = {}): string {
  const secret = options.apiKey ?? process.env.TINKER_API_KEY ?? '';
  if (typeof secret !== 'string') throw invalidType('apiKey', 'a string', secret, true);
  const base: LoggerLike = options.logger ?? pino({ level: options.level ?? 'info' }, pino.destination({ dest: 2, sync: true }));
  let logger: LoggerLike = base;
  try {
    // A `child` that is missing or not a function throws here, as one that fails does: either way the catch
    // leaves `logger` on the base logger. `child` is read once.
    logger = (base.child as NonNullable<LoggerLike['child']>)({ component: 'tinker-telemetry' });
  } catch {
    // See above.
  }
  const id = randomUUID();
  const subscriptions = (Object.values(CHANNELS) as ChannelName[]).map((channel) => {
    const listener = (message: unknown) => {
      try {
        const fields = typeof message === 'object' && message !== null ? message : { message };
        const record = { channel, ...(secret === '' ? fields : (redactRecord(fields, secret, []) as object)) };
        if (WARN_CHANNELS.has(channel)) logger.warn(record, channel);
        else logger.info(record, channel);
      } catch {
        // A logger must never throw into a publisher.
      }
    };
    diagnostics.subscribe(channel, listener);
    return () => diagnostics.unsubscribe(channel, listener);
  });
  attached.set(id, () => {
    for (const unsubscribe of subscriptions) unsubscribe();
  });
  return id;
}

/** Removes a logger attached by `attachLogger`. Returns false for an unknown id. */
export function detachLogger(id: string): boolean {
  const detach = attached.get(id);
  if (detach === undefined) return false;
  attached.delete(id);
  detach();
  return true;
}

/**
 * A copy of `value` with `secret` redacted from every string and object key.
 * Channel payloads are plain objects, walked here so that no string is cut
 * before it is redacted; anything else (an Error, a class instance) is first
 * mapped by `toJsonSafe`, as pino could not write it whole either.
 */
function redactRecord(value: unknown, secret: string, ancestors: object[]): unknown {
  if (typeof value === 'string') return redactText(value, secret);
  if (typeof value !== 'object' || value === null) return value;
  if (ancestors.includes(value)) return '[Circular]';
  if (ancestors.length >= MAX_DEPTH) return Array.isArray(value) ? '[Array]' : '[Object]';
  const inner = [...ancestors, value];
  if (Array.isArray(value)) return value.map((item: unknown) => redactRecord(item, secret, inner));
  const prototype: unknown = Object.getPrototypeOf(value);
  // The snapshot redacts a string before it cuts one; redactJson then covers what it kept whole.
  if (prototype !== Object.prototype && prototype !== null) return redactJson(toJsonSafe(value, undefined, secret), secret);
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) out[redactText(key, secret)] = redactRecord(item, secret, inner);
  return out;
}
