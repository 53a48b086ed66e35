/**
 * `npm run diagram`: regenerates `docs/machine.md` (the lifecycle diagram and
 * transition table) from the machine definition. The output depends only on
 * the machine, so running it twice gives the same file.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MACHINE_DOC_PATH, reporterMachineDoc } from '../tools/machine-doc.js';

const target = fileURLToPath(new URL(`../${MACHINE_DOC_PATH}`, import.meta.url));
const page = reporterMachineDoc();
let previous: string | undefined;
try {
  previous = readFileSync(target, 'utf8');
} catch {
  previous = undefined;
}
if (previous === page) {
  process.stdout.write(`${MACHINE_DOC_PATH} is up to date\n`);
} else {
  mkdirSync(dirname(target), { recursive: true });
  writeFileSync(target, page);
  process.stdout.write(`wrote ${MACHINE_DOC_PATH}\n`);
}
