/**
 * The mutation gate's pending mode (`scripts/mutation-gate.mjs`), run as CI
 * runs it, in a directory of its own: which files it counts as mutated
 * (the `mutate` globs, a `!` glob excluding), and when it passes or fails
 * without starting Stryker. The runs that do start Stryker are CI's own.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

const GATE = join(dirname(fileURLToPath(import.meta.url)), '..', 'scripts', 'mutation-gate.mjs');
let dir: string;

function write(path: string, text: string): void {
  mkdirSync(dirname(join(dir, path)), { recursive: true });
  writeFileSync(join(dir, path), text);
}

function gate(): { status: number | null; stdout: string; stderr: string } {
  const run = spawnSync(process.execPath, [GATE], { cwd: dir, encoding: 'utf8' });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

/** Committed results that name `paths`, each with no mutants. */
function results(paths: string[]): string {
  return JSON.stringify({ files: Object.fromEntries(paths.map((path) => [path, { language: 'typescript', mutants: [], source: '' }])), testFiles: {} });
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'mutation-gate-'));
  write(
    'stryker.conf.json',
    JSON.stringify({
      mutate: ['src/**/*.ts', 'machines/**/*.ts', '!src/testing/**/*.ts'],
      incrementalFile: 'stryker-incremental.json',
      jsonReporter: { fileName: 'reports/mutation/mutation.json' },
      thresholds: { break: 90 },
    }),
  );
  write('src/a.ts', 'export const a = 1;\n');
  write('src/core/b.ts', 'export const b = 2;\n');
  write('src/testing/fake.ts', 'export const fake = 3;\n');
  write('src/README.md', '# not mutated\n');
  write('machines/m.machine.ts', 'export const m = 4;\n');
  write('MUTATION_BASELINE_PENDING.md', '# pending for a reason\n');
});

afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('the mutation gate while the baseline is pending', () => {
  it('passes without testing when no results are committed, and lists every mutated file, the excluded folder and non-TypeScript files left out', () => {
    const run = gate();

    expect(run.status).toBe(0);
    expect(run.stdout).toContain('NOT RUN: stryker-incremental.json holds 0 of the 3 mutated files');
    const listed = run.stdout
      .split('\n')
      .filter((line) => line.startsWith('  '))
      .map((line) => line.trim());
    expect(listed).toEqual(['machines/m.machine.ts', 'src/a.ts', 'src/core/b.ts']);
    expect(run.stdout).toContain('# pending for a reason');
  });

  it('fails once the committed results hold every mutated file, and says to delete the pending file', () => {
    write('stryker-incremental.json', results(['machines/m.machine.ts', 'src/a.ts', 'src/core/b.ts']));

    const run = gate();

    expect(run.status).toBe(1);
    expect(run.stderr).toContain('covers all 3 mutated files: the baseline is complete, delete MUTATION_BASELINE_PENDING.md');
  });

  it('does not count results for a file that no longer exists or is excluded as covering', () => {
    write('stryker-incremental.json', results(['src/old-flat.ts', 'src/testing/fake.ts']));

    const run = gate();

    expect(run.status).toBe(0);
    expect(run.stdout).toContain('NOT RUN: stryker-incremental.json holds 0 of the 3 mutated files');
  });
});
