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

// The benches run the CLI's code with the executable's own V8 flags (cliNodeFlags);
// node must accept them, or the installed `sctpdiag` would not even start.
test('the shebang: its node flags are what the benches use, and this node accepts them', () => {
  assert.deepEqual(cliNodeFlags('#!/usr/bin/env -S node --a=2 --b\nrest'), ['--a=2', '--b']);
  assert.deepEqual(cliNodeFlags('#!/bin/sh\nnode --x'), []);
  const flags = cliNodeFlags();
  const cli = readFileSync(join(PACKAGE_ROOT, 'src', 'cli.ts'), 'utf8');
  assert.equal(cli.slice(0, cli.indexOf('\n')), `#!/usr/bin/env -S node ${flags.join(' ')}`);
  assert.ok(flags.includes('--max-semi-space-size=2'), flags.join(' '));
  const r = spawnSync(process.execPath, [...flags, '-e', 'process.stdout.write("ok")'], { encoding: 'utf8' });
  assert.equal(r.stdout, 'ok', r.stderr);
  assert.equal(r.status, 0, r.stderr);
});
