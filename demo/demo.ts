/**
 * `npm run demo`: a Tinker session against the fake Tinker API, started in
 * this process. `createSession` runs start-up and gets its id from the
 * server; heartbeats arrive; a request's future waits out
 * `paused_capacity`; a request fails with a typed error; the HTTP, queue
 * and future telemetry is read back from what the fake received. Then the
 * session's reporter goes through bursts of `log()`, captured errors and a
 * stretch of 503 and 429 answers, and `session.close()` sends SESSION_END.
 * It prints each transition of both machines, each batch and each drop,
 * then a summary whose books must balance; unless `--no-ui`, a live view of
 * both machines is served on 127.0.0.1; with `--inspect`, the Stately
 * inspector watches both through a relay. With `--base-url`, the session
 * runs against that backend instead, without the steps that need the fake.
 */
import { reporterMachine } from '../machines/reporter.machine.js';
import { sessionMachine } from '../machines/session.machine.js';
import { type Session, createConfig, createSession } from '../src/index.js';
import { type FakeTinker, startFakeTinker } from '../src/testing.js';
import { machineGraph } from '../tools/machine-graph.js';
import { showBackendTelemetry } from './backend.js';
import { type DemoOptions, HELP, UsageError, parseDemoArgs } from './cli.js';
import { closeSession, summarise } from './close.js';
import { type DemoContext, sleep, step } from './context.js';
import { InspectorPortError, type StatelyInspector, startStatelyInspector } from './inspector.js';
import { type LiveView, startLiveView } from './live.js';
import { type MachineTransition, fanOut, machineTransitions } from './machines.js';
import { runReporterAct } from './reporter-act.js';
import { failedRequest, showHeartbeats, showStartUp, submitThroughPausedCapacity } from './session-act.js';
import { createTranscript } from './transcript.js';

/** Heartbeats shown as they arrive, and how often the session sends them: fast against the fake, gentler on a real backend. */
const HEARTBEATS_SHOWN = 3;
const HEARTBEAT_INTERVAL_MS = { fake: 400, real: 1000 };
/** The deadline of `session.close()`, and of each telemetry flush. */
const CLOSE_TIMEOUT_MS = 10_000;

async function main(): Promise<number> {
  let options: DemoOptions;
  try {
    options = parseDemoArgs(process.argv.slice(2));
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`demo: ${error.message}\nRun \`npm run demo -- --help\` for the options.\n`);
    return 2;
  }
  if (options.help) {
    process.stdout.write(HELP);
    return 0;
  }
  if (options.baseUrl !== undefined && (process.env.TINKER_API_KEY ?? '').trim() === '') {
    process.stderr.write('demo: `--base-url` runs the session against a real backend and needs its API key: set TINKER_API_KEY\n');
    return 2;
  }
  const transcript = createTranscript({ quiet: options.quiet });
  const say = (line: string) => transcript.say(line);

  // Before anything else starts, so that a busy port stops the demo with nothing to shut down.
  let inspector: StatelyInspector | undefined;
  if (options.inspectPort !== undefined) {
    try {
      inspector = await startStatelyInspector({ port: options.inspectPort });
    } catch (error) {
      if (!(error instanceof InspectorPortError)) throw error;
      process.stderr.write(`demo: cannot start the inspector relay: ${error.message}; pass \`--inspect=PORT\` with a free port\n`);
      return 2;
    }
    transcript.always(`inspector: ${inspector.pageUrl}`);
    say(
      `           (the Stately inspector page, fed by the relay on ${inspector.socketUrl}, which listens on every interface; the page loads its UI from stately.ai)`,
    );
  }

  const fake: FakeTinker | undefined = options.baseUrl === undefined ? await startFakeTinker() : undefined;
  const config = fake === undefined ? createConfig({ baseUrl: options.baseUrl }) : createConfig({ apiKey: fake.apiKey, baseUrl: fake.url });
  say(
    fake === undefined
      ? `api: ${config.baseUrl} (a real backend: the steps that script futures or read the backend's records are left out)`
      : `api: ${fake.url} (the fake Tinker API, started in this process by startFakeTinker: strict request validation, scripted futures, recorded telemetry)`,
  );

  let live: LiveView | undefined;
  if (options.ui) {
    try {
      live = await startLiveView({
        machines: [
          { id: 'session', title: 'The session', graph: machineGraph(sessionMachine) },
          { id: 'reporter', title: "The session's telemetry reporter", graph: machineGraph(reporterMachine) },
        ],
        port: options.port,
      });
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      if (code !== 'EADDRINUSE' && code !== 'EACCES') throw error;
      throw new Error(`cannot serve the live view on 127.0.0.1:${options.port} (${String(code)}): choose another \`--port\`, or 0 for a free one`);
    }
    transcript.always(`live view: ${live.url}`);
    say(`           (the run takes about ten seconds; \`--hold-ms 60000\` keeps the page up for a minute after it)`);
  }

  // The session machine has no channel: its transitions come from the inspection events, which also say when
  // the server has issued the id, before the reporter starts, so nothing the reporter publishes is missed.
  let session: Session | undefined;
  const onSessionMachine = (transition: MachineTransition) => {
    if (transition.machine !== 'session') return;
    if (transition.sessionId !== undefined) {
      const sessionId = transition.sessionId;
      transcript.follow(sessionId);
      live?.follow({ sessionId, stats: () => session?.reporter?.stats() });
    }
    transcript.sessionTransition(transition);
    live?.transition(transition);
  };

  const heartbeatIntervalMs = fake === undefined ? HEARTBEAT_INTERVAL_MS.real : HEARTBEAT_INTERVAL_MS.fake;
  step({ transcript, live }, `createSession() against ${fake === undefined ? 'the backend' : 'the fake Tinker API'}`);
  try {
    session = await createSession({
      config,
      tags: ['tinker-telemetry-demo'],
      userMetadata: { started_by: 'npm run demo' },
      heartbeatIntervalMs,
      heartbeatTimeoutMs: 2000,
      heartbeatWarnAfterMs: 30_000,
      createTimeoutMs: 30_000,
      logger: transcript.logger,
      telemetry: {
        enabled: true,
        logger: transcript.logger,
        flushIntervalMs: 1000,
        flushThreshold: 50,
        maxBatchSize: 50,
        maxQueueSize: 1000,
        retryBaseDelayMs: 100,
        maxRetries: 4,
        httpTimeoutMs: 2000,
        flushTimeoutMs: CLOSE_TIMEOUT_MS,
        // Both machines' inspection events: the session's, then its reporter's.
        inspect: fanOut(machineTransitions(onSessionMachine), inspector?.inspect),
      },
    });
  } catch (error) {
    // The typed error of start-up: its message names the call and the status, never the key.
    const code = (error as { code?: unknown }).code;
    throw new Error(`createSession() failed: ${error instanceof Error ? error.message : String(error)}${typeof code === 'string' ? ` (${code})` : ''}`);
  }
  const context: DemoContext = { session, fake, transcript, live, problems: [] };
  showStartUp(context);
  await sleep(300);

  step(context, `heartbeats, every ${heartbeatIntervalMs} ms (heartbeatIntervalMs)`);
  await showHeartbeats(context, HEARTBEATS_SHOWN, heartbeatIntervalMs);

  if (fake === undefined) {
    say('\n-- (left out against a real backend: the scripted futures, the failed request, and the telemetry read back from the fake)');
  } else {
    step(context, 'submit api/v1/optim_step: its future is scripted through paused_capacity, back to active, then its result');
    await submitThroughPausedCapacity(context);
    await sleep(300);
    step(context, 'a request that fails: save_weights, whose future answers an error body with category "user"');
    await failedRequest(context);
    await sleep(300);
    step(context, `telemetry at the backend: what the fake Tinker API received for ${session.sessionId}`);
    await showBackendTelemetry(context);
    await sleep(300);
  }

  await runReporterAct(context, { events: options.events, faultRate: options.faultRate });
  await closeSession(context, CLOSE_TIMEOUT_MS);
  await inspector?.disconnect();
  const { summary, ok } = summarise(context);
  transcript.close();
  await fake?.close();

  if (live) {
    live.finish(summary);
    say(`live view: showing the final state for ${options.holdMs} ms (--hold-ms)`);
    await sleep(options.holdMs);
    await live.close();
  }
  // After the hold, so that an inspector page opened during it still gets the relay's replay.
  await inspector?.close();
  return ok ? 0 : 1;
}

try {
  process.exitCode = await main();
} catch (error) {
  process.stderr.write(`demo: ${error instanceof Error ? error.message : String(error)}\n`);
  // The servers and the session started before the failure would keep the process alive.
  process.exit(1);
}
