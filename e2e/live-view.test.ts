/**
 * The demo's live view in a real browser: Debian's Chromium, driven by
 * playwright-core, watches `npm run demo` from start to summary: both
 * machines drawn, each one's highlight moving, the session's notes, and the
 * numbers the demo prints.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type BrowserContext, chromium } from 'playwright-core';
import { afterAll, describe, expect, it } from 'vitest';
import { reporterMachine } from '../machines/reporter.machine.js';
import { sessionMachine } from '../machines/session.machine.js';
import { machineGraph } from '../tools/machine-graph.js';

/*
 * The browser globals that the callbacks run in the page use. The project
 * compiles against Node's types only (the DOM library would change the types
 * of timers everywhere), so they are declared here, for this module alone.
 */
interface PageElement {
  getAttribute(name: string): string | null;
  querySelector(selector: string): PageElement | null;
  readonly textContent: string | null;
  readonly classList: { contains(name: string): boolean };
}
declare const document: {
  querySelector(selector: string): PageElement | null;
  querySelectorAll(selector: string): ArrayLike<PageElement>;
  body: { dataset: Record<string, string | undefined> } | null;
};
declare const window: {
  reportHighlightedState(machine: string, state: string, phase: string): void;
  reportNote(text: string): void;
};
declare const MutationObserver: new (callback: () => void) => { observe(target: unknown, options: Record<string, unknown>): void };

const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SCREENSHOT = join(ROOT, 'reports', 'e2e', 'live-view.png');
/** How long the demo may take to print its live view's address. */
const URL_TIMEOUT_MS = 20_000;
/** The machines the page draws, by the id the page gives each diagram. */
const MACHINES = { session: machineGraph(sessionMachine), reporter: machineGraph(reporterMachine) };
/** How long the page may take to show the end of the run. */
const DONE_TIMEOUT_MS = 45_000;

interface DemoRun {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** The live view's address, from the demo's `live view: URL` line. */
  url: Promise<string>;
  /** Resolves once the demo has exited and its output is complete. */
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Starts the demo as `npm run demo` would, without npm in between. */
function runDemo(args: string[]): DemoRun {
  const child = spawn(process.execPath, ['--import', 'tsx', 'demo/demo.ts', ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('close', (code, signal) => resolve({ code, signal })));
  const url = new Promise<string>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`the demo printed no "live view:" line within ${URL_TIMEOUT_MS} ms\nstdout:\n${stdout}\nstderr:\n${stderr}`)),
      URL_TIMEOUT_MS,
    );
    const look = () => {
      const match = /^live view: (http:\/\/127\.0\.0\.1:\d+\/)$/m.exec(stdout);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]!);
      }
    };
    child.stdout.on('data', look);
    void exit.then(({ code }) => {
      clearTimeout(timer);
      reject(new Error(`the demo exited (${code}) before printing its live view's address\nstdout:\n${stdout}\nstderr:\n${stderr}`));
    });
  });
  return { child, stdout: () => stdout, stderr: () => stderr, url, exit };
}

interface Summary {
  sessionId: string;
  accepted: number;
  delivered: number;
  dropped: Record<string, number>;
  balanced: boolean;
}

/** Reads the summary the demo prints at the end. */
function parseSummary(stdout: string): Summary {
  const tail = stdout.slice(stdout.lastIndexOf('\nsummary\n'));
  const sessionId = /^ {2}session +(\S+) /m.exec(tail)?.[1];
  const accepted = /^ {2}accepted +(\d+)$/m.exec(tail)?.[1];
  const delivered = /^ {2}delivered +(\d+)\b/m.exec(tail)?.[1];
  const dropped = /^ {2}dropped +(.+)$/m.exec(tail)?.[1];
  if (sessionId === undefined || accepted === undefined || delivered === undefined || dropped === undefined) {
    throw new Error(`no summary in the demo's output:\n${stdout}`);
  }
  return {
    sessionId,
    accepted: Number(accepted),
    delivered: Number(delivered),
    dropped: Object.fromEntries(
      dropped
        .trim()
        .split(/\s+/)
        .map((pair) => {
          const [reason, count] = pair.split('=');
          return [reason!, Number(count)];
        }),
    ),
    balanced: /^ {2}delivered \+ dropped after acceptance = \d+ = accepted ✓$/m.test(tail),
  };
}

describe('the live view of npm run demo', () => {
  let context: BrowserContext | undefined;
  let userDataDir: string | undefined;
  let demo: DemoRun | undefined;

  /**
   * Launches Chromium with a fresh profile. A missing Chromium fails the
   * test that needs it, with the fix in the message, rather than skipping.
   */
  async function launchChromium(): Promise<BrowserContext> {
    if (!existsSync(CHROMIUM)) {
      throw new Error(`Chromium is not installed at ${CHROMIUM}: the browser tests need Debian's chromium package (apt-get install chromium)`);
    }
    userDataDir = await mkdtemp(join(tmpdir(), 'tinker-telemetry-e2e-'));
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM,
      headless: true,
      args: CHROMIUM_ARGS,
      viewport: { width: 1280, height: 900 },
    });
    return context;
  }

  afterAll(async () => {
    if (demo && demo.child.exitCode === null && demo.child.signalCode === null) demo.child.kill();
    await context?.close();
    if (userDataDir) await rm(userDataDir, { recursive: true, force: true });
  });

  it('draws both machines, moves each one’s highlight through the run, notes the session’s queue changes, and ends on the numbers the demo prints', async () => {
    // The browser is up before the demo starts, so the page connects early in the run.
    const browser = await launchChromium();
    const page = browser.pages()[0] ?? (await browser.newPage());
    const pageErrors: string[] = [];
    page.on('pageerror', (error) => pageErrors.push(error.message));
    const foreignRequests: string[] = [];

    // Every change of a machine's highlighted state, as the page makes it, with the page's phase at that
    // moment, and every note added to the activity feed: a MutationObserver reports each one.
    const highlighted: { machine: string; state: string; phase: string }[] = [];
    const notes: string[] = [];
    await page.exposeFunction('reportHighlightedState', (machine: string, state: string, phase: string) => highlighted.push({ machine, state, phase }));
    await page.exposeFunction('reportNote', (text: string) => notes.push(text));
    await page.addInitScript(() => {
      const last = new Map<string, string>();
      const seenNotes = new Set<PageElement>();
      const report = () => {
        const diagrams = document.querySelectorAll('svg[data-machine]');
        for (let i = 0; i < diagrams.length; i++) {
          const diagram = diagrams[i]!;
          const machine = diagram.getAttribute('data-machine') ?? '';
          const state = diagram.querySelector('.current')?.getAttribute('data-state') ?? undefined;
          if (state === undefined || state === last.get(machine)) continue;
          last.set(machine, state);
          window.reportHighlightedState(machine, state, document.body?.dataset.phase ?? '');
        }
        const items = document.querySelectorAll('#activity li.act-note');
        for (let i = 0; i < items.length; i++) {
          const item = items[i]!;
          if (seenNotes.has(item)) continue;
          seenNotes.add(item);
          window.reportNote(item.querySelector('.what')?.textContent ?? '');
        }
      };
      new MutationObserver(report).observe(document, { subtree: true, childList: true, attributes: true, attributeFilter: ['class'] });
    });

    demo = runDemo(['--events', '300', '--port', '0', '--hold-ms', '1500']);
    const url = await demo.url;
    const origin = new URL(url).origin;
    page.on('request', (request) => {
      if (!request.url().startsWith(`${origin}/`) && !request.url().startsWith('data:')) foreignRequests.push(request.url());
    });
    await page.goto(url);

    // Each diagram holds exactly the states of its machine's graph.
    for (const [machine, graph] of Object.entries(MACHINES)) {
      await page.waitForFunction(({ id, count }) => document.querySelectorAll(`#diagram-${id} [data-state]`).length >= count, {
        id: machine,
        count: graph.states.length,
      });
      const drawn = await page.$$eval(`#diagram-${machine} [data-state]`, (groups) => groups.map((g) => g.getAttribute('data-state')));
      expect(drawn.sort(), `the states drawn for ${machine}`).toEqual(graph.states.map((s) => s.id).sort());
    }

    await page.waitForSelector('body[data-phase="done"]', { timeout: DONE_TIMEOUT_MS });
    await mkdir(dirname(SCREENSHOT), { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });

    const counters = await page.$$eval('[data-counter]', (elements) =>
      Object.fromEntries(elements.map((e) => [e.getAttribute('data-counter'), e.textContent?.trim()])),
    );
    const finalStates = {
      session: await page.$eval('#diagram-session .current', (g) => g.getAttribute('data-state')),
      reporter: await page.$eval('#diagram-reporter .current', (g) => g.getAttribute('data-state')),
    };
    const shownSession = await page.$eval('#session', (e) => e.textContent);
    const shownSummary = await page.$$eval('[data-summary]', (elements) =>
      Object.fromEntries(elements.map((e) => [e.getAttribute('data-summary'), e.textContent?.trim()])),
    );

    const { code, signal } = await demo.exit;
    expect({ code, signal, stderr: demo.stderr() }).toEqual({ code: 0, signal: null, stderr: '' });
    const summary = parseSummary(demo.stdout());
    expect(summary.balanced).toBe(true);

    // The counters end on the demo's own summary; everything accepted has settled.
    const expected: Record<string, string> = {
      pushCounter: String(summary.accepted),
      flushCounter: String(summary.accepted),
      deliveredCounter: String(summary.delivered),
      queueSize: '0',
      inFlight: '0',
    };
    for (const [reason, count] of Object.entries(summary.dropped)) expected[`dropped.${reason}`] = String(count);
    expect(counters).toEqual(expected);

    // Each machine's highlight moved while the demo was still running, through states of its own graph, and came to
    // rest on its final state: the session active, then closed; its reporter through several states to ended.
    for (const [machine, graph] of Object.entries(MACHINES)) {
      const path = highlighted.filter((h) => h.machine === machine);
      for (const h of path)
        expect(
          graph.states.map((s) => s.id),
          `${machine} highlighted ${h.state}`,
        ).toContain(h.state);
      const whileRunning = path.filter((h) => h.phase === 'running').map((h) => h.state);
      expect(new Set(whileRunning).size, `${machine} highlighted while running: ${whileRunning.join(' → ')}`).toBeGreaterThanOrEqual(2);
    }
    const sessionPath = highlighted.filter((h) => h.machine === 'session').map((h) => h.state);
    expect(sessionPath).toContain('active.ok');
    expect(sessionPath.at(-1)).toBe('closed');
    expect(finalStates).toEqual({ session: 'closed', reporter: 'ended' });

    // The page names the session by the id the server issued, and notes what the session did.
    expect(summary.sessionId).toMatch(/^fake-session-\d+$/);
    expect(shownSession).toBe(`session ${summary.sessionId}`);
    expect(shownSummary).toMatchObject({ sessionId: summary.sessionId, balanced: 'delivered + dropped = accepted ✓', violations: '0 ✓' });
    expect(
      notes.some((note) => /^heartbeat #\d+ → 200$/.test(note)),
      notes.join('\n'),
    ).toBe(true);
    expect(notes).toContain('queue fake-request-1: (new) → paused_capacity');
    expect(notes).toContain('queue fake-request-1: paused_capacity → active');
    expect(notes).toContain('RequestFailedError (TINKER_REQUEST_FAILED, category user)');

    expect(pageErrors).toEqual([]);
    expect(foreignRequests).toEqual([]);
  });
});
