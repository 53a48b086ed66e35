/**
 * Reporting failures without changing them: `captureExceptions` (sync and
 * async), `asyncCapture`, `instrumentClient` and the `@captured` decorator
 * each report what is thrown and re-throw the very same value. Then the fatal
 * path: `logFatalException` queues the exception and SESSION_END and resolves
 * only once the server has answered for every event, so a process may exit
 * right after it without losing the report.
 *
 *   npx tsx examples/capture-and-fatal.ts
 *
 * With TINKER_BASE_URL unset it sends to an embedded loopback sink, so it runs
 * offline; set TINKER_BASE_URL and TINKER_API_KEY to send to a real backend.
 * The import would be `from 'tinker-telemetry'` in an application; the
 * examples import the source so that they run without a build.
 */
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import {
  CHANNELS,
  asyncCapture,
  captureExceptions,
  captured,
  createConfig,
  instrumentClient,
  startReporter,
  type TelemetryBatchSentPayload,
  type TelemetryReporter,
} from '../src/index.js';
import { startSink } from '../demo/sink.js';

// An empty TINKER_BASE_URL counts as unset, so `TINKER_BASE_URL= npx tsx …` still runs offline.
const sink = process.env.TINKER_BASE_URL ? undefined : await startSink();
const config = createConfig({
  baseUrl: sink?.url ?? process.env.TINKER_BASE_URL,
  // The embedded sink accepts any key; a real backend needs TINKER_API_KEY, and startReporter says so when it is missing.
  apiKey: process.env.TINKER_API_KEY ?? (sink ? 'example-key' : undefined),
});
console.log(`sending to ${config.telemetryEndpoint}${sink ? ' (embedded loopback sink)' : ''}`);

const reporter = startReporter({ config, sessionId: `capture-example-${process.pid}` });
if (reporter === null) {
  // With telemetry off every helper below would be a plain call; there is nothing to show.
  console.log('telemetry is disabled (TINKER_TELEMETRY); nothing to report');
  await sink?.close();
} else {
  process.exitCode = (await run(reporter)) ? 0 : 1;
  await sink?.close();
}

/** Returns whether every claim printed along the way held. */
async function run(reporter: TelemetryReporter): Promise<boolean> {
  let ok = true;
  const check = (claim: string, holds: boolean) => {
    console.log(`  ${holds ? 'ok  ' : 'FAIL'} ${claim}`);
    ok &&= holds;
  };

  console.log('\ncaptureExceptions, sync: the same error comes back out');
  const syncError = new RangeError('learning rate out of range');
  const syncCaught = caught(() =>
    captureExceptions({ reporter }, () => {
      throw syncError;
    }),
  );
  check('re-thrown error is the original RangeError (UNHANDLED_EXCEPTION queued)', syncCaught === syncError);

  console.log('\ncaptureExceptions, async: the promise rejects with the original reason');
  const asyncError = new TypeError('batch is not a tensor');
  const asyncCaught = await rejection(
    captureExceptions({ reporter }, async () => {
      throw asyncError;
    }),
  );
  check('rejection reason is the original TypeError (UNHANDLED_EXCEPTION queued)', asyncCaught === asyncError);

  console.log('\nasyncCapture: runs on a later turn, then captures like captureExceptions');
  const order: string[] = [];
  const task = asyncCapture({ reporter }, async () => {
    order.push('task');
    throw new SyntaxError('tokenizer crashed');
  });
  order.push('caller');
  const taskCaught = await rejection(task);
  check(`the caller ran first (${order.join(' → ')}) and the SyntaxError was captured`, taskCaught instanceof SyntaxError && order[0] === 'caller');

  console.log('\ninstrumentClient: every public method captured, private fields intact');
  class TrainingClient {
    #calls = 0;
    async forwardBackward(_batch: unknown): Promise<void> {
      this.#calls++;
      // A 4xx the caller caused is a user error: reported as GENERIC_EVENT `user_error` at WARNING, not as an exception.
      throw Object.assign(new Error('model not found'), { status: 404 });
    }
    calls(): number {
      return this.#calls;
    }
  }
  const training = instrumentClient(new TrainingClient(), { reporter });
  const clientCaught = await rejection(training.forwardBackward([1, 2, 3]));
  check('the 404 came back unchanged and was reported as user_error', (clientCaught as { status?: number } | undefined)?.status === 404);
  check('the method saw its private field through the proxy', training.calls() === 1);

  console.log('\n@captured: a standard decorator that finds this.telemetryReporter');
  class EvaluationError extends Error {}
  class Evaluator {
    constructor(readonly telemetryReporter: TelemetryReporter) {}
    @captured()
    evaluate(): number {
      throw new EvaluationError('loss is NaN');
    }
  }
  check('the EvaluationError was re-thrown (UNHANDLED_EXCEPTION queued)', caught(() => new Evaluator(reporter).evaluate()) instanceof EvaluationError);

  console.log('\nlogFatalException: delivers everything, SESSION_END included, before it resolves');
  // The reporter publishes each accepted batch on this channel, so the order of "sent" and "resolved" is observable.
  const sent: TelemetryBatchSentPayload[] = [];
  const onSent = (message: unknown) => sent.push(message as TelemetryBatchSentPayload);
  subscribe(CHANNELS.telemetryBatchSent, onSent);
  const drained = await reporter.logFatalException(new Error('CUDA out of memory', { cause: new Error('allocation of 2 GiB failed') }));
  const atReturn = reporter.stats();
  const batchesAtReturn = sent.length;
  unsubscribe(CHANNELS.telemetryBatchSent, onSent);
  console.log(`  logFatalException() → ${drained}; ${batchesAtReturn} batch(es) accepted by the server while it waited`);
  check(
    `every accepted event had been delivered when it resolved (${atReturn.deliveredCounter} of ${atReturn.pushCounter})`,
    drained && atReturn.deliveredCounter === atReturn.pushCounter,
  );
  check('nothing was left queued or in flight', atReturn.queueSize === 0 && atReturn.inFlight === 0);
  // The refusal is counted as `after_stop` and warned about once on stderr by the reporter's logger.
  check('the session has ended: log() is now refused', atReturn.sessionEnded && !reporter.log('after.fatal'));

  // The session already ended, so this sends nothing more; it releases the reporter's timers and sockets.
  const stopped = await reporter.stop();
  const stats = reporter.stats();
  console.log(`\nstop() → ${stopped}; stats(): ${JSON.stringify(stats)}`);
  return ok && stopped;
}

/** What `fn` throws, or undefined when it returns. */
function caught(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  return undefined;
}

/** The reason `promise` rejects with, or undefined when it fulfils. */
function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => undefined,
    (reason: unknown) => reason,
  );
}
