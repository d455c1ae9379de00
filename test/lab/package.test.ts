// Lab: the .deb installed with dpkg -i in Debian 11, 12 and 14 guests whose PATH has no node, then status, trace
// (cut + restore), doctor, tune apply/rollback and metrics from /usr/bin/sctpdiag (the --netns hops
// re-run the executable itself); and (on 12) the OCI image's root filesystem as a chroot with /proc, /sys,
// bpffs and tracefs mounted, in the association's namespace (hostNetwork-like), scraped.
import test, { type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { labRequired, labStatus, runInGuest } from './vm.js';
import { diagnostics } from './guard.js';
import { DEB, OCI, VERSION, ensureDist } from '../package/build.js';
import { parseExposition, sampleSum } from '../exposition.js';

const scrape = (ns: string, port: number, out: string) =>
  `ip netns exec ${ns} python3 -c 'import sys, urllib.request; sys.stdout.write(urllib.request.urlopen(sys.argv[1], timeout=5).read().decode())' http://127.0.0.1:${port}/metrics >"$LAB_OUT/${out}.txt"`;
const until = (cond: string, tries = 150) => `for i in $(seq ${tries}); do ${cond} && break; sleep 0.2; done; ${cond}`;

/** dpkg -i, then every command from /usr/bin/sctpdiag with node gone; the image too where `image`. */
function script(image: boolean): string {
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
    ...(image ? imageScript : []),
  ].join('\n');
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
  const image = suite === 'bookworm';
  const r = await runInGuest({ timeoutMs: 600_000, suite, script: script(image) });
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
  if (image) {
    const img = parseExposition(out('image.txt'));
    assert.equal(sampleSum(img, 'sctp_up'), 1);
    assert.equal(sampleSum(img, 'sctp_paths', { state: 'ACTIVE' }), 2);
  }
  t.diagnostic(`${suite}: lab run took ${r.durationMs} ms`);
}

test('lab: the .deb and the image work on Debian 12 without node', { timeout: 900_000 }, (t) => runPackage(t, 'bookworm'));
test('lab: the .deb works on Debian 11 (its own Node is 12; none on PATH)', { timeout: 1_800_000 }, (t) => runPackage(t, 'bullseye'));
test('lab: the .deb works on Debian 14', { timeout: 1_800_000 }, (t) => runPackage(t, 'forky'));
