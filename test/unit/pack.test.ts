// `npm pack` → global install into a temp prefix → `sctpdiag --version` and the man page.
// Uses the already-built dist/ (--ignore-scripts: prepack would rebuild).
import test from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ROOT = process.cwd();
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { name: string; version: string; bin: Record<string, string>; man?: string[] };

function npm(args: string[], cwd = ROOT) {
  return spawnSync('npm', args, { cwd, encoding: 'utf8', timeout: 180_000, env: { ...process.env, npm_config_update_notifier: 'false' } });
}

test('npm pack installs globally with bin and man page', { timeout: 300_000 }, (t) => {
  assert.ok(existsSync(join(ROOT, 'dist/src/cli.js')), 'build first: npx tsc -p tsconfig.json');
  const tmp = mkdtempSync(join(tmpdir(), 'sctpdiag-pack-'));
  try {
    const packed = npm(['pack', '--ignore-scripts', '--json', '--pack-destination', tmp]);
    assert.equal(packed.status, 0, packed.stderr);
    const info = (JSON.parse(packed.stdout) as { filename: string; files: { path: string }[] }[])[0]!;
    const files = new Set(info.files.map((f) => f.path));
    assert.ok(files.has(pkg.bin['sctpdiag']!), 'bin target packed');
    assert.ok(files.has('package.json'));
    for (const f of files) assert.ok(!/^(test|src)\//.test(f) && !f.startsWith('dist/test/'), `no sources or tests in the package: ${f}`);
    const manPath = pkg.man?.[0] ?? 'man/sctpdiag.8';
    const manInRepo = existsSync(join(ROOT, manPath));
    if (manInRepo) assert.ok(files.has(manPath), `${manPath} packed`);

    const prefix = join(tmp, 'prefix');
    const inst = npm(['install', '-g', '--prefix', prefix, '--ignore-scripts', '--no-audit', '--no-fund', '--prefer-offline', join(tmp, info.filename)], tmp);
    assert.equal(inst.status, 0, inst.stderr);
    const bin = join(prefix, 'bin', 'sctpdiag');
    assert.ok(existsSync(bin), 'bin linked into PREFIX/bin');
    const v = spawnSync(bin, ['--version'], { encoding: 'utf8' });
    assert.equal(v.status, 0, v.stderr);
    assert.equal(v.stdout.trim(), pkg.version);
    const help = spawnSync(bin, ['--help'], { encoding: 'utf8' });
    for (const cmd of ['status', 'doctor', 'metrics']) assert.match(help.stdout, new RegExp(`\\b${cmd}\\b`), cmd);

    if (!manInRepo) {
      t.diagnostic(`${manPath} is not written yet: skipping man rendering (package.json "man" lists it)`);
      return;
    }
    const installedMan = join(prefix, 'share/man/man8/sctpdiag.8');
    assert.ok(existsSync(installedMan), 'man page linked into PREFIX/share/man/man8');
    assert.equal(realpathSync(installedMan), realpathSync(join(prefix, 'lib/node_modules', pkg.name, manPath)));
    const hasMan = spawnSync('man', ['--version'], { encoding: 'utf8' });
    if (hasMan.error) return t.diagnostic('man is not installed: rendering skipped');
    const env = { ...process.env, MANPAGER: 'cat', PAGER: 'cat', MANWIDTH: '80' };
    const local = spawnSync('man', ['-l', installedMan], { encoding: 'utf8', env });
    assert.equal(local.status, 0, local.stderr);
    assert.match(local.stdout, /SCTPDIAG/i);
    const byName = spawnSync('man', ['-M', join(prefix, 'share/man'), '8', 'sctpdiag'], { encoding: 'utf8', env });
    assert.equal(byName.status, 0, `man -M PREFIX/share/man 8 sctpdiag: ${byName.stderr}`);
    assert.match(byName.stdout, /doctor/);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});
