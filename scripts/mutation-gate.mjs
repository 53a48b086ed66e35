/**
 * The mutation gate (`npm run mutation:gate`, run by `.ci/run`).
 *
 * Runs Stryker in incremental mode against the committed
 * `stryker-incremental.json`, so only mutants whose code or covering tests
 * changed are tested again, then fails when either
 * - the mutation score is below the break threshold of `stryker.conf.json`
 *   (Stryker itself exits non-zero), or
 * - a mutant that the committed results record as killed now survives: a
 *   weakened test shows up here even while the overall score stays above the
 *   threshold.
 *
 * `--force` re-tests every mutant (a full run); the regression check still
 * compares with the committed file.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { performance } from 'node:perf_hooks';

const config = JSON.parse(readFileSync('stryker.conf.json', 'utf8'));
const incrementalFile = config.incrementalFile;
const reportFile = config.jsonReporter.fileName;
const breakAt = config.thresholds.break;

const DETECTED = new Set(['Killed', 'Timeout']);
const UNDETECTED = new Set(['Survived', 'NoCoverage']);

/** A mutant's identity across runs: its file, mutator, replacement and position. */
const keyOf = (file, mutant) => `${file}|${mutant.mutatorName}|${mutant.replacement ?? ''}|${mutant.location.start.line}:${mutant.location.start.column}`;

/** Every mutant of a report, with its file, and an index by identity (two mutants can share one; the index keeps the last). */
function statuses(path) {
  const report = JSON.parse(readFileSync(path, 'utf8'));
  const all = [];
  const byKey = new Map();
  for (const [file, { mutants }] of Object.entries(report.files)) {
    for (const mutant of mutants) {
      all.push({ file, mutant });
      byKey.set(keyOf(file, mutant), { file, mutant });
    }
  }
  return { all, byKey };
}

const baseline = existsSync(incrementalFile) ? statuses(incrementalFile).byKey : new Map();
if (baseline.size === 0 && !existsSync('MUTATION_BASELINE_PENDING.md')) console.log(`mutation gate: no committed ${incrementalFile}; every mutant is tested`);

/*
 * A pending baseline. When the whole tree moves or is reformatted at once, or
 * new code lands faster than a full run fits in a stop, the committed results
 * cover only part of what Stryker mutates, and testing the rest from scratch
 * takes longer than CI allows. Such a change commits PENDING_FILE, saying why.
 * While it exists, the gate tests (incrementally, with the same score and
 * regression checks) only the files the committed results hold, lists every
 * file they do not hold, and passes on those; once the results hold every
 * file, the file must go: the gate fails while both are there.
 */
const PENDING_FILE = 'MUTATION_BASELINE_PENDING.md';

/** A `mutate` glob of stryker.conf.json (`**`, `*`, a leading `!`) as a test on a path. */
function globTest(pattern) {
  const body = pattern
    .split('**/')
    .map((part) => part.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*'))
    .join('(?:.*/)?');
  const regex = new RegExp(`^${body}$`);
  return (path) => regex.test(path);
}

/** The files Stryker mutates, by the `mutate` globs of stryker.conf.json. */
function mutatedFiles() {
  const include = config.mutate.filter((p) => !p.startsWith('!')).map(globTest);
  const exclude = config.mutate.filter((p) => p.startsWith('!')).map((p) => globTest(p.slice(1)));
  const roots = [...new Set(config.mutate.map((p) => p.replace(/^!/, '').split('/')[0]))].filter((root) => existsSync(root));
  return roots
    .flatMap((root) => readdirSync(root, { recursive: true }).map((path) => `${root}/${String(path).split('\\').join('/')}`))
    .filter((path) => include.some((t) => t(path)) && !exclude.some((t) => t(path)))
    .sort();
}

const extraArgs = process.argv.slice(2);
if (existsSync(PENDING_FILE)) {
  const mutated = mutatedFiles();
  const committed = existsSync(incrementalFile) ? JSON.parse(readFileSync(incrementalFile, 'utf8')).files : {};
  const covered = mutated.filter((path) => committed[path] !== undefined);
  const pending = mutated.filter((path) => committed[path] === undefined);
  if (pending.length === 0) {
    console.error(
      `mutation gate: ${PENDING_FILE} is committed, but ${incrementalFile} covers all ${mutated.length} mutated files: the baseline is complete, delete ${PENDING_FILE}`,
    );
    process.exit(1);
  }
  console.log(
    `mutation gate: ${covered.length === 0 ? 'NOT RUN' : 'PARTIAL'}: ${incrementalFile} holds ${covered.length} of the ${mutated.length} mutated files; not tested (${PENDING_FILE}):`,
  );
  for (const path of pending) console.log(`  ${path}`);
  console.log(readFileSync(PENDING_FILE, 'utf8'));
  if (covered.length === 0) process.exit(0);
  extraArgs.push('--mutate', covered.join(','));
}

const started = performance.now();
const run = spawnSync('npx', ['stryker', 'run', ...extraArgs], {
  stdio: 'inherit',
  env: { ...process.env, FC_SEED: process.env.FC_SEED ?? '20261124' },
});
const minutes = ((performance.now() - started) / 60_000).toFixed(1);

if (!existsSync(reportFile)) {
  console.error(`mutation gate: Stryker wrote no report (${reportFile}); exit code ${run.status}`);
  process.exit(1);
}
const current = statuses(reportFile);
let detected = 0;
let undetected = 0;
const regressions = [];
for (const { file, mutant } of current.all) {
  if (DETECTED.has(mutant.status)) detected++;
  else if (UNDETECTED.has(mutant.status)) {
    undetected++;
    const before = baseline.get(keyOf(file, mutant));
    if (before !== undefined && DETECTED.has(before.mutant.status)) regressions.push({ file, mutant });
  }
}
const score = (100 * detected) / (detected + undetected);
console.log(
  `mutation gate: score ${score.toFixed(2)} (${detected} detected, ${undetected} undetected; break at ${breakAt}), ${regressions.length} regressions, ${minutes} min`,
);
for (const { file, mutant } of regressions) {
  const { line, column } = mutant.location.start;
  console.error(`  no longer killed: ${file}:${line}:${column} ${mutant.mutatorName} → ${JSON.stringify(mutant.replacement ?? '')}`);
}
if (run.status !== 0 || score < breakAt) {
  console.error(`mutation gate: failed, score below ${breakAt} or Stryker failed (exit code ${run.status})`);
  process.exit(1);
}
if (regressions.length > 0) {
  console.error('mutation gate: failed, mutants the committed results record as killed now survive; a test was weakened');
  process.exit(1);
}
