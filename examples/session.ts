/**
 * A Tinker session from start to close, against the fake Tinker API: create
 * it, let it beat, submit a request whose future is paused for capacity and
 * then done, submit one the server fails, close it, and show what reached the
 * fake backend: the session, its heartbeats, and the HTTP, queue and future
 * telemetry under the id the server issued.
 *
 *   npx tsx examples/session.ts
 *
 * It runs offline, always: `startFakeTinker` (from `tinker-telemetry/testing`)
 * is a loopback Tinker API that checks every body against the Python SDK's
 * request models, which is also how you would test your own session code.
 * Against the real service, pass `createConfig()` (TINKER_API_KEY,
 * TINKER_BASE_URL) and leave out the scripting of `fake`. The imports would be
 * `from 'tinker-telemetry'` and `from 'tinker-telemetry/testing'` in an
 * application; the examples import the source so that they run without a build.
 */
import { type LoggerLike, RequestFailedError, createConfig, createSession } from '../src/index.js';
import { startFakeTinker } from '../src/testing.js';

/** The session's log lines on stdout, one per line: the server's message, the session's start, the paused request. */
const logger: LoggerLike = {
  info: (_fields, message) => console.log(`  [info] ${message}`),
  warn: (_fields, message) => console.log(`  [warn] ${message}`),
  error: (_fields, message) => console.log(`  [error] ${message}`),
  debug: () => undefined,
};

// Every field of the Python SDK's OptimStepRequest, defaults included, as the SDK sends them.
const OPTIM_STEP = {
  adam_params: { learning_rate: 1e-4, beta1: 0.9, beta2: 0.95, eps: 1e-12, weight_decay: 0, grad_clip_norm: 0 },
  model_id: 'example-model',
  type: 'optim_step',
};

const fake = await startFakeTinker({ createSessionMessages: { info: 'Welcome to the fake Tinker API' } });
try {
  console.log(`fake Tinker API on ${fake.url}`);
  const session = await createSession({
    config: createConfig({ apiKey: fake.apiKey, baseUrl: fake.url }),
    tags: ['example'],
    userMetadata: { example: 'session' },
    heartbeatIntervalMs: 200,
    logger,
    // Telemetry is on whatever TINKER_TELEMETRY says: this example is about what it sends.
    telemetry: { enabled: true },
  });
  console.log(`session ${session.sessionId} created, state ${JSON.stringify(session.state)}`);

  await fake.waitForRequest('/api/v1/session_heartbeat', { count: 2 });
  console.log(`2 heartbeats sent, state ${JSON.stringify(session.state)}`);

  // The fake answers the next submit's polls from this script: paused for capacity, active again, then the result.
  fake.scriptNextFuture([{ tryAgain: 'paused_capacity' }, { tryAgain: 'active' }, { result: { model_id: 'example-model', type: 'create_model' } }]);
  const created = await session.submit(
    'api/v1/create_model',
    { session_id: session.sessionId, model_seq_id: 0, base_model: 'Qwen/Qwen3-8B', type: 'create_model' },
    { requestType: 'CreateModel' },
  );
  console.log(`create_model → ${JSON.stringify(created)}`);

  fake.scriptNextFuture([{ error: 'learning rate out of range', category: 'user' }]);
  let failed = false;
  try {
    await session.submit('api/v1/optim_step', OPTIM_STEP, { requestType: 'OptimStep' });
  } catch (error) {
    if (!(error instanceof RequestFailedError)) throw error;
    failed = true;
    console.log(`optim_step → ${error.name} (${error.code}), category ${error.category}: ${error.error}`);
  }

  await session.close();
  console.log(`closed, state ${JSON.stringify(session.state)}`);

  const beats = fake.heartbeats.filter((beat) => beat.sessionId === session.sessionId).length;
  console.log(`\nthe fake received ${fake.sessions.length} session, ${beats} heartbeats for it, ${fake.violations.length} invalid bodies`);
  const { batches, events } = fake.telemetry;
  const sameId = batches.every((batch) => batch.session_id === session.sessionId);
  console.log(`and ${events.length} telemetry events in ${batches.length} batches, ${sameId ? 'all' : 'NOT all'} for ${session.sessionId}:`);
  const counts = new Map<string, number>();
  for (const event of events) counts.set(event.event_name ?? event.event, (counts.get(event.event_name ?? event.event) ?? 0) + 1);
  for (const [name, count] of counts) console.log(`  ${name.padEnd(32)} ${count}`);
  for (const event of events) {
    const metadata = (event.event_data?.metadata ?? {}) as { from?: string; to?: string; category?: string };
    if (event.event_name === 'tinker.queue.state_change') console.log(`  queue: ${metadata.from ?? '(first)'} → ${metadata.to}`);
    if (event.event_name === 'tinker.future.request_failed') console.log(`  future: request_failed, category ${metadata.category}`);
  }

  const queue = events.filter((event) => event.event_name === 'tinker.queue.state_change').map((event) => (event.event_data?.metadata as { to?: unknown }).to);
  const ends = events.filter((event) => event.event === 'SESSION_END').length;
  // A non-zero status tells a script that something was not as this example says.
  const ok =
    failed &&
    created.kind === 'json' &&
    fake.violations.length === 0 &&
    beats >= 2 &&
    sameId &&
    events[0]?.event === 'SESSION_START' &&
    events.at(-1)?.event === 'SESSION_END' &&
    ends === 1 &&
    JSON.stringify(queue) === JSON.stringify(['paused_capacity', 'active']) &&
    counts.get('tinker.future.request_failed') === 1;
  process.exitCode = ok ? 0 : 1;
} finally {
  await fake.close();
}
