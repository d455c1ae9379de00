// Runs the compiled tests (dist/test/**/*.test.js) with node's own test runner.
//   node test/run.mjs           unit + lab tests (lab tests skip with a message where no lab
//                               can boot, and fail instead when CI=true or SCTPDIAG_LAB=required)
//   node test/run.mjs --unit    unit tests only
//   node test/run.mjs --lab     lab tests only
//   node test/run.mjs --package the `npm run dist` artifacts (built once, then reused by lab tests)
// Files run one at a time: lab tests boot QEMU guests and must not compete for the CPU.
import { readdirSync, statSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnSync } from 'node:child_process';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const arg = process.argv[2];
const suites = arg === '--unit' ? ['unit'] : arg === '--lab' ? ['lab'] : arg === '--package' ? ['package'] : ['unit', 'package', 'lab'];

function find(dir) {
  let out = [];
  let names = [];
  try {
    names = readdirSync(dir).sort();
  } catch {
    return out;
  }
  for (const n of names) {
    const p = join(dir, n);
    if (statSync(p).isDirectory()) out = out.concat(find(p));
    else if (n.endsWith('.test.js')) out.push(p);
  }
  return out;
}

const files = suites.flatMap((s) => find(join(root, 'dist', 'test', s)));
if (files.length === 0) {
  console.error('no compiled tests found: run `npm run build` first');
  process.exit(1);
}
const r = spawnSync(process.execPath, ['--enable-source-maps', '--test', '--test-concurrency=1', ...files], {
  stdio: 'inherit',
  cwd: root,
});
process.exit(r.status ?? 1);
