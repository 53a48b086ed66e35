import { describe, expect, it } from 'vitest';
import { createConfig, startReporter } from '../src/index.js';
import { start } from './fake-tinker-helpers.js';

describe('startFakeTinker: against the library reporter', () => {
  it("every batch the reporter sends passes the fake's strict validation, and its events arrive in order", async () => {
    const fake = await start();
    const config = createConfig({ apiKey: fake.apiKey, baseUrl: fake.url });
    const reporter = startReporter({ config, sessionId: 'fake-session-x', handleSignals: [], drainOnExit: false, captureUncaught: false });
    reporter?.log('step', { loss: 0.5, nested: { list: [1, 'two', null] } });
    reporter?.logException(new TypeError('bad shape', { cause: new Error('inner') }));
    reporter?.logException(Object.assign(new Error('not found'), { status: 404 }));
    expect(await reporter?.stop()).toBe(true);
    expect(fake.violations).toEqual([]);
    expect(fake.telemetry.events.map((event) => event.event_name ?? event.event)).toEqual([
      'SESSION_START',
      'step',
      'UNHANDLED_EXCEPTION',
      'user_error',
      'SESSION_END',
    ]);
    expect(new Set(fake.telemetry.batches.map((batch) => batch.session_id))).toEqual(new Set(['fake-session-x']));
    expect(fake.requests.every((request) => request.credential === 'api_key')).toBe(true);
  });
});
