// `sctpdiag status` on the real kernel: multi-homed, locally single-homed, IPv6
// and one-to-one associations between netns a and b; then the primary's link is
// cut. One guest boot; each test checks one part of what it wrote.
import test from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { assertGuestOk, diagnostics, guestOnce, labOrSkip } from './guard.js';
import type { StatusReport } from '../../src/commands/status.js';
import type { Association } from '../../src/model/snapshot.js';

const SCRIPT = String.raw`
set -e
sctpdiag() { node "$LAB_REPO/dist/src/cli.js" "$@"; }
lab_topology 2 v6
lab_fast a b
lab_multihomed 6001 5001                                   # both sides bound to two addresses
lab_darn_server srv5000 b 5000 0.0.0.0                     # wildcard server
lab_wait_listen b 5000
lab_darn_client cli6003 a 6003 10.1.0.2 5000 10.1.0.1      # the bind() pitfall: one local address
lab_darn_server srv7000 b 7000 fd00:1::2 fd00:2::2         # IPv6, multi-homed
lab_wait_listen b 7000
lab_darn_client cli7001 a 7001 fd00:1::2 7000 fd00:1::1 fd00:2::1
lab_py_server py8000 b 8000 10.1.0.2 10.2.0.2              # one-to-one (SOCK_STREAM)
lab_wait_listen b 8000
lab_py_client py8000c a 10.1.0.2 8000 --bind 10.1.0.1 --bind 10.2.0.1 --lport 6004
lab_wait_assoc a 4 30
lab_wait_path a 10.2.0.2 2 15
lab_wait_path a fd00:2::2 2 15
for k in rto_min rto_max rto_initial hb_interval; do echo "$k $(ip netns exec a cat /proc/sys/net/sctp/$k)"; done > "$LAB_OUT/sysctl.txt"
sctpdiag --netns a --json status > "$LAB_OUT/before.json"
sctpdiag --netns a status > "$LAB_OUT/before.txt"
sctpdiag --netns b --json status > "$LAB_OUT/b.json"
pid=$(ip netns pids a | head -n 1)
sctpdiag --netns-pid "$pid" --json status > "$LAB_OUT/bypid.json"
sctpdiag --netns a capture "$LAB_OUT/cap"
sctpdiag --json status > "$LAB_OUT/init-netns.json"
sctpdiag --json status --all-netns > "$LAB_OUT/all.json"
t0=$EPOCHREALTIME
lab_cut a va1
lab_wait_path_every a 10.1.0.2 0 30
echo "$t0 $EPOCHREALTIME" > "$LAB_OUT/cut-times.txt"
sctpdiag --netns a --json status --port 6001 > "$LAB_OUT/after.json"
sctpdiag --netns a status --state inactive > "$LAB_OUT/after.txt"
`;

const run = guestOnce({ script: SCRIPT, timeoutMs: 300_000 });

function load(dir: string, name: string): StatusReport {
  return JSON.parse(readFileSync(join(dir, name), 'utf8')) as StatusReport;
}
const byPort = (r: StatusReport, port: number): Association => {
  const a = r.associations.find((x) => x.localPort === port);
  assert.ok(a, `no association with local port ${port} in ${JSON.stringify(r.associations.map((x) => x.localPort))}`);
  return a;
};

test('lab status: multi-homed association — 2 local addresses, 2 ACTIVE paths, primary marked, RTO in ms within the sysctls', { timeout: 320_000 }, async (t) => {
  if (!labOrSkip(t)) return;
  const r = await run();
  assertGuestOk(r);
  const before = load(r.outDir, 'before.json');
  assert.equal(before.netns, 'a');
  assert.equal(before.hz.value, 250, 'Debian kernel: CONFIG_HZ=250');
  assert.equal(before.hz.source, 'boot-config');
  const sys = Object.fromEntries(
    readFileSync(join(r.outDir, 'sysctl.txt'), 'utf8').trim().split('\n').map((l) => l.split(' ') as [string, string]),
  );
  const a = byPort(before, 6001);
  assert.equal(a.state, 'ESTABLISHED');
  assert.equal(a.peerPort, 5001);
  assert.deepEqual(a.localAddresses.map((l) => l.address).sort(), ['10.1.0.1', '10.2.0.1']);
  assert.deepEqual(a.paths.map((p) => [p.address, p.state]).sort(), [['10.1.0.2', 'ACTIVE'], ['10.2.0.2', 'ACTIVE']]);
  assert.deepEqual(a.paths.filter((p) => p.primary).map((p) => p.address), ['10.1.0.2']);
  assert.equal(a.heartbeatIntervalMs, Number(sys.hb_interval));
  for (const p of a.paths) {
    assert.ok(p.rtoMs >= Number(sys.rto_min) && p.rtoMs <= Number(sys.rto_max), `RTO ${p.rtoMs} ms of ${p.address} outside [${sys.rto_min}, ${sys.rto_max}]`);
  }
  assert.ok(a.owners.some((o) => o.comm === 'sctp_darn'), `owner: ${JSON.stringify(a.owners)}`);
  assert.deepEqual(a.findings.filter((f) => f.severity !== 'info'), []);
  const text = readFileSync(join(r.outDir, 'before.txt'), 'utf8');
  assert.match(text, /assoc \d+ +one-to-many +ESTABLISHED +:6001 → :5001/);
});

test('lab status: the locally single-homed association is flagged', { timeout: 320_000 }, async (t) => {
  if (!labOrSkip(t)) return;
  const r = await run();
  assertGuestOk(r);
  const a = byPort(load(r.outDir, 'before.json'), 6003);
  assert.equal(a.localAddresses.length, 1);
  assert.equal(a.paths.length, 2, 'the wildcard server offers both addresses');
  assert.ok(a.findings.some((f) => f.code === 'locally-single-homed'), JSON.stringify(a.findings));
});

test('lab status: IPv6 paths in RFC 5952 form, one-to-one association style', { timeout: 320_000 }, async (t) => {
  if (!labOrSkip(t)) return;
  const r = await run();
  assertGuestOk(r);
  const before = load(r.outDir, 'before.json');
  const v6 = byPort(before, 7001);
  assert.deepEqual(v6.paths.map((p) => p.address).sort(), ['fd00:1::2', 'fd00:2::2']);
  assert.ok(v6.paths.every((p) => p.family === 6 && p.kernelAddress.startsWith('fd00:000')));
  assert.deepEqual(v6.localAddresses.map((l) => l.address).sort(), ['fd00:1::1', 'fd00:2::1']);
  const o2o = byPort(before, 6004);
  assert.equal(o2o.style, 'one-to-one');
  assert.equal(o2o.paths.length, 2);
});

test('lab status: --netns and --netns-pid read the right namespace; --all-netns walks them all', { timeout: 320_000 }, async (t) => {
  if (!labOrSkip(t)) return;
  const r = await run();
  assertGuestOk(r);
  const b = load(r.outDir, 'b.json');
  assert.equal(b.netns, 'b');
  assert.ok(b.associations.some((x) => x.localPort === 5001 && x.peerPort === 6001), 'b sees the server side');
  assert.ok(!b.associations.some((x) => x.localPort === 6001));
  const a = load(r.outDir, 'before.json');
  const byPid = load(r.outDir, 'bypid.json');
  assert.deepEqual(byPid.associations.map((x) => x.localPort).sort(), a.associations.map((x) => x.localPort).sort());
  assert.equal(load(r.outDir, 'init-netns.json').associations.length, 0, 'the initial netns has none');
  const all = load(r.outDir, 'all.json');
  assert.deepEqual(all.namespaces?.map((n) => n.netns), [null, 'a', 'b']);
});

test('lab status: after the primary link is cut, the path is INACTIVE and traffic is reported on the backup', { timeout: 320_000 }, async (t) => {
  if (!labOrSkip(t)) return;
  const r = await run();
  assertGuestOk(r);
  const after = load(r.outDir, 'after.json');
  const a = byPort(after, 6001);
  const primary = a.paths.find((p) => p.primary)!;
  assert.equal(primary.address, '10.1.0.2');
  assert.ok(['PF', 'INACTIVE'].includes(primary.state), primary.state);
  assert.equal(a.activePath, '10.2.0.2');
  assert.ok(a.findings.some((f) => f.code === 'primary-not-active'), diagnostics(r));
  const [t0, t1] = readFileSync(join(r.outDir, 'cut-times.txt'), 'utf8').trim().split(' ').map(Number);
  t.diagnostic(`primary path INACTIVE ${((t1! - t0!) * 1000).toFixed(0)} ms after the cut (lab_fast sysctls)`);
  assert.match(readFileSync(join(r.outDir, 'after.txt'), 'utf8'), /10\.1\.0\.2 +INACTIVE +primary/);
});

test('lab status: a capture taken in the guest reads back on the host', { timeout: 320_000 }, async (t) => {
  if (!labOrSkip(t)) return;
  const r = await run();
  assertGuestOk(r);
  const cli = join(process.cwd(), 'dist', 'src', 'cli.js');
  const out = spawnSync(process.execPath, [cli, '--proc-root', join(r.outDir, 'cap'), '--json', 'status'], { encoding: 'utf8' });
  assert.equal(out.status, 0, out.stderr);
  const cap = JSON.parse(out.stdout) as StatusReport;
  assert.equal(cap.hz.value, 250);
  assert.equal(cap.netns, 'a');
  assert.ok(cap.associations.some((x) => x.localPort === 6001));
  assert.ok(readFileSync(join(r.outDir, 'cap', 'sys', 'net', 'sctp', 'rto_min'), 'utf8').trim() === '200');
});
