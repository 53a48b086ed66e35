/** A TypeScript script run as a child process (through tsx) by the tests that need a real process: its output, its exit, and a bound on both. */
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface Running {
  child: ChildProcess;
  /** Resolves when the child has exited and its output is read; rejects, after killing it, when that takes over `timeoutMs`. */
  exited: Promise<Exit>;
  stdout(): string;
  stderr(): string;
  /** Resolves with the first match of `pattern` in stdout; rejects when the child exits or times out first. */
  waitForOutput(pattern: RegExp): Promise<RegExpMatchArray>;
  /** Resolves once stdout contains `text`; rejects when the child exits or times out first. */
  printed(text: string): Promise<void>;
}

/** Children still running, for an `afterEach` to kill with `killAll`. */
const children = new Set<ChildProcess>();

/** Kills every child that is still running (SIGKILL). */
export function killAll(): void {
  for (const child of children) child.kill('SIGKILL');
  children.clear();
}

/**
 * Runs `script` (a path from the repository root) with `node --import tsx`,
 * in the repository root, with `env` (default: this process's), stdout and
 * stderr captured. `label` names it in failure messages.
 */
export function runScript(script: string, options: { env?: NodeJS.ProcessEnv; timeoutMs: number; label?: string }): Running {
  const label = options.label ?? script;
  const child = spawn(process.execPath, ['--import', 'tsx', script], { cwd: ROOT, env: options.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  let out = '';
  let err = '';
  const watchers = new Set<() => void>();
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    out += chunk;
    for (const check of watchers) check();
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
  const output = () => `\n--- stdout ---\n${out}\n--- stderr ---\n${err}`;

  const exited = new Promise<Exit>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${label} did not exit within ${options.timeoutMs} ms${output()}`));
    }, options.timeoutMs);
    // `close`, not `exit`: it waits until stdout and stderr are fully read.
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      children.delete(child);
      resolve({ code, signal });
    });
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });

  const waitForOutput = (pattern: RegExp) =>
    new Promise<RegExpMatchArray>((resolve, reject) => {
      const check = () => {
        const match = out.match(pattern);
        if (match === null) return;
        watchers.delete(check);
        resolve(match);
      };
      watchers.add(check);
      check();
      exited.then((exit) => reject(new Error(`${label} exited (${exit.code ?? exit.signal}) before printing ${pattern}${output()}`)), reject);
    });
  const printed = async (text: string) => {
    await waitForOutput(new RegExp(text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
  };

  return { child, exited, stdout: () => out, stderr: () => err, waitForOutput, printed };
}
