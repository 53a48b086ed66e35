/**
 * The clients compared, behind one small interface, each with settings as
 * close to ours as it allows: batch 100, queue 10,000, the same flush
 * interval, no compression, one request in flight where it can be set.
 * Ours comes twice: with its default transport (`node:http`) and with the
 * undici one, the default before it, so that every table shows what the
 * transport is worth (`transport-ab.mjs` compares got as well).
 */

const silent = { warn() {}, info() {}, error() {}, debug() {} };

/** @typedef {{ call(i: number): void, shutdown(timeoutMs: number): Promise<unknown>, dropped(): number | undefined, settings: Record<string, unknown> }} Client */

/** @type {Record<string, (url: string, flushIntervalMs: number) => Promise<Client>>} */
export const clients = {
  async 'tinker-telemetry'(url, flushIntervalMs, extra = {}) {
    const { createConfig, startReporter } = await import('../dist/src/index.js');
    const settings = {
      maxBatchSize: 100,
      flushThreshold: 100,
      maxQueueSize: 10_000,
      flushIntervalMs,
      httpTimeoutMs: 5000,
      maxRetries: 3,
      inFlight: 1,
      compression: 'none',
    };
    const reporter = startReporter({
      config: createConfig({ apiKey: 'bench-key', baseUrl: url }),
      sessionId: 'bench',
      enabled: true,
      attachEvents: false,
      logger: silent,
      maxBatchSize: 100,
      flushThreshold: 100,
      maxQueueSize: 10_000,
      flushIntervalMs,
      httpTimeoutMs: 5000,
      maxRetries: 3,
      ...extra,
    });
    return {
      settings,
      call: (i) => reporter.log('bench.event', { i }),
      shutdown: (timeoutMs) => reporter.stop(timeoutMs),
      dropped: () => {
        const { dropped } = reporter.stats();
        return dropped.queue_full + dropped.retries_exhausted + dropped.rejected + dropped.shutdown + dropped.invalid;
      },
      stats: () => reporter.stats(),
    };
  },

  /**
   * Ours with the undici transport in place of the default (`node:http`):
   * the same settings, the transport made as the reporter made its default
   * before and handed over through the `transport` option (it is not
   * public, hence the import from dist/src/io/).
   */
  async 'tinker-telemetry (undici transport)'(url, flushIntervalMs) {
    const { createConfig } = await import('../dist/src/index.js');
    const { createUndiciTransport } = await import('../dist/src/io/undici-transport.js');
    const { SDK_VERSION } = await import('../dist/src/core/version.js');
    const config = createConfig({ apiKey: 'bench-key', baseUrl: url });
    const transport = createUndiciTransport({
      endpoint: config.telemetryEndpoint,
      apiKey: config.apiKey,
      userAgent: `tinker-telemetry/${SDK_VERSION} node/${process.version}`,
      httpTimeoutMs: 5000,
    });
    const base = await clients['tinker-telemetry'](url, flushIntervalMs, { transport });
    return { ...base, settings: { ...base.settings, transport: 'undici Pool, one connection' } };
  },

  async 'posthog-node'(url, flushIntervalMs) {
    const { PostHog } = await import('posthog-node');
    const settings = {
      flushAt: 100,
      maxBatchSize: 100,
      maxQueueSize: 10_000,
      flushInterval: flushIntervalMs,
      requestTimeout: 5000,
      fetchRetryCount: 3,
      disableCompression: true,
    };
    const client = new PostHog('bench-key', { host: url, ...settings, disableGeoip: true });
    return {
      settings,
      call: (i) => client.capture({ distinctId: 'bench', event: 'bench.event', properties: { i } }),
      shutdown: (timeoutMs) => client.shutdown(timeoutMs),
      dropped: () => undefined,
    };
  },

  async '@segment/analytics-node'(url, flushIntervalMs) {
    const { Analytics } = await import('@segment/analytics-node');
    const settings = {
      flushAt: 100,
      maxEventsInBatch: 100,
      flushInterval: flushIntervalMs,
      httpRequestTimeout: 5000,
      maxRetries: 3,
      queue: 'unbounded (no setting)',
      compression: 'none (no setting)',
    };
    const client = new Analytics({
      writeKey: 'bench-key',
      host: url,
      flushAt: 100,
      maxEventsInBatch: 100,
      flushInterval: flushIntervalMs,
      httpRequestTimeout: 5000,
      maxRetries: 3,
    });
    client.on('error', () => undefined);
    return {
      settings,
      call: (i) => client.track({ userId: 'bench', event: 'bench.event', properties: { i } }),
      shutdown: (timeoutMs) => client.closeAndFlush({ timeout: timeoutMs }),
      dropped: () => undefined,
    };
  },

  async 'otel BatchLogRecordProcessor'(url, flushIntervalMs) {
    const { LoggerProvider, BatchLogRecordProcessor } = await import('@opentelemetry/sdk-logs');
    const { OTLPLogExporter } = await import('@opentelemetry/exporter-logs-otlp-http');
    const settings = {
      maxExportBatchSize: 100,
      maxQueueSize: 10_000,
      scheduledDelayMillis: flushIntervalMs,
      exportTimeoutMillis: 5000,
      concurrencyLimit: 1,
      compression: 'none',
      exporter: 'OTLP/HTTP JSON',
    };
    // concurrencyLimit 1: one export in flight, as every other client here (its default is 30).
    const exporter = new OTLPLogExporter({ url: `${url}/v1/logs`, compression: 'none', timeoutMillis: 5000, concurrencyLimit: 1 });
    const provider = new LoggerProvider({
      processors: [
        new BatchLogRecordProcessor(exporter, {
          maxExportBatchSize: 100,
          maxQueueSize: 10_000,
          scheduledDelayMillis: flushIntervalMs,
          exportTimeoutMillis: 5000,
        }),
      ],
    });
    const logger = provider.getLogger('bench');
    return {
      settings,
      call: (i) => logger.emit({ body: 'bench.event', attributes: { i } }),
      shutdown: () => provider.shutdown(),
      dropped: () => undefined,
    };
  },
};

/**
 * Variants of ours, measured only against ours (section 6): the same
 * settings plus a durable spool in a fresh temporary directory, so every
 * accepted event is also journaled to disk.
 */
export const variants = {
  async 'tinker-telemetry + spoolDir'(url, flushIntervalMs) {
    const { mkdtempSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const spoolDir = mkdtempSync(join(tmpdir(), 'bench-spool-'));
    const base = await clients['tinker-telemetry'](url, flushIntervalMs, { spoolDir });
    return { ...base, settings: { ...base.settings, spoolDir: '(a temporary directory)' } };
  },
};

/** Events in one request body, whichever client sent it. */
export function countEvents(path, body) {
  if (Array.isArray(body.events)) return body.events.length;
  if (Array.isArray(body.batch)) return body.batch.length;
  if (Array.isArray(body.resourceLogs)) {
    let n = 0;
    for (const resource of body.resourceLogs) for (const scope of resource.scopeLogs ?? []) n += scope.logRecords?.length ?? 0;
    return n;
  }
  throw new Error(`unknown body shape at ${path}`);
}
