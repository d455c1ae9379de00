// `npm run dist`: the single executable runs with no Node anywhere (empty environment; the image's root
// filesystem as a chroot), `top` draws under tmux, and the .deb/.rpm/OCI image hold what they must.
import test, { before } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync, type SpawnSyncOptions } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, cpSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { capture, ROOT } from '../helpers.js';
import { DEB, EXE, OCI, OCI_ARCHIVE, OUT, RPM, VERSION, ensureDist } from './build.js';
import { parseExposition, sampleSum } from '../exposition.js';

const CAP = capture('two-path-a');
const REQUIRED = process.env.CI === 'true';

function sh(file: string, args: string[], opts: SpawnSyncOptions = {}) {
  const r = spawnSync(file, args, { encoding: 'utf8', timeout: 120_000, maxBuffer: 64 << 20, ...opts });
  return { code: r.status, out: String(r.stdout ?? ''), err: String(r.stderr ?? ''), error: r.error };
}
/** The executable in an empty environment: no PATH, so no node to fall back on. */
const bare = (args: string[], cwd = ROOT) => sh(EXE, args, { env: {}, cwd });
const have = (tool: string) => sh('sh', ['-c', `command -v ${tool}`]).code === 0;
function needTool(t: { skip: (m: string) => void }, tool: string): boolean {
  if (have(tool)) return true;
  assert.ok(!REQUIRED, `${tool} is not installed (test/lab/setup-debian.sh installs it)`);
  t.skip(`${tool} is not installed`);
  return false;
}

before(() => {
  const s = ensureDist();
  if (s > 0) process.stdout.write(`# npm run dist took ${s.toFixed(1)} s\n`);
});

test('the executable: size, version, checksums', () => {
  assert.ok(statSync(EXE).size <= 120e6, `${EXE}: ${statSync(EXE).size} bytes > 120 MB`);
  const v = bare(['--version']);
  assert.equal(v.code, 0, v.err);
  assert.equal(v.out, `${VERSION}\n`);
  const sums = readFileSync(join(OUT, 'SHA256SUMS'), 'utf8').trim().split('\n');
  const names = sums.map((l) => l.split(/\s+/)[1]);
  assert.deepEqual(names.sort(), [EXE, DEB, RPM, OCI_ARCHIVE].map((p) => p.slice(OUT.length + 1)).sort());
  for (const l of sums) {
    const [hash, name] = l.split(/\s+/) as [string, string];
    assert.equal(createHash('sha256').update(readFileSync(join(OUT, name))).digest('hex'), hash, name);
  }
});

test('the executable runs status, tune --show, metrics --once with no node', () => {
  const golden = readFileSync(join(ROOT, 'test/golden/status-two-path-a.json'), 'utf8');
  const s = bare(['--proc-root', CAP, '--json', 'status']);
  assert.equal(s.code, 0, s.err);
  const { host: _h, ...got } = JSON.parse(s.out) as Record<string, unknown>;
  const { host: _g, ...want } = JSON.parse(golden) as Record<string, unknown>;
  assert.deepEqual(got, want);
  assert.match(bare(['--proc-root', CAP, 'status']).out, /assoc 3 .*ESTABLISHED/);
  const tune = bare(['tune', '--show', 'telecom']);
  assert.equal(tune.code, 0, tune.err);
  assert.match(tune.out, /net\.sctp\.rto_min = 100/);
  const m = bare(['--proc-root', CAP, 'metrics', '--once']);
  assert.equal(m.code, 0, m.err);
  const f = parseExposition(m.out);
  assert.equal(sampleSum(f, 'sctp_up'), 1);
  assert.equal(sampleSum(f, 'sctp_paths', { state: 'ACTIVE' }), 6);
  const bad = bare(['status', '--bogus']);
  assert.equal(bad.code, 2);
  assert.match(bad.err, /unknown option '--bogus'/);
});

test('the image root filesystem runs the executable in a chroot (no node, only its libraries)', (t) => {
  if (!needTool(t, 'umoci')) return;
  if (process.getuid?.() !== 0) return t.skip('chroot needs root');
  const dir = mkdtempSync(join(tmpdir(), 'sctpdiag-oci-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const u = sh('umoci', ['unpack', '--image', `${OCI}:${VERSION}`, join(dir, 'b')]);
  assert.equal(u.code, 0, u.err);
  const rootfs = join(dir, 'b/rootfs');
  assert.ok(!existsSync(join(rootfs, 'usr/bin/node')) && !existsSync(join(rootfs, 'bin/sh')), 'nothing but sctpdiag to run');
  cpSync(CAP, join(rootfs, 'cap'), { recursive: true });
  const inRoot = (args: string[]) => sh('/usr/sbin/chroot', [rootfs, '/usr/bin/sctpdiag', ...args], { env: {} });
  assert.equal(inRoot(['--version']).out, `${VERSION}\n`);
  const tune = inRoot(['tune', '--show', 'telecom']);
  assert.match(tune.out, /Profile telecom \(\/usr\/share\/sctpdiag\/profiles\/telecom\.conf\)/, tune.err);
  const m = inRoot(['--proc-root', '/cap', 'metrics', '--once']);
  assert.equal(m.code, 0, m.err);
  assert.equal(sampleSum(parseExposition(m.out), 'sctp_up'), 1);
  const cfg = JSON.parse(readFileSync(join(dir, 'b/config.json'), 'utf8')) as { process: { args: string[] } };
  assert.deepEqual(cfg.process.args.slice(0, 2), ['/usr/bin/sctpdiag', 'metrics']);
});

test('OCI layout: tag, entrypoint, the exporter by default, one layer with the files', (t) => {
  if (!needTool(t, 'skopeo')) return;
  const c = sh('skopeo', ['inspect', '--config', `oci:${OCI}:${VERSION}`]);
  assert.equal(c.code, 0, c.err);
  const config = JSON.parse(c.out) as { config: { Entrypoint: string[]; Cmd: string[] }; architecture: string };
  assert.deepEqual(config.config.Entrypoint, ['/usr/bin/sctpdiag']);
  assert.deepEqual(config.config.Cmd.slice(0, 3), ['metrics', '--listen', '0.0.0.0:10132']);
  assert.equal(config.architecture, 'amd64');
  const a = sh('skopeo', ['inspect', `oci-archive:${OCI_ARCHIVE}:${VERSION}`]);
  assert.equal(a.code, 0, a.err);
  const index = JSON.parse(readFileSync(join(OCI, 'index.json'), 'utf8')) as { manifests: { digest: string }[] };
  const manifest = JSON.parse(readFileSync(join(OCI, 'blobs/sha256', index.manifests[0]!.digest.slice(7)), 'utf8')) as { layers: { digest: string }[] };
  assert.equal(manifest.layers.length, 1);
  const files = sh('tar', ['-tzf', join(OCI, 'blobs/sha256', manifest.layers[0]!.digest.slice(7))]).out.split('\n');
  for (const f of ['./usr/bin/sctpdiag', './usr/share/sctpdiag/profiles/telecom.conf', './usr/share/sctpdiag/version', './usr/lib64/ld-linux-x86-64.so.2', './usr/lib/x86_64-linux-gnu/libstdc++.so.6', './lib64', './etc/passwd'])
    assert.ok(files.includes(f), `${f} in the layer`);
  const daemonset = readFileSync(join(ROOT, 'deploy/kubernetes/daemonset.yaml'), 'utf8');
  assert.match(daemonset, new RegExp(`image: \\S+/sctpdiag:${VERSION.replace(/\./g, '\\.')}\\n`), 'the DaemonSet names the tag npm run dist gives the image');
});

test('.deb: contents, dependencies, maintainer scripts, lintian', (t) => {
  const c = sh('dpkg-deb', ['-c', DEB]);
  assert.equal(c.code, 0, c.err);
  const entries = c.out.split('\n').filter(Boolean).map((l) => ({ mode: l.split(/\s+/)[0]!, owner: l.split(/\s+/)[1]!, path: l.split(/\s+/).slice(5).join(' ') }));
  const path = (p: string) => entries.find((e) => e.path === p);
  assert.match(path('./usr/bin/sctpdiag')?.mode ?? '', /^-rwxr-xr-x$/);
  for (const p of ['./usr/share/man/man8/sctpdiag.8.gz', './lib/systemd/system/sctpdiag-exporter.service', './lib/systemd/system/sctpdiag-events.service', './usr/share/sctpdiag/profiles/telecom.conf', './usr/share/sctpdiag/probes/path-state.bt', './usr/share/sctpdiag/version', './usr/share/doc/sctpdiag/copyright', './etc/sctpdiag/profiles/', './var/lib/sctpdiag/', './lib/systemd/system/sctpdiag-textfile.timer'])
    assert.ok(path(p), `${p} in the .deb`);
  // the exporter's TLS/auth file: root only, and a conffile (an operator's edits survive upgrades)
  assert.match(path('./etc/sctpdiag/web-config.yml')?.mode ?? '', /^-rw-------$/);
  assert.ok(entries.every((e) => e.owner === 'root/root'), 'root-owned');
  assert.ok(!entries.some((e) => e.path.startsWith('./etc/sctpdiag/profiles/') && e.path !== './etc/sctpdiag/profiles/'), '/etc/sctpdiag/profiles ships empty');
  assert.equal(sh('dpkg-deb', ['-f', DEB, 'Version']).out.trim(), VERSION);
  assert.match(sh('dpkg-deb', ['-f', DEB, 'Depends']).out, /^libc6 \(>= 2\.28\), libgcc-s1 .*libstdc\+\+6/);
  const ctl = mkdtempSync(join(tmpdir(), 'sctpdiag-debctl-'));
  t.after(() => rmSync(ctl, { recursive: true, force: true }));
  assert.equal(sh('dpkg-deb', ['-e', DEB, ctl]).code, 0);
  assert.equal(readFileSync(join(ctl, 'conffiles'), 'utf8'), '/etc/sctpdiag/web-config.yml\n');
  const scripts = ['postinst', 'postrm'].map((s) => readFileSync(join(ctl, s), 'utf8')).join('\n');
  assert.doesNotMatch(scripts, /\benable\b|\bstart\b/, 'no service enabled or started');
  assert.equal(sh('sh', ['-n', join(ctl, 'postinst')]).code, 0);
  if (!needTool(t, 'lintian')) return;
  const l = sh('lintian', ['--fail-on', 'error,warning', DEB], { timeout: 300_000 });
  assert.equal(l.code, 0, `lintian:\n${l.out}${l.err}`);
});

test('.rpm: contents, requirements, scripts', (t) => {
  if (!needTool(t, 'rpm')) return;
  const l = sh('rpm', ['-qlp', DEB.replace(DEB, RPM)]);
  assert.equal(l.code, 0, l.err);
  const files = l.out.split('\n');
  for (const f of ['/usr/bin/sctpdiag', '/usr/share/man/man8/sctpdiag.8.gz', '/usr/lib/systemd/system/sctpdiag-exporter.service', '/usr/share/sctpdiag/profiles/telecom.conf', '/etc/sctpdiag/profiles', '/var/lib/sctpdiag', '/etc/sctpdiag/web-config.yml', '/usr/lib/systemd/system/sctpdiag-textfile.timer'])
    assert.ok(files.includes(f), `${f} in the .rpm`);
  assert.match(sh('rpm', ['-qp', '--configfiles', RPM]).out, /^\/etc\/sctpdiag\/web-config\.yml$/m);
  assert.equal(sh('rpm', ['-qp', '--qf', '%{VERSION}', RPM]).out, VERSION);
  assert.match(sh('rpm', ['-qpR', RPM]).out, /libc\.so\.6\(GLIBC_2\.28\)\(64bit\)/);
  assert.doesNotMatch(sh('rpm', ['-qp', '--scripts', RPM]).out, /\benable\b|\bstart\b/);
  // the binary inside is the same executable
  const dir = mkdtempSync(join(tmpdir(), 'sctpdiag-rpm-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const x = sh('sh', ['-c', 'rpm2cpio "$1" | cpio -idm --quiet', 'sh', RPM], { cwd: dir });
  assert.equal(x.code, 0, x.err);
  assert.equal(sh(join(dir, 'usr/bin/sctpdiag'), ['--version'], { env: {} }).out, `${VERSION}\n`);
});

test('top from the executable draws under tmux and quits on q', async (t) => {
  if (!needTool(t, 'tmux')) return;
  const sock = `sctpdiag-dist-${process.pid}`;
  const dir = mkdtempSync(join(tmpdir(), 'sctpdiag-top-'));
  const tmux = (...a: string[]) => sh('tmux', ['-L', sock, ...a]);
  t.after(() => {
    tmux('kill-server');
    rmSync(dir, { recursive: true, force: true });
  });
  const exit = join(dir, 'exit');
  const script = join(dir, 'run.sh');
  writeFileSync(script, `env -i TERM=xterm-256color LANG=C.UTF-8 "$1" --proc-root "$2" top 2>"$3/err"; echo $? >"$3/exit.tmp"; mv "$3/exit.tmp" "$3/exit"; sleep 60\n`);
  assert.equal(tmux('new-session', '-d', '-x', '120', '-y', '36', 'sh', script, EXE, CAP, dir).code, 0);
  const until = async (cond: () => boolean, what: string) => {
    for (let i = 0; i < 300 && !cond(); i++) await new Promise((r) => setTimeout(r, 100));
    assert.ok(cond(), `${what}\nscreen:\n${tmux('capture-pane', '-p').out}\nstderr: ${existsSync(join(dir, 'err')) ? readFileSync(join(dir, 'err'), 'utf8') : ''}`);
  };
  await until(() => /ESTAB/.test(tmux('capture-pane', '-p').out), 'the association table never showed');
  const screen = tmux('capture-pane', '-p').out;
  assert.match(screen, /sctpdiag top/);
  assert.match(screen, /6001→5001/);
  tmux('send-keys', 'q');
  await until(() => existsSync(exit), 'top did not exit on q');
  assert.equal(readFileSync(exit, 'utf8').trim(), '0', readFileSync(join(dir, 'err'), 'utf8'));
});
