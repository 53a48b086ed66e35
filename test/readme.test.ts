/**
 * The README's quick start, run and typechecked as written, so that it
 * cannot drift from the API: its first ```ts block is copied to a temporary
 * `.mts` file whose `tinker-telemetry` import maps, through a tsconfig
 * `paths` entry, to this checkout's `src/index.ts`.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { type IncomingMessage, type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { WireBody } from '../src/core/wire.js';
import { killAll, runScript } from './child.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const API_KEY = 'readme-test-key';
/** Generous for a cold tsx start on a busy machine, yet well inside the test timeout. */
const CHILD_TIMEOUT_MS = 15_000;

/** The first ```ts block under `## Quick start`, up to the next `## ` heading. */
function quickStart(): string {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const start = readme.indexOf('\n## Quick start\n');
  expect(start, 'README.md has a "## Quick start" section').toBeGreaterThan(-1);
  const end = readme.indexOf('\n## ', start + 1);
  const section = readme.slice(start, end === -1 ? undefined : end);
  const block = /\n```ts\n([\s\S]*?)\n```\n/.exec(section);
  expect(block, 'the Quick start section has a ```ts block').not.toBeNull();
  return `${block![1]}\n`;
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
let server: Server | undefined;
let received: { apiKey: string | string[] | undefined; body: WireBody }[] = [];
let baseUrl = '';

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tinker-readme-'));
  received = [];
  server = createServer((request: IncomingMessage, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      received.push({ apiKey: request.headers['x-api-key'], body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as WireBody });
      response.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"accepted"}');
    });
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterEach(async () => {
  killAll();
  await new Promise<void>((resolve) => {
    server?.closeAllConnections();
    server?.close(() => resolve());
  });
  server = undefined;
  rmSync(dir, { recursive: true, force: true });
});

describe('the README quick start', () => {
  it('imports the package by its name, as a user would', () => {
    expect(quickStart()).toContain("import { createConfig, startReporter } from 'tinker-telemetry';\n");
  });

  it('runs as written: the sink receives SESSION_START, the logged events and SESSION_END, with the key from TINKER_API_KEY', async () => {
    const script = join(dir, 'quick-start.mts');
    writeFileSync(script, quickStart());
    const tsconfig = join(dir, 'tsconfig.json');
    writeFileSync(tsconfig, JSON.stringify({ compilerOptions: { paths: COMPILER_OPTIONS.paths } }));
    const env: NodeJS.ProcessEnv = { ...process.env, TINKER_API_KEY: API_KEY, TINKER_BASE_URL: baseUrl, TSX_TSCONFIG_PATH: tsconfig };
    // A developer's shell must not switch telemetry off here.
    delete env.TINKER_TELEMETRY;
    const run = runScript(script, { env, timeoutMs: CHILD_TIMEOUT_MS, label: 'the README quick start' });
    const exit = await run.exited;
    expect(exit, `--- stdout ---\n${run.stdout()}\n--- stderr ---\n${run.stderr()}`).toEqual({ code: 0, signal: null });
    expect(run.stderr()).toBe('');
    expect(received.map((r) => r.apiKey)).toEqual(received.map(() => API_KEY));
    const events = received.flatMap((r) => r.body.events);
    expect(received.every((r) => r.body.session_id === 'run-42')).toBe(true);
    expect(events.map((e) => [e.event, e.severity, 'event_name' in e ? e.event_name : undefined])).toEqual([
      ['SESSION_START', 'INFO', undefined],
      ['GENERIC_EVENT', 'INFO', 'train.step'],
      ['GENERIC_EVENT', 'INFO', 'train.step'],
      ['GENERIC_EVENT', 'INFO', 'train.step'],
      ['GENERIC_EVENT', 'WARNING', 'checkpoint.slow'],
      ['SESSION_END', 'INFO', undefined],
    ]);
    expect(events.map((e) => e.event_session_index)).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it('typechecks as an ES module against the package types, and the check catches an undefined name', () => {
    const snippet = quickStart();
    const script = join(dir, 'quick-start.mts');
    writeFileSync(script, snippet);
    // The quick start once called a train() it never defined (TS2304); this copy brings that back.
    const broken = join(dir, 'broken.mts');
    const withoutTrain = snippet.replace(/async function train\(\)/, 'async function fit()');
    expect(withoutTrain).not.toBe(snippet);
    writeFileSync(broken, withoutTrain);
    const program = ts.createProgram([script, broken], COMPILER_OPTIONS);
    const diagnostics = (file: string) => {
      const source = program.getSourceFile(file)!;
      return [...program.getSyntacticDiagnostics(source), ...program.getSemanticDiagnostics(source)].map(
        (d) => `TS${d.code}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`,
      );
    };
    expect(program.getOptionsDiagnostics()).toEqual([]);
    expect(diagnostics(script)).toEqual([]);
    expect(diagnostics(broken)).toEqual(["TS2304: Cannot find name 'train'."]);
  });
});
