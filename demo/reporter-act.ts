/**
 * The demo's second act: the session's reporter under load. Bursts of
 * `log()`, calls through `session.http` (forwarded as telemetry), errors
 * captured through `session.instrument()`, an event refused, and a fault
 * stretch in which the fake Tinker API fails a share of the telemetry
 * requests with 503, or 429 with `Retry-After: 1`, so retries, backoff and
 * drops show. Against a real backend, no fault is injected.
 */
import type { RecordedRequest } from '../src/testing.js';
import { type DemoContext, sleep, step } from './context.js';
import { saveWeightsBody } from './session-act.js';

/** Bursts of the first half of the events, and the pause between them: slow enough to watch the machine. */
const BURSTS = 6;
const BURST_GAP_MS = 200;

/** The telemetry path, where the fault stretch's faults apply. */
const TELEMETRY_PATH = '/api/v1/telemetry';

/** Options of the act, from the command line. */
export interface ReporterActOptions {
  /** Events to log in all: half in the bursts, half during the fault stretch. */
  events: number;
  /** Share of telemetry requests the fake fails during the fault stretch, 0..1. */
  faultRate: number;
}

/** Runs the act on the session's reporter; resolves once the fault stretch has been flushed. */
export async function runReporterAct(context: DemoContext, options: ReporterActOptions): Promise<void> {
  const { session, fake, transcript, live } = context;
  const reporter = session.reporter;
  if (reporter === null) throw new Error('the session has no reporter although the demo enables telemetry');
  const { events: eventCount, faultRate } = options;
  const half = Math.floor(eventCount / 2);

  step(context, `the session's reporter: ${half} events of log() in ${BURSTS} bursts`);
  for (let burst = 0; burst < BURSTS; burst++) {
    for (let i = Math.floor((half * burst) / BURSTS); i < Math.floor((half * (burst + 1)) / BURSTS); i++) {
      reporter.log('demo.step', { step: i, loss: 1 / (i + 1) }, i % 50 === 0 ? 'debug' : 'info');
    }
    live?.sample();
    await sleep(BURST_GAP_MS);
  }
  await sleep(300);

  step(context, 'calls through session.http, forwarded as telemetry under the session id');
  // No got retries: each call is one request, so each shows up once on the channels.
  const api = session.http.extend({ retry: { limit: 0 }, timeout: { request: 2000 } });
  await api.get('api/v1/healthz').json();
  await api.get('api/v1/get_server_capabilities').json();
  live?.sample();
  await sleep(300);

  step(context, 'errors captured by session.instrument(), and a refused event');
  // A request the fake never answers, so its call ends in a timeout; a real backend would save the weights, so it is left out there.
  const hang = fake?.inject({ match: 'api/v1/save_weights', response: { hang: true } });
  const client = session.instrument({
    saveWeights: () =>
      api.post('api/v1/save_weights', { json: saveWeightsBody(`${session.sessionId}:train:0`, 'demo/step-2'), timeout: { request: 200 } }).json(),
    getModel: (id: string) => api.get(`api/v1/models/${id}`).json(),
    setLearningRate: (lr: number) => {
      if (lr > 1) throw new RangeError('learning rate out of range', { cause: new Error(`lr=${lr}`) });
    },
  });
  // got appends the method and URL after a colon; the first clause says enough here.
  const describe = (error: unknown) => (error instanceof Error ? `${error.name}: ${error.message.split(': ')[0]}` : String(error));
  if (hang !== undefined) {
    await client.saveWeights().catch((error: unknown) => transcript.say(`  capture ${describe(error)} → UNHANDLED_EXCEPTION`));
    hang.remove();
  }
  await client
    .getModel('no-such-model')
    .catch((error: unknown) => transcript.say(`  capture ${describe(error)} → user_error (a 4xx the caller caused, at WARNING)`));
  try {
    client.setLearningRate(10);
  } catch (error) {
    transcript.say(`  capture ${describe(error)} → UNHANDLED_EXCEPTION, with its cause in the traceback`);
  }
  reporter.log('demo.bad', {}, 'loud' as 'info');
  live?.sample();
  await sleep(400);

  step(
    context,
    fake === undefined
      ? 'second half of the events (a real backend: no faults are injected)'
      : `fault stretch: the fake fails ${Math.round(faultRate * 100)}% of telemetry requests with 503, or 429 with Retry-After: 1`,
  );
  const faults = fake === undefined ? [] : injectTelemetryFaults(context, faultRate);
  for (let burst = 0; burst < 3; burst++) {
    for (let i = half + Math.floor(((eventCount - half) * burst) / 3); i < half + Math.floor(((eventCount - half) * (burst + 1)) / 3); i++) {
      reporter.log('demo.step', { step: i });
    }
    live?.sample();
    await sleep(100);
  }
  await reporter.flush({ sync: true });
  for (const fault of faults) fault.remove();
}

/**
 * Two faults on the telemetry path: a request drawn as failing gets 503 or,
 * every other time, 429 with `Retry-After: 1`. The fake asks the faults in
 * the order injected, so the first one draws and the second reads its draw.
 */
function injectTelemetryFaults(context: DemoContext, faultRate: number) {
  const fake = context.fake!;
  let draws = 0;
  let drawn: 503 | 429 | undefined;
  const isTelemetry = (request: RecordedRequest) => request.path === TELEMETRY_PATH;
  return [
    fake.inject({
      match: (request) => {
        drawn = undefined;
        if (!isTelemetry(request) || Math.random() >= faultRate) return false;
        drawn = draws++ % 2 === 0 ? 503 : 429;
        return drawn === 503;
      },
      response: { status: 503 },
      times: Infinity,
    }),
    fake.inject({ match: (request) => isTelemetry(request) && drawn === 429, response: { status: 429, retryAfter: 1 }, times: Infinity }),
  ];
}
