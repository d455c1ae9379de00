// `sctpdiag status --live` on the real kernel (default suite: bookworm, 6.1):
// two-path IPv4 and IPv6 associations, DATA on the primaries every 0.2 s, the
// backups idle (heartbeats every second). bpf's figures (probes/path-rtt.bt,
// path-metrics.bt) are merged into each path with their age: SRTT, cwnd and
// PMTU on the primary, SRTT from heartbeats on the idle backup. Without root
// bpf is unavailable: it says why and prints procfs's figures, exit 0.
import test from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { assertGuestOk, guestOnce, labOrSkip } from './guard.js';
import type { StatusReport } from '../../src/commands/status.js';
import type { LivePath } from '../../src/model/figures.js';

const LISTEN_S = 8;

const SCRIPT = String.raw`
set -e
sctpdiag() { node "$LAB_REPO/dist/src/cli.js" "$@"; }
lab_topology 2 v6
lab_fast a b
lab_multihomed 6001 5001
lab_darn_server srv7000 b 7000 fd00:1::2 fd00:2::2
lab_wait_listen b 7000
lab_darn_client cli7001 a 7001 fd00:1::2 7000 fd00:1::1 fd00:2::1
lab_wait_assoc a 2 30
lab_wait_path a 10.2.0.2 2 15
lab_wait_path a fd00:2::2 2 15
for k in rto_min rto_max hb_interval; do echo "$k $(ip netns exec a cat /proc/sys/net/sctp/$k)"; done > "$LAB_OUT/sysctl.txt"
set +e
sctpdiag --netns a --json status --live ${LISTEN_S} > "$LAB_OUT/live.json" 2> "$LAB_OUT/live.err"; echo $? > "$LAB_OUT/live.rc"
sctpdiag --netns a status --live ${LISTEN_S} > "$LAB_OUT/live.txt" 2> "$LAB_OUT/live-text.err"; echo $? > "$LAB_OUT/live-text.rc"
# not root: no bpf, procfs's figures, and why
setpriv --reuid=65534 --regid=65534 --clear-groups node "$LAB_REPO/dist/src/cli.js" --json status --live 1 > "$LAB_OUT/nobpf.json" 2> "$LAB_OUT/nobpf.err"; echo $? > "$LAB_OUT/nobpf.rc"
`;

const run = guestOnce({ script: SCRIPT, timeoutMs: 600_000 });
const read = (dir: string, f: string) => readFileSync(join(dir, f), 'utf8');

test('lab status --live: SRTT/cwnd/PMTU for the primary, SRTT for the idle backup (heartbeats), ages within the window', { timeout: 620_000 }, async (t) => {
  if (!labOrSkip(t)) return;
  const r = await run();
  assertGuestOk(r);
  const err = read(r.outDir, 'live.err');
  assert.equal(read(r.outDir, 'live.rc').trim(), '0', err);
  assert.match(err, /probes attached in [\d.]+ m?s \(.*path-rtt.*\); listening 8 s/, err);
  const rep = JSON.parse(read(r.outDir, 'live.json')) as StatusReport;
  const sys = Object.fromEntries(read(r.outDir, 'sysctl.txt').trim().split('\n').map((l) => l.split(' ') as [string, string]));
  const [rtoMin, rtoMax, hb] = [Number(sys.rto_min), Number(sys.rto_max), Number(sys.hb_interval)];
  assert.equal(rep.live?.source, 'bpf', JSON.stringify(rep.live));
  assert.ok(rep.live!.probes.includes('path-rtt') && rep.live!.probes.includes('path-metrics'), JSON.stringify(rep.live));
  assert.equal(rep.live!.seconds, LISTEN_S);
  assert.ok(rep.live!.events > 0);
  // the window plus one print: no figure can be older
  const maxAge = (LISTEN_S + 2) * 1000;
  for (const [port, primary, backup] of [
    [6001, '10.1.0.2', '10.2.0.2'],
    [7001, 'fd00:1::2', 'fd00:2::2'],
  ] as const) {
    const a = rep.associations.find((x) => x.localPort === port);
    assert.ok(a, `association :${port} in ${JSON.stringify(rep.associations.map((x) => x.localPort))}`);
    const path = (addr: string) => a.paths.find((p) => p.address === addr) as LivePath;
    const p = path(primary);
    const b = path(backup);
    assert.ok(p.primary && p.live && b.live, `:${port} ${JSON.stringify(a.paths)}`);
    for (const f of ['srttMs', 'rttvarMs', 'rtoMs', 'cwndBytes', 'ssthreshBytes', 'flightBytes', 'pmtuBytes', 'errorCount'] as const)
      assert.ok(p.live[f] !== undefined, `primary ${primary} has ${f}: ${JSON.stringify(p.live)}`);
    // veth in one guest: the MTU of the link; DATA every 0.2 s with delayed SACKs: an SRTT under the RTO
    assert.equal(p.live.pmtuBytes!.value, 1500);
    assert.ok(p.live.cwndBytes!.value >= 1500, JSON.stringify(p.live));
    assert.equal(p.live.errorCount!.value, 0);
    for (const x of [p, b]) {
      const l = x.live!;
      assert.ok(l.srttMs!.value >= 0 && l.srttMs!.value <= rtoMax, `${x.address} ${JSON.stringify(l)}`);
      assert.ok(l.rtoMs!.value >= rtoMin && l.rtoMs!.value <= rtoMax, `${x.address} ${JSON.stringify(l)}`);
      for (const [k, v] of Object.entries(l)) assert.ok(v.ageMs >= 0 && v.ageMs <= maxAge, `${x.address} ${k} age ${v.ageMs}`);
    }
    // the idle backup: measured by heartbeats, one every hb_interval (+ up to an RTO of jitter), so its sample is
    // at most that, and a print, older than the busy primary's (ages count to the report's read, after the window)
    const lag = b.live!.srttMs!.ageMs - p.live.srttMs!.ageMs;
    assert.ok(lag <= hb + rtoMax + 1000, `backup ${backup} RTT sample ${lag} ms older than the primary's: ${JSON.stringify([p.live, b.live])}`);
  }
  const text = read(r.outDir, 'live.txt');
  assert.equal(read(r.outDir, 'live-text.rc').trim(), '0', read(r.outDir, 'live-text.err'));
  assert.match(text, /PATH\s+STATE\s+ROLE\s+RTO\s+HB\s+MAXRTX\s+SRTT\s+RTTVAR\s+CWND\s+SSTHRESH\s+FLIGHT\s+PMTU\s+ERR\s+AGE/, text);
  assert.match(text, /^\s+10\.2\.0\.2\s+ACTIVE\s+-\s+\d+ ms\s+armed\s+\d+\s+\d+ ms\s+\d+ ms\s+\d+\s+\d+\s+\d+\s+1500\s+0\/\d+\s+[\d.]+ m?s$/m, text);
  assert.match(text, /^live: bpf \(.*path-rtt.*; attached in [\d.]+ m?s\), 8 s listened/m, text);
});

test('lab status --live without root: bpf unavailable, says why, procfs figures, exit 0', { timeout: 620_000 }, async (t) => {
  if (!labOrSkip(t)) return;
  const r = await run();
  assertGuestOk(r);
  const err = read(r.outDir, 'nobpf.err');
  assert.equal(read(r.outDir, 'nobpf.rc').trim(), '0', err);
  assert.match(err, /warning: --live: bpf unavailable: bpftrace needs root .*; procfs's figures only/, err);
  const rep = JSON.parse(read(r.outDir, 'nobpf.json')) as StatusReport;
  assert.deepEqual({ ...rep.live, reason: undefined }, { source: 'procfs', reason: undefined, seconds: 1, attachMs: null, probes: [], events: 0 });
  assert.match(rep.live!.reason ?? '', /bpftrace needs root/);
  assert.ok(rep.associations.every((a) => a.paths.every((p) => (p as LivePath).live === undefined)));
});
