// Lab: the .deb installed with dpkg -i in Debian 11, 12 and 14 guests whose PATH has no node, then status, trace
// (cut + restore), doctor, tune apply/rollback and metrics from /usr/bin/sctpdiag (the --netns hops
// re-run the executable itself); on 11 and 14 `top` under tmux (blessed's widgets and terminfo from the
// executable); on 11 the .rpm's payload (rpm2cpio on the host) run from where it was extracted; and (on 12)
// the OCI image's root filesystem as a chroot with /proc, /sys, bpffs and tracefs mounted, in the
// association's namespace (hostNetwork-like), scraped.
import test, { type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { labRequired, labStatus, runInGuest } from './vm.js';
import { diagnostics } from './guard.js';
import { DEB, OCI, OUT, RPM, VERSION, ensureDist } from '../package/build.js';
import { parseExposition, sampleSum } from '../exposition.js';

const scrape = (ns: string, port: number, out: string) =>
  `ip netns exec ${ns} python3 -c 'import sys, urllib.request; sys.stdout.write(urllib.request.urlopen(sys.argv[1], timeout=5).read().decode())' http://127.0.0.1:${port}/metrics >"$LAB_OUT/${out}.txt"`;
const until = (cond: string, tries = 150) => `for i in $(seq ${tries}); do ${cond} && break; sleep 0.2; done; ${cond}`;

interface Extra {
  image: boolean; // the OCI image's root as a chroot, scraped
  top: boolean; // top under tmux
  rpm: boolean; // the .rpm's payload, extracted at $RPM_ROOT
}

/** dpkg -i, then every command from /usr/bin/sctpdiag with node gone; then the extras. */
function script(x: Extra): string {
  return [
    'set -e',
    `dpkg -i ${JSON.stringify(DEB)} >"$LAB_OUT/dpkg.log" 2>&1`,
    // no node for the package to lean on (the guest's root is an overlay: this changes only the guest)
    'for n in $(type -ap node nodejs); do rm -f "$n" 2>/dev/null || true; done', // a read-only bind (built suites' /opt/lab-node) leaves PATH to hide it
    'export PATH=/usr/sbin:/usr/bin:/sbin:/bin',
    '! command -v node',
    'command -v sctpdiag >"$LAB_OUT/which"',
    'sctpdiag --version >"$LAB_OUT/version"',
    'lab_topology 2',
    'lab_fast a b',
    'lab_multihomed 6001 5001',
    'lab_wait_path a 10.1.0.2 2 30',
    'lab_wait_path a 10.2.0.2 2 30',
    'sctpdiag --netns a --json status >"$LAB_OUT/status.json"',
    'sctpdiag --netns a --json doctor >"$LAB_OUT/doctor.json" || echo $? >"$LAB_OUT/doctor.exit"',
    // tune: apply telecom in a, read it back, roll back (journal in the package's /var/lib/sctpdiag)
    'ip netns exec a sysctl -n net.sctp.rto_min >"$LAB_OUT/rto_min.before"',
    'sctpdiag --netns a tune --profile telecom --apply >"$LAB_OUT/apply.out"',
    'ip netns exec a sysctl -n net.sctp.rto_min >"$LAB_OUT/rto_min.applied"',
    'ls /var/lib/sctpdiag >"$LAB_OUT/statedir"',
    'sctpdiag --netns a tune --rollback >"$LAB_OUT/rollback.out"',
    'ip netns exec a sysctl -n net.sctp.rto_min >"$LAB_OUT/rto_min.after"',
    // trace (procfs polling) and the exporter while the primary link is cut and restored
    '( sctpdiag --netns a trace --json --no-bpf --interval 200 >"$LAB_OUT/trace.out" 2>"$LAB_OUT/trace.err" ) & TRACE=$!',
    'lab_bg exporter a sctpdiag metrics --listen 127.0.0.1:9464 --min-interval 200',
    until(`${scrape('a', 9464, 'before')} 2>/dev/null`),
    until('grep -q \'"type":"trace.start"\\|"source"\' "$LAB_OUT/trace.out"'),
    'lab_cut a va1',
    'lab_wait_path a 10.1.0.2 0 30',
    until(`grep -q '"to":"INACTIVE"' "$LAB_OUT/trace.out"`),
    until(`${scrape('a', 9464, 'cut')} && grep -q '^sctp_paths{state="INACTIVE"} 1$' "$LAB_OUT/cut.txt"`),
    'lab_restore a va1',
    'lab_wait_path a 10.1.0.2 2 60',
    until(`grep '"to":"ACTIVE"' "$LAB_OUT/trace.out" | grep -q 10.1.0.2`),
    'kill $TRACE; wait $TRACE || true',
    'lab_stop exporter',
    ...(x.top ? topScript : []),
    ...(x.rpm ? rpmScript : []),
    ...(x.image ? imageScript : []),
  ].join('\n');
}

/** top from the executable under tmux (the guest's init mounts devpts): the association drawn, then q. */
const topScript = [
  'T0=$(date +%s%N)',
  'export LANG=C.UTF-8 TERM=xterm-256color',
  'screen_has() { for i in $(seq 900); do tmux capture-pane -p -t top | grep -q "$1" && return 0; sleep 0.2; done; tmux capture-pane -p -t top >&2; return 1; }',
  'tmux new-session -d -x 120 -y 36 -s top "sctpdiag --netns a top --interval 500 2>$LAB_OUT/top.err; echo \\$? >$LAB_OUT/top.exit.tmp; mv $LAB_OUT/top.exit.tmp $LAB_OUT/top.exit; sleep 600"',
  "screen_has '2/2 up'",
  'tmux capture-pane -p -t top >"$LAB_OUT/top.screen"',
  'tmux send-keys -t top q',
  until('test -s "$LAB_OUT/top.exit"'),
  'tmux kill-server',
  'echo $(( ($(date +%s%N) - T0) / 1000000 )) >"$LAB_OUT/top.ms"',
];

/** The .rpm's executable where rpm2cpio put it (its own usr/share/sctpdiag beside it), node still gone. */
const rpmScript = [
  'T0=$(date +%s%N)',
  'X="$RPM_ROOT/usr/bin/sctpdiag"',
  '"$X" --version >"$LAB_OUT/rpm.version"',
  '"$X" --netns a --json status >"$LAB_OUT/rpm.status.json"',
  '"$X" tune --show telecom >"$LAB_OUT/rpm.tune"',
  '"$X" --netns a metrics --once >"$LAB_OUT/rpm.metrics"',
  'echo $(( ($(date +%s%N) - T0) / 1000000 )) >"$LAB_OUT/rpm.ms"',
];

/** The .rpm's payload on the host (the guest sees the checkout at the same path). */
function extractRpm(): string {
  const dir = join(OUT, 'build', 'rpm-lab');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const r = spawnSync('sh', ['-c', 'rpm2cpio "$1" | cpio -idm --quiet', 'sh', RPM], { cwd: dir, encoding: 'utf8' });
  assert.equal(r.status, 0, `rpm2cpio | cpio: ${r.stderr}`);
  return dir;
}

const imageScript = [
    // the image: its root filesystem, the kernel file systems a DaemonSet mounts, the pod in netns a
    `umoci unpack --image ${JSON.stringify(`${OCI}:${VERSION}`)} /tmp/img >"$LAB_OUT/umoci.log" 2>&1`,
    'R=/tmp/img/rootfs',
    'mount -t proc proc $R/proc',
    'mount --rbind /sys $R/sys',
    'mountpoint -q $R/sys/fs/bpf || mount -t bpf bpf $R/sys/fs/bpf',
    'mountpoint -q $R/sys/kernel/tracing || mount -t tracefs tracefs $R/sys/kernel/tracing',
    'lab_bg image a chroot $R /usr/bin/sctpdiag metrics --listen 127.0.0.1:9465 --min-interval 200',
    until(`${scrape('a', 9465, 'image')} 2>/dev/null && grep -q '^sctp_paths{state="ACTIVE"} 2$' "$LAB_OUT/image.txt"`),
    'lab_stop image',
];

async function runPackage(t: TestContext, suite: 'bookworm' | 'bullseye' | 'forky'): Promise<void> {
  const lab = labStatus(suite);
  if (!lab.available) {
    assert.ok(!labRequired(), `SCTP lab (${suite}) required but unavailable: ${lab.reason}`);
    return t.skip(`SCTP lab (${suite}) unavailable: ${lab.reason}`);
  }
  const built = ensureDist();
  if (built) t.diagnostic(`npm run dist took ${built.toFixed(1)} s`);
  const x: Extra = { image: suite === 'bookworm', top: suite !== 'bookworm', rpm: suite === 'bullseye' };
  const rpmRoot = x.rpm ? extractRpm() : '';
  const r = await runInGuest({ timeoutMs: x.top || x.rpm ? 900_000 : 600_000, suite, script: script(x), env: x.rpm ? { RPM_ROOT: rpmRoot } : {} });
  const diag = diagnostics(r);
  assert.equal(r.timedOut, false, diag);
  assert.equal(r.exitCode, 0, diag);
  const out = (f: string) => readFileSync(join(r.outDir, f), 'utf8');
  assert.equal(out('which').trim(), '/usr/bin/sctpdiag');
  assert.equal(out('version').trim(), VERSION);
  const status = JSON.parse(out('status.json')) as { netns: string; associations: { paths: unknown[] }[] };
  assert.equal(status.netns, 'a', 'the hop re-ran the executable inside a');
  assert.equal(status.associations.length, 1);
  assert.equal(status.associations[0]!.paths.length, 2);
  const doctor = JSON.parse(out('doctor.json')) as { schemaVersion: number };
  assert.equal(doctor.schemaVersion, 1);
  assert.equal(out('rto_min.applied').trim(), '100', out('apply.out'));
  assert.equal(out('rto_min.after').trim(), out('rto_min.before').trim(), out('rollback.out'));
  assert.match(out('apply.out'), /in netns a/);
  const events = out('trace.out').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { type: string; path?: string; to?: string });
  assert.ok(events.some((e) => e.type === 'path.state' && e.path === '10.1.0.2' && e.to === 'INACTIVE'), diag);
  assert.ok(events.some((e) => e.type === 'path.state' && e.path === '10.1.0.2' && e.to === 'ACTIVE'), diag);
  const before = parseExposition(out('before.txt'));
  const cut = parseExposition(out('cut.txt'));
  assert.equal(sampleSum(before, 'sctp_paths', { state: 'ACTIVE' }), 2);
  assert.equal(sampleSum(cut, 'sctp_paths', { state: 'INACTIVE' }), 1);
  if (x.top) {
    const screen = out('top.screen');
    assert.match(screen, /sctpdiag top/, screen);
    assert.match(screen, /6001→5001/, screen);
    assert.equal(out('top.exit').trim(), '0', out('top.err'));
    t.diagnostic(`${suite}: top under tmux took ${out('top.ms').trim()} ms`);
  }
  if (x.rpm) {
    assert.equal(out('rpm.version').trim(), VERSION);
    const st = JSON.parse(out('rpm.status.json')) as { netns: string; associations: { paths: unknown[] }[] };
    assert.equal(st.netns, 'a', 'the hop re-ran the extracted executable inside a');
    assert.equal(st.associations[0]?.paths.length, 2);
    // its profiles come from the payload's own tree, not the .deb's /usr/share/sctpdiag
    assert.ok(out('rpm.tune').includes(`${rpmRoot}/usr/share/sctpdiag/profiles/telecom.conf`), out('rpm.tune'));
    assert.match(out('rpm.tune'), /net\.sctp\.rto_min = 100/);
    assert.equal(sampleSum(parseExposition(out('rpm.metrics')), 'sctp_paths', { state: 'ACTIVE' }), 2);
    t.diagnostic(`${suite}: the .rpm's binary took ${out('rpm.ms').trim()} ms`);
  }
  if (x.image) {
    const img = parseExposition(out('image.txt'));
    assert.equal(sampleSum(img, 'sctp_up'), 1);
    assert.equal(sampleSum(img, 'sctp_paths', { state: 'ACTIVE' }), 2);
  }
  t.diagnostic(`${suite}: lab run took ${r.durationMs} ms`);
}

test('lab: the .deb and the image work on Debian 12 without node', { timeout: 900_000 }, (t) => runPackage(t, 'bookworm'));
test('lab: the .deb (top under tmux too) and the .rpm\'s binary work on Debian 11 (its own Node is 12; none on PATH)', { timeout: 1_800_000 }, (t) => runPackage(t, 'bullseye'));
test('lab: the .deb works on Debian 14, top under tmux too', { timeout: 1_800_000 }, (t) => runPackage(t, 'forky'));
