// `npm run bench -- …` options: strict, so a typo is an error naming it, never a silent full run.
import test from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { parseArgs } from '../../bench/run.js';
import { cliNodeFlags } from '../../bench/snapshot.js';
import { packageRoot } from '../../src/package-files.js';
const PACKAGE_ROOT = packageRoot();

test('bench options: values are parsed and checked', () => {
  assert.deepEqual(parseArgs(['--smoke', '--no-write', '--only', 'snapshot,top', '--lab-sizes', '1000,10000', '--iterations', '2']), {
    smoke: true,
    lab: false,
    write: false,
    only: ['snapshot', 'top'],
    labSizes: [1000, 10000],
    iterations: 2,
  });
  assert.throws(() => parseArgs(['--sizes', '100,ten']), /--sizes 100,ten: expected positive whole numbers/);
  assert.throws(() => parseArgs(['--iterations', '0']), /--iterations 0/);
  assert.throws(() => parseArgs(['--smok']), /Unknown option '--smok'/);
  assert.throws(() => parseArgs(['extra']), /extra/);
  assert.throws(() => parseArgs(['--only', 'snapshot,tpo']), /unknown part tpo \(parts: snapshot, ingest, top, trace, start\)/);
});

test('bench: --help prints usage and runs nothing; a bad option exits 2 with the usage', () => {
  const run = (args: string[]) =>
    spawnSync(process.execPath, [join(PACKAGE_ROOT, 'dist', 'bench', 'run.js'), ...args], { encoding: 'utf8', timeout: 30_000 });
  const h = run(['--help']);
  assert.equal(h.status, 0);
  assert.match(h.stdout, /^usage: npm run bench/);
  assert.doesNotMatch(h.stdout, /\| part/);
  const bad = run(['--lab-size', '100']);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /--lab-size/);
  assert.match(bad.stderr, /usage:/);
  assert.equal(bad.stdout, '');
});

// `env -S` fails on BusyBox and old coreutils, and undocumented V8 flags may vanish from a future node
test('the shebang is plain `#!/usr/bin/env node`: no V8 flags, so the benches add none', () => {
  assert.deepEqual(cliNodeFlags('#!/usr/bin/env -S node --a=2 --b\nrest'), ['--a=2', '--b']);
  const cli = readFileSync(join(PACKAGE_ROOT, 'src', 'cli.ts'), 'utf8');
  assert.equal(cli.slice(0, cli.indexOf('\n')), '#!/usr/bin/env node');
  assert.deepEqual(cliNodeFlags(), []);
});
