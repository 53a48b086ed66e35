/**
 * Debug logging as one more subscriber: `attachLogger` listens on every
 * `tinker:*` channel and writes what it hears to a pino logger. Nothing is
 * published, and nothing costs anything, while no logger is attached.
 */
import { randomUUID } from 'node:crypto';
import diagnostics from 'node:diagnostics_channel';
import { pino } from 'pino';
import { CHANNELS, type ChannelName } from './channels.js';
import type { LoggerLike } from './options.js';

/** Options of `attachLogger`. */
export interface AttachLoggerOptions {
  /** The pino level of the default logger. Default: `'info'`. Ignored when `logger` is given. */
  level?: 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent';
  /** Where to write, used through `child({ component: 'tinker-telemetry' })`. Default: pino on stderr at `level`. */
  logger?: LoggerLike;
}

/** Channels whose messages are warnings: something failed or was lost. */
const WARN_CHANNELS = new Set<string>([CHANNELS.telemetryBatchFailed, CHANNELS.telemetryEventDropped, CHANNELS.httpRequestException]);
const attached = new Map<string, () => void>();

/**
 * Subscribes a logger to every `tinker:*` channel: warnings for failed
 * batches, dropped events and HTTP exceptions, info for everything else.
 * Returns an id for `detachLogger`. It works whether telemetry is on or off;
 * with it off there is no reporter, so only the HTTP, queue and future
 * channels speak.
 */
export function attachLogger(options: AttachLoggerOptions = {}): string {
  const base: LoggerLike = options.logger ?? pino({ level: options.level ?? 'info' }, pino.destination({ dest: 2, sync: true }));
  let logger: LoggerLike = base;
  try {
    if (typeof base.child === 'function') logger = base.child({ component: 'tinker-telemetry' });
  } catch {
    // A throwing child() leaves `logger` on the base logger.
  }
  const id = randomUUID();
  const subscriptions = (Object.values(CHANNELS) as ChannelName[]).map((channel) => {
    const listener = (message: unknown) => {
      try {
        const record = { channel, ...(typeof message === 'object' && message !== null ? message : { message }) };
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
