/**
 * `npm run diagram`: regenerates `docs/machine.md` (the diagram and tables of
 * each lifecycle machine, the reporter's and the session's) from the machine
 * definitions, and the reporter's diagram between the
 * `<!-- machine-diagram:start -->` and `<!-- machine-diagram:end -->` lines
 * of README.md. The output depends only on the machines, so running it twice
 * gives the same files.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MACHINE_DOC_PATH, README_PATH, machineDocPage, withReadmeDiagram } from '../tools/machine-doc.js';

const root = new URL('../', import.meta.url);
const docTarget = fileURLToPath(new URL(MACHINE_DOC_PATH, root));
const readmeTarget = fileURLToPath(new URL(README_PATH, root));

function readIfPresent(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

// Both files are worked out before either is written, so that a README
// without its markers leaves everything as it was.
const page = machineDocPage();
const readme = readIfPresent(readmeTarget);
let newReadme: string;
try {
  if (readme === undefined) throw new Error(`${README_PATH} is missing`);
  newReadme = withReadmeDiagram(readme);
} catch (error) {
  process.stderr.write(`diagram: ${error instanceof Error ? error.message : String(error)}; nothing was written\n`);
  process.exit(1);
}

if (readIfPresent(docTarget) === page) {
  process.stdout.write(`${MACHINE_DOC_PATH} is up to date\n`);
} else {
  mkdirSync(dirname(docTarget), { recursive: true });
  writeFileSync(docTarget, page);
  process.stdout.write(`wrote ${MACHINE_DOC_PATH}\n`);
}
if (newReadme === readme) {
  process.stdout.write(`${README_PATH} diagram is up to date\n`);
} else {
  writeFileSync(readmeTarget, newReadme);
  process.stdout.write(`wrote the diagram in ${README_PATH}\n`);
}
