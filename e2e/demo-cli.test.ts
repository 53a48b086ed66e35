/**
 * The demo's command line: `--help` lists every option, and bad input stops
 * the demo at once with one line that names the option, and status 2.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

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
});
