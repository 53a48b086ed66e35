/**
 * The README's quick start, run and typechecked as written, so that it
 * cannot drift from the API: each ```ts block of the section (the session
 * first, then the reporter alone) is copied to a temporary `.mts` file whose
 * `tinker-telemetry` import maps, through a tsconfig `paths` entry, to this
 * checkout's `src/index.ts`, and run as a child process against the fake
 * Tinker API on 127.0.0.1 (port 0, closed after each test), whose URL and
 * key it reads from TINKER_BASE_URL and TINKER_API_KEY as a user's would.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SDK_VERSION } from '../src/core/version.js';
import { type FakeTinker, startFakeTinker } from '../src/testing.js';
import { killAll, runScript } from './child.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
/** Generous for a cold tsx start on a busy machine, yet well inside the test timeout. */
const CHILD_TIMEOUT_MS = 15_000;

/** Every ```ts block under `## Quick start`, up to the next `## ` heading, in order. */
function quickStartBlocks(): string[] {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const start = readme.indexOf('\n## Quick start\n');
  expect(start, 'README.md has a "## Quick start" section').toBeGreaterThan(-1);
  const end = readme.indexOf('\n## ', start + 1);
  const section = readme.slice(start, end === -1 ? undefined : end);
  return [...section.matchAll(/\n```ts\n([\s\S]*?)\n```\n/g)].map((match) => `${match[1]}\n`);
}

/** The block that leads the quick start: the session. */
function sessionBlock(): string {
  const [first] = quickStartBlocks();
  expect(first, 'the Quick start section has a ```ts block').toBeDefined();
  return first!;
}

/** The lower-level path after it: the reporter alone. */
function reporterBlock(): string {
  const [, second] = quickStartBlocks();
  expect(second, 'the Quick start section has a second ```ts block, the reporter alone').toBeDefined();
  return second!;
}

/** Compiler options of a user's ES module project, with the package mapped to this checkout's source. */
const COMPILER_OPTIONS: ts.CompilerOptions = {
  module: ts.ModuleKind.NodeNext,
  moduleResolution: ts.ModuleResolutionKind.NodeNext,
  target: ts.ScriptTarget.ES2022,
  lib: ['lib.es2023.d.ts', 'lib.esnext.disposable.d.ts'],
  strict: true,
  noEmit: true,
  skipLibCheck: true,
  types: ['node'],
  typeRoots: [join(ROOT, 'node_modules/@types')],
  paths: { 'tinker-telemetry': [join(ROOT, 'src/index.ts')] },
};

let dir = '';
let fake: FakeTinker | undefined;

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tinker-readme-'));
  fake = await startFakeTinker();
});

afterEach(async () => {
  killAll();
  await fake?.close();
  fake = undefined;
  rmSync(dir, { recursive: true, force: true });
});

/** Runs `code` as `quick-start.mts` against the fake, as a user would, and expects a clean exit with nothing on stderr. */
async function runAsWritten(code: string, label: string): Promise<void> {
  const script = join(dir, 'quick-start.mts');
  writeFileSync(script, code);
  const tsconfig = join(dir, 'tsconfig.json');
  writeFileSync(tsconfig, JSON.stringify({ compilerOptions: { paths: COMPILER_OPTIONS.paths } }));
  const env: NodeJS.ProcessEnv = { ...process.env, TINKER_API_KEY: fake!.apiKey, TINKER_BASE_URL: fake!.url, TSX_TSCONFIG_PATH: tsconfig };
  // A developer's shell must not switch telemetry off, nor add tags or a project, here.
  delete env.TINKER_TELEMETRY;
  delete env.TINKER_TAGS;
  delete env.TINKER_PROJECT_ID;
  const run = runScript(script, { env, timeoutMs: CHILD_TIMEOUT_MS, label });
  const exit = await run.exited;
  expect(exit, `--- stdout ---\n${run.stdout()}\n--- stderr ---\n${run.stderr()}`).toEqual({ code: 0, signal: null });
  expect(run.stderr()).toBe('');
}

/** One line per telemetry event the fake accepted: its type, severity and name. */
function eventLines(): string[] {
  return fake!.telemetry.events.map((e) => [e.event, e.severity, e.event_name].filter((part) => part !== undefined).join(' '));
}

describe('the README quick start', () => {
  it('leads with createSession and then shows startReporter, each importing the package by its name, as a user would', () => {
    expect(quickStartBlocks()).toHaveLength(2);
    expect(sessionBlock()).toContain("import { createConfig, createSession } from 'tinker-telemetry';\n");
    expect(reporterBlock()).toContain("import { createConfig, startReporter } from 'tinker-telemetry';\n");
  });

  it('runs the session as written: the server issues the id, the model is created, and the telemetry under that id passes the strict validation', async () => {
    await runAsWritten(sessionBlock(), 'the README quick start (session)');

    expect(fake!.violations).toEqual([]);
    expect(fake!.sessions.map((s) => [s.sessionId, s.tags, s.userMetadata, s.projectId, s.sdkVersion])).toEqual([
      ['fake-session-1', ['quick-start'], {}, undefined, SDK_VERSION],
    ]);
    expect(fake!.futures.map((f) => [f.path, f.requestType])).toEqual([['/api/v1/create_model', 'CreateModel']]);
    expect(fake!.telemetry.batches.map((b) => b.session_id)).toEqual(fake!.telemetry.batches.map(() => 'fake-session-1'));
    // The model's result was logged; the create_model POST and its polls were forwarded from the HTTP channels.
    expect(eventLines()[0]).toBe('SESSION_START INFO');
    expect(eventLines().at(-1)).toBe('SESSION_END INFO');
    expect(eventLines().filter((line) => line.startsWith('SESSION_'))).toHaveLength(2);
    const created = fake!.telemetry.events.filter((e) => e.event_name === 'model.created');
    expect(created.map((e) => e.event_data)).toEqual([{ model: { model_id: 'fake-session-1:train:0', type: 'create_model' } }]);
    expect(eventLines()).toContain('GENERIC_EVENT INFO tinker.http.request.stop');
    expect(fake!.telemetry.events.map((e) => e.event_session_index)).toEqual(fake!.telemetry.events.map((_, i) => i));
  });

  it('runs the reporter alone as written: SESSION_START, the logged events and SESSION_END, under the session id it was given', async () => {
    await runAsWritten(reporterBlock(), 'the README quick start (reporter)');

    expect(fake!.violations).toEqual([]);
    expect(fake!.sessions).toEqual([]);
    expect(fake!.telemetry.batches.every((b) => b.session_id === 'run-42')).toBe(true);
    expect(eventLines()).toEqual([
      'SESSION_START INFO',
      'GENERIC_EVENT INFO train.step',
      'GENERIC_EVENT INFO train.step',
      'GENERIC_EVENT INFO train.step',
      'GENERIC_EVENT WARNING checkpoint.slow',
      'SESSION_END INFO',
    ]);
    expect(fake!.telemetry.events.map((e) => e.event_session_index)).toEqual([0, 1, 2, 3, 4, 5]);
    // The fake accepts only its key, so every batch carried the one from TINKER_API_KEY.
    expect(fake!.requests.map((r) => [r.path, r.credential, r.status])).toEqual(fake!.requests.map(() => ['/api/v1/telemetry', 'api_key', 200]));
  });

  it('typechecks both blocks as ES modules against the package types, and the check catches an undefined name', () => {
    const blocks = quickStartBlocks();
    const scripts = blocks.map((code, i) => {
      const script = join(dir, `quick-start-${i}.mts`);
      writeFileSync(script, code);
      return script;
    });
    // Without createSession in its import, the session block names something undefined (TS2304); the check must say so.
    const snippet = sessionBlock();
    const withoutImport = snippet.replace('import { createConfig, createSession }', 'import { createConfig }');
    expect(withoutImport).not.toBe(snippet);
    const broken = join(dir, 'broken.mts');
    writeFileSync(broken, withoutImport);
    const program = ts.createProgram([...scripts, broken], COMPILER_OPTIONS);
    const diagnostics = (file: string) => {
      const source = program.getSourceFile(file)!;
      return [...program.getSyntacticDiagnostics(source), ...program.getSemanticDiagnostics(source)].map(
        (d) => `TS${d.code}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`,
      );
    };
    expect(program.getOptionsDiagnostics()).toEqual([]);
    for (const script of scripts) expect(diagnostics(script), script).toEqual([]);
    expect(diagnostics(broken)).toEqual(["TS2304: Cannot find name 'createSession'."]);
  });
});
