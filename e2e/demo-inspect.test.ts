/**
 * `npm run inspect` (the demo with `--inspect`): the Stately inspector relay
 * passes the inspection events of both machines, the session's and its
 * reporter's, to whoever listens on its WebSocket, and the demo still ends
 * by itself.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { type AddressInfo, type Server, createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';

/*
 * Node 20 has no global WebSocket (only behind --experimental-websocket), so
 * the client is `ws`, which the relay of @statelyai/inspect is built on.
 */

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** One inspection message as the relay passes it on (JSON text). */
interface InspectionMessage {
  type: string;
  name?: string;
  sessionId: string;
  rootId?: string;
  event?: { type: string };
  snapshot?: { value?: unknown; status?: string };
}

interface DemoRun {
  /** The relay's port, from the demo's `inspector: http://localhost:PORT` line. */
  port: Promise<number>;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stdout(): string;
  stderr(): string;
}

const children = new Set<ChildProcess>();
const clients = new Set<WebSocket>();
const servers = new Set<Server>();

afterEach(async () => {
  for (const client of clients) client.terminate();
  clients.clear();
  for (const child of children) child.kill('SIGKILL');
  children.clear();
  await Promise.all([...servers].map((server) => new Promise((resolve) => server.close(resolve))));
  servers.clear();
});

/** Starts the demo as `npm run inspect -- …args` would, without npm in between. */
function runDemo(args: string[]): DemoRun {
  const child = spawn(process.execPath, ['--import', 'tsx', 'demo/demo.ts', ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('close', (code, signal) => {
      children.delete(child);
      resolve({ code, signal });
    }),
  );
  const port = new Promise<number>((resolve, reject) => {
    const look = () => {
      const match = /^inspector: http:\/\/localhost:(\d+)$/m.exec(stdout);
      if (match) resolve(Number(match[1]));
    };
    child.stdout.on('data', look);
    void exit.then(({ code }) =>
      reject(new Error(`the demo exited (${code}) before printing the inspector's address\nstdout:\n${stdout}\nstderr:\n${stderr}`)),
    );
  });
  // A run that is expected to fail never asks for the port.
  port.catch(() => undefined);
  return { port, exit, stdout: () => stdout, stderr: () => stderr };
}

/** A port free on this machine a moment ago (the relay cannot take port 0). */
async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

/**
 * Runs the demo with `--inspect` on a free port and connects a client to the
 * relay once the demo names it. The port is probed free, then bound by the
 * demo: the rare case that something took it in between is retried.
 */
async function runWithClient(args: string[], options: { closeOnEnded: boolean }) {
  for (let attempt = 1; ; attempt++) {
    const demo = runDemo([`--inspect=${await freePort()}`, '--no-ui', ...args]);
    let port: number;
    try {
      port = await demo.port;
    } catch (error) {
      if (attempt < 3 && /is in use/.test(demo.stderr())) continue;
      throw error;
    }
    const messages: InspectionMessage[] = [];
    const client = new WebSocket(`ws://127.0.0.1:${port}`);
    clients.add(client);
    // The session machine ends last: `closed` once its reporter has drained and ended.
    const ended = new Promise<void>((resolve, reject) => {
      client.on('error', reject);
      client.on('message', (data) => {
        const message = JSON.parse((data as Buffer).toString('utf8')) as InspectionMessage;
        messages.push(message);
        const session = messages.find((m) => m.type === '@xstate.actor' && m.name === 'session');
        if (isRootSnapshot(message) && message.sessionId === session?.sessionId && message.snapshot?.value === 'closed') {
          if (options.closeOnEnded) client.close();
          resolve();
        }
      });
      client.on('close', () => reject(new Error(`the relay closed the connection before the session closed, after ${messages.length} messages`)));
    });
    return { demo, messages, ended };
  }
}

/** A snapshot of a machine itself (the session's or the reporter's), not of an actor it invoked. */
function isRootSnapshot(message: InspectionMessage): boolean {
  return message.type === '@xstate.snapshot' && message.sessionId === message.rootId;
}

/** `draining.sending` for `{ draining: 'sending' }`, as the demo prints states. */
function stateName(value: unknown): string {
  if (typeof value === 'string') return value;
  const [key, child] = Object.entries(value as Record<string, unknown>)[0]!;
  return `${key}.${stateName(child)}`;
}

/** The demo's label for an event, as in its `state` and `session` lines. */
function eventLabel(type: string): string {
  const delay = /^xstate\.after\.([^.]+)\./.exec(type)?.[1];
  if (delay !== undefined) return `after ${delay}`;
  const actor = /^xstate\.(done|error)\.actor\.(.+)$/.exec(type);
  return actor === null ? type : `${actor[1]} ${actor[2]}`;
}

/** The changes of state in `snapshots` of one machine, as `<state> on <event>`. */
function stateChanges(snapshots: InspectionMessage[]): string[] {
  return snapshots
    .map((m) => ({ to: stateName(m.snapshot!.value), on: eventLabel(m.event!.type) }))
    .filter((step, i, all) => i === 0 || step.to !== all[i - 1]!.to)
    .map(({ to, on }) => `${to} on ${on}`);
}

describe('npm run inspect (the demo with --inspect)', () => {
  it('passes every transition of both machines, the session’s and its reporter’s, to a relay client, retries included, and exits 0 by itself', async () => {
    // All requests of the fault stretch fail, so the retries are certain; 20 events keep the run short. The client
    // connects as soon as the relay's address is printed, before the session starts, so it misses nothing.
    const { demo, messages, ended } = await runWithClient(['--events', '20', '--fault-rate', '1'], { closeOnEnded: true });
    await ended;
    const { code, signal } = await demo.exit;
    expect({ code, signal }, `${demo.stdout()}\n${demo.stderr()}`).toEqual({ code: 0, signal: null });
    // The last-resort exit timer did not fire: nothing held the process after the shutdown.
    expect(demo.stderr()).not.toMatch(/exiting anyway/);

    const session = messages.find((m) => m.type === '@xstate.actor' && m.name === 'session');
    const reporter = messages.find((m) => m.type === '@xstate.actor' && m.name === 'reporter');
    expect(session, 'the session machine is registered with the inspector').toBeDefined();
    expect(reporter, 'the reporter machine is registered with the inspector').toBeDefined();
    expect(session!.sessionId).not.toBe(reporter!.sessionId);
    const rootsOf = (actor: InspectionMessage) => messages.filter((m) => isRootSnapshot(m) && m.sessionId === actor.sessionId);
    expect(rootsOf(session!).at(-1)!.snapshot).toMatchObject({ value: 'closed', status: 'done' });
    expect(rootsOf(reporter!).at(-1)!.snapshot).toMatchObject({ value: 'ended', status: 'done' });

    // The session's changes of state the inspector saw are, in order, those the demo printed from them: created, active, closed.
    const printedSession = [...demo.stdout().matchAll(/^ {2}session \S+ +→ (\S+) +on (.+)$/gm)].map(([, to, on]) => `${to} on ${on}`);
    expect(stateChanges(rootsOf(session!))).toEqual(printedSession);
    expect(printedSession).toEqual(['creating on xstate.init', 'active.ok on done createSession', 'closing on CLOSE', 'closed on done closeSession']);

    // The reporter's changes of state the inspector saw are, in order, those the demo printed from `tinker:telemetry:state`.
    const seen = stateChanges(rootsOf(reporter!));
    const printed = [...demo.stdout().matchAll(/^ {2}state {2}\S+ +→ (\S+) +on (.+)$/gm)].map(([, to, on]) => `${to} on ${on}`);
    expect(seen).toEqual(printed);
    expect(new Set(seen.map((step) => step.split(' ')[0]))).toEqual(new Set(['idle', 'batching', 'sending', 'retrying', 'draining.sending', 'ended']));
    expect(seen).toContain('retrying on FAIL');
    expect(seen.at(-1)).toBe('ended on ACK');
  });

  it('does not stay up for a client still connected to the relay: it exits 0, saying so', async () => {
    const { demo, ended } = await runWithClient(['--events', '0', '--fault-rate', '0', '--quiet'], { closeOnEnded: false });
    await ended;
    const { code, signal } = await demo.exit;
    expect({ code, signal }, `${demo.stdout()}\n${demo.stderr()}`).toEqual({ code: 0, signal: null });
    expect(demo.stderr()).toContain('the inspector relay or socket is still open; exiting anyway');
  });

  it('stops at once with status 2 when the relay port is in use', async () => {
    // Every interface, as the relay would listen.
    const taken = createServer();
    servers.add(taken);
    await new Promise<void>((resolve) => taken.listen(0, resolve));
    const { port } = taken.address() as AddressInfo;
    const demo = runDemo([`--inspect=${port}`, '--no-ui']);
    const { code } = await demo.exit;
    expect(code).toBe(2);
    expect(demo.stdout()).toBe('');
    expect(demo.stderr()).toBe(`demo: cannot start the inspector relay: port ${port} is in use; pass \`--inspect=PORT\` with a free port\n`);
  });
});
