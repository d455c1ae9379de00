// Textfile mode: `metrics --once --output FILE` writes atomically, never through a symlink,
// passes promtool check metrics; the systemd service + timer run it.
import test from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, symlinkSync, writeFileSync, lstatSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeTextfile } from '../../src/metrics/textfile.js';
import { parseExposition, sampleSum } from '../exposition.js';
import { EXIT, SctpdiagError } from '../../src/errors.js';
import { CLI, CAPTURES, FIXTURES, ROOT } from '../helpers.js';

const run = (args: string[]) => spawnSync(process.execPath, [CLI, '--proc-root', join(CAPTURES, 'two-path-a-fail-t6'), 'metrics', ...args], { encoding: 'utf8' });

test('--once --output writes the exposition into FILE and nothing else; promtool check metrics accepts it', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sctpdiag-textfile-'));
  const out = join(dir, 'sctpdiag.prom');
  const r = run(['--once', '--output', out, '--links', join(FIXTURES, 'links/two-path.conf')]);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, '', 'nothing on stdout');
  assert.deepEqual(readdirSync(dir), ['sctpdiag.prom'], 'no temp file left');
  const text = readFileSync(out, 'utf8');
  assert.equal(sampleSum(parseExposition(text), 'sctp_link_up', { link: 'stp-c' }), 0);
  assert.equal(lstatSync(out).mode & 0o777, 0o644, 'readable by node_exporter');
  const promtool = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
  if (promtool.error) {
    if (process.env.CI === 'true') assert.fail('promtool is required in CI');
    return t.skip('promtool not installed');
  }
  assert.equal(promtool.status, 0, promtool.stdout + promtool.stderr);
});

test('a symlink at FILE is refused, its target untouched; errors write nothing', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sctpdiag-textfile-'));
  const victim = join(dir, 'victim');
  writeFileSync(victim, 'precious\n');
  const link = join(dir, 'link.prom');
  symlinkSync(victim, link);
  await assert.rejects(writeTextfile(link, 'a 1\n'), (e: unknown) => e instanceof SctpdiagError && e.exitCode === EXIT.USAGE && /symbolic link/.test(e.message));
  assert.equal(readFileSync(victim, 'utf8'), 'precious\n');
  assert.equal(lstatSync(link).isSymbolicLink(), true);
  const out = join(dir, 'x.prom');
  await writeTextfile(out, 'a 1\n');
  assert.equal(readFileSync(out, 'utf8'), 'a 1\n');
  // a second write replaces the first whole
  await writeTextfile(out, 'a 2\n');
  assert.equal(readFileSync(out, 'utf8'), 'a 2\n');
  const code = async (p: string) => writeTextfile(p, 'x\n').then(() => 0, (e: unknown) => (e instanceof SctpdiagError ? e.exitCode : -1));
  assert.equal(await code(join(dir, 'missing/x.prom')), EXIT.NOT_FOUND);
  mkdirSync(join(dir, 'd'));
  assert.equal(await code(join(dir, 'd')), EXIT.USAGE);
  assert.deepEqual(readdirSync(dir).sort(), ['d', 'link.prom', 'victim', 'x.prom']);
});

test('--output without --once is a usage error, before anything is read', () => {
  const r = run(['--output', '/tmp/never.prom']);
  assert.equal(r.status, EXIT.USAGE);
  assert.match(r.stderr, /--output needs --once/);
});

test('systemd: the textfile service runs metrics --once --output into the textfile directory, the timer repeats it', () => {
  const svc = readFileSync(join(ROOT, 'deploy/systemd/sctpdiag-textfile.service'), 'utf8');
  const timer = readFileSync(join(ROOT, 'deploy/systemd/sctpdiag-textfile.timer'), 'utf8');
  assert.match(svc, /^Type=oneshot$/m);
  assert.match(svc, /^Environment=SCTPDIAG_TEXTFILE=(\/var\/lib\/prometheus\/node-exporter)\/sctpdiag\.prom$/m);
  assert.match(svc, /^ExecStart=\/usr\/bin\/sctpdiag metrics --once --output \$\{SCTPDIAG_TEXTFILE\}$/m);
  assert.match(svc, /^ReadWritePaths=\/var\/lib\/prometheus\/node-exporter$/m);
  assert.match(timer, /^\[Timer\]$/m);
  assert.match(timer, /^OnUnitInactiveSec=\d+s$/m);
  assert.match(timer, /^WantedBy=timers\.target$/m);
});
