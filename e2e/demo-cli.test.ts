/**
 * The demo's command line: `--help` lists every option, bad input stops the
 * demo at once with one line that names the option, and status 2; a whole
 * run prints the session's story against the fake Tinker API and balanced
 * books; `--base-url` runs the session against another backend.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { type FakeTinker, startFakeTinker } from '../src/testing.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

let backend: FakeTinker | undefined;
afterEach(async () => {
  await backend?.close();
  backend = undefined;
});

/** `text` with the characters a regular expression treats specially escaped. */
const literal = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** The line of `stdout` that matches `pattern` (anchored to a line), or a failure that shows the whole output. */
function lineMatching(stdout: string, pattern: RegExp): RegExpExecArray {
  const match = new RegExp(pattern.source, 'm').exec(stdout);
  if (match === null) throw new Error(`no line matches ${pattern}\nstdout:\n${stdout}`);
  return match;
}

/** Runs the demo to completion and collects its output. */
function demo(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'demo/demo.ts', ...args], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('npm run demo -- <options>', () => {
  it('--help lists every option and exits 0 without running anything', async () => {
    const { code, stdout, stderr } = await demo(['--help']);
    expect(code).toBe(0);
    expect(stderr).toBe('');
    for (const option of ['--events N', '--fault-rate R', '--base-url URL', '--port P', '--hold-ms MS', '--inspect[=PORT]', '--no-ui', '--quiet', '--help']) {
      expect(stdout).toContain(option);
    }
    expect(stdout).not.toMatch(/^live view: http/m);
  });

  it.each([
    [['--bogus'], 'Unknown option `--bogus`'],
    [['--events'], 'Expected a value after `--events`'],
    [['--events', '1.5'], 'Expected `--events` to be a whole number in 0..10000000, got `1.5`'],
    [['--fault-rate', '2'], 'Expected `--fault-rate` to be a number in 0..1, got `2`'],
    [['--port', '70000'], 'Expected `--port` to be a whole number in 0..65535, got `70000`'],
    [['--hold-ms=-5'], 'Expected `--hold-ms` to be a whole number in 0..3600000, got `-5`'],
    [['--no-ui=yes'], 'Expected `--no-ui` without a value'],
    [['--inspect=0'], 'Expected `--inspect` to be a whole number in 1..65535, got `0`'],
    [['--inspect', '9090'], "Unexpected argument `9090`: give the inspector's port as `--inspect=9090`"],
    [['--base-url', 'ftp://example.test'], 'Expected `--base-url` to be an http(s) URL, got `ftp://example.test`'],
    [['stray'], 'Unexpected argument `stray`'],
  ])('rejects %j with a message naming the option, status 2', async (args, message) => {
    const { code, stdout, stderr } = await demo(args);
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toContain(`demo: ${message}`);
  });

  it('--base-url without TINKER_API_KEY says the key is needed, status 2', async () => {
    const env = { ...process.env };
    delete env.TINKER_API_KEY;
    const { code, stdout, stderr } = await demo(['--base-url', 'http://127.0.0.1:9'], env);
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toContain('set TINKER_API_KEY');
  });

  it('runs the session against the fake Tinker API: server-issued id, heartbeats, paused_capacity → active, a typed failure, telemetry at the backend, SESSION_END, balanced books, no violation', async () => {
    const { code, stdout, stderr } = await demo(['--no-ui', '--events', '40']);
    expect({ code, stderr }, stdout).toEqual({ code: 0, stderr: '' });
    const id = lineMatching(stdout, /^ {2}session created: (fake-session-\d+) \(issued by the server/)[1]!;
    lineMatching(stdout, /^ {2}session creating +→ active\.ok +on done createSession$/);
    lineMatching(stdout, /^ {2}start-up POST \/api\/v1\/create_session → 200 /);
    lineMatching(stdout, new RegExp(`^ {2}beat {3}#3 POST /api/v1/session_heartbeat → 200 .*\\(the fake has accepted \\d+ for ${literal(id)}\\)$`));

    // The scripted future: its queue went paused_capacity, then active, then it answered.
    const paused = lineMatching(stdout, /^ {2}queue {2}fake-request-1 {2}\(new\) +→ paused_capacity {2}\(reason: .+\)$/);
    const active = lineMatching(stdout, /^ {2}queue {2}fake-request-1 {2}paused_capacity +→ active$/);
    expect(paused.index).toBeLessThan(active.index);
    lineMatching(stdout, /^ {2}result \{"metrics":\{"loss":0\.42\}\} after 3 polls of retrieve_future$/);

    // The failed request, as its typed error.
    lineMatching(stdout, /^ {2}typed {2}RequestFailedError {2}code TINKER_REQUEST_FAILED {2}category user {2}request fake-request-2$/);
    lineMatching(stdout, /^ {9}Tinker request fake-request-2 failed \(category user\): checkpoint demo\/step-1 already exists/);

    // What the fake received, under the server's id: HTTP, queue and future telemetry.
    lineMatching(stdout, new RegExp(`^ {2}at the fake: \\d+ batches, every one with session_id ${literal(id)}$`));
    lineMatching(stdout, /^ {2}at the fake: GENERIC_EVENT tinker\.http\.request\.stop {2}×\d+ {2}\(.*POST \/api\/v1\/session_heartbeat ×\d+/);
    lineMatching(stdout, /^ {2}at the fake: GENERIC_EVENT tinker\.queue\.state_change {2}×2$/);
    lineMatching(stdout, /^ +INFO +\{"measurements":\{"queueDepth":1\},"metadata":\{"requestId":"fake-request-1","to":"paused_capacity"/);
    lineMatching(stdout, /^ +INFO +\{"measurements":\{"queueDepth":1\},"metadata":\{"requestId":"fake-request-1","to":"active","from":"paused_capacity"\}\}$/);
    lineMatching(stdout, /^ {2}at the fake: GENERIC_EVENT tinker\.future\.request_failed {2}×1$/);
    lineMatching(
      stdout,
      /^ +ERROR +\{"measurements":\{"elapsedMs":\d+\},"metadata":\{"requestId":"fake-request-2","requestType":"SaveWeights","category":"user"\}\}$/,
    );

    // The close, and the summary.
    lineMatching(stdout, /^ {2}session closing +→ closed +on done closeSession$/);
    const events = Number(lineMatching(stdout, new RegExp(`^ {2}at the fake: SESSION_END delivered, the last of (\\d+) events of ${literal(id)} `))[1]);
    const summary = stdout.slice(stdout.lastIndexOf('\nsummary\n'));
    lineMatching(summary, new RegExp(`^ {2}session {4}${literal(id)} \\(issued by the fake Tinker API\\), closed$`));
    const accepted = Number(lineMatching(summary, /^ {2}accepted {3}(\d+)$/)[1]);
    lineMatching(summary, new RegExp(`^ {2}delivered {2}\\d+ \\(the fake holds ${events} distinct events of ${literal(id)}\\)$`));
    lineMatching(summary, new RegExp(`^ {2}delivered \\+ dropped after acceptance = ${accepted} = accepted ✓$`));
    lineMatching(summary, /^ {2}validation violations at the fake: 0 ✓$/);
    expect(summary).not.toContain('✗');
  });

  it('--base-url runs the session against that backend: created, beating, closed with SESSION_END, every body valid, and says what it leaves out', async () => {
    backend = await startFakeTinker();
    const { code, stdout, stderr } = await demo(['--no-ui', '--events', '20', '--base-url', backend.url], { ...process.env, TINKER_API_KEY: backend.apiKey });
    expect({ code, stderr }, stdout).toEqual({ code: 0, stderr: '' });
    const [session] = backend.sessions;
    expect(backend.sessions).toHaveLength(1);
    lineMatching(stdout, new RegExp(`^ {2}session created: ${literal(session!.sessionId)} \\(issued by the server`));
    lineMatching(stdout, /^-- \(left out against a real backend: the scripted futures, the failed request, and the telemetry read back from the fake\)$/);
    expect(stdout).not.toMatch(/^ {2}at the fake:/m);
    lineMatching(stdout, /^ {2}delivered \+ dropped after acceptance = \d+ = accepted ✓$/);

    // What the backend received: the session's heartbeats and telemetry, ending in SESSION_END, nothing invalid.
    expect(backend.heartbeats.length).toBeGreaterThanOrEqual(3);
    expect(backend.heartbeats.every((beat) => beat.sessionId === session!.sessionId)).toBe(true);
    expect(backend.telemetry.batches.every((batch) => batch.session_id === session!.sessionId)).toBe(true);
    expect(backend.telemetry.events.at(-1)?.event).toBe('SESSION_END');
    expect(backend.violations).toEqual([]);
  });
});
